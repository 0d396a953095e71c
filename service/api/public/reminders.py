"""E-mail reminders (docs/PRIVACY.md): `POST /v1/reminders` for the snippet (CORS like
/v1/events), and the signed links of the e-mails, which answer plain pages for people:

- `/v1/reminders/<id>/confirm`: GET shows a button, POST confirms (a link scanner that
  fetches every link in a message must not confirm on the reader's behalf);
- `/v1/reminders/<id>/unsubscribe`: GET shows a button; POST unsubscribes, which is also the
  RFC 8058 one-click POST a mail client sends for the List-Unsubscribe-Post header;
- `/v1/reminders/<id>/give`: records the click and redirects (303) to the donation page.

Every link carries `sig`, an HMAC of the id and the action (domain/reminder_keys.py).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, make_response, redirect, render_template, request

from service.api.http import ApiError, parse_json
from service.api.public.cors import CorsPolicy
from service.domain.errors import NotFound
from service.domain.instants import iso_utc
from service.domain.reminder_keys import CONFIRM, GIVE, UNSUBSCRIBE
from service.domain.reminders import ReminderStatus
from service.settings import Settings
from service.store.sql.reminders_repo import Reminder
from service.usecases import reminders
from service.web import services

MAX_BODY_BYTES = 4096
REMINDER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Pages of plain HTML and inline style: nothing else may load, nothing may frame them, and
# the signed URL must not leak to another site as a referrer.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("reminders", __name__, template_folder="templates")
    cors = CorsPolicy(settings)

    @bp.after_request
    def add_headers(response: Response) -> Response:
        if request.path == "/v1/reminders":
            preflight = request.method == "OPTIONS"
            for name, value in cors.headers(request.headers.get("Origin"), preflight):
                response.headers[name] = value
        else:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
            if response.mimetype == "text/html":
                response.headers["Content-Security-Policy"] = _CSP
                response.headers["X-Frame-Options"] = "DENY"
        return response

    @bp.post("/v1/reminders")
    def sign_up() -> tuple[Response, int]:
        if request.mimetype not in ("application/json", "text/plain"):
            raise ApiError(
                415,
                "send application/json or text/plain",
                {"Content-Type": "must be application/json or text/plain"},
            )
        raw = request.get_data(cache=False)
        if len(raw) > MAX_BODY_BYTES:
            message = f"a sign-up is at most {MAX_BODY_BYTES} bytes"
            raise ApiError(413, message, {"$": message})
        signed = reminders.sign_up(services(), parse_json(raw), request.remote_addr or "unknown")
        answer = {
            "reminder": signed.reminder,
            "status": signed.status,
            "snoozed_until": iso_utc(signed.snoozed_until),
        }
        return make_response(answer), 202

    @bp.route("/v1/reminders/<reminder_id>/confirm", methods=["GET", "POST"])
    def confirm(reminder_id: str) -> Response:
        try:
            reminder = _reminder(reminder_id, CONFIRM)
        except NotFound as exc:
            return _page(404, "Link not valid", str(exc))
        if request.method == "POST" and reminders.confirm(services(), reminder):
            return _page(
                200,
                "Reminder confirmed",
                f"Thank you. We will send your reminder on {reminder.remind_at:%d %B %Y}, "
                "once, and then delete your address.",
            )
        status = reminder.status
        if status == ReminderStatus.pending and reminder.confirm_by > services().clock():
            return _page(
                200,
                "Confirm your reminder",
                f"Please confirm that you want one reminder on {reminder.remind_at:%d %B %Y}.",
                button="Confirm my reminder",
            )
        return _page(200, *_CONFIRM_STATUS.get(status, _GONE))

    @bp.route("/v1/reminders/<reminder_id>/unsubscribe", methods=["GET", "POST"])
    def unsubscribe(reminder_id: str) -> Response:
        try:
            reminder = _reminder(reminder_id, UNSUBSCRIBE)
        except NotFound as exc:
            return _page(404, "Link not valid", str(exc))
        if request.method == "POST":
            reminders.unsubscribe(services(), reminder)
            return _page(
                200,
                "Unsubscribed",
                "You will get no more e-mail about this reminder, and your address is deleted.",
            )
        if reminder.unsubscribed_at is not None:
            return _page(200, "Unsubscribed", "You have already unsubscribed from this reminder.")
        return _page(
            200,
            "Unsubscribe",
            "Stop this reminder and delete your e-mail address?",
            button="Unsubscribe",
        )

    @bp.get("/v1/reminders/<reminder_id>/give")
    def give(reminder_id: str) -> Response:
        try:
            url = reminders.give_url(services(), _reminder(reminder_id, GIVE))
        except NotFound as exc:
            return _page(404, "Link not valid", str(exc))
        response = make_response(redirect(url, 303))
        return response

    return bp


_GONE = ("Reminder closed", "This reminder is no longer waiting for confirmation.")
_CONFIRM_STATUS = {
    ReminderStatus.confirmed: ("Reminder confirmed", "Your reminder is already confirmed."),
    ReminderStatus.sent: ("Reminder sent", "Your reminder has already been sent."),
    ReminderStatus.expired: (
        "Link expired",
        "This sign-up was not confirmed in time, and your address was deleted. You can sign "
        "up again from the article.",
    ),
    ReminderStatus.unsubscribed: ("Unsubscribed", "You unsubscribed from this reminder."),
}


def _reminder(reminder_id: str, action: str) -> Reminder:
    signature = request.args.get("sig", "")
    if not REMINDER_ID.fullmatch(reminder_id):
        raise NotFound("this link is not valid; open it from the e-mail as it is")
    return reminders.reminder_for_link(services(), reminder_id, action, signature)


def _page(status: int, title: str, message: str, *, button: str | None = None) -> Response:
    # The form posts back to this very URL, signature included; autoescaping covers every
    # value, the URL's query among them.
    html = render_template(
        "reminders/page.html",
        title=title,
        message=message,
        button=button,
        action=request.full_path if button else None,
    )
    return make_response(html, status)
