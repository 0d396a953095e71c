"""The OpenAPI path items for the staff dashboard's pages (server-rendered HTML).

They are listed so the document covers every route the service answers; the pages are for
browsers, sign in with a session cookie (`sf_session`, scoped to /dashboard) and take
CSRF-protected form posts. Each form post names its fields (every value a string, as a browser
sends it), so schemathesis can fill them in (tests/functional/test_dashboard_schemathesis.py);
the bodies are generated from service/schemas/dashboard.py.
"""

from __future__ import annotations

from pydantic import BaseModel

from service.api.admin.converters import MAX_SQL_ID
from service.api.openapi.build import inline_schema
from service.api.openapi.parts import Json, _html, _query, _values
from service.domain.experiment import Placement
from service.schemas.dashboard import (
    BannerPreviewRequest,
    DryRunForm,
    EditorForm,
    ExportForm,
    Form,
    LifecycleForm,
    LoginForm,
    PasswordForm,
    PreviewLinkForm,
)

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
# Bad input on a page is a 4xx page saying which value and why, or the form again with the
# message beside its field; never a 5xx.
_BAD: Json = {"4XX": _html("A value the page cannot use, said on the page (or beside its field).")}
_DAY = "A day, YYYY-MM-DD, from 1970-01-01 to 9998-12-31."


def _form(model: type[BaseModel]) -> Json:
    """A form post's body: its fields and the session's CSRF token."""
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": inline_schema(model)}},
    }


def _page(summary: str, role: str = "viewer", params: list[Json] | None = None) -> Json:
    return {
        "tags": _TAGS,
        "summary": summary,
        "description": f"Role: {role}.{_SIGNED_IN}",
        "parameters": params or [],
        "responses": {"200": _html("The page."), **_REDIRECT, **_BAD},
    }


def _post(
    summary: str,
    role: str = "editor",
    params: list[Json] | None = None,
    form: type[BaseModel] = Form,
) -> Json:
    return {
        "tags": _TAGS,
        "summary": summary,
        "description": f"Role: {role}.{_SIGNED_IN}{_FORM}",
        "parameters": params or [],
        "requestBody": _form(form),
        "responses": {"200": _html("The page again, with messages."), **_REDIRECT, **_BAD},
    }


_REPORT_QUERY = [
    _query("from", f"First day of exposure. {_DAY}"),
    _query("to", f"Last day of exposure. {_DAY}"),
    _query("segment", "Break the figures down.", {"type": "string", "enum": ["country", "device"]}),
]
DASHBOARD_PATHS: Json = {
    "/dashboard/": {
        "get": _page(
            "Experiments with their headline figures and warnings",
            params=[_query("archived", "1 lists the archived experiments instead.")],
        )
    },
    "/dashboard/login": {
        "get": {
            "tags": _TAGS,
            "summary": "The sign-in form",
            "responses": {"200": _html("The form."), **_REDIRECT, **_BAD},
        },
        "post": {
            "tags": _TAGS,
            "summary": "Sign in (rate-limited per address and per e-mail)",
            "description": _FORM.strip(),
            "requestBody": _form(LoginForm),
            "responses": {"200": _html("The form with the reason."), **_REDIRECT, **_BAD},
        },
    },
    "/dashboard/logout": {"post": _post("Sign out", "viewer")},
    "/dashboard/account": {"get": _page("Your account: change the password, see your sessions")},
    "/dashboard/account/password": {
        "post": _post(
            "Change your password (ends every other session of yours)",
            "viewer",
            form=PasswordForm,
        )
    },
    "/dashboard/account/sessions/{row_id}/end": {
        "post": _post(
            "Sign one of your sessions out",
            "viewer",
            params=[
                {
                    "name": "row_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SQL_ID},
                }
            ],
        )
    },
    "/dashboard/account/sign-out-everywhere": {
        "post": _post("End every session of yours, this one included", "viewer")
    },
    "/dashboard/experiments/new": {
        "get": _page("The editor for a new experiment", "editor"),
        "post": _post("Create a draft, or add/copy/remove a variant in the form", form=EditorForm),
    },
    "/dashboard/experiments/{key}": {"get": _page("Results", params=[_KEY, *_REPORT_QUERY])},
    "/dashboard/experiments/{key}/report.csv": {
        "get": {
            **_page(
                "The results as CSV (same columns as the admin API's)",
                params=[_KEY, *_REPORT_QUERY],
            ),
            "responses": {
                "200": {
                    "description": "The CSV file.",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **_REDIRECT,
                **_BAD,
            },
        }
    },
    "/dashboard/experiments/{key}/edit": {
        "get": _page("The editor", "editor", [_KEY]),
        "post": _post("Save a new revision", params=[_KEY], form=EditorForm),
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
        "post": _post("Carry out the lifecycle action", form=LifecycleForm),
    },
    "/dashboard/experiments/{key}/history": {
        "get": _page(
            "Revisions and diffs",
            params=[
                _KEY,
                _query("a", "A revision number to compare…"),
                _query("b", "…with this one."),
            ],
        )
    },
    "/dashboard/experiments/{key}/preview-link": {
        "post": _post(
            "A signed QA preview link for one variant",
            params=[_KEY],
            form=PreviewLinkForm,
        )
    },
    "/dashboard/banner-preview": {
        "post": {
            "tags": _TAGS,
            "summary": "The banner a variant's editor fields describe, for the live preview",
            "description": f"Role: editor.{_SIGNED_IN} Sends the CSRF token in X-CSRF-Token.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": inline_schema(BannerPreviewRequest)}},
            },
            "responses": {
                "200": {
                    "description": "The banner as the decision endpoint would give it.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_REDIRECT,
                "4XX": {
                    "description": "Not {fields: {...}}, or the fields' errors by name.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            },
        }
    },
    "/dashboard/exports": {"get": _page("Scheduled exports with their next and last runs")},
    "/dashboard/exports/new": {
        "get": _page("The form for a new export schedule", "editor"),
        "post": _post("Create the schedule", form=ExportForm),
    },
    "/dashboard/exports/{schedule_id}": {
        "get": _page("A schedule's next fire times and runs", params=[_ID])
    },
    "/dashboard/exports/{schedule_id}/edit": {
        "get": _page("The schedule's form", "editor", [_ID]),
        "post": _post("Save the schedule", params=[_ID], form=ExportForm),
    },
    "/dashboard/exports/{schedule_id}/run": {
        "post": _post("Queue a run now (the scheduler executes it)", params=[_ID])
    },
    "/dashboard/exports/{schedule_id}/delete": {
        "get": _page("Confirm deleting the schedule", "editor", [_ID]),
        "post": _post("Delete the schedule and its run records", params=[_ID]),
    },
    "/dashboard/decisions": {
        "get": _page(
            "Why no banner: sampled decisions per day, outcome and placement",
            params=[
                _query("from", f"First day; default 13 days before `to`. {_DAY}"),
                _query("to", f"Last day; default today (UTC). {_DAY}"),
                _query(
                    "placement",
                    "One placement, or all.",
                    {"type": "string", "enum": _values(Placement)},
                ),
            ],
        )
    },
    "/dashboard/experiments/{key}/dry-run": {
        "post": _post(
            "The editor again, with the dry run's estimate for the experiment as edited",
            params=[_KEY],
            form=DryRunForm,
        )
    },
    "/dashboard/static/{filename}": {
        "get": {
            "tags": _TAGS,
            "summary": "Dashboard stylesheets and scripts (uPlot is vendored here)",
            "parameters": [
                {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "The file."}, **_BAD},
        }
    },
}
