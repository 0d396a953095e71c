"""The OpenAPI 3.1 description of every endpoint the service serves (DESIGN §3), as data.

Enumerations come from the domain, so the document cannot drift from the values the code
accepts; tests/functional/test_openapi.py checks that every route has a path item.
"""

from __future__ import annotations

from service.api.openapi.build import build, component_schemas, query_parameters, ref
from service.api.openapi.dashboard import DASHBOARD_PATHS
from service.api.openapi.dry_run import DRY_RUN_PATHS
from service.api.openapi.exports import EXPORT_PATHS
from service.api.openapi.more_paths import MORE_PATHS
from service.api.openapi.parts import (
    _ADMIN,
    _KEY_PARAM,
    _NOT_FOUND,
    _OPS,
    _PAGES,
    _PUBLIC,
    Json,
    _admin,
    _error,
    _json,
    _query,
    _ref,
    _values,
)
from service.api.public.payment_webhook import SIGNATURE_HEADER, SIGNATURE_PATTERN
from service.domain.experiment import (
    Status,
)
from service.domain.lifecycle import Action
from service.schemas.admin import (
    Erasure,
    ExperimentList,
    ExportRunList,
    ExportScheduleList,
    History,
    PreviewToken,
    PreviewTokenRequest,
)
from service.schemas.conversions import ConversionsAnswer, Payment
from service.schemas.decision import DEFAULT_MAX_LENGTH, Decision, DecisionQuery
from service.schemas.errors import Error
from service.schemas.events import EventBatch, EventsAnswer
from service.schemas.exports import ExportSchedule
from service.schemas.ops import Status as StatusAnswer
from service.schemas.report import report_components

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
            "parameters": query_parameters(DecisionQuery),
            "responses": {
                "200": _json(ref(Decision), "The decision."),
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
                    "application/json": {"schema": ref(EventBatch)},
                    "text/plain": {"schema": ref(EventBatch)},
                },
            },
            "responses": {
                "202": _json(ref(EventsAnswer), "What was accepted, duplicate or rejected."),
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
                        "at most 5 minutes old. A value that breaks HTTP itself (a NUL "
                        "byte) is refused by the server before the app, as HTML."
                    ),
                    "schema": {"type": "string", "pattern": f"^{SIGNATURE_PATTERN}$"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref(Payment)}},
            },
            "responses": {
                "200": _json(ref(ConversionsAnswer), "Recorded (or already recorded)."),
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
                    "description": 'An ETag from a GET, such as "r3", or *.',
                    "schema": {"type": "string", "pattern": r'^\s*(\*|(W/)?"r\d+")\s*$'},
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

_PATHS.update(MORE_PATHS)
_PATHS.update(EXPORT_PATHS)
_PATHS.update(DASHBOARD_PATHS)
_PATHS.update(DRY_RUN_PATHS)


_MODELS = (
    Error,
    Decision,
    EventBatch,
    EventsAnswer,
    Payment,
    ConversionsAnswer,
    StatusAnswer,
    ExperimentList,
    History,
    PreviewTokenRequest,
    PreviewToken,
    Erasure,
    ExportSchedule,
    ExportScheduleList,
    ExportRunList,
)


def _components() -> Json:
    models, report = component_schemas(_MODELS), report_components()
    clash = models.keys() & report.keys()
    assert not clash, f"report parts named like request models: {clash}"  # one name, one schema
    return {**report, **models}


DOCUMENT: Json = build(
    info={
        "title": "Small Favor",
        "version": "1",
        "description": (
            "A/B tests donation and paywall prompts on news sites. Every error is "
            '`{"error": {"code", "message", "fields"}}`.'
        ),
    },
    tags=[*_PUBLIC, *_ADMIN, *_OPS, *_PAGES, "Dashboard"],
    paths=_PATHS,
    schemas=_components(),
    components={
        "responses": {"Error": _json(ref(Error), "An error.")},
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token made with the CLI; roles viewer < editor < admin.",
            }
        },
    },
)
