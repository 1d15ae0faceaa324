"""Sample requests and responses shown in the OpenAPI document.

The sample learner solved two LeetCode classics, gave up on a sliding-window
problem and wants practice in sliding window and graphs for a Google
interview. Every id is a real catalogue id.
"""

from __future__ import annotations

from typing import Any

SAMPLE_HISTORY: list[dict[str, Any]] = [
    {
        "problem_id": "leetcode:two-sum",
        "status": "solved",
        "attempts": 1,
        "time_spent_minutes": 12,
        "timestamp": "2025-03-01T18:05:00Z",
    },
    {
        "problem_id": "leetcode:valid-parentheses",
        "status": "solved",
        "attempts": 2,
        "time_spent_minutes": 20,
        "timestamp": "2025-03-02T19:30:00Z",
    },
    {
        "problem_id": "leetcode:longest-substring-without-repeating-characters",
        "status": "failed",
        "attempts": 4,
        "time_spent_minutes": 55,
        "timestamp": "2025-03-03T20:10:00Z",
    },
]

SAMPLE_LEARNER: dict[str, Any] = {
    "learner_id": "learner-42",
    "history": SAMPLE_HISTORY,
    "target_companies": ["google"],
    "goal": "get comfortable with sliding window and graphs",
}

RECOMMEND_REQUEST_EXAMPLE: dict[str, Any] = {
    **SAMPLE_LEARNER,
    "k": 5,
    "platforms": ["leetcode"],
}

COLD_START_REQUEST_EXAMPLE: dict[str, Any] = {
    "history": [],
    "goal": "learn dynamic programming from the basics",
    "k": 5,
}

EXPLAIN_REQUEST_EXAMPLE: dict[str, Any] = {
    **SAMPLE_LEARNER,
    "problem_id": "leetcode:minimum-window-substring",
}

SAMPLE_REASONS: dict[str, Any] = {
    "related": [
        {
            "problem_id": "leetcode:longest-substring-without-repeating-characters",
            "title": "Longest Substring Without Repeating Characters",
            "status": "failed",
            "similarity": 0.706,
        }
    ],
    "topic_gap": ["hash table", "string", "sliding window", "two pointers"],
    "new_topics": [],
    "difficulty": {
        "candidate_rating": 2276.0,
        "learner_level": 1256.0,
        "step": 1020.0,
        "label": "big step up",
    },
    "companies": ["google"],
    "goal_similarity": 0.175,
    "review": False,
}

SAMPLE_EXPLANATION = (
    "It builds on Longest Substring Without Repeating Characters, which you struggled "
    "with. It practises hash table and string, where your history shows failures or "
    "slow solves. As a Hard problem (about 2276), it is a big step up from your recent "
    "level of about 1256. Google asked it in interviews."
)

SAMPLE_MODEL_VERSION = "3a77737a9daa"

RECOMMEND_RESPONSE_EXAMPLE: dict[str, Any] = {
    "recommendations": [
        {
            "problem_id": "leetcode:minimum-window-substring",
            "title": "Minimum Window Substring",
            "url": "https://leetcode.com/problems/minimum-window-substring/",
            "platform": "leetcode",
            "difficulty_label": "Hard",
            "rating": None,
            "tags": ["hash table", "string", "sliding window", "two pointers"],
            "companies": ["amazon", "google", "meta", "microsoft"],
            "score": 0.8521,
            "reasons": SAMPLE_REASONS,
            "explanation": SAMPLE_EXPLANATION,
        }
    ],
    "warnings": [],
    "cold_start": False,
    "model_version": SAMPLE_MODEL_VERSION,
}

EXPLAIN_RESPONSE_EXAMPLE: dict[str, Any] = {
    "problem_id": "leetcode:minimum-window-substring",
    "title": "Minimum Window Substring",
    "explanation": SAMPLE_EXPLANATION,
    "explanation_source": "template",
    "reasons": SAMPLE_REASONS,
    "warnings": [],
    "model_version": SAMPLE_MODEL_VERSION,
}

VALIDATION_ERROR_EXAMPLE: dict[str, Any] = {
    "error": {
        "code": "validation_error",
        "message": "The request body is invalid: 1 field has an error.",
        "fields": [
            {
                "field": "history[2].attempts",
                "message": "Input should be greater than or equal to 0",
                "allowed": "an integer from 0 to 1000",
            }
        ],
        "request_id": "c0a8012e-6a1f-4c52-9d1e-2f7c5b3e9a10",
    }
}
