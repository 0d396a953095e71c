"""Stripe journeys past the plain ones (test_stripe_journey.py): a dispute the newsroom
wins, and a subscription that starts with a free trial."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.functional.test_stripe_journey import (
    READER,
    deliver,
    env,
    figures,
    report,
    stripe,
    variant,
)
from tests.stripe_support import Stripe
from tests.support import FakeClock

__all__ = ["env", "stripe", "variant"]  # fixtures, used by name

Auth = Callable[[str], dict[str, str]]
ONE_OFF = figures(
    revenue=25.0, gross_revenue=25.0, annualised_value=25.0, active_recurring_donors=0
)


def test_a_won_dispute_gives_the_gift_back_once(
    app: Flask, client: FlaskClient, auth: Auth, clock: FakeClock, stripe: Stripe, variant: str
) -> None:
    checkout = stripe.checkout_completed(visitor=READER, amount=2500)
    intent = checkout.event["data"]["object"]["payment_intent"]
    charge = stripe.new_id("ch")
    assert deliver(client, checkout) == "applied"
    # Won before anything was taken (Stripe never does this, a processor might): nothing.
    early = stripe.dispute_created(
        intent, amount=2500, charge=charge, event_type="charge.dispute.funds_reinstated"
    )
    assert deliver(client, early) == "applied"
    assert report(app, client, auth, variant) == ONE_OFF

    dispute = stripe.dispute_created(intent, amount=2500, charge=charge, dispute="dp_won")
    assert deliver(client, dispute) == "applied"
    lost = ONE_OFF | {"revenue": 0.0, "annualised_value": 0.0, "refunds": 1}
    assert report(app, client, auth, variant) == lost

    clock.advance(days=20)
    stripe.now = int(clock().timestamp())
    won = {"amount": 2500, "charge": charge, "dispute": "dp_won", "status": "won"}
    reinstated = stripe.dispute_created(intent, event_type="charge.dispute.funds_reinstated", **won)
    closed = stripe.dispute_created(intent, event_type="charge.dispute.closed", **won)
    assert deliver(client, reinstated) == "applied"
    # The closing event tells the same money: acknowledged, not counted again.
    assert deliver(client, closed) == "ignored"
    back = ONE_OFF | {"refunds": 1}
    assert report(app, client, auth, variant) == back
    assert deliver(client, reinstated.resigned(stripe.now)) == "duplicate"
    assert report(app, client, auth, variant) == back


def test_a_won_dispute_before_its_payment_waits_for_it(
    app: Flask, client: FlaskClient, auth: Auth, stripe: Stripe, variant: str
) -> None:
    checkout = stripe.checkout_completed(visitor=READER, amount=2500)
    intent = checkout.event["data"]["object"]["payment_intent"]
    reinstated = stripe.dispute_created(
        intent, amount=2500, event_type="charge.dispute.funds_reinstated", status="won"
    )
    assert deliver(client, reinstated) == "held"
    assert deliver(client, checkout) == "applied"
    assert report(app, client, auth, variant) == ONE_OFF


NOTHING_YET = figures(
    conversions=0, revenue=0.0, gross_revenue=0.0, annualised_value=0.0, active_recurring_donors=0
)


def _trial(client: FlaskClient, stripe: Stripe) -> str:
    """A monthly subscription that starts with a free trial; returns its id."""
    checkout = stripe.checkout_completed(
        visitor=READER,
        mode="subscription",
        amount=0,
        payment_status="no_payment_required",
        metadata={"smallfavor_frequency": "monthly"},
    )
    session = checkout.event["data"]["object"]
    assert deliver(client, checkout) == "applied"
    assert deliver(client, checkout.resigned(stripe.now)) == "duplicate"
    # The trial's own invoice, for nothing: acknowledged, nothing to count.
    trial_invoice = stripe.invoice_paid(
        session["subscription"],
        invoice=session["invoice"],
        amount=0,
        billing_reason="subscription_create",
    )
    assert deliver(client, trial_invoice) == "ignored"
    return str(session["subscription"])


def _later(clock: FakeClock, stripe: Stripe, days: int) -> None:
    clock.advance(days=days)
    stripe.now = int(clock().timestamp())


def test_a_free_trial_converts_at_its_first_paid_invoice(
    app: Flask, client: FlaskClient, auth: Auth, clock: FakeClock, stripe: Stripe, variant: str
) -> None:
    subscription = _trial(client, stripe)
    # The reader signed up but gave nothing: no conversion, no revenue, no 12-month value.
    assert report(app, client, auth, variant) == NOTHING_YET

    # The trial ends; Stripe bills it as a cycle. That first money is the conversion.
    _later(clock, stripe, 14)
    first = stripe.invoice_paid(subscription, amount=1000, billing_reason="subscription_cycle")
    assert deliver(client, first) == "applied"
    paid_by = stripe.invoice_payment_paid(first.event["data"]["object"]["id"])
    first_intent = paid_by.event["data"]["object"]["payment"]["payment_intent"]
    assert deliver(client, paid_by) == "applied"
    assert report(app, client, auth, variant) == figures()
    assert deliver(client, first.resigned(stripe.now)) == "duplicate"

    # The next invoice is a renewal, not a second conversion.
    _later(clock, stripe, 30)
    renewal = stripe.invoice_paid(subscription, amount=1000, billing_reason="subscription_cycle")
    assert deliver(client, renewal) == "applied"
    renewed = figures(revenue=20.0, gross_revenue=20.0, renewals=1)
    assert report(app, client, auth, variant) == renewed

    # A refund of the first paid invoice finds it through its payment intent.
    refund = stripe.charge_refunded(first_intent, refunded=1000)
    assert deliver(client, refund) == "applied"
    refunded = renewed | {"revenue": 10.0, "annualised_value": 110.0, "refunds": 1}
    assert report(app, client, auth, variant) == refunded

    # Cancelled after two payments: the ten still expected go.
    assert deliver(client, stripe.subscription_deleted(subscription)) == "applied"
    assert report(app, client, auth, variant) == refunded | {
        "annualised_value": 10.0,
        "active_recurring_donors": 0,
        "churned_donors": 1,
    }


def test_a_trial_cancelled_before_paying_moves_nothing(
    app: Flask, client: FlaskClient, auth: Auth, clock: FakeClock, stripe: Stripe, variant: str
) -> None:
    subscription = _trial(client, stripe)
    _later(clock, stripe, 7)
    assert deliver(client, stripe.subscription_deleted(subscription)) == "applied"
    assert report(app, client, auth, variant) == NOTHING_YET


def test_a_first_paid_invoice_before_its_trial_checkout_waits_for_it(
    app: Flask, client: FlaskClient, auth: Auth, stripe: Stripe, variant: str
) -> None:
    checkout = stripe.checkout_completed(
        visitor=READER, mode="subscription", amount=0, payment_status="no_payment_required"
    )
    subscription = checkout.event["data"]["object"]["subscription"]
    first = stripe.invoice_paid(subscription, amount=1000, billing_reason="subscription_cycle")
    assert deliver(client, first) == "held"
    assert deliver(client, checkout) == "applied"
    assert report(app, client, auth, variant) == figures()
