"""Labelled texts for the ONNX-versus-PyTorch parity check of the encoder.

The set covers what the service embeds: problem statements, titles and
learner notes. It adds the inputs most likely to expose quantization error,
such as source code in several languages, text far beyond the 256-token
truncation limit, the empty string, whitespace, single words and non-ASCII
scripts. Every label is unique so that a failing figure can name its text.
"""

from __future__ import annotations

_STATEMENTS: tuple[tuple[str, str], ...] = (
    (
        "statement-pair-sum",
        "You are given an integer array and a target value. Find two different positions "
        "whose values add up to the target and return them in any order. Exactly one "
        "answer exists.",
    ),
    (
        "statement-interval-merge",
        "Each meeting is a pair [start, end]. Combine every group of overlapping meetings "
        "into one block and return the blocks sorted by start time.",
    ),
    (
        "statement-grid-islands",
        "A map is a grid of '1' (land) and '0' (water). Count the islands, where an island "
        "is a group of land cells joined horizontally or vertically.",
    ),
    (
        "statement-shortest-path",
        "There are n cities connected by one-way flights with prices. Given a source, a "
        "destination and a limit k on the number of stops, return the cheapest price, or -1 "
        "if no route stays within the limit.",
    ),
    (
        "statement-lru-cache",
        "Design a key-value cache with a fixed capacity. get and put must run in O(1) "
        "average time, and when the cache is full, put evicts the entry that was used "
        "least recently.",
    ),
    (
        "statement-edit-distance",
        "Given two words, return the minimum number of single-character insertions, "
        "deletions and substitutions needed to turn the first word into the second.",
    ),
    (
        "statement-median-stream",
        "Numbers arrive one at a time. After each arrival, report the median of all numbers "
        "seen so far. Aim for O(log n) per insertion.",
    ),
    (
        "statement-codeforces-style",
        "Petya has a string s of length n (1 <= n <= 2*10^5) made of lowercase letters. In "
        "one move he may delete any two adjacent equal characters. Print the length of the "
        "shortest string he can obtain.",
    ),
    (
        "statement-sql-schema",
        "Table: Orders (order_id int, customer_id int, amount decimal, created_at date). "
        "Write a query that reports, for every customer, the month in which they spent the "
        "most. Return the result table in any order.",
    ),
    (
        "statement-with-constraints",
        "Example 1: Input: nums = [3,1,4,1,5], k = 2. Output: 9. Constraints: 1 <= "
        "nums.length <= 10^5, -10^4 <= nums[i] <= 10^4, 1 <= k <= nums.length.",
    ),
    (
        "statement-tree-diameter",
        "Given the root of a binary tree, return the length of the longest path between any "
        "two nodes, measured in edges. The path need not pass through the root.",
    ),
    (
        "statement-knapsack",
        "A thief carries a bag that holds at most W kilograms. Each item has a weight and a "
        "value and can be taken once. Maximise the total value that fits.",
    ),
)

_TITLES_AND_NOTES: tuple[tuple[str, str], ...] = (
    ("title-short", "Longest Increasing Subsequence"),
    ("title-with-roman", "Jump Game II"),
    ("title-codeforces-id", "1957B Nene and the Card Game"),
    ("topics-list", "Array, Hash Table, Sliding Window, Two Pointers"),
    ("learner-note", "I keep timing out on graph problems when the input has 10^5 edges"),
    (
        "learner-question",
        "why is dijkstra wrong when some edges have negative weights?",
    ),
    ("difficulty-tag", "Hard"),
    ("company-tags", "Amazon,Google,Bloomberg,Uber"),
    ("explanation-sentence", "Recommended because you solved Two Sum and want more hashing."),
)

_CODE: tuple[tuple[str, str], ...] = (
    (
        "code-python-bfs",
        "from collections import deque\n\n"
        "def bfs(graph, start):\n"
        "    seen = {start}\n"
        "    queue = deque([start])\n"
        "    while queue:\n"
        "        node = queue.popleft()\n"
        "        for nxt in graph[node]:\n"
        "            if nxt not in seen:\n"
        "                seen.add(nxt)\n"
        "                queue.append(nxt)\n"
        "    return seen\n",
    ),
    (
        "code-python-dp",
        "def coin_change(coins: list[int], amount: int) -> int:\n"
        "    best = [0] + [amount + 1] * amount\n"
        "    for value in range(1, amount + 1):\n"
        "        for coin in coins:\n"
        "            if coin <= value:\n"
        "                best[value] = min(best[value], best[value - coin] + 1)\n"
        "    return -1 if best[amount] > amount else best[amount]\n",
    ),
    (
        "code-cpp-segment-tree",
        "#include <vector>\n"
        "struct SegTree {\n"
        "  int n; std::vector<long long> t;\n"
        "  explicit SegTree(int n) : n(n), t(2 * n) {}\n"
        "  void update(int i, long long v) {\n"
        "    for (t[i += n] = v; i > 1; i >>= 1) t[i >> 1] = t[i] + t[i ^ 1];\n"
        "  }\n"
        "};\n",
    ),
    (
        "code-cpp-fast-io",
        "int main() { std::ios::sync_with_stdio(false); std::cin.tie(nullptr); "
        "int t; std::cin >> t; while (t--) { long long n; std::cin >> n; "
        'std::cout << n * (n + 1) / 2 << "\\n"; } }',
    ),
    (
        "code-java-two-pointers",
        "class Solution {\n"
        "    public int maxArea(int[] height) {\n"
        "        int lo = 0, hi = height.length - 1, best = 0;\n"
        "        while (lo < hi) {\n"
        "            best = Math.max(best, Math.min(height[lo], height[hi]) * (hi - lo));\n"
        "            if (height[lo] < height[hi]) lo++; else hi--;\n"
        "        }\n"
        "        return best;\n"
        "    }\n"
        "}\n",
    ),
    (
        "code-java-priority-queue",
        "PriorityQueue<int[]> pq = new PriorityQueue<>((a, b) -> a[1] - b[1]);\n"
        "pq.offer(new int[] {source, 0});\n",
    ),
    (
        "code-js-debounce",
        "function debounce(fn, ms) {\n"
        "  let timer;\n"
        "  return (...args) => {\n"
        "    clearTimeout(timer);\n"
        "    timer = setTimeout(() => fn.apply(this, args), ms);\n"
        "  };\n"
        "}\n",
    ),
    (
        "code-js-array-methods",
        "const counts = words.reduce((acc, w) => ({ ...acc, [w]: (acc[w] ?? 0) + 1 }), {});",
    ),
    (
        "code-go-binary-search",
        "func search(nums []int, target int) int {\n"
        "\tlo, hi := 0, len(nums)-1\n"
        "\tfor lo <= hi {\n"
        "\t\tmid := lo + (hi-lo)/2\n"
        "\t\tswitch {\n"
        "\t\tcase nums[mid] == target:\n"
        "\t\t\treturn mid\n"
        "\t\tcase nums[mid] < target:\n"
        "\t\t\tlo = mid + 1\n"
        "\t\tdefault:\n"
        "\t\t\thi = mid - 1\n"
        "\t\t}\n"
        "\t}\n"
        "\treturn -1\n"
        "}\n",
    ),
    (
        "code-rust-union-find",
        "struct Dsu { parent: Vec<usize>, size: Vec<usize> }\n"
        "impl Dsu {\n"
        "    fn find(&mut self, x: usize) -> usize {\n"
        "        if self.parent[x] != x { let r = self.find(self.parent[x]); "
        "self.parent[x] = r; }\n"
        "        self.parent[x]\n"
        "    }\n"
        "}\n",
    ),
    (
        "code-rust-iterators",
        "let total: i64 = input.lines().filter_map(|l| l.trim().parse::<i64>().ok()).sum();",
    ),
    (
        "code-sql-window",
        "SELECT customer_id, order_month, total\n"
        "FROM (\n"
        "  SELECT customer_id, DATE_TRUNC('month', created_at) AS order_month,\n"
        "         SUM(amount) AS total,\n"
        "         RANK() OVER (PARTITION BY customer_id ORDER BY SUM(amount) DESC) AS rnk\n"
        "  FROM Orders GROUP BY customer_id, DATE_TRUNC('month', created_at)\n"
        ") ranked WHERE rnk = 1;",
    ),
    (
        "code-sql-join",
        "SELECT e.name, d.name AS department FROM Employee e LEFT JOIN Department d "
        "ON e.department_id = d.id WHERE d.id IS NULL;",
    ),
)

_EDGE_CASES: tuple[tuple[str, str], ...] = (
    ("empty", ""),
    ("whitespace-spaces", "     "),
    ("whitespace-mixed", " \t\n \n\t "),
    ("single-word", "recursion"),
    ("single-character", "x"),
    ("single-digit", "7"),
    ("punctuation-only", "?!...;;"),
    ("all-caps", "GIVEN A LINKED LIST, REVERSE IT IN PLACE"),
    ("repeated-word", "graph " * 40),
    ("numbers-only", "3 1 4 1 5 9 2 6 5 3 5 8 9 7 9 3 2 3 8 4 6 2 6 4 3 3 8 3 2 7 9 5"),
    ("url", "https://example.org/problems/minimum-window-substring/"),
    ("markdown-table", "| n | answer |\n|---|---|\n| 1 | 1 |\n| 2 | 3 |\n| 3 | 6 |"),
    ("latex-math", "Compute $\\sum_{i=1}^{n} \\lfloor n / i \\rfloor \\bmod (10^9 + 7)$."),
    ("zero-width-space", "Two\u200bSum with a zero\u200bwidth space inside"),
)

_UNICODE: tuple[tuple[str, str], ...] = (
    ("unicode-accents", "Él resolvió el problema de la mochila con programación dinámica."),
    ("unicode-german", "Größter gemeinsamer Teiler zweier Zahlen berechnen"),
    ("unicode-cyrillic", "Найдите кратчайший путь в ориентированном графе"),
    ("unicode-chinese", "给定一个整数数组，返回两个数的下标，使它们的和等于目标值。"),
    ("unicode-japanese", "二分探索で答えを求める問題"),
    ("unicode-arabic", "اكتب دالة تعكس سلسلة نصية"),
    ("unicode-emoji", "solved it 🎉🔥 finally after 3 hours 😅"),
    ("unicode-math-symbols", "∀ x ∈ S: f(x) ≤ g(x) ⇒ ∑ f ≤ ∑ g"),
)


def _long_statement() -> str:
    """Build a statement of about 600 word pieces, well past the 256-token limit."""
    paragraph = (
        "A warehouse robot moves on a grid of r rows and c columns. Some cells hold shelves "
        "and cannot be entered. The robot starts at the top-left corner, must visit every "
        "marked pickup cell at least once and finish at the bottom-right corner. Moving to "
        "a neighbouring cell costs one unit of battery, and turning costs two. "
    )
    return paragraph * 8


def _long_code() -> str:
    """Build a C++ listing of many short functions, well past the 256-token limit."""
    lines = [f"int helper_{i}(int a, int b) {{ return (a * {i} + b) % {1000 + i}; }}" for i in range(60)]
    return "\n".join(lines)


_LONG: tuple[tuple[str, str], ...] = (
    ("long-statement", _long_statement()),
    ("long-code-cpp", _long_code()),
    ("long-unicode", "最短路径问题 " * 200),
)

PARITY_TEXTS: tuple[tuple[str, str], ...] = (
    _STATEMENTS + _TITLES_AND_NOTES + _CODE + _EDGE_CASES + _UNICODE + _LONG
)
"""Every parity text as ``(label, text)``; labels are unique."""
