"""Stripe webhook deliveries for tests: events shaped as Stripe sends them at the pinned API
version (service.domain.stripe_events.STRIPE_API_VERSION, the `stripe` package's), signed as
Stripe signs them.

    delivery = Stripe().checkout_completed(visitor="reader-000001", amount=1000)
    client.post(STRIPE_PATH, data=delivery.body, headers=delivery.headers)

Objects carry the fields Small Favor reads plus enough of the rest to look like Stripe's (ids
with their prefixes, `object`, `livemode`); a test changes any field through `changes`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from service.domain.stripe_events import STRIPE_API_VERSION
from service.domain.stripe_signature import HEADER, compute_signature

STRIPE_PATH = "/v1/payments/stripe"
# A made-up endpoint secret in Stripe's format; tests set STRIPE_WEBHOOK_SECRET to it.
SECRET = "whsec_test0Small0Favor0signing0secret00"
OTHER_SECRET = "whsec_test0not0the0configured0secret00"
START = 1_795_867_200  # 2026-11-28T12:00:00Z, the FakeClock's start


def sign(
    body: bytes,
    timestamp: int,
    secrets: Sequence[str] = (SECRET,),
    *,
    v0: bool = False,
) -> str:
    """The Stripe-Signature header: one v1 per secret, as Stripe sends during a roll."""
    parts = [f"t={timestamp}"] + [f"v1={compute_signature(s, timestamp, body)}" for s in secrets]
    if v0:  # Stripe's test-mode scheme, which verifiers ignore
        parts.append(f"v0={compute_signature('whsec_v0', timestamp, body)}")
    return ",".join(parts)


@dataclass(frozen=True)
class Delivery:
    event: dict[str, Any]
    body: bytes
    signature: str

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {HEADER: self.signature, "Content-Type": "application/json"}

    def resigned(self, timestamp: int, secrets: Sequence[str] = (SECRET,)) -> Delivery:
        """The same event, signed again (Stripe's retries sign each attempt anew)."""
        return Delivery(self.event, self.body, sign(self.body, timestamp, secrets))


@dataclass
class Stripe:
    """A stand-in for one Stripe account: numbers its ids and signs with `secrets` at `now`."""

    now: int = START
    secrets: Sequence[str] = (SECRET,)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_T{next(self._counter):06d}sf"

    def deliver(self, event_type: str, obj: dict[str, Any], **changes: Any) -> Delivery:
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": self.now,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        } | changes
        body = orjson.dumps(event)
        return Delivery(event, body, sign(body, self.now, self.secrets))

    # -- events --------------------------------------------------------------------------

    def checkout_completed(
        self,
        *,
        visitor: str | None = None,
        amount: int = 1000,
        currency: str = "usd",
        mode: str = "payment",
        payment_status: str = "paid",
        metadata: dict[str, str] | None = None,
        event_type: str = "checkout.session.completed",
        **changes: Any,
    ) -> Delivery:
        """A Checkout Session paid: one-off (mode payment, a PaymentIntent) or the first
        payment of a subscription (mode subscription: an Invoice and a Subscription)."""
        recurring = mode == "subscription"
        session = {
            "id": self.new_id("cs_test"),
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "client_reference_id": visitor,
            "created": self.now,
            "currency": currency,
            "customer": self.new_id("cus"),
            "invoice": self.new_id("in") if recurring else None,
            "livemode": False,
            "metadata": metadata or {},
            "mode": mode,
            "payment_intent": None if recurring else self.new_id("pi"),
            "payment_link": None,
            "payment_status": payment_status,
            "status": "complete",
            "subscription": self.new_id("sub") if recurring else None,
            "success_url": "https://news.example/thanks",
            "ui_mode": "hosted",
        } | changes
        return self.deliver(event_type, session)

    def invoice_paid(
        self,
        subscription: str,
        *,
        invoice: str | None = None,
        amount: int = 1000,
        currency: str = "usd",
        billing_reason: str = "subscription_cycle",
        **changes: Any,
    ) -> Delivery:
        """An Invoice of `subscription` paid; since basil its subscription is under
        parent.subscription_details and it names no payment intent or charge."""
        obj = {
            "id": invoice or self.new_id("in"),
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": amount,
            "amount_remaining": 0,
            "billing_reason": billing_reason,
            "created": self.now,
            "currency": currency,
            "customer": "cus_T000000sf",
            "livemode": False,
            "metadata": {},
            "parent": {
                "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": subscription},
                "type": "subscription_details",
            },
            "status": "paid",
            "status_transitions": {"paid_at": self.now},
        } | changes
        return self.deliver("invoice.paid", obj)

    def invoice_payment_paid(
        self, invoice: str, *, payment_intent: str | None = None, amount: int = 1000
    ) -> Delivery:
        """What ties an Invoice to the PaymentIntent that paid it (and so to its Charge)."""
        obj = {
            "id": self.new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": amount,
            "amount_requested": amount,
            "created": self.now,
            "currency": "usd",
            "invoice": invoice,
            "is_default": True,
            "livemode": False,
            "payment": {
                "payment_intent": payment_intent or self.new_id("pi"),
                "type": "payment_intent",
            },
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": self.now},
        }
        return self.deliver("invoice_payment.paid", obj)

    def charge_refunded(
        self,
        payment_intent: str | None,
        *,
        amount: int = 1000,
        refunded: int | None = None,
        currency: str = "usd",
        charge: str | None = None,
    ) -> Delivery:
        """A Charge after a refund: `amount_refunded` is all refunded on it so far."""
        refunded = amount if refunded is None else refunded
        obj = {
            "id": charge or self.new_id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": refunded,
            "captured": True,
            "created": self.now,
            "currency": currency,
            "livemode": False,
            "metadata": {},
            "paid": True,
            "payment_intent": payment_intent,
            "refunded": refunded == amount,
            "status": "succeeded",
        }
        return self.deliver("charge.refunded", obj)

    def dispute_created(
        self,
        payment_intent: str | None,
        *,
        amount: int = 1000,
        currency: str = "usd",
        charge: str | None = None,
        event_type: str = "charge.dispute.created",
        status: str = "needs_response",
        dispute: str | None = None,
    ) -> Delivery:
        """A Dispute event: created (needs_response), or with `event_type`
        charge.dispute.funds_reinstated / charge.dispute.closed and `status` won or lost."""
        obj = {
            "id": dispute or self.new_id("dp"),
            "object": "dispute",
            "amount": amount,
            "charge": charge or self.new_id("ch"),
            "created": self.now,
            "currency": currency,
            "livemode": False,
            "metadata": {},
            "payment_intent": payment_intent,
            "reason": "fraudulent",
            "status": status,
        }
        return self.deliver(event_type, obj)

    def subscription_deleted(self, subscription: str) -> Delivery:
        obj = {
            "id": subscription,
            "object": "subscription",
            "cancel_at_period_end": False,
            "canceled_at": self.now,
            "created": self.now - 86_400 * 60,
            "currency": "usd",
            "customer": "cus_T000000sf",
            "ended_at": self.now,
            "livemode": False,
            "metadata": {},
            "status": "canceled",
        }
        return self.deliver("customer.subscription.deleted", obj)
