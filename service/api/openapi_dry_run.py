"""The OpenAPI path items of the dry run (service/api/dry_run.py); the dashboard's pages of the
decision log and the dry run are with the other pages, in openapi_dashboard.py. Schemas are
inline, so merging this module into the document is one line."""

from __future__ import annotations

from service.api.openapi_parts import (
    _KEY_PARAM,
    _NOT_FOUND,
    Json,
    _admin,
    _error,
    _json,
    _values,
)
from service.domain.dry_run import (
    DEFAULT_DAYS,
    DEFAULT_MINIMUM_EFFECT,
    MAX_DAYS,
    MAX_EFFECT,
    MAX_VALUE,
    MIN_EFFECT,
    MIN_VALUE,
)
from service.domain.dry_run_power import DEFAULT_CONVERSION_BASELINE, HISTORY_DAYS
from service.domain.experiment import Placement, PrimaryMetric

_SHARE: Json = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNT: Json = {"type": ["number", "null"], "minimum": 0}

_REQUEST: Json = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "minimum_effect": {
            "type": "number",
            "minimum": MIN_EFFECT,
            "maximum": MAX_EFFECT,
            "default": DEFAULT_MINIMUM_EFFECT,
            "description": "The relative lift to detect: 0.1 is +10 % on the primary metric.",
        },
        "baseline": {
            "type": ["number", "null"],
            "minimum": MIN_VALUE,
            "maximum": MAX_VALUE,
            "description": (
                "The control's conversion rate (below 1), or its mean revenue per visitor. "
                f"Default: the placement's last {HISTORY_DAYS} days of results, else "
                f"{DEFAULT_CONVERSION_BASELINE} for conversion_rate."
            ),
        },
        "baseline_sd": {
            "type": ["number", "null"],
            "minimum": MIN_VALUE,
            "maximum": MAX_VALUE,
            "description": "Revenue metrics only: the per-visitor standard deviation.",
        },
        "days": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DAYS,
            "default": DEFAULT_DAYS,
            "description": "Days of sampled decisions to read, back from now.",
        },
    },
}

_ANSWER: Json = {
    "type": "object",
    "required": [
        "experiment",
        "placement",
        "window",
        "samples",
        "estimated_daily_decisions",
        "qualifying_share",
        "qualifying_daily_visitors",
        "overlap",
        "days_to_detect",
        "reason",
        "assumptions",
    ],
    "properties": {
        "experiment": {"type": "string"},
        "placement": {"type": "string", "enum": _values(Placement)},
        "window": {
            "type": "object",
            "required": ["from", "to", "days"],
            "properties": {
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time"},
                "days": {"type": "integer"},
            },
        },
        "samples": {"type": "integer", "minimum": 0, "description": "Sampled decisions read."},
        "first_sample_at": {"type": ["string", "null"], "format": "date-time"},
        "estimated_daily_decisions": {"type": "number", "minimum": 0},
        "targeted_share": {**_SHARE, "description": "Decisions whose page passes the rules."},
        "qualifying_share": {**_SHARE, "description": "… and whose reader is in the traffic."},
        "qualifying_daily_visitors": _COUNT,
        "exposed_daily_visitors": {
            **_COUNT,
            "description": "After higher-priority experiments and the holdout.",
        },
        "overlap": {
            "type": "object",
            "required": ["higher_priority_share", "any_priority_share", "experiments"],
            "properties": {
                "higher_priority_share": {
                    **_SHARE,
                    "description": "Of qualifying readers: taken first by another experiment.",
                },
                "any_priority_share": {
                    **_SHARE,
                    "description": "Of qualifying readers: qualifying for another one too.",
                },
                "experiments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["experiment", "priority", "higher_priority", "share"],
                        "properties": {
                            "experiment": {"type": "string"},
                            "priority": {"type": "integer"},
                            "higher_priority": {"type": "boolean"},
                            "share": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
            },
        },
        "power": {
            "type": ["object", "null"],
            "description": "The duration calculation; null when there is no baseline.",
            "properties": {
                "metric": {"type": "string", "enum": _values(PrimaryMetric)},
                "alpha": {"type": "number"},
                "alpha_per_comparison": {"type": "number"},
                "comparisons": {"type": "integer"},
                "power": {"type": "number"},
                "minimum_effect": {"type": "number"},
                "sequential": {"type": "boolean"},
                "baseline": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "number"},
                        "sd": {"type": ["number", "null"]},
                        "source": {"type": "string", "enum": ["request", "history", "default"]},
                        "history_visitors": {"type": "integer"},
                    },
                },
                "visitors_per_arm": {"type": ["integer", "null"]},
                "visitors_needed": {"type": ["integer", "null"]},
                "sequential_factor": {"type": ["number", "null"]},
            },
        },
        "days_to_detect": {"type": ["integer", "null"], "minimum": 1},
        "reason": {"type": ["string", "null"], "description": "Why days_to_detect is null."},
        "assumptions": {"type": "array", "items": {"type": "string"}},
    },
}

DRY_RUN_PATHS: Json = {
    "/v1/admin/experiments/{key}/dry-run": {
        "parameters": [_KEY_PARAM],
        "post": _admin(
            "editor",
            "Estimate reach, overlap and days to detect from sampled decisions",
            {
                "200": _json(_ANSWER, "The estimate, with the assumptions it rests on."),
                "400": _error("The body is not valid JSON."),
                **_NOT_FOUND,
                "415": _error("A body that is not application/json."),
                "422": _error("A bad field; `fields` names every one."),
            },
            requestBody={
                "required": False,
                "content": {"application/json": {"schema": _REQUEST}},
            },
        ),
    },
}
