"""The OpenAPI path items of scheduled exports (service/api/admin/exports.py); their schemas are
service/schemas/exports.py's models."""

from __future__ import annotations

from service.api.admin.converters import MAX_SQL_ID
from service.api.admin.exports import MAX_RUNS
from service.api.openapi.parts import Json, _admin, _error, _json, _query, _ref

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
