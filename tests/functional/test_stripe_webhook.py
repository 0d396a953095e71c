"""POST /v1/payments/stripe over HTTP: what Stripe (and an operator reading its delivery log)
sees. Applying the facts is apply_payment_fact's, replaced here by a recorder."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from service.domain.payment_facts import FactKind, PaymentFact
from service.usecases import receive_stripe_event as usecase
from service.usecases.apply_payment_fact import FactApplied
from service.usecases.errors import Unavailable
from service.wiring import Services
from tests.stripe_support import OTHER_SECRET, SECRET, START, STRIPE_PATH, Delivery, Stripe

VISITOR = "reader-000001"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"STRIPE_WEBHOOK_SECRET": SECRET}


class Recorder:
    """apply_payment_fact's stand-in: remembers each fact, a replay is a duplicate."""

    def __init__(self) -> None:
        self.facts: list[PaymentFact] = []
        self.failing = False

    def __call__(self, svc: Any, fact: PaymentFact) -> FactApplied:
        if self.failing:
            raise Unavailable("the payment could not be recorded; retry later")
        seen = any(f.fact_id == fact.fact_id for f in self.facts)
        self.facts.append(fact)
        if seen:
            return FactApplied(fact.fact_id, "duplicate")
        if fact.kind == FactKind.payment and fact.visitor is None:
            return FactApplied(fact.fact_id, "unattributed")
        return FactApplied(fact.fact_id, "applied", [{"experiment": "e", "variant": "a"}])


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(usecase, "apply_payment_fact", recorder)
    return recorder


def post(client: FlaskClient, delivery: Delivery, **headers: str) -> Any:
    return client.post(STRIPE_PATH, data=delivery.body, headers=delivery.headers | headers)


def test_a_checkout_is_applied_as_a_payment(client: FlaskClient, applied: Recorder) -> None:
    delivery = Stripe().checkout_completed(visitor=VISITOR, amount=1500)
    response = post(client, delivery)
    assert response.status_code == 200
    assert response.json == {
        "event": delivery.id,
        "type": "checkout.session.completed",
        "status": "applied",
        "ignored": False,
        "facts": [
            {
                "fact": delivery.id,
                "status": "applied",
                "credited": [{"experiment": "e", "variant": "a"}],
            }
        ],
    }
    (fact,) = applied.facts
    assert (fact.kind, fact.visitor, fact.amount_minor) == (FactKind.payment, VISITOR, 1500)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_replay_passes_the_same_fact_ids_and_is_a_duplicate(
    client: FlaskClient, applied: Recorder, clock: Any
) -> None:
    delivery = Stripe().charge_refunded("pi_1")
    assert post(client, delivery).json["status"] == "applied"
    clock.advance(minutes=30)  # Stripe's retry signs anew
    again = post(client, delivery.resigned(START + 1800))
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert [f.fact_id for f in applied.facts] == [delivery.id, delivery.id]
    assert applied.facts[0] == applied.facts[1]


def test_a_payment_with_no_reader_is_acknowledged_as_unattributed(
    client: FlaskClient, applied: Recorder
) -> None:
    response = post(client, Stripe().checkout_completed(visitor=None))
    assert (response.status_code, response.json["status"]) == (200, "unattributed")


def test_an_unknown_event_type_is_acknowledged_and_ignored(
    client: FlaskClient, applied: Recorder
) -> None:
    delivery = Stripe().deliver("customer.created", {"id": "cus_1", "object": "customer"})
    response = post(client, delivery)
    assert response.status_code == 200
    assert response.json["ignored"] is True and response.json["status"] == "ignored"
    assert "customer.created" in response.json["note"]
    assert applied.facts == []


def test_a_wrong_secret_is_refused_naming_the_header(
    client: FlaskClient, applied: Recorder
) -> None:
    response = post(client, Stripe(secrets=[OTHER_SECRET]).checkout_completed(visitor=VISITOR))
    assert response.status_code == 400
    assert "Stripe-Signature" in response.json["error"]["fields"]
    assert applied.facts == []


def test_a_missing_signature_is_refused(client: FlaskClient, applied: Recorder) -> None:
    delivery = Stripe().checkout_completed(visitor=VISITOR)
    response = client.post(STRIPE_PATH, data=delivery.body, content_type="application/json")
    assert response.status_code == 400
    assert "missing" in response.json["error"]["fields"]["Stripe-Signature"]


def test_a_stale_timestamp_is_refused(client: FlaskClient, applied: Recorder, clock: Any) -> None:
    delivery = Stripe().checkout_completed(visitor=VISITOR)
    clock.advance(seconds=301)
    response = post(client, delivery)
    assert response.status_code == 400
    assert "old" in response.json["error"]["fields"]["Stripe-Signature"]
    assert applied.facts == []


def test_several_v1_values_are_accepted_while_the_secret_rolls(
    client: FlaskClient, applied: Recorder
) -> None:
    delivery = Stripe(secrets=[OTHER_SECRET, SECRET]).checkout_completed(visitor=VISITOR)
    assert delivery.signature.count("v1=") == 2
    assert post(client, delivery).status_code == 200
    assert len(applied.facts) == 1


def test_the_body_must_be_json(client: FlaskClient, applied: Recorder) -> None:
    body = b"{not json"
    response = client.post(
        STRIPE_PATH,
        data=body,
        headers={"Stripe-Signature": Delivery({}, body, "").resigned(START).signature},
    )
    assert response.status_code == 400
    assert "$" in response.json["error"]["fields"]


def test_a_malformed_field_of_a_handled_event_is_named(
    client: FlaskClient, applied: Recorder
) -> None:
    delivery = Stripe().checkout_completed(visitor=VISITOR, amount_total="ten")
    response = post(client, delivery)
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == ["data.object.amount_total"]
    assert applied.facts == []


def test_an_oversize_body_is_refused(client: FlaskClient, applied: Recorder) -> None:
    padding = {"padding": "x" * 600_000}
    delivery = Stripe().deliver("customer.created", {"id": "cus_1"} | padding)
    response = post(client, delivery)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_when_results_cannot_be_stored_stripe_is_told_to_retry(
    client: FlaskClient, applied: Recorder
) -> None:
    applied.failing = True
    response = post(client, Stripe().checkout_completed(visitor=VISITOR))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"


def test_cors_does_not_apply(client: FlaskClient, applied: Recorder) -> None:
    response = client.options(STRIPE_PATH, headers={"Origin": "https://news.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


class TestNotConfigured:
    @pytest.fixture
    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in env.items() if k != "STRIPE_WEBHOOK_SECRET"}

    def test_an_unset_secret_answers_503_saying_so(
        self, client: FlaskClient, applied: Recorder
    ) -> None:
        response = post(client, Stripe().checkout_completed(visitor=VISITOR))
        assert response.status_code == 503
        assert response.json["error"]["code"] == "not_configured"
        assert "STRIPE_WEBHOOK_SECRET" in response.json["error"]["message"]
        assert applied.facts == []


def test_the_use_case_is_the_way_in_without_http(services: Services, applied: Recorder) -> None:
    """What the demo's stand-in for Checkout does: sign an event itself and hand it over."""
    stripe_ = Stripe(now=int(services.clock().timestamp()))
    checkout = stripe_.checkout_completed(visitor=VISITOR, mode="subscription")
    subscription = checkout.event["data"]["object"]["subscription"]
    renewal = stripe_.invoice_paid(subscription, amount=500)
    for delivery in (checkout, renewal):
        receipt = usecase.receive_stripe_event(services, delivery.body, delivery.signature)
        assert (receipt.event, receipt.status) == (delivery.id, "applied")
    assert [f.kind for f in applied.facts] == [FactKind.payment, FactKind.renewal]
    assert applied.facts[1].refers_to == (subscription,)
