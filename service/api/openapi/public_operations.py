"""The OpenAPI operations anyone may call without a token: what article pages (the decision,
events, the snippet, the demo), the payment side (the signed webhook) and operators (health,
metrics, this document) use; operations.py assembles them with the others."""

from __future__ import annotations

from service.api.openapi.build import (
    STRING,
    Op,
    body,
    html,
    json_answer,
    query,
    query_parameters,
    text,
)
from service.api.public.payment_webhook import SIGNATURE_HEADER, SIGNATURE_PATTERN
from service.api.public.stripe_webhook import MAX_BODY_BYTES as STRIPE_MAX_BODY_BYTES
from service.domain.stripe_events import HANDLED as STRIPE_EVENTS
from service.domain.stripe_events import STRIPE_API_VERSION
from service.domain.stripe_signature import HEADER as STRIPE_SIGNATURE_HEADER
from service.domain.stripe_signature import HEADER_PATTERN as STRIPE_SIGNATURE_PATTERN
from service.domain.stripe_signature import TOLERANCE_SECONDS as STRIPE_TOLERANCE
from service.schemas.conversions import (
    Cancellation,
    ConversionsAnswer,
    Payment,
    Refund,
    Reinstatement,
    Renewal,
)
from service.schemas.decision import DEFAULT_MAX_LENGTH, Decision, DecisionQuery
from service.schemas.events import EventBatch, EventsAnswer
from service.schemas.ops import Status as StatusAnswer
from service.schemas.reminders import ReminderSignedUp, ReminderSignUp
from service.schemas.stripe import StripeAnswer

_CORS = "CORS for the configured origins; no authentication."
_SIG = query("sig", "The link's signature, as the e-mail gives it.")

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
        "A payment, or a refund, renewal or cancellation of one (docs/PAYMENTS.md). "
        "Idempotent by id. A refund, renewal or cancellation naming a payment not received "
        "yet is held (status held) and applied once that payment arrives.",
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
        body(
            {"oneOf": [Payment, Refund, Reinstatement, Renewal, Cancellation]}, "application/json"
        ),
    ),
    "stripe.webhook": Op(
        "A newsroom's Stripe webhook endpoint",
        {
            200: json_answer(
                StripeAnswer,
                "Received: applied, a duplicate, held, unattributed, or ignored (an event type "
                "not used). Stripe counts only a 2xx as delivered.",
            ),
            400: f"Missing, malformed, wrong or stale `{STRIPE_SIGNATURE_HEADER}` (`fields` "
            "names the header), the body is not JSON, or a field of a handled event is not "
            "what Stripe sends (`fields` names it by JSON path).",
            413: f"The body is over {STRIPE_MAX_BODY_BYTES // 1024} KiB.",
            422: "A value of the event cannot be used (an unknown currency, a bad token).",
            503: "`STRIPE_WEBHOOK_SECRET` is not set (code `not_configured`), or the service "
            "cannot store the event now; Stripe retries.",
        },
        "Server to server: no CORS. Stripe's snapshot events of API version "
        f"{STRIPE_API_VERSION}; handled: {', '.join(STRIPE_EVENTS)}. Idempotent by event id. "
        "Set up in docs/STRIPE.md.",
        [
            {
                "name": STRIPE_SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "description": (
                    "t=<unix seconds>,v1=<hex HMAC-SHA256(endpoint secret, "
                    '"<t>.<raw body>")>, one v1 per live secret; within '
                    f"{STRIPE_TOLERANCE} s of the service's clock. A value that breaks HTTP "
                    "itself (a NUL byte) is refused by the server before the app, as HTML."
                ),
                "schema": {"type": "string", "pattern": f"^{STRIPE_SIGNATURE_PATTERN}$"},
            }
        ],
        body({"type": "object", "description": "A Stripe event."}, "application/json"),
    ),
    "reminders.sign_up": Op(
        "Sign a reader up for one e-mail reminder",
        {
            202: json_answer(
                ReminderSignedUp, "Signed up (or already signed up: the same answer)."
            ),
            400: "The body is not JSON.",
            413: "The body is over 4 KiB.",
            415: "Neither application/json nor text/plain.",
            422: "`fields` names each bad field: `token` (malformed, forged, expired, or its "
            "banner offers no reminder), `email`, `remind_at`.",
            429: "Too many sign-ups from this address or for this e-mail address; Retry-After.",
            503: "E-mail is not configured, or the service cannot store the sign-up now.",
        },
        f"{_CORS} Sent as application/json or text/plain. Double opt-in: the confirmation "
        "e-mail goes out at once and only a confirmed reminder is ever sent. Idempotent for the "
        "same token and e-mail address. The banner's placement is snoozed for the reader until "
        "`remind_at`.",
        body=body(ReminderSignUp, "application/json", "text/plain"),
    ),
    "reminders.confirm": {
        "GET": Op(
            "The confirmation link of a reminder e-mail: a page with a button",
            {200: html("The page."), 404: html("The link is not valid or the reminder is gone.")},
            parameters=[_SIG],
        ),
        "POST": Op(
            "Confirm a reminder sign-up (double opt-in)",
            {200: html("Confirmed, or why not."), 404: html("The link is not valid.")},
            parameters=[_SIG],
        ),
    },
    "reminders.unsubscribe": {
        "GET": Op(
            "The unsubscribe link of a reminder e-mail: a page with a button",
            {200: html("The page."), 404: html("The link is not valid or the reminder is gone.")},
            parameters=[_SIG],
        ),
        "POST": Op(
            "Unsubscribe: the RFC 8058 one-click POST, and the page's button",
            {200: html("Unsubscribed; the address is deleted."), 404: html("Not valid.")},
            "A mail client sends `List-Unsubscribe=One-Click` as a form body; any body works.",
            parameters=[_SIG],
        ),
    },
    "reminders.give": Op(
        "The reminder's link to give",
        {
            303: {
                "description": "To the variant's donation page, with sf_experiment, "
                "sf_variant and a fresh decision token sf_token (none once unsubscribed)."
            },
            404: html("The link is not valid or the reminder is gone (erased)."),
        },
        "Records the reminder's first click.",
        parameters=[_SIG],
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
    "demo.privacy": Op(
        "The demo newsroom's privacy page, linked from its reminder offer",
        {200: html("The page.")},
    ),
    "demo.donate_form": Op(
        "The demo's local stand-in for Stripe Checkout",
        {200: html("The form.")},
        parameters=[
            query("client_reference_id", "The reader, as the snippet's donation link names it."),
            query("sf_token", "The decision token."),
            query("amount", "Prefilled amount."),
            query("currency", "Prefilled currency."),
            query("frequency", "Prefilled frequency."),
        ],
    ),
    "demo.donate": Op(
        "Pay on the demo's Checkout stand-in (off in production)",
        {
            200: html("The thank-you page: each Stripe event sent and what it did."),
            404: html("Turned off in production."),
            422: html("The form again, saying what is wrong."),
            503: html("The form again: the payment could not be recorded now."),
        },
        "Sends the webhook events Stripe would (checkout.session.completed, and for a "
        "recurring gift its first invoice.paid and invoice_payment.paid), signed as Stripe "
        "signs them, to the code behind POST /v1/payments/stripe.",
        body=body(
            {
                "type": "object",
                "properties": {
                    name: STRING for name in ("visitor", "token", "amount", "currency", "frequency")
                },
            },
            "application/x-www-form-urlencoded",
        ),
    ),
    "demo.later": Op(
        "Play what Stripe sends after Checkout: a renewal, a refund, a cancellation (off in "
        "production)",
        {
            200: html("The page: the events sent and what they did."),
            404: html("Turned off in production."),
            422: html("The page, naming the bad fields."),
            503: html("The page: the event could not be recorded now."),
        },
        "step is renew, refund or cancel; the fields are the ids the thank-you page carries.",
        body=body(
            {
                "type": "object",
                "properties": {
                    name: STRING
                    for name in ("payment_intent", "subscription", "amount", "currency")
                },
            },
            "application/x-www-form-urlencoded",
        ),
    ),
}
