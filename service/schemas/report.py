"""The report's JSON Schema (GET /v1/admin/experiments/{key}/report), in one function, so the
document takes it from the report's own declaration."""

from __future__ import annotations

from typing import Any


def report_json_schema() -> dict[str, Any]:
    """The report as the API answers it."""
    return {
        "type": "object",
        "required": ["experiment", "generated_at", "variants"],
        "properties": {
            "experiment": {"type": "string"},
            "generated_at": {"type": "string", "format": "date-time"},
            "currency": {"type": "string"},
            "from": {"type": ["string", "null"], "format": "date"},
            "to": {"type": ["string", "null"], "format": "date"},
            "segment": {"type": ["string", "null"], "enum": ["country", "device", None]},
            "analysis": {"type": "string", "enum": ["sequential", "fixed"]},
            "revenue_cap": {"type": ["number", "null"]},
            "primary_metric": {"type": "string"},
            "allocation": {"type": "string", "enum": ["fixed", "bandit"]},
            "estimator": {
                "type": "string",
                "enum": ["pooled", "stratified by weight period"],
                "description": (
                    "How arm means are estimated: pooled over all exposed visitors, or (a bandit "
                    "whose weights changed) stratified by weight period and UTC day, each "
                    "stratum weighted by its share of all exposed visitors."
                ),
            },
            "bandit": {"type": "object", "description": "Bandit experiments: the settings."},
            "weight_history": {
                "type": "array",
                "description": "Bandit experiments: each weight period, oldest first.",
                "items": {
                    "type": "object",
                    "properties": {
                        "effective_at": {"type": "string", "format": "date-time"},
                        "weights": {"type": "object", "additionalProperties": {"type": "number"}},
                        "shares": {"type": "object", "additionalProperties": {"type": "number"}},
                        "reason": {"type": "string"},
                        "details": {"type": "object"},
                    },
                },
            },
            "srm": {
                "type": "object",
                "properties": {
                    "p_value": {"type": ["number", "null"]},
                    "mismatch": {"type": "boolean"},
                },
            },
            "variants": {"type": "array", "items": {"type": "object"}},
            "verdicts": {},
            "daily": {},
            "segments": {
                "type": "array",
                "description": "Present when a segment is asked for: one group per value.",
                "items": {
                    "type": "object",
                    "properties": {
                        "value": {"type": ["string", "null"]},
                        "variants": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    }
