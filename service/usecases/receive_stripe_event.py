"""Receiving one Stripe webhook delivery (POST /v1/payments/stripe), the single way in for
Stripe events: the endpoint calls it with the request as it came, and a local stand-in for
Checkout (the demo) calls it with events it signs itself.

Verified before anything is read (service/domain/stripe_signature.py), translated into
PaymentFacts (service/domain/stripe_events.py) and each applied once by
apply_payment_fact, idempotent by fact id (the Stripe event id): Stripe delivers at least once,
and a replay changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from service.domain.errors import InvalidRequest
from service.domain.stripe_events import read_event
from service.domain.stripe_signature import HEADER, SignatureRefused, verify
from service.usecases.apply_payment_fact import FactApplied, apply_payment_fact
from service.usecases.errors import NotConfigured
from service.wiring import Services

log = logging.getLogger(__name__)

# The facts' statuses (apply_payment_fact.FactStatus), or ignored: the event told no fact.
EventStatus = Literal["applied", "duplicate", "held", "unattributed", "ignored"]
# The event's status when its facts differ: what most needs an operator's eye first.
_PRECEDENCE: tuple[EventStatus, ...] = ("held", "unattributed", "applied", "duplicate")


@dataclass(frozen=True, slots=True)
class StripeReceipt:
    event: str  # Stripe's event id (evt_…)
    type: str  # Stripe's event type
    status: EventStatus
    facts: list[FactApplied] = field(default_factory=list)
    note: str = ""  # why an ignored event told nothing

    @property
    def ignored(self) -> bool:
        return self.status == "ignored"

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "event": self.event,
            "type": self.type,
            "status": self.status,
            "ignored": self.ignored,
            "facts": [fact.as_dict() for fact in self.facts],
        }
        if self.note:
            answer["note"] = self.note
        return answer


def receive_stripe_event(
    svc: Services,
    raw_body: bytes,
    signature_header: str | None,
    *,
    secrets: tuple[str, ...] | None = None,
) -> StripeReceipt:
    """raw_body: the request body exactly as received (the signature covers its bytes);
    signature_header: the Stripe-Signature header, None when absent; secrets: the signing
    secrets to accept, STRIPE_WEBHOOK_SECRET's unless given (the demo's stand-in for Checkout
    passes its development secret, service/demo/checkout_standin.py).

    Raises NotConfigured (STRIPE_WEBHOOK_SECRET is unset), InvalidRequest naming the
    Stripe-Signature header (missing, malformed, not matching, outside the tolerance) or the
    body's field by JSON path, ValidationFailed from a fact's value, or Unavailable."""
    secrets = secrets or svc.settings.stripe_webhook_secret
    if not secrets:
        raise NotConfigured(
            "Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's "
            "signing secret (docs/STRIPE.md)"
        )
    try:
        verify(secrets, raw_body, signature_header, svc.clock().timestamp())
    except SignatureRefused as exc:
        raise InvalidRequest(f"{HEADER} refused: {exc.reason}", {HEADER: exc.reason}) from None
    try:
        body = orjson.loads(raw_body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}", {"$": str(exc)}) from None
    event = read_event(body)
    if not event.facts:
        log.info("stripe event %s (%s) ignored: %s", event.id, event.type, event.note)
        return StripeReceipt(event.id, event.type, "ignored", note=event.note)
    applied = [apply_payment_fact(svc, fact) for fact in event.facts]
    statuses = {fact.status for fact in applied}
    status = next(s for s in _PRECEDENCE if s in statuses)
    return StripeReceipt(event.id, event.type, status, applied)
