"""The OpenAPI path items for the staff dashboard's pages (server-rendered HTML).

They are listed so the document covers every route the service answers; the pages are for
browsers, sign in with a session cookie (`sf_session`, scoped to /dashboard) and take
CSRF-protected form posts. Each form post names its fields (every value a string, as a browser
sends it), so schemathesis can fill them in (tests/functional/test_dashboard_schemathesis.py).
The field names are the dashboard's own; a test checks they match the editor's form module.
"""

from __future__ import annotations

from service.api.converters import MAX_SQL_ID
from service.api.openapi_parts import Json, _html, _query, _values
from service.domain.experiment import Placement

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
_TEXT: Json = {"type": "string"}
_TICKED: Json = {"type": "array", "items": _TEXT}  # a checkbox group: the field repeated
_DAY = "A day, YYYY-MM-DD, from 1970-01-01 to 9998-12-31."

# The experiment editor's fields: the document's own field paths (service/dashboard/
# experiment_form.py). Variants are numbered from 0; documented for the first two.
EDITOR_FIELDS = (
    "key", "name", "placement", "priority", "start_at", "end_at", "traffic", "holdout",
    "targeting.countries", "targeting.languages", "targeting.sections",
    "targeting.exclude_sections", "targeting.tags", "targeting.min_article_views",
    "targeting.audience", "caps.max_impressions", "caps.per_days", "caps.min_hours_between",
    "snooze_hours.remind_later", "snooze_hours.close", "snooze_hours.already_donated",
    "attribution_days", "allocation", "bandit.floor", "bandit.min_visitors",
    "bandit.min_conversions", "bandit.cadence_minutes", "seed", "analysis.primary_metric",
    "analysis.alpha", "analysis.revenue_cap", "analysis.currency", "analysis.sequential",
    "trust_client_conversions",
)  # fmt: skip
EDITOR_TICKED = ("targeting.devices",)
VARIANT_FIELDS = (
    "key", "weight", "banner.template", "banner.heading", "banner.paragraphs",
    "banner.highlight", "banner.cta.label", "banner.cta.url", "banner.amounts.currency",
    "banner.amounts.one_off", "banner.amounts.monthly", "banner.amounts.annual",
    "banner.amounts.default_frequency", "banner.remind_later_label",
)  # fmt: skip
VARIANT_TICKED = ("banner.payment_methods",)
DRY_RUN_FIELDS = ("minimum_effect", "baseline", "baseline_sd", "days")


def _editor_fields() -> Json:
    fields: Json = {name: _TEXT for name in EDITOR_FIELDS}
    fields.update({name: _TICKED for name in EDITOR_TICKED})
    for index in (0, 1):
        fields.update({f"variants[{index}].{name}": _TEXT for name in VARIANT_FIELDS})
        fields.update({f"variants[{index}].{name}": _TICKED for name in VARIANT_TICKED})
    fields["op"] = {
        "type": "string",
        "description": "save (the default), add-variant, copy-variant:<i> or remove-variant:<i>.",
    }
    fields["revision"] = {"type": "string", "description": "The revision the edit started from."}
    return fields


def _form(fields: Json) -> Json:
    """A form post's body: its fields and the session's CSRF token."""
    schema = {"type": "object", "properties": {"csrf_token": _TEXT, **fields}}
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {**schema, "required": ["csrf_token"]}}
        },
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
    summary: str, role: str = "editor", params: list[Json] | None = None, form: Json | None = None
) -> Json:
    return {
        "tags": _TAGS,
        "summary": summary,
        "description": f"Role: {role}.{_SIGNED_IN}{_FORM}",
        "parameters": params or [],
        "requestBody": _form(form or {}),
        "responses": {"200": _html("The page again, with messages."), **_REDIRECT, **_BAD},
    }


_REPORT_QUERY = [
    _query("from", f"First day of exposure. {_DAY}"),
    _query("to", f"Last day of exposure. {_DAY}"),
    _query("segment", "Break the figures down.", {"type": "string", "enum": ["country", "device"]}),
]
EXPORT_FIELDS = (
    "name", "cron", "timezone", "scope", "format", "destination.type", "destination.path",
    "destination.url", "destination.secret", "destination.to", "destination.subject",
    "enabled", "catch_up",
)  # fmt: skip
_EXPORT_FORM: Json = {**{name: _TEXT for name in EXPORT_FIELDS}, "experiments": _TICKED}


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
            "requestBody": _form({"email": _TEXT, "password": _TEXT, "next": _TEXT}),
            "responses": {"200": _html("The form with the reason."), **_REDIRECT, **_BAD},
        },
    },
    "/dashboard/logout": {"post": _post("Sign out", "viewer")},
    "/dashboard/account": {"get": _page("Your account: change the password, see your sessions")},
    "/dashboard/account/password": {
        "post": _post(
            "Change your password (ends every other session of yours)",
            "viewer",
            form={"current_password": _TEXT, "new_password": _TEXT, "new_password_again": _TEXT},
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
        "post": _post(
            "Create a draft, or add/copy/remove a variant in the form", form=_editor_fields()
        ),
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
        "post": _post("Save a new revision", params=[_KEY], form=_editor_fields()),
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
        "post": _post("Carry out the lifecycle action", form={"revision": _TEXT}),
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
            form={
                "variant": _TEXT,
                "hours": {"type": "string", "description": "1, 24, 72 or 168."},
            },
        )
    },
    "/dashboard/banner-preview": {
        "post": {
            "tags": _TAGS,
            "summary": "The banner a variant's editor fields describe, for the live preview",
            "description": f"Role: editor.{_SIGNED_IN} Sends the CSRF token in X-CSRF-Token.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "fields": {
                                    "type": "object",
                                    "description": "The variant's editor fields, by name.",
                                    "properties": {
                                        name: _TICKED if name in VARIANT_TICKED else _TEXT
                                        for name in (*VARIANT_FIELDS, *VARIANT_TICKED)
                                    },
                                }
                            },
                            "required": ["fields"],
                        }
                    }
                },
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
        "post": _post("Create the schedule", form=_EXPORT_FORM),
    },
    "/dashboard/exports/{schedule_id}": {
        "get": _page("A schedule's next fire times and runs", params=[_ID])
    },
    "/dashboard/exports/{schedule_id}/edit": {
        "get": _page("The schedule's form", "editor", [_ID]),
        "post": _post("Save the schedule", params=[_ID], form=_EXPORT_FORM),
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
            form={
                **_editor_fields(),
                **{f"dry_run.{name}": _TEXT for name in DRY_RUN_FIELDS},
            },
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
