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
    "target_companies": ["Google"],
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

# The response examples below were produced by posting the request examples
# to the service. Company lists are cut to three names, and the model version
# changes with every rebuild of the artifacts.
SAMPLE_MODEL_VERSION = "00cce528be2d"

RECOMMEND_RESPONSE_EXAMPLE: dict[str, Any] = {
    "recommendations": [
        {
            "problem_id": "leetcode:reconstruct-itinerary",
            "title": "Reconstruct Itinerary",
            "url": "https://leetcode.com/problems/reconstruct-itinerary/",
            "platform": "leetcode",
            "difficulty_label": "Hard",
            "rating": None,
            "tags": ["depth-first search", "graph", "eulerian circuit"],
            "companies": ["compass", "salesforce", "visa"],
            "score": 0.961281,
            "reasons": {
                "related": [],
                "topic_gap": [],
                "new_topics": ["depth-first search", "graph", "eulerian circuit"],
                "difficulty": {
                    "candidate_rating": 2288.0,
                    "learner_level": 1319.0,
                    "step": 969.0,
                    "label": "big step up",
                    "rating_estimated": True,
                },
                "companies": ["google"],
                "goal_similarity": 0.127,
                "goal_topics": ["graph"],
                "review": False,
                "already_solved": False,
            },
            "explanation": (
                "It practises graph, which your goal names. As a Hard problem rated about 2288, it is "
                "a big step up from your recent level of about 1319. It was asked in interviews at Google."
            ),
            "explanation_source": "template",
            "explanation_fallback": None,
        }
    ],
    "warnings": [],
    "cold_start": False,
    "model_version": SAMPLE_MODEL_VERSION,
}

EXPLAIN_RESPONSE_EXAMPLE: dict[str, Any] = {
    "problem_id": "leetcode:minimum-window-substring",
    "title": "Minimum Window Substring",
    "explanation": (
        "Minimum Window Substring practises sliding window, which your goal names. It is a big step "
        "up from your level of about 1319, and Google asks it."
    ),
    "explanation_source": "model",
    "explanation_fallback": None,
    "reasons": {
        "related": [
            {
                "problem_id": "leetcode:longest-substring-without-repeating-characters",
                "title": "Longest Substring Without Repeating Characters",
                "status": "failed",
                "similarity": 0.723,
            }
        ],
        "topic_gap": ["hash table", "string", "sliding window", "two pointers"],
        "new_topics": [],
        "difficulty": {
            "candidate_rating": 2266.0,
            "learner_level": 1319.0,
            "step": 946.0,
            "label": "big step up",
            "rating_estimated": True,
        },
        "companies": ["google"],
        "goal_similarity": 0.189,
        "goal_topics": ["sliding window"],
        "review": False,
        "already_solved": False,
    },
    "warnings": [],
    "model_version": SAMPLE_MODEL_VERSION,
}

VALIDATION_ERROR_EXAMPLE: dict[str, Any] = {
    "error": {
        "code": "validation_error",
        "message": "The request is invalid: 1 field has an error.",
        "fields": [
            {
                "field": "history[2].attempts",
                "message": "Input should be greater than or equal to 0",
                "allowed": "an integer from 0 to 1000, or null",
            }
        ],
        "request_id": "c0a8012e-6a1f-4c52-9d1e-2f7c5b3e9a10",
    }
}
