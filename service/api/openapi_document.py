"""The OpenAPI 3.1 description of every endpoint the service serves (DESIGN §3), as data.

Enumerations come from the domain, so the document cannot drift from the values the code
accepts; tests/functional/test_openapi.py checks that every route has a path item.
"""

from __future__ import annotations

from typing import Any

from service.api.decision_params import DEFAULT_MAX_LENGTH, MAX_LENGTH, MAX_TAGS
from service.api.event_batch import MAX_EVENTS
from service.api.payment_webhook import SIGNATURE_HEADER
from service.domain.decision import Reason
from service.domain.events import EventType
from service.domain.experiment import (
    Device,
    DismissReason,
    Frequency,
    Placement,
    Status,
    Template,
)
from service.domain.lifecycle import Action

Json = dict[str, Any]

_ADMIN = ["Admin"]
_PUBLIC = ["Public"]
_OPS = ["Operations"]
_PAGES = ["Snippet and demo"]
_BEARER: list[Json] = [{"bearerAuth": []}]


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Json, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Json:
    return {"$ref": "#/components/responses/Error", "description": description}


def _javascript(description: str) -> Json:
    return {
        "description": description,
        "content": {"application/javascript": {"schema": {"type": "string"}}},
    }


def _html(description: str) -> Json:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _query(name: str, description: str, schema: Json | None = None, **extra: Any) -> Json:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string"},
        **extra,
    }


_KEY_PARAM: Json = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "The experiment key.",
    "schema": {"type": "string"},
}
_AUTH_ERRORS: Json = {
    "401": _error("No bearer token, or an unknown or revoked one."),
    "403": _error("The token's role is too low for this endpoint."),
}
_NOT_FOUND: Json = {"404": _error("No experiment with that key.")}


def _admin(role: str, summary: str, responses: Json, **extra: Any) -> Json:
    return {
        "tags": _ADMIN,
        "summary": summary,
        "description": f"Role: `{role}` or above (roles: viewer < editor < admin).",
        "security": _BEARER,
        **extra,
        "responses": {**responses, **_AUTH_ERRORS},
    }


_SCHEMAS: Json = {
    "Error": {
        "type": "object",
        "description": "The one error envelope every 4xx (and 5xx) answer carries.",
        "required": ["error"],
        "properties": {"error": _ref("ErrorDetail")},
    },
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "examples": ["bad_request", "invalid"]},
            "message": {"type": "string"},
            "fields": {
                "type": "object",
                "description": "Per field (or path) what is wrong with it.",
                "additionalProperties": {"type": "string"},
            },
        },
    },
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
    "SnoozeHours": {
        "type": "object",
        "properties": {name: {"type": "number"} for name in _values(DismissReason)},
    },
    "Banner": {
        "type": "object",
        "required": [
            "experiment",
            "variant",
            "token",
            "template",
            "content",
            "snooze_hours",
            "qa",
        ],
        "properties": {
            "experiment": {"type": "string"},
            "variant": {"type": "string"},
            "token": {"type": "string", "description": "The signed decision token."},
            "template": {"type": "string", "enum": _values(Template)},
            "content": {"type": "object", "description": "The banner, placeholders filled."},
            "snooze_hours": _ref("SnoozeHours"),
            "qa": {"type": "boolean", "description": "A forced or preview decision."},
        },
    },
    "Decision": {
        "type": "object",
        "required": ["banner", "reason"],
        "properties": {
            "banner": {"oneOf": [_ref("Banner"), {"type": "null"}]},
            "reason": {
                "type": ["string", "null"],
                "enum": [*_values(Reason), None],
                "description": "Why no banner; null when there is one.",
            },
            "debug": {
                "type": "object",
                "description": "With debug=1: per experiment, which rule failed.",
                "properties": {"experiments": {"type": "array"}},
            },
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "type", "token"],
        "properties": {
            "id": {"type": "string", "description": "A client-made unique id (a UUID)."},
            "type": {"type": "string", "enum": _values(EventType)},
            "token": {"type": "string", "description": "The decision token."},
            "ts": {"type": "string", "format": "date-time"},
            "reason": {"type": "string", "enum": _values(DismissReason)},
            "amount": {"type": "number"},
            "currency": {"type": "string"},
            "frequency": {"type": "string", "enum": _values(Frequency)},
        },
    },
    "EventBatch": {
        "type": "object",
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_EVENTS,
                "items": _ref("Event"),
            }
        },
    },
    "EventsAnswer": {
        "type": "object",
        "required": ["accepted", "duplicates", "rejected", "dropped"],
        "properties": {
            "accepted": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "rejected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "error"],
                    "properties": {
                        "index": {"type": "integer"},
                        "error": _ref("ErrorDetail"),
                    },
                },
            },
            "dropped": {
                "type": "object",
                "properties": {"qa": {"type": "integer"}, "bot": {"type": "integer"}},
            },
        },
    },
    "Payment": {
        "type": "object",
        "required": ["id", "amount", "currency"],
        "additionalProperties": False,
        "description": "Names the visitor by `visitor` or by the decision `token`.",
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,100}$"},
            "visitor": {"type": "string"},
            "token": {"type": "string"},
            "amount": {"type": "number"},
            "currency": {"type": "string"},
            "frequency": {"type": "string", "enum": _values(Frequency), "default": "one_off"},
            "ts": {"type": "string", "format": "date-time"},
        },
    },
    "ConversionsAnswer": {
        "type": "object",
        "required": ["payment", "duplicate", "credited"],
        "properties": {
            "payment": {"type": "string"},
            "duplicate": {"type": "boolean"},
            "credited": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "experiment": {"type": "string"},
                        "variant": {"type": "string"},
                    },
                },
            },
        },
    },
    "Status": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}

_DECISION_PARAMS: list[Json] = [
    _query(
        "visitor",
        "The reader's id: 8 to 64 of A-Z a-z 0-9 _ -.",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
        required=True,
    ),
    _query(
        "placement",
        "Where the banner goes.",
        {"type": "string", "enum": _values(Placement)},
        required=True,
    ),
    _query("url", "The article's URL.", {"type": "string", "maxLength": MAX_LENGTH["url"]}),
    _query("section", "The article's section, a slug."),
    _query("tags", f"Comma-separated tag slugs, at most {MAX_TAGS}."),
    _query("lang", "The page's language tag, such as en or en-GB."),
    _query(
        "article_views",
        "Articles read so far.",
        {"type": "integer", "minimum": 0, "maximum": 1_000_000},
    ),
    _query(
        "supporter", "1 if the reader is a known supporter.", {"type": "string", "enum": ["0", "1"]}
    ),
    _query(
        "device",
        "Overrides the device the User-Agent implies.",
        {"type": "string", "enum": _values(Device)},
    ),
    _query(
        "debug",
        "1 adds, per experiment, which rule failed.",
        {"type": "string", "enum": ["0", "1"]},
    ),
    _query("force", "QA: `<experiment>:<variant>` of a running experiment."),
    _query(
        "preview",
        "QA: a signed preview token (any status).",
        {"type": "string", "maxLength": MAX_LENGTH["preview"]},
    ),
]

_CORS_NOTE = "CORS for the configured origins; no authentication."

_PATHS: Json = {
    "/v1/decision": {
        "get": {
            "tags": _PUBLIC,
            "summary": "Which banner, if any, to show this reader",
            "description": (
                f"{_CORS_NOTE} Country comes from the CDN's geo header, device from the "
                f"User-Agent. Any parameter is at most {DEFAULT_MAX_LENGTH} characters unless "
                "stated. The answer carries `Cache-Control: no-store`."
            ),
            "parameters": _DECISION_PARAMS,
            "responses": {
                "200": _json(_ref("Decision"), "The decision."),
                "400": _error("Bad query parameters; `fields` names every one."),
                "429": _error("Too many requests from this address."),
            },
        },
        "options": {
            "tags": _PUBLIC,
            "summary": "CORS preflight",
            "responses": {"204": {"description": "The CORS headers for the origin."}},
        },
    },
    "/v1/events": {
        "post": {
            "tags": _PUBLIC,
            "summary": "Record a batch of banner events",
            "description": (
                f"{_CORS_NOTE} Sent as application/json or text/plain (sendBeacon), at most "
                "64 KiB. A bad event is rejected alone; the rest of the batch is kept."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("EventBatch")},
                    "text/plain": {"schema": _ref("EventBatch")},
                },
            },
            "responses": {
                "202": _json(_ref("EventsAnswer"), "What was accepted, duplicate or rejected."),
                "400": _error('Not JSON, or not `{"events": [...]}`.'),
                "413": _error("The batch is over 64 KiB."),
                "415": _error("Neither application/json nor text/plain."),
                "429": _error("Too many requests from this address."),
            },
        }
    },
    "/v1/conversions": {
        "post": {
            "tags": _PUBLIC,
            "summary": "The payment side's signed donation webhook",
            "description": "Idempotent by payment id.",
            "parameters": [
                {
                    "name": SIGNATURE_HEADER,
                    "in": "header",
                    "required": True,
                    "description": (
                        't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>, '
                        "at most 5 minutes old."
                    ),
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("Payment")}},
            },
            "responses": {
                "200": _json(_ref("ConversionsAnswer"), "Recorded (or already recorded)."),
                "400": _error("The body is not JSON."),
                "401": _error("Missing, stale or wrong signature."),
                "422": _error("The payment is invalid."),
            },
        }
    },
    "/v1/admin/experiments": {
        "get": _admin(
            "viewer",
            "List experiments",
            {
                "200": _json(_ref("ExperimentList"), "The experiments."),
                "400": _error("Unknown status filter."),
            },
            parameters=[
                _query(
                    "status",
                    "Comma-separated statuses to keep: " + ", ".join(_values(Status)) + ".",
                )
            ],
        ),
        "post": _admin(
            "editor",
            "Create an experiment (as draft)",
            {
                "201": {
                    **_json(_ref("ExperimentResource"), "Created."),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                "400": _error("The body is not a JSON object."),
                "409": _error("The key is taken."),
                "422": _error("The document is invalid."),
            },
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": _ref("Experiment")}},
            },
        ),
    },
    "/v1/admin/experiments/{key}": {
        "parameters": [_KEY_PARAM],
        "get": _admin(
            "viewer",
            "Read an experiment",
            {
                "200": {
                    **_json(_ref("ExperimentResource"), "The experiment."),
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                },
                **_NOT_FOUND,
            },
        ),
        "put": _admin(
            "editor",
            "Replace an experiment's document",
            {
                "200": _json(_ref("ExperimentResource"), "Saved."),
                "400": _error("Bad body or If-Match."),
                **_NOT_FOUND,
                "409": _error("The edit is not allowed in this status."),
                "412": _error("The experiment changed since the If-Match revision."),
                "422": _error("The document is invalid."),
            },
            parameters=[
                {
                    "name": "If-Match",
                    "in": "header",
                    "description": 'An ETag from a GET, such as "r3".',
                    "schema": {"type": "string"},
                }
            ],
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": _ref("Experiment")}},
            },
        ),
    },
    "/v1/admin/experiments/{key}/{action}": {
        "parameters": [
            _KEY_PARAM,
            {
                "name": "action",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": _values(Action)},
            },
        ],
        "post": _admin(
            "editor",
            "Change an experiment's status: start, pause, stop or archive",
            {
                "200": _json(_ref("ExperimentResource"), "The experiment in its new status."),
                **_NOT_FOUND,
                "409": _error("The action is not allowed from the current status."),
            },
        ),
    },
    "/v1/admin/experiments/{key}/history": {
        "parameters": [_KEY_PARAM],
        "get": _admin(
            "viewer",
            "Every audited revision",
            {"200": _json(_ref("History"), "The revisions."), **_NOT_FOUND},
        ),
    },
    "/v1/admin/experiments/{key}/preview-token": {
        "parameters": [_KEY_PARAM],
        "post": _admin(
            "editor",
            "A signed QA link showing one variant",
            {
                "200": _json(_ref("PreviewToken"), "The token and a decision URL."),
                **_NOT_FOUND,
                "422": _error("Unknown variant or bad ttl_hours."),
            },
            requestBody={
                "required": False,
                "content": {"application/json": {"schema": _ref("PreviewTokenRequest")}},
            },
        ),
    },
}

_REPORT_PARAMS: list[Json] = [
    _KEY_PARAM,
    _query("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    _query("to", "Last day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    _query("segment", "Break down by.", {"type": "string", "enum": ["country", "device"]}),
]
_REPORT_ERRORS: Json = {"400": _error("Bad from, to or segment."), **_NOT_FOUND}

_PATHS.update(
    {
        "/v1/admin/experiments/{key}/report": {
            "parameters": _REPORT_PARAMS,
            "get": _admin(
                "viewer",
                "The experiment report",
                {"200": _json(_ref("Report"), "The report."), **_REPORT_ERRORS},
            ),
        },
        "/v1/admin/experiments/{key}/report.csv": {
            "parameters": _REPORT_PARAMS,
            "get": _admin(
                "viewer",
                "The experiment report as CSV, one row per variant (and segment value)",
                {
                    "200": {
                        "description": "The CSV file.",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    **_REPORT_ERRORS,
                },
            ),
        },
        "/v1/admin/visitors/{visitor}": {
            "parameters": [
                {
                    "name": "visitor",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
                }
            ],
            "delete": _admin(
                "admin",
                "Erase a visitor everywhere",
                {
                    "200": _json(_ref("Erasure"), "What was removed."),
                    "400": _error("Malformed visitor id."),
                },
            ),
        },
        "/healthz": {
            "get": {
                "tags": _OPS,
                "summary": "Liveness",
                "responses": {"200": _json(_ref("Status"), "Alive.")},
            }
        },
        "/readyz": {
            "get": {
                "tags": _OPS,
                "summary": "Readiness: SQL at the schema head, Redis answering",
                "responses": {
                    "200": _json(_ref("Status"), "Ready."),
                    "503": _json(_ref("Status"), "Not ready; `checks` says why."),
                },
            }
        },
        "/metrics": {
            "get": {
                "tags": _OPS,
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "The Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "tags": _OPS,
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }
        },
        "/snippet.js": {
            "get": {
                "tags": _PAGES,
                "summary": "The snippet, cached for 5 minutes",
                "responses": {"200": _javascript("The snippet.")},
            }
        },
        "/snippet.{version}.js": {
            "parameters": [
                {
                    "name": "version",
                    "in": "path",
                    "required": True,
                    "description": "The snippet's content hash.",
                    "schema": {"type": "string"},
                }
            ],
            "get": {
                "tags": _PAGES,
                "summary": "The snippet at one version, cached for good",
                "responses": {
                    "200": _javascript("The snippet."),
                    "404": _error("Not the current version."),
                },
            },
        },
        "/demo": {
            "get": {
                "tags": _PAGES,
                "summary": "A demo article page with the snippet embedded",
                "parameters": [
                    _query("placements", "Space-separated placements to show."),
                    _query("hostile_css", "1 adds page CSS that fights the banner."),
                    _query("consent", "0 asks for consent before any id or event."),
                ],
                "responses": {"200": _html("The page.")},
            }
        },
        "/demo/donate": {
            "get": {
                "tags": _PAGES,
                "summary": "The demo donation form",
                "parameters": [
                    _query("sf_token", "The decision token."),
                    _query("amount", "Prefilled amount."),
                    _query("currency", "Prefilled currency."),
                    _query("frequency", "Prefilled frequency."),
                ],
                "responses": {"200": _html("The form.")},
            },
            "post": {
                "tags": _PAGES,
                "summary": "Make a demo donation (off in production)",
                "description": "Signs the payment and hands it to the conversions webhook.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    name: {"type": "string"}
                                    for name in ("token", "amount", "currency", "frequency")
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _html("The thank-you page."),
                    "404": _html("Turned off in production."),
                    "422": _html("The form again, saying what is wrong."),
                },
            },
        },
    }
)


DOCUMENT: Json = {
    "openapi": "3.1.0",
    "info": {
        "title": "Small Favor",
        "version": "1",
        "description": (
            "A/B tests donation and paywall prompts on news sites. Every error is "
            '`{"error": {"code", "message", "fields"}}`.'
        ),
    },
    "tags": [{"name": name} for name in (*_PUBLIC, *_ADMIN, *_OPS, *_PAGES)],
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "responses": {"Error": _json(_ref("Error"), "An error.")},
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token made with the CLI; roles viewer < editor < admin.",
            }
        },
    },
}
