"""Stripe's events through POST /v1/payments/stripe, the payment model, the flusher and the
report, as a newsroom on Stripe lives them: a reader sees the appeal, pays through Checkout,
renews, gets part of a renewal back, then cancels; the report moves at each step. Also a
one-off gift lost to a dispute, a refund that arrives before its payment, replays, and a
payment with no reader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.functional.events_support import banner_for, event, post_events, start_experiment
from tests.functional.test_events_redis_fallback import flush
from tests.stripe_support import SECRET, STRIPE_PATH, Delivery, Stripe
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
REPORT = "/v1/admin/experiments/monthly-ask/report"
READER = "reader-000042"
FIGURES = (
    "conversions",
    "revenue",
    "gross_revenue",
    "annualised_value",
    "refunds",
    "renewals",
    "active_recurring_donors",
    "churned_donors",
)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"STRIPE_WEBHOOK_SECRET": SECRET}


@pytest.fixture
def variant(client: FlaskClient, auth: Auth) -> str:
    """The reader was shown the appeal (decision, then impression)."""
    start_experiment(client, auth("editor"), targeting={"audience": "non_supporters"})
    banner = banner_for(client, READER)
    assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
    return str(banner["variant"])


@pytest.fixture
def stripe(clock: FakeClock) -> Stripe:
    return Stripe(now=int(clock().timestamp()))


def deliver(client: FlaskClient, delivery: Delivery) -> str:
    response = client.post(STRIPE_PATH, data=delivery.body, headers=delivery.headers)
    assert response.status_code == 200, response.json
    return str(response.json["status"])


def report(app: Flask, client: FlaskClient, auth: Auth, variant: str) -> dict[str, Any]:
    flush(app)
    response = client.get(REPORT, headers=auth("viewer"))
    assert response.status_code == 200, response.json
    [row] = [v for v in response.json["variants"] if v["key"] == variant]
    return {name: row[name] for name in FIGURES}


def figures(**changed: Any) -> dict[str, Any]:
    """The report of one monthly $10 donor before anything happened after Checkout."""
    return {
        "conversions": 1,
        "revenue": 10.0,
        "gross_revenue": 10.0,
        "annualised_value": 120.0,
        "refunds": 0,
        "renewals": 0,
        "active_recurring_donors": 1,
        "churned_donors": 0,
    } | changed


def test_checkout_renewal_refund_and_cancellation_move_the_report(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    clock: FakeClock,
    stripe: Stripe,
    variant: str,
) -> None:
    empty = figures(
        conversions=0,
        revenue=0.0,
        gross_revenue=0.0,
        annualised_value=0.0,
        active_recurring_donors=0,
    )
    assert report(app, client, auth, variant) == empty

    checkout = stripe.checkout_completed(
        visitor=READER, mode="subscription", metadata={"smallfavor_frequency": "monthly"}
    )
    session = checkout.event["data"]["object"]
    assert deliver(client, checkout) == "applied"
    # Checkout in subscription mode also sends its first invoice, paid: the same money,
    # which must not count twice.
    first_invoice = stripe.invoice_paid(
        session["subscription"], invoice=session["invoice"], billing_reason="subscription_create"
    )
    assert deliver(client, first_invoice) == "applied"
    assert deliver(client, stripe.invoice_payment_paid(session["invoice"])) == "applied"
    assert report(app, client, auth, variant) == figures()

    # A month on, Stripe charges the renewal: revenue, not a second conversion.
    clock.advance(days=30)
    stripe.now = int(clock().timestamp())
    renewal = stripe.invoice_paid(session["subscription"])
    renewal_invoice = renewal.event["data"]["object"]["id"]
    assert deliver(client, renewal) == "applied"
    paid_by = stripe.invoice_payment_paid(renewal_invoice)
    renewal_intent = paid_by.event["data"]["object"]["payment"]["payment_intent"]
    assert deliver(client, paid_by) == "applied"
    assert report(app, client, auth, variant) == figures(
        revenue=20.0, gross_revenue=20.0, renewals=1
    )

    # $4 of the renewal back, then all of it: Stripe's Charge reports the running total, and
    # each refund event is taken back once, however often Stripe retries it.
    charge = stripe.new_id("ch")
    partial = stripe.charge_refunded(renewal_intent, refunded=400, charge=charge)
    assert deliver(client, partial) == "applied"
    assert deliver(client, partial.resigned(stripe.now)) == "duplicate"
    assert report(app, client, auth, variant) == figures(
        revenue=16.0, gross_revenue=20.0, annualised_value=116.0, refunds=1, renewals=1
    )
    full = stripe.charge_refunded(renewal_intent, refunded=1000, charge=charge)
    assert deliver(client, full) == "applied"
    assert report(app, client, auth, variant) == figures(
        gross_revenue=20.0, annualised_value=110.0, refunds=2, renewals=1
    )

    # The donor cancels after two payments: the ten the 12-month value still expected go.
    clock.advance(days=5)
    stripe.now = int(clock().timestamp())
    assert deliver(client, stripe.subscription_deleted(session["subscription"])) == "applied"
    cancelled = figures(
        gross_revenue=20.0,
        annualised_value=10.0,
        refunds=2,
        renewals=1,
        active_recurring_donors=0,
        churned_donors=1,
    )
    assert report(app, client, auth, variant) == cancelled
    # Stripe retrying any of them changes nothing.
    for delivery in (checkout, renewal, partial, full):
        assert deliver(client, delivery.resigned(stripe.now)) == "duplicate"
    assert report(app, client, auth, variant) == cancelled


def test_a_one_off_gift_lost_to_a_dispute_nets_to_nothing(
    app: Flask, client: FlaskClient, auth: Auth, stripe: Stripe, variant: str
) -> None:
    checkout = stripe.checkout_completed(visitor=READER, amount=2500)
    intent = checkout.event["data"]["object"]["payment_intent"]
    assert deliver(client, checkout) == "applied"
    one_off = figures(
        revenue=25.0, gross_revenue=25.0, annualised_value=25.0, active_recurring_donors=0
    )
    assert report(app, client, auth, variant) == one_off
    assert deliver(client, stripe.dispute_created(intent, amount=2500)) == "applied"
    # And a refund on top of the dispute cannot take back more than was paid.
    assert deliver(client, stripe.charge_refunded(intent, amount=2500)) == "applied"
    assert report(app, client, auth, variant) == one_off | {
        "revenue": 0.0,
        "annualised_value": 0.0,
        "refunds": 1,
    }


def test_a_refund_before_its_payment_is_held_and_applied_when_it_arrives(
    app: Flask, client: FlaskClient, auth: Auth, stripe: Stripe, variant: str
) -> None:
    checkout = stripe.checkout_completed(visitor=READER, amount=1000)
    intent = checkout.event["data"]["object"]["payment_intent"]
    early = stripe.charge_refunded(intent, refunded=300)
    assert deliver(client, early) == "held"
    assert deliver(client, early.resigned(stripe.now)) == "duplicate"
    assert report(app, client, auth, variant)["revenue"] == 0.0
    assert deliver(client, checkout) == "applied"
    got = report(app, client, auth, variant)
    assert (got["revenue"], got["gross_revenue"], got["refunds"]) == (7.0, 10.0, 1)


def test_a_checkout_with_no_reader_is_acknowledged_as_unattributed(
    app: Flask, client: FlaskClient, auth: Auth, stripe: Stripe, variant: str
) -> None:
    checkout = stripe.checkout_completed(visitor=None, amount=1000)
    intent = checkout.event["data"]["object"]["payment_intent"]
    before = unattributed_payments(client)
    assert deliver(client, checkout) == "unattributed"
    # Its refund is recognised (not held for a payment that will never come) and moves nothing.
    assert deliver(client, stripe.charge_refunded(intent)) == "unattributed"
    assert report(app, client, auth, variant)["gross_revenue"] == 0.0
    # Counted for operators (the counter is the process's, so other tests' count too).
    assert unattributed_payments(client) == before + 1


def unattributed_payments(client: FlaskClient) -> float:
    series = 'smallfavor_payment_facts_total{kind="payment",status="unattributed"} '
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(series):
            return float(line.removeprefix(series))
    return 0.0
