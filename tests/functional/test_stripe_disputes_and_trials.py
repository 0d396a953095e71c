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
