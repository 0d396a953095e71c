"""The component schemas of the OpenAPI document: every request and response body.

Enumerations come from the domain, so the document cannot drift from what the code accepts.
"""

from __future__ import annotations

from service.api.openapi_parts import Json, _ref, _values
from service.domain.experiment import (
    Placement,
    Status,
)
from service.domain.lifecycle import Action

SCHEMAS: Json = {
    "Experiment": {
        "type": "object",
        "description": (
            "An experiment document. Every field is validated by the service; see DESIGN §2 "
            "for the nested objects."
        ),
        "required": ["key", "name", "placement", "variants"],
        "properties": {
            "key": {"type": "string"},
            "name": {"type": "string"},
            "placement": {"type": "string", "enum": _values(Placement)},
            "priority": {"type": "integer"},
            "status": {"type": "string", "enum": _values(Status)},
            "start_at": {"type": ["string", "null"], "format": "date-time"},
            "end_at": {"type": ["string", "null"], "format": "date-time"},
            "traffic": {"type": "number", "minimum": 0, "maximum": 1},
            "holdout": {"type": "number", "minimum": 0, "maximum": 1},
            "targeting": {"type": "object"},
            "caps": {"type": "object"},
            "snooze_hours": _ref("SnoozeHours"),
            "attribution_days": {"type": "integer"},
            "allocation": {"type": "string", "enum": ["fixed", "bandit"]},
            "bandit": _ref("BanditSettings"),
            "analysis": {"type": "object"},
            "variants": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "weight", "banner"],
                    "properties": {
                        "key": {"type": "string"},
                        "weight": {"type": "number"},
                        "banner": {"type": "object"},
                    },
                },
            },
            "seed": {"type": "string"},
            "trust_client_conversions": {"type": "boolean"},
        },
        "additionalProperties": True,
    },
    "BanditSettings": {
        "type": "object",
        "description": (
            'How `allocation: "bandit"` moves weights: Thompson sampling on the primary metric, '
            "once per cadence, never below the floor, and only after every variant has the "
            "minimum exposed visitors and conversions. Only new visitors follow new weights."
        ),
        "additionalProperties": False,
        "properties": {
            "floor": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 0.5,
                "default": 0.1,
                "description": "Least share of new traffic per variant; times the variants ≤ 1.",
            },
            "min_visitors": {"type": "integer", "minimum": 2, "default": 100},
            "min_conversions": {"type": "integer", "minimum": 0, "default": 20},
            "cadence_minutes": {
                "type": "integer",
                "minimum": 5,
                "maximum": 10080,
                "default": 60,
            },
        },
    },
    "ExperimentResource": {
        "description": "An experiment document as the API returns it, with its bookkeeping.",
        "allOf": [
            _ref("Experiment"),
            {
                "type": "object",
                "properties": {
                    "revision": {"type": "integer"},
                    "created_at": {"type": ["string", "null"], "format": "date-time"},
                    "updated_at": {"type": ["string", "null"], "format": "date-time"},
                    "started_at": {"type": ["string", "null"], "format": "date-time"},
                    "stopped_at": {"type": ["string", "null"], "format": "date-time"},
                    "allowed_actions": {
                        "type": "array",
                        "items": {"type": "string", "enum": _values(Action)},
                    },
                },
            },
        ],
    },
    "ExperimentList": {
        "type": "object",
        "required": ["experiments"],
        "properties": {"experiments": {"type": "array", "items": _ref("ExperimentResource")}},
    },
    "History": {
        "type": "object",
        "required": ["experiment", "revisions"],
        "properties": {
            "experiment": {"type": "string"},
            "revisions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "revision": {"type": "integer"},
                        "action": {"type": "string"},
                        "actor": {"type": "string"},
                        "at": {"type": "string", "format": "date-time"},
                        "changes": {},
                        "document": _ref("Experiment"),
                    },
                },
            },
        },
    },
    "PreviewTokenRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "variant": {"type": "string", "description": "Default: the control variant."},
            "ttl_hours": {"type": "integer", "minimum": 1, "maximum": 168, "default": 24},
        },
    },
    "PreviewToken": {
        "type": "object",
        "required": ["experiment", "variant", "token", "expires_at", "decision_url"],
        "properties": {
            "experiment": {"type": "string"},
            "variant": {"type": "string"},
            "token": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
            "decision_url": {"type": "string"},
        },
    },
    "Erasure": {
        "type": "object",
        "required": ["visitor", "removed"],
        "properties": {
            "visitor": {"type": "string"},
            "removed": {
                "type": "object",
                "description": "How many keys, stream entries and rows of each kind went.",
                "additionalProperties": {"type": "integer"},
            },
        },
    },
    "Report": {
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
    },
}
