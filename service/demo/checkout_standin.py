"""A local stand-in for Stripe Checkout, so the demo's donations take the path a newsroom's
Stripe payments take, with no Stripe account: each step produces the webhook events Stripe
would send at the pinned API version, signs them as Stripe does and hands them to
receive_stripe_event, the code behind POST /v1/payments/stripe.

Signed with the configured STRIPE_WEBHOOK_SECRET when there is one, else with a development
secret that only this stand-in passes in: the HTTP endpoint itself stays unconfigured (503)
until an operator sets the real one.

Kept to the fields the webhook reads plus each object's id and `object`; docs/STRIPE.md has
the full mapping.
"""

from __future__ import annotations

import secrets as random_ids
from dataclasses import dataclass
from typing import Any

import orjson

from service.domain.stripe_events import STRIPE_API_VERSION
from service.domain.stripe_signature import signature_header
from service.usecases.receive_stripe_event import StripeReceipt, receive_stripe_event
from service.wiring import Services

DEVELOPMENT_SECRET = "whsec_smallfavor_demo_checkout_standin_only"


def new_id(prefix: str) -> str:
    return f"{prefix}_demo{random_ids.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Delivered:
    """One event the stand-in sent, as the demo shows it: what Stripe would have posted."""

    type: str
    event: str
    receipt: StripeReceipt


class CheckoutStandIn:
    """One demo payment's life at "Stripe": Checkout, then what Stripe sends later."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        configured = svc.settings.stripe_webhook_secret
        self.secrets = configured or (DEVELOPMENT_SECRET,)

    def checkout(
        self,
        *,
        visitor: str | None,
        token: str | None,
        amount_minor: int,
        currency: str,
        frequency: str,
    ) -> tuple[list[Delivered], dict[str, str]]:
        """The reader paid on Checkout: checkout.session.completed, and for a recurring gift
        the first invoice paid and the payment that paid it, as Stripe sends them. Returns the
        deliveries and the ids later steps name (payment_intent, subscription, currency)."""
        recurring = frequency != "one_off"
        intent, invoice = new_id("pi"), new_id("in") if recurring else None
        subscription = new_id("sub") if recurring else None
        metadata = {"smallfavor_token": token} if token else {}
        if recurring:
            metadata["smallfavor_frequency"] = frequency
        session = {
            "id": new_id("cs"),
            "object": "checkout.session",
            "mode": "subscription" if recurring else "payment",
            "payment_status": "paid",
            "status": "complete",
            "amount_total": amount_minor,
            "currency": currency.lower(),
            "client_reference_id": visitor,
            "metadata": metadata,
            "payment_intent": None if recurring else intent,
            "invoice": invoice,
            "subscription": subscription,
        }
        sent = [self._send("checkout.session.completed", session)]
        if invoice and subscription:
            first = self._invoice(invoice, subscription, amount_minor, currency, "create")
            sent.append(self._send("invoice.paid", first))
            sent.append(self._send("invoice_payment.paid", self._paid_by(invoice, intent)))
        ids = {"payment_intent": intent, "currency": currency, "amount": str(amount_minor)}
        if subscription:
            ids["subscription"] = subscription
        return sent, ids

    def renew(self, subscription: str, amount_minor: int, currency: str) -> list[Delivered]:
        """A month (or year) on: Stripe charges the subscription's next invoice."""
        invoice, intent = new_id("in"), new_id("pi")
        renewal = self._invoice(invoice, subscription, amount_minor, currency, "cycle")
        return [
            self._send("invoice.paid", renewal),
            self._send("invoice_payment.paid", self._paid_by(invoice, intent)),
        ]

    def refund(self, payment_intent: str, amount_minor: int, currency: str) -> list[Delivered]:
        """The newsroom refunded the payment in full: the Charge with its refunded total."""
        charge = {
            "id": new_id("ch"),
            "object": "charge",
            "amount": amount_minor,
            "amount_refunded": amount_minor,
            "currency": currency.lower(),
            "payment_intent": payment_intent,
            "refunded": True,
        }
        return [self._send("charge.refunded", charge)]

    def cancel(self, subscription: str) -> list[Delivered]:
        """The donor cancelled their recurring gift."""
        now = int(self.svc.clock().timestamp())
        ended = {"id": subscription, "object": "subscription", "status": "canceled"}
        return [self._send("customer.subscription.deleted", ended | {"ended_at": now})]

    def _invoice(
        self, invoice: str, subscription: str, amount: int, currency: str, reason: str
    ) -> dict[str, Any]:
        return {
            "id": invoice,
            "object": "invoice",
            "amount_paid": amount,
            "billing_reason": f"subscription_{reason}",
            "currency": currency.lower(),
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"metadata": {}, "subscription": subscription},
            },
            "status": "paid",
        }

    @staticmethod
    def _paid_by(invoice: str, intent: str) -> dict[str, Any]:
        return {
            "id": new_id("inpay"),
            "object": "invoice_payment",
            "invoice": invoice,
            "payment": {"type": "payment_intent", "payment_intent": intent},
            "status": "paid",
        }

    def _send(self, event_type: str, obj: dict[str, Any]) -> Delivered:
        now = int(self.svc.clock().timestamp())
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": now,
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
        body = orjson.dumps(event)
        header = signature_header(self.secrets[0], now, body)
        receipt = receive_stripe_event(self.svc, body, header, secrets=self.secrets)
        return Delivered(event_type, str(event["id"]), receipt)
