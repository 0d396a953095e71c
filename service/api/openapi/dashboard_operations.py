"""The OpenAPI operations of the dashboard's pages, listed so the document covers every route
the service answers: they are for browsers, sign in with a session cookie (`sf_session`, scoped
to /dashboard) and take CSRF-protected form posts. Each form post names its fields (every value
a string, as a browser sends it), so schemathesis can fill them in
(tests/functional/test_dashboard_schemathesis.py). operations.py assembles them with the others.
"""

from __future__ import annotations

from pydantic import BaseModel

from service.api.openapi.admin_operations import CSV, EXPORT_FILE
from service.api.openapi.build import (
    Json,
    Op,
    Responses,
    body,
    html,
    inline_schema,
    json_answer,
    query,
)
from service.domain.experiment import Device, Placement
from service.schemas.dashboard import (
    BannerPreviewRequest,
    DryRunForm,
    EditorForm,
    ExportForm,
    Form,
    InviteForm,
    LifecycleForm,
    LoginForm,
    PasswordForm,
    PreviewLinkForm,
    RoleForm,
    SetPasswordForm,
    ShipForm,
    TokenForm,
)

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
    "dashboard.tokens": _page("API tokens and the recent admin audit", "admin"),
    "dashboard.create_token": _post(
        "Create an API token; the answer shows its secret, once", "admin", TokenForm
    ),
    "dashboard.revoke_token": _post("Revoke an API token, refused from now on", "admin"),
    "dashboard.people": _page("Users, their roles, and the recent admin audit", "admin"),
    "dashboard.invite_user": _post(
        "Invite a user; the answer shows their one-time set-password link, once",
        "admin",
        InviteForm,
    ),
    "dashboard.change_role": _post(
        "Change another user's role (ends their sessions)", "admin", RoleForm
    ),
    "dashboard.disable_user": _post("Disable another user (ends their sessions)", "admin"),
    "dashboard.enable_user": _post("Let a disabled user sign in again", "admin"),
    "dashboard.reset_password": _post(
        "Reset another user's password: ends their sessions, shows a new one-time link",
        "admin",
    ),
    "dashboard.set_password": {
        "GET": Op(
            "The set-password form of a one-time link (410 when used or expired, 404 unknown)",
            {200: html("The form."), **_BAD},
        ),
        "POST": Op(
            "Set the password with a one-time link and sign in",
            {200: html("The form with the reason."), **_REDIRECT, **_BAD},
            _FORM.strip(),
            body=_form(SetPasswordForm),
        ),
    },
    "dashboard.new_experiment": {
        "GET": _page("The editor for a new experiment", "editor"),
        "POST": _post("Create a draft, or add/copy/remove a variant in the form", form=EditorForm),
    },
    "dashboard.results": _page("Results", "viewer", *_DASHBOARD_REPORT_QUERY),
    "dashboard.results_csv": _page(
        "The results as CSV (same columns as the admin API's)",
        "viewer",
        *_DASHBOARD_REPORT_QUERY,
        answer=CSV,
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
    "dashboard.ship": _post("Ship a variant to every eligible reader", form=ShipForm),
    "dashboard.unship": _post("Undo a ship", form=LifecycleForm),
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
    "dashboard.export_file": _page(
        "Download a file a run wrote to a directory destination (404 page if it is gone)",
        answer=EXPORT_FILE,
    ),
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
        query(
            "visitor",
            "Visitor lookup: the reader's id (8 to 64 of A-Z a-z 0-9 _ -); the page then shows "
            "the decision they would get now and the rule that ruled out each experiment.",
        ),
        query(
            "visitor_placement",
            "Visitor lookup: the placement to decide.",
            {"type": "string", "enum": list(Placement)},
        ),
        query("country", "Visitor lookup: a two-letter country code, or none."),
        query(
            "device",
            "Visitor lookup: the device; default desktop.",
            {"type": "string", "enum": list(Device)},
        ),
    ),
    "dashboard.dry_run": _post(
        "The editor again, with the dry run's estimate for the experiment as edited",
        form=DryRunForm,
    ),
    "dashboard.static": Op(
        "Dashboard stylesheets and scripts (uPlot is vendored here)",
        {200: {"description": "The file."}, **_BAD},
    ),
}
