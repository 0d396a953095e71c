"""The OpenAPI path items and schemas of scheduled exports (service/api/exports.py)."""

from __future__ import annotations

from service.api.converters import MAX_SQL_ID
from service.api.exports import MAX_RUNS
from service.api.openapi_parts import Json, _admin, _error, _json, _query, _ref, _values
from service.domain.export_schedule import (
    ALL_RUNNING,
    CRON_ALIASES,
    REDACTED,
    DestinationType,
    ExportFormat,
    RunStatus,
)
from service.domain.export_validation import MAX_EXPERIMENTS, MAX_RECIPIENTS

_ID_PARAM: Json = {
    "name": "schedule_id",
    "in": "path",
    "required": True,
    "description": "The export schedule's id.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SQL_ID},
}
_NOT_FOUND: Json = {"404": _error("No export schedule with that id.")}
_BODY: Json = {
    "required": True,
    "content": {"application/json": {"schema": _ref("ExportSchedule")}},
}
_TIME: Json = {"type": ["string", "null"], "format": "date-time"}

EXPORT_PATHS: Json = {
    "/v1/admin/exports": {
        "get": _admin(
            "viewer",
            "List export schedules",
            {"200": _json(_ref("ExportScheduleList"), "The schedules, by name.")},
        ),
        "post": _admin(
            "editor",
            "Create an export schedule",
            {
                "201": {
                    **_json(_ref("ExportScheduleResource"), "Created."),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                "400": _error("The body is not JSON."),
                "409": _error("The name is taken."),
                "415": _error("The body is not application/json."),
                "422": _error("The schedule is invalid; `fields` names every bad field."),
            },
            requestBody=_BODY,
        ),
    },
    "/v1/admin/exports/{schedule_id}": {
        "parameters": [_ID_PARAM],
        "get": _admin(
            "viewer",
            "Read an export schedule",
            {"200": _json(_ref("ExportScheduleResource"), "The schedule."), **_NOT_FOUND},
        ),
        "put": _admin(
            "editor",
            "Replace an export schedule",
            {
                "200": _json(_ref("ExportScheduleResource"), "Saved."),
                "400": _error("The body is not JSON."),
                **_NOT_FOUND,
                "409": _error("The name is taken."),
                "415": _error("The body is not application/json."),
                "422": _error("The schedule is invalid; `fields` names every bad field."),
            },
            requestBody=_BODY,
        ),
        "delete": _admin(
            "editor",
            "Delete an export schedule and its run records",
            {"204": {"description": "Deleted."}, **_NOT_FOUND},
        ),
    },
    "/v1/admin/exports/{schedule_id}/run": {
        "parameters": [_ID_PARAM],
        "post": _admin(
            "editor",
            "Run a schedule now (queued for the next scheduler poll)",
            {
                "202": {
                    **_json(_ref("ExportRun"), "The queued run."),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                **_NOT_FOUND,
            },
        ),
    },
    "/v1/admin/exports/{schedule_id}/runs": {
        "parameters": [_ID_PARAM],
        "get": _admin(
            "viewer",
            "The schedule's runs, newest first",
            {
                "200": _json(_ref("ExportRunList"), "The runs."),
                "400": _error("Bad limit."),
                **_NOT_FOUND,
            },
            parameters=[
                _query(
                    "limit",
                    f"How many runs, 1 to {MAX_RUNS} (default 50).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_RUNS},
                )
            ],
        ),
    },
}

_SCHEDULE_PROPERTIES: Json = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "cron": {
        "type": "string",
        "description": (
            "Five fields (minute hour day month weekday) or one of "
            + ", ".join(CRON_ALIASES)
            + ", in `timezone`. A local time skipped by DST fires at the first instant after "
            "the gap; a repeated one fires once, at its first occurrence."
        ),
        "examples": ["0 6 * * 1"],
    },
    "timezone": {"type": "string", "default": "UTC", "examples": ["Europe/Berlin"]},
    "experiments": {
        "oneOf": [
            {"type": "string", "const": ALL_RUNNING},
            {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": MAX_EXPERIMENTS,
            },
        ],
        "description": f'Experiment keys, or "{ALL_RUNNING}" (those running at run time).',
    },
    "format": {"type": "string", "enum": _values(ExportFormat)},
    "destination": _ref("ExportDestination"),
    "enabled": {"type": "boolean", "default": True},
    "catch_up": {
        "type": "boolean",
        "default": True,
        "description": "After downtime, run every missed fire time (up to 100), not only the last.",
    },
}

EXPORT_SCHEMAS: Json = {
    "ExportSchedule": {
        "type": "object",
        "required": ["name", "cron", "experiments", "format", "destination"],
        "properties": _SCHEDULE_PROPERTIES,
    },
    "ExportDestination": {
        "type": "object",
        "description": (
            "directory: `path` under the server's EXPORT_DIR. webhook: `url` (https; never "
            "a loopback, private, link-local or other internal address or name, unless the "
            "server's EXPORT_WEBHOOK_ALLOW lists it, and then http too) and "
            f"`secret` (16 to 256 characters; shown as {REDACTED}, which kept in an edit keeps "
            f"it). email: `to` (1 to {MAX_RECIPIENTS} addresses) and an optional `subject`."
        ),
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": _values(DestinationType)},
            "path": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "secret": {"type": "string"},
            "to": {"type": "array", "items": {"type": "string", "format": "email"}},
            "subject": {"type": ["string", "null"]},
        },
    },
    "ExportScheduleResource": {
        "allOf": [
            _ref("ExportSchedule"),
            {
                "type": "object",
                "required": ["id", "created_at", "updated_at", "next_run_at", "last_run"],
                "properties": {
                    "id": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "next_run_at": {**_TIME, "description": "Null when disabled."},
                    "last_run": {"oneOf": [_ref("ExportRun"), {"type": "null"}]},
                },
            },
        ]
    },
    "ExportScheduleList": {
        "type": "object",
        "required": ["exports"],
        "properties": {"exports": {"type": "array", "items": _ref("ExportScheduleResource")}},
    },
    "ExportRun": {
        "type": "object",
        "required": ["id", "schedule_id", "fire_time", "status", "attempts"],
        "properties": {
            "id": {"type": "integer"},
            "schedule_id": {"type": "integer"},
            "fire_time": {**_TIME, "description": "Null for an ad-hoc run."},
            "status": {"type": "string", "enum": _values(RunStatus)},
            "attempts": {"type": "integer"},
            "started_at": _TIME,
            "finished_at": _TIME,
            "next_attempt_at": _TIME,
            "rows": {"type": ["integer", "null"]},
            "bytes": {"type": ["integer", "null"]},
            "destination": {"type": ["string", "null"]},
            "error": {"type": ["string", "null"]},
        },
    },
    "ExportRunList": {
        "type": "object",
        "required": ["schedule_id", "runs"],
        "properties": {
            "schedule_id": {"type": "integer"},
            "runs": {"type": "array", "items": _ref("ExportRun")},
        },
    },
}
