"""The OpenAPI path items for the staff dashboard's pages (server-rendered HTML).

They are listed so the document covers every route the service answers; the pages are for
browsers, sign in with a session cookie (`sf_session`, scoped to /dashboard) and take
CSRF-protected form posts, so they are described, not specified field by field.
"""

from __future__ import annotations

from service.api.converters import MAX_SQL_ID
from service.api.openapi_parts import Json, _html

_TAGS = ["Dashboard"]
_KEY: Json = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
_ID: Json = {
    "name": "schedule_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SQL_ID},
}
_SIGNED_IN = " Needs a dashboard session; without one it redirects to the login page."
_FORM = " Form posts carry the session's `csrf_token`; without it the answer is 400."
_REDIRECT: Json = {"302": {"description": "Done; redirects to the next page."}}


def _page(summary: str, role: str = "viewer", params: list[Json] | None = None) -> Json:
    return {
        "tags": _TAGS,
        "summary": summary,
        "description": f"Role: {role}.{_SIGNED_IN}",
        "parameters": params or [],
        "responses": {"200": _html("The page."), **_REDIRECT},
    }


def _post(summary: str, role: str = "editor", params: list[Json] | None = None) -> Json:
    return {
        "tags": _TAGS,
        "summary": summary,
        "description": f"Role: {role}.{_SIGNED_IN}{_FORM}",
        "parameters": params or [],
        "responses": {"200": _html("The page again, with messages."), **_REDIRECT},
    }


DASHBOARD_PATHS: Json = {
    "/dashboard/": {"get": _page("Experiments with their headline figures and warnings")},
    "/dashboard/login": {
        "get": {
            "tags": _TAGS,
            "summary": "The sign-in form",
            "responses": {"200": _html("The form."), **_REDIRECT},
        },
        "post": {
            "tags": _TAGS,
            "summary": "Sign in (rate-limited per address and per e-mail)",
            "description": _FORM.strip(),
            "responses": {"200": _html("The form with the reason."), **_REDIRECT},
        },
    },
    "/dashboard/logout": {"post": _post("Sign out", "viewer")},
    "/dashboard/experiments/new": {
        "get": _page("The editor for a new experiment", "editor"),
        "post": _post("Create a draft, or add/copy/remove a variant in the form"),
    },
    "/dashboard/experiments/{key}": {"get": _page("Results", params=[_KEY])},
    "/dashboard/experiments/{key}/report.csv": {
        "get": {
            **_page("The results as CSV (same columns as the admin API's)", params=[_KEY]),
            "responses": {
                "200": {
                    "description": "The CSV file.",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **_REDIRECT,
            },
        }
    },
    "/dashboard/experiments/{key}/edit": {
        "get": _page("The editor", "editor", [_KEY]),
        "post": _post("Save a new revision", params=[_KEY]),
    },
    "/dashboard/experiments/{key}/{action}": {
        "parameters": [
            _KEY,
            {
                "name": "action",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": ["start", "pause", "stop", "archive"]},
            },
        ],
        "get": _page("Confirm a lifecycle action", "editor"),
        "post": _post("Carry out the lifecycle action"),
    },
    "/dashboard/experiments/{key}/history": {"get": _page("Revisions and diffs", params=[_KEY])},
    "/dashboard/experiments/{key}/preview-link": {
        "post": _post("A signed QA preview link for one variant", params=[_KEY])
    },
    "/dashboard/banner-preview": {
        "post": {
            "tags": _TAGS,
            "summary": "The banner a variant's editor fields describe, for the live preview",
            "description": f"Role: editor.{_SIGNED_IN} Sends the CSRF token in X-CSRF-Token.",
            "responses": {
                "200": {
                    "description": "The banner as the decision endpoint would give it.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_REDIRECT,
            },
        }
    },
    "/dashboard/exports": {"get": _page("Scheduled exports with their next and last runs")},
    "/dashboard/exports/new": {
        "get": _page("The form for a new export schedule", "editor"),
        "post": _post("Create the schedule"),
    },
    "/dashboard/exports/{schedule_id}": {
        "get": _page("A schedule's next fire times and runs", params=[_ID])
    },
    "/dashboard/exports/{schedule_id}/edit": {
        "get": _page("The schedule's form", "editor", [_ID]),
        "post": _post("Save the schedule", params=[_ID]),
    },
    "/dashboard/exports/{schedule_id}/run": {
        "post": _post("Queue a run now (the scheduler executes it)", params=[_ID])
    },
    "/dashboard/exports/{schedule_id}/delete": {
        "get": _page("Confirm deleting the schedule", "editor", [_ID]),
        "post": _post("Delete the schedule and its run records", params=[_ID]),
    },
    "/dashboard/static/{filename}": {
        "get": {
            "tags": _TAGS,
            "summary": "Dashboard stylesheets and scripts (uPlot is vendored here)",
            "parameters": [
                {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "The file."}},
        }
    },
}
