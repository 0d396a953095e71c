"""Stripe events (shapes of the pinned API version, tests/stripe_support.py) as PaymentFacts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import stripe

from service.domain.errors import InvalidRequest
from service.domain.experiment import Frequency
from service.domain.payment_facts import FactKind, PaymentFact
from service.domain.stripe_events import STRIPE_API_VERSION, read_event
from tests.stripe_support import START, Delivery, Stripe

VISITOR = "reader-000001"
WHEN = datetime.fromtimestamp(START, UTC)


def facts(delivery: Delivery) -> tuple[PaymentFact, ...]:
    # Through the bytes, as the endpoint reads it.
    return read_event(orjson.loads(delivery.body)).facts


def only(delivery: Delivery) -> PaymentFact:
    (fact,) = facts(delivery)
    assert fact.fact_id == delivery.id
    return fact


def test_the_pinned_api_version_is_the_stripe_packages() -> None:
    assert stripe.api_version == STRIPE_API_VERSION


def test_a_one_off_checkout_is_a_payment_named_by_session_and_payment_intent() -> None:
    delivery = Stripe().checkout_completed(visitor=VISITOR, amount=2500, currency="eur")
    session = delivery.event["data"]["object"]
    fact = only(delivery)
    assert fact.kind == FactKind.payment
    assert fact.names == (session["id"], session["payment_intent"])
    assert (fact.visitor, fact.amount_minor, fact.currency) == (VISITOR, 2500, "EUR")
    assert (fact.frequency, fact.subscription, fact.ts) == (Frequency.one_off, None, WHEN)


def test_a_subscription_checkout_names_its_invoice_and_subscription() -> None:
    delivery = Stripe().checkout_completed(visitor=VISITOR, mode="subscription")
    session = delivery.event["data"]["object"]
    fact = only(delivery)
    assert fact.names == (session["id"], session["invoice"], session["subscription"])
    assert fact.subscription == session["subscription"]
    assert fact.frequency == Frequency.monthly


@pytest.mark.parametrize(
    ("claimed", "frequency"),
    [("annual", Frequency.annual), ("monthly", Frequency.monthly), ("weekly", Frequency.monthly)],
)
def test_a_subscriptions_frequency_comes_from_metadata(claimed: str, frequency: str) -> None:
    delivery = Stripe().checkout_completed(
        visitor=VISITOR, mode="subscription", metadata={"smallfavor_frequency": claimed}
    )
    assert only(delivery).frequency == frequency


def test_the_reader_may_come_from_metadata_and_a_foreign_reference_is_no_reader() -> None:
    stripe_ = Stripe()
    from_metadata = stripe_.checkout_completed(metadata={"smallfavor_visitor": VISITOR})
    assert only(from_metadata).visitor == VISITOR
    foreign = stripe_.checkout_completed(visitor="order #12")
    assert only(foreign).visitor is None
    token = stripe_.checkout_completed(metadata={"smallfavor_token": "tok.en"})
    assert (only(token).visitor, only(token).token) == (None, "tok.en")


@pytest.mark.parametrize(
    ("changes", "note"),
    [
        ({"payment_status": "unpaid"}, "async_payment_succeeded"),
        ({"mode": "setup"}, "setup mode"),
        ({"amount_total": 0}, "amount_total is 0"),
    ],
)
def test_a_checkout_that_moved_no_money_tells_nothing(changes: dict[str, Any], note: str) -> None:
    event = read_event(orjson.loads(Stripe().checkout_completed(visitor=VISITOR, **changes).body))
    assert event.facts == ()
    assert note in event.note


@pytest.mark.parametrize("status", ["no_payment_required", "paid"])
def test_a_free_trial_checkout_is_a_trial_of_its_subscription(status: str) -> None:
    delivery = Stripe().checkout_completed(
        visitor=VISITOR, mode="subscription", amount=0, payment_status=status
    )
    session = delivery.event["data"]["object"]
    fact = only(delivery)
    assert (fact.kind, fact.amount_minor, fact.visitor) == (FactKind.trial, 0, VISITOR)
    assert fact.names == (session["id"], session["invoice"], session["subscription"])
    assert (fact.subscription, fact.frequency) == (session["subscription"], Frequency.monthly)
    # Not yet paid but money is due (a delayed method): still not a trial, nothing yet.
    unpaid = Stripe().checkout_completed(
        visitor=VISITOR, mode="subscription", amount=1000, payment_status="unpaid"
    )
    assert read_event(orjson.loads(unpaid.body)).facts == ()


def test_the_first_paid_invoice_after_a_trial_is_a_renewal_fact_of_its_subscription() -> None:
    # Stripe bills the end of a trial as a cycle: applying it makes it the first payment.
    fact = only(Stripe().invoice_paid("sub_1", amount=1000, billing_reason="subscription_cycle"))
    assert (fact.kind, fact.refers_to, fact.amount_minor) == (FactKind.renewal, ("sub_1",), 1000)


def test_a_delayed_payment_is_a_payment_once_it_succeeds() -> None:
    delivery = Stripe().checkout_completed(
        visitor=VISITOR, event_type="checkout.session.async_payment_succeeded"
    )
    assert only(delivery).kind == FactKind.payment


def test_a_renewal_invoice_is_revenue_of_the_subscription() -> None:
    delivery = Stripe().invoice_paid("sub_1", amount=500, currency="gbp")
    fact = only(delivery)
    assert fact.kind == FactKind.renewal
    assert fact.names == (delivery.event["data"]["object"]["id"],)
    assert (fact.refers_to, fact.subscription) == (("sub_1",), "sub_1")
    assert (fact.amount_minor, fact.currency) == (500, "GBP")


def test_an_expanded_invoice_names_its_payment_intents() -> None:
    payments = {"object": "list", "data": [{"payment": {"payment_intent": {"id": "pi_9"}}}]}
    fact = only(Stripe().invoice_paid("sub_1", invoice="in_1", payments=payments))
    assert fact.names == ("in_1", "pi_9")


def test_a_subscriptions_first_invoice_links_to_the_checkout_payment() -> None:
    fact = only(
        Stripe().invoice_paid("sub_1", invoice="in_1", billing_reason="subscription_create")
    )
    assert fact.kind == FactKind.link
    assert (fact.names, fact.refers_to) == (("in_1",), ("in_1", "sub_1"))


@pytest.mark.parametrize(
    "changes", [{"amount_paid": 0}, {"parent": None}, {"parent": {"type": "quote_details"}}]
)
def test_an_invoice_with_no_money_or_no_subscription_tells_nothing(
    changes: dict[str, Any],
) -> None:
    assert facts(Stripe().invoice_paid("sub_1", **changes)) == ()


def test_an_invoice_payment_links_the_payment_intent_to_the_invoice() -> None:
    fact = only(Stripe().invoice_payment_paid("in_1", payment_intent="pi_1"))
    assert (fact.kind, fact.names, fact.refers_to) == (FactKind.link, ("pi_1",), ("in_1",))


def test_a_refunded_charge_gives_the_cumulative_refund() -> None:
    delivery = Stripe().charge_refunded("pi_1", amount=1000, refunded=400)
    fact = only(delivery)
    assert fact.kind == FactKind.refund
    assert fact.refers_to == ("pi_1", delivery.event["data"]["object"]["id"])
    assert (fact.refunded_total_minor, fact.amount_minor, fact.currency) == (400, 0, "USD")
    without_intent = only(Stripe().charge_refunded(None, charge="ch_1"))
    assert without_intent.refers_to == ("ch_1",)


def test_a_dispute_takes_back_its_amount() -> None:
    fact = only(Stripe().dispute_created("pi_1", amount=700, charge="ch_1"))
    assert (fact.kind, fact.refers_to, fact.amount_minor) == (
        FactKind.refund,
        ("pi_1", "ch_1"),
        700,
    )
    assert fact.refunded_total_minor is None


def test_a_won_dispute_gives_its_amount_back_once() -> None:
    stripe = Stripe()
    reinstated = stripe.dispute_created(
        "pi_1",
        amount=700,
        charge="ch_1",
        event_type="charge.dispute.funds_reinstated",
        status="won",
        dispute="dp_1",
    )
    fact = only(reinstated)
    assert (fact.kind, fact.refers_to, fact.amount_minor, fact.currency) == (
        FactKind.reinstatement,
        ("pi_1", "ch_1"),
        700,
        "USD",
    )
    # Stripe also closes the dispute as won: the same money, told by funds_reinstated.
    closed = read_event(
        orjson.loads(
            stripe.dispute_created(
                "pi_1", charge="ch_1", event_type="charge.dispute.closed", status="won"
            ).body
        )
    )
    assert closed.facts == ()
    assert "funds_reinstated" in closed.note
    lost = stripe.dispute_created(
        "pi_1", charge="ch_1", event_type="charge.dispute.closed", status="lost"
    )
    assert read_event(orjson.loads(lost.body)).facts == ()


def test_a_reinstatement_without_its_amount_is_refused_naming_it() -> None:
    delivery = Stripe().dispute_created("pi_1", event_type="charge.dispute.funds_reinstated")
    body = orjson.loads(delivery.body)
    del body["data"]["object"]["amount"]
    with pytest.raises(InvalidRequest) as refused:
        read_event(body)
    assert "data.object.amount" in refused.value.fields


def test_a_deleted_subscription_is_a_cancellation() -> None:
    fact = only(Stripe().subscription_deleted("sub_1"))
    assert (fact.kind, fact.refers_to, fact.ts) == (FactKind.cancellation, ("sub_1",), WHEN)


def test_other_event_types_tell_nothing() -> None:
    event = read_event(orjson.loads(Stripe().deliver("customer.created", {"id": "cus_1"}).body))
    assert (event.facts, event.type) == ((), "customer.created")
    assert "not an event Small Favor uses" in event.note


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda e: e.pop("id"), "id"),
        (lambda e: e.update(type=3), "type"),
        (lambda e: e.update(created="now"), "created"),
        (lambda e: e.update(object="v2.core.event"), "object"),
        (lambda e: e.update(data=[]), "data"),
        (lambda e: e["data"]["object"].update(amount_total="10"), "data.object.amount_total"),
        (lambda e: e["data"]["object"].update(amount_total=-1), "data.object.amount_total"),
        # Past what the tables hold (a BIGINT): refused here, not a 500 at the database.
        (lambda e: e["data"]["object"].update(amount_total=2**63), "data.object.amount_total"),
        (lambda e: e["data"]["object"].update(currency="dollars"), "data.object.currency"),
        (lambda e: e["data"]["object"].update(payment_intent=7), "data.object.payment_intent"),
        (lambda e: e["data"]["object"].update(metadata={"a": 1}), "data.object.metadata"),
    ],
)
def test_a_malformed_field_is_named_by_its_path(mutate: Any, path: str) -> None:
    event = Stripe().checkout_completed(visitor=VISITOR).event
    mutate(event)
    with pytest.raises(InvalidRequest) as refused:
        read_event(event)
    assert list(refused.value.fields) == [path]


def test_a_malformed_nested_field_is_named_by_its_path() -> None:
    event = Stripe().invoice_paid("sub_1").event
    event["data"]["object"]["parent"]["subscription_details"]["subscription"] = ["sub_1"]
    with pytest.raises(InvalidRequest) as refused:
        read_event(event)
    assert list(refused.value.fields) == ["data.object.parent.subscription_details.subscription"]


def test_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_event([1])
    assert list(refused.value.fields) == ["$"]
