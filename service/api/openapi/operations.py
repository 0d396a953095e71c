"""The OpenAPI 3.1 description of every endpoint the service serves (DESIGN §3): what each route
cannot tell about itself, by endpoint; build.py takes the rest from the routes.

Enumerations come from the domain, so the document cannot drift from the values the code
accepts; tests/functional/test_openapi.py checks the document against the routes. The dashboard's
pages are listed so the document covers every route the service answers: they are for browsers,
sign in with a session cookie (`sf_session`, scoped to /dashboard) and take CSRF-protected form
posts. Each form post names its fields (every value a string, as a browser sends it), so
schemathesis can fill them in (tests/functional/test_dashboard_schemathesis.py).
"""

from __future__ import annotations

from flask import Flask
from pydantic import BaseModel

from service.api.admin.exports import MAX_RUNS
from service.api.openapi.build import (
    Json,
    Op,
    Responses,
    body,
    build,
    component_schemas,
    html,
    inline_schema,
    json_answer,
    operation,
    query,
    query_parameters,
    ref,
    route_paths,
    text,
)
from service.api.public.decision_endpoint import PATH as DECISION_PATH
from service.api.public.payment_webhook import SIGNATURE_HEADER, SIGNATURE_PATTERN
from service.domain.experiment import Placement, Status
from service.schemas.admin import (
    Erasure,
    ExperimentList,
    ExperimentResource,
    ExportRun,
    ExportRunList,
    ExportScheduleList,
    ExportScheduleResource,
    History,
    PreviewToken,
    PreviewTokenRequest,
)
from service.schemas.conversions import ConversionsAnswer, Payment
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
from service.schemas.decision import DEFAULT_MAX_LENGTH, Decision, DecisionQuery
from service.schemas.dry_run import DryRunAnswer, DryRunBody
from service.schemas.errors import Error
from service.schemas.events import EventBatch, EventsAnswer
from service.schemas.experiment import Experiment
from service.schemas.exports import ExportSchedule
from service.schemas.ops import Status as StatusAnswer
from service.schemas.report import report_components
from service.usecases.erase import VISITOR_ID

_PAGES = "Snippet and demo"
# Each blueprint's operations are listed under one tag, in this order.
TAGS = {
    "public": "Public",
    "admin": "Admin",
    "reports": "Admin",
    "dry_run": "Admin",
    "exports": "Admin",
    "ops": "Operations",
    "openapi": "Operations",
    "snippet": _PAGES,
    "demo": _PAGES,
    "dashboard": "Dashboard",
}
PATH_NOTES: dict[str, Json] = {
    "key": {"description": "The experiment key."},
    "schedule_id": {"description": "The export schedule's id."},
    "visitor": {"schema": {"type": "string", "pattern": f"^{VISITOR_ID.pattern}$"}},
    "version": {"description": "The snippet's content hash."},
}

_CORS = "CORS for the configured origins; no authentication."
_NO_EXPERIMENT = "No experiment with that key."
_NO_SCHEDULE = "No export schedule with that id."
_STRING: Json = {"type": "string"}
_CREATED = {"Location": {"schema": _STRING}}
_CSV = text("text/csv", "The CSV file.")

# The decision is served in front of Flask (decision_endpoint.py), so no route tells of it.
DECISION = {
    "GET": Op(
        "Which banner, if any, to show this reader",
        {
            200: json_answer(Decision, "The decision."),
            400: "Bad query parameters; `fields` names every one.",
            429: "Too many requests from this address.",
        },
        f"{_CORS} Country comes from the CDN's geo header, device from the User-Agent. Any "
        f"parameter is at most {DEFAULT_MAX_LENGTH} characters unless stated. The answer "
        "carries `Cache-Control: no-store`.",
        query_parameters(DecisionQuery),
    ),
    "OPTIONS": Op("CORS preflight", {204: {"description": "The CORS headers for the origin."}}),
}

_REPORT_QUERY = [
    query("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    query("to", "Last day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    query("segment", "Break down by.", {"type": "string", "enum": ["country", "device"]}),
]
_REPORT_ERRORS: Responses = {400: "Bad from, to or segment.", 404: _NO_EXPERIMENT}
_SCHEDULE_ERRORS: Responses = {
    400: "The body is not JSON.",
    404: _NO_SCHEDULE,
    409: "The name is taken.",
    415: "The body is not application/json.",
    422: "The schedule is invalid; `fields` names every bad field.",
}

# -- The dashboard's pages -------------------------------------------------------------------

_SIGNED_IN = " Needs a dashboard session; without one it redirects to the login page."
_FORM = " Form posts carry the session's `csrf_token`; without it the answer is 400."
_REDIRECT: Responses = {302: {"description": "Done; redirects to the next page."}}
# Bad input on a page is a 4xx page saying which value and why, or the form again with the
# message beside its field; never a 5xx.
_BAD: Responses = {
    "4XX": html("A value the page cannot use, said on the page (or beside its field).")
}
_DAY = "A day, YYYY-MM-DD, from 1970-01-01 to 9998-12-31."


def _form(model: type[BaseModel]) -> Json:
    """A form post's body: its fields and the session's CSRF token."""
    return body(inline_schema(model), "application/x-www-form-urlencoded")


def _page(summary: str, role: str = "viewer", *params: Json, answer: Json | None = None) -> Op:
    responses: Responses = {200: answer or html("The page."), **_REDIRECT, **_BAD}
    return Op(summary, responses, f"Role: {role}.{_SIGNED_IN}", params)


def _post(summary: str, role: str = "editor", form: type[BaseModel] = Form) -> Op:
    responses: Responses = {200: html("The page again, with messages."), **_REDIRECT, **_BAD}
    return Op(summary, responses, f"Role: {role}.{_SIGNED_IN}{_FORM}", body=_form(form))


_DASHBOARD_REPORT_QUERY = [
    query("from", f"First day of exposure. {_DAY}"),
    query("to", f"Last day of exposure. {_DAY}"),
    query("segment", "Break the figures down.", {"type": "string", "enum": ["country", "device"]}),
]

# By endpoint, in the document's order; an endpoint with several methods declares each.
OPERATIONS: dict[str, Op | dict[str, Op]] = {
    "public.events": Op(
        "Record a batch of banner events",
        {
            202: json_answer(EventsAnswer, "What was accepted, duplicate or rejected."),
            400: 'Not JSON, or not `{"events": [...]}`.',
            413: "The batch is over 64 KiB.",
            415: "Neither application/json nor text/plain.",
            429: "Too many requests from this address.",
        },
        f"{_CORS} Sent as application/json or text/plain (sendBeacon), at most 64 KiB. A bad "
        "event is rejected alone; the rest of the batch is kept.",
        body=body(EventBatch, "application/json", "text/plain"),
    ),
    "public.conversions": Op(
        "The payment side's signed donation webhook",
        {
            200: json_answer(ConversionsAnswer, "Recorded (or already recorded)."),
            400: "The body is not JSON.",
            401: "Missing, stale or wrong signature.",
            422: "The payment is invalid.",
        },
        "Idempotent by payment id.",
        [
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "description": (
                    't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>, at most 5 '
                    "minutes old. A value that breaks HTTP itself (a NUL byte) is refused by the "
                    "server before the app, as HTML."
                ),
                "schema": {"type": "string", "pattern": f"^{SIGNATURE_PATTERN}$"},
            }
        ],
        body(Payment, "application/json"),
    ),
    "admin.list_experiments": Op(
        "List experiments",
        {
            200: json_answer(ExperimentList, "The experiments."),
            400: "Unknown status filter.",
        },
        parameters=[
            query("status", f"Comma-separated statuses to keep: {', '.join(Status)}."),
        ],
    ),
    "admin.create_experiment": Op(
        "Create an experiment (as draft)",
        {
            201: {**json_answer(ExperimentResource, "Created."), "headers": _CREATED},
            400: "The body is not a JSON object.",
            409: "The key is taken.",
            422: "The document is invalid.",
        },
        body=body(Experiment, "application/json"),
    ),
    "admin.get_experiment": Op(
        "Read an experiment",
        {
            200: {
                **json_answer(ExperimentResource, "The experiment."),
                "headers": {"ETag": {"schema": _STRING}},
            },
            404: _NO_EXPERIMENT,
        },
    ),
    "admin.update_experiment": Op(
        "Replace an experiment's document",
        {
            200: json_answer(ExperimentResource, "Saved."),
            400: "Bad body or If-Match.",
            404: _NO_EXPERIMENT,
            409: "The edit is not allowed in this status.",
            412: "The experiment changed since the If-Match revision.",
            422: "The document is invalid.",
        },
        parameters=[
            {
                "name": "If-Match",
                "in": "header",
                "description": 'An ETag from a GET, such as "r3", or *.',
                "schema": {"type": "string", "pattern": r'^\s*(\*|(W/)?"r\d+")\s*$'},
            }
        ],
        body=body(Experiment, "application/json"),
    ),
    "admin.change_status": Op(
        "Change an experiment's status: start, pause, stop or archive",
        {
            200: json_answer(ExperimentResource, "The experiment in its new status."),
            404: _NO_EXPERIMENT,
            409: "The action is not allowed from the current status.",
        },
    ),
    "admin.history": Op(
        "Every audited revision",
        {200: json_answer(History, "The revisions."), 404: _NO_EXPERIMENT},
    ),
    "admin.preview_token": Op(
        "A signed QA link showing one variant",
        {
            200: json_answer(PreviewToken, "The token and a decision URL."),
            404: _NO_EXPERIMENT,
            422: "Unknown variant or bad ttl_hours.",
        },
        body=body(PreviewTokenRequest, "application/json", required=False),
    ),
    "reports.report": Op(
        "The experiment report",
        {200: json_answer(ref("Report"), "The report."), **_REPORT_ERRORS},
        parameters=_REPORT_QUERY,
    ),
    "reports.report_csv": Op(
        "The experiment report as CSV, one row per variant (and segment value)",
        {200: _CSV, **_REPORT_ERRORS},
        parameters=_REPORT_QUERY,
    ),
    "admin.erase_visitor": Op(
        "Erase a visitor everywhere",
        {200: json_answer(Erasure, "What was removed."), 400: "Malformed visitor id."},
    ),
    "ops.healthz": Op("Liveness", {200: json_answer(StatusAnswer, "Alive.")}),
    "ops.readyz": Op(
        "Readiness: SQL at the schema head, Redis answering",
        {
            200: json_answer(StatusAnswer, "Ready."),
            503: json_answer(StatusAnswer, "Not ready; `checks` says why."),
        },
    ),
    "ops.metrics": Op(
        "Prometheus metrics", {200: text("text/plain", "The Prometheus text format.")}
    ),
    "openapi.openapi": Op(
        "This document", {200: json_answer({"type": "object"}, "The OpenAPI document.")}
    ),
    "openapi.docs": Op("This document as a readable reference page", {200: html("The page.")}),
    "snippet.current": Op(
        "The snippet, cached for 5 minutes",
        {200: text("application/javascript", "The snippet.")},
    ),
    "snippet.versioned": Op(
        "The snippet at one version, cached for good",
        {200: text("application/javascript", "The snippet."), 404: "Not the current version."},
    ),
    "demo.article": Op(
        "A demo article page with the snippet embedded",
        {200: html("The page.")},
        parameters=[
            query("placements", "Space-separated placements to show."),
            query("hostile_css", "1 adds page CSS that fights the banner."),
            query("consent", "0 asks for consent before any id or event."),
        ],
    ),
    "demo.donate_form": Op(
        "The demo donation form",
        {200: html("The form.")},
        parameters=[
            query("sf_token", "The decision token."),
            query("amount", "Prefilled amount."),
            query("currency", "Prefilled currency."),
            query("frequency", "Prefilled frequency."),
        ],
    ),
    "demo.donate": Op(
        "Make a demo donation (off in production)",
        {
            200: html("The thank-you page."),
            404: html("Turned off in production."),
            422: html("The form again, saying what is wrong."),
        },
        "Signs the payment and hands it to the conversions webhook.",
        body=body(
            {
                "type": "object",
                "properties": {
                    name: _STRING for name in ("token", "amount", "currency", "frequency")
                },
            },
            "application/x-www-form-urlencoded",
        ),
    ),
    "exports.list_exports": Op(
        "List export schedules",
        {200: json_answer(ExportScheduleList, "The schedules, by name.")},
    ),
    "exports.create_export": Op(
        "Create an export schedule",
        {
            201: {**json_answer(ExportScheduleResource, "Created."), "headers": _CREATED},
            **{s: r for s, r in _SCHEDULE_ERRORS.items() if s != 404},
        },
        body=body(ExportSchedule, "application/json"),
    ),
    "exports.get_export": Op(
        "Read an export schedule",
        {200: json_answer(ExportScheduleResource, "The schedule."), 404: _NO_SCHEDULE},
    ),
    "exports.update_export": Op(
        "Replace an export schedule",
        {200: json_answer(ExportScheduleResource, "Saved."), **_SCHEDULE_ERRORS},
        body=body(ExportSchedule, "application/json"),
    ),
    "exports.delete_export": Op(
        "Delete an export schedule and its run records",
        {204: {"description": "Deleted."}, 404: _NO_SCHEDULE},
    ),
    "exports.run_export": Op(
        "Run a schedule now (queued for the next scheduler poll)",
        {
            202: {**json_answer(ExportRun, "The queued run."), "headers": _CREATED},
            404: _NO_SCHEDULE,
        },
    ),
    "exports.export_runs": Op(
        "The schedule's runs, newest first",
        {200: json_answer(ExportRunList, "The runs."), 400: "Bad limit.", 404: _NO_SCHEDULE},
        parameters=[
            query(
                "limit",
                f"How many runs, 1 to {MAX_RUNS} (default 50).",
                {"type": "integer", "minimum": 1, "maximum": MAX_RUNS},
            )
        ],
    ),
    "dashboard.experiments": _page(
        "Experiments with their headline figures and warnings",
        "viewer",
        query("archived", "1 lists the archived experiments instead."),
    ),
    "dashboard.login": {
        "GET": Op("The sign-in form", {200: html("The form."), **_REDIRECT, **_BAD}),
        "POST": Op(
            "Sign in (rate-limited per address and per e-mail)",
            {200: html("The form with the reason."), **_REDIRECT, **_BAD},
            _FORM.strip(),
            body=_form(LoginForm),
        ),
    },
    "dashboard.logout": _post("Sign out", "viewer"),
    "dashboard.account": _page("Your account: change the password, see your sessions"),
    "dashboard.change_password": _post(
        "Change your password (ends every other session of yours)", "viewer", PasswordForm
    ),
    "dashboard.end_other_session": _post("Sign one of your sessions out", "viewer"),
    "dashboard.sign_out_everywhere": _post(
        "End every session of yours, this one included", "viewer"
    ),
    "dashboard.new_experiment": {
        "GET": _page("The editor for a new experiment", "editor"),
        "POST": _post("Create a draft, or add/copy/remove a variant in the form", form=EditorForm),
    },
    "dashboard.results": _page("Results", "viewer", *_DASHBOARD_REPORT_QUERY),
    "dashboard.results_csv": _page(
        "The results as CSV (same columns as the admin API's)",
        "viewer",
        *_DASHBOARD_REPORT_QUERY,
        answer=_CSV,
    ),
    "dashboard.edit_experiment": {
        "GET": _page("The editor", "editor"),
        "POST": _post("Save a new revision", form=EditorForm),
    },
    "dashboard.lifecycle": {
        "GET": _page("Confirm a lifecycle action", "editor"),
        "POST": _post("Carry out the lifecycle action", form=LifecycleForm),
    },
    "dashboard.history": _page(
        "Revisions and diffs",
        "viewer",
        query("a", "A revision number to compare…"),
        query("b", "…with this one."),
    ),
    "dashboard.preview_link": _post(
        "A signed QA preview link for one variant", form=PreviewLinkForm
    ),
    "dashboard.banner_preview": Op(
        "The banner a variant's editor fields describe, for the live preview",
        {
            200: json_answer(
                {"type": "object"}, "The banner as the decision endpoint would give it."
            ),
            **_REDIRECT,
            "4XX": json_answer(
                {"type": "object"}, "Not {fields: {...}}, or the fields' errors by name."
            ),
        },
        f"Role: editor.{_SIGNED_IN} Sends the CSRF token in X-CSRF-Token.",
        body=body(inline_schema(BannerPreviewRequest), "application/json"),
    ),
    "dashboard.exports": _page("Scheduled exports with their next and last runs"),
    "dashboard.new_export": {
        "GET": _page("The form for a new export schedule", "editor"),
        "POST": _post("Create the schedule", form=ExportForm),
    },
    "dashboard.export_runs": _page("A schedule's next fire times and runs"),
    "dashboard.edit_export": {
        "GET": _page("The schedule's form", "editor"),
        "POST": _post("Save the schedule", form=ExportForm),
    },
    "dashboard.run_export_now": _post("Queue a run now (the scheduler executes it)"),
    "dashboard.delete_export": {
        "GET": _page("Confirm deleting the schedule", "editor"),
        "POST": _post("Delete the schedule and its run records"),
    },
    "dashboard.decisions": _page(
        "Why no banner: sampled decisions per day, outcome and placement",
        "viewer",
        query("from", f"First day; default 13 days before `to`. {_DAY}"),
        query("to", f"Last day; default today (UTC). {_DAY}"),
        query("placement", "One placement, or all.", {"type": "string", "enum": list(Placement)}),
    ),
    "dashboard.dry_run": _post(
        "The editor again, with the dry run's estimate for the experiment as edited",
        form=DryRunForm,
    ),
    "dashboard.static": Op(
        "Dashboard stylesheets and scripts (uPlot is vendored here)",
        {200: {"description": "The file."}, **_BAD},
    ),
    "dry_run.dry_run_endpoint": Op(
        "Estimate reach, overlap and days to detect from sampled decisions",
        {
            200: json_answer(
                inline_schema(DryRunAnswer), "The estimate, with the assumptions it rests on."
            ),
            400: "The body is not valid JSON.",
            404: _NO_EXPERIMENT,
            415: "A body that is not application/json.",
            422: "A bad field; `fields` names every one.",
        },
        body=body(inline_schema(DryRunBody), "application/json", required=False),
    ),
}


def document(app: Flask) -> Json:
    """The document for the app's routes."""
    models: set[type[BaseModel]] = {Error}
    paths = {
        DECISION_PATH: {m.lower(): operation(op, "Public", models) for m, op in DECISION.items()}
    }
    paths.update(route_paths(app, OPERATIONS, TAGS, PATH_NOTES, models))
    schemas = component_schemas(sorted(models, key=lambda m: m.__name__))
    report = report_components()
    clash = schemas.keys() & report.keys()
    assert not clash, f"report parts named like request models: {clash}"  # one name, one schema
    return build(
        info={
            "title": "Small Favor",
            "version": "1",
            "description": (
                "A/B tests donation and paywall prompts on news sites. Every error is "
                '`{"error": {"code", "message", "fields"}}`.'
            ),
        },
        tags=list(dict.fromkeys(TAGS.values())),
        paths=paths,
        schemas={**report, **schemas},
        components={
            "responses": {"Error": json_answer(ref(Error), "An error.")},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token made with the CLI; roles viewer < editor < admin.",
                }
            },
        },
    )
