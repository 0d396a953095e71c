"""The payment model through POST /v1/conversions, the flusher and the report: renewals add,
refunds and disputes subtract (never more than the payment), a cancellation ends the 12-month
value's expected payments, facts about a payment not received yet are held and applied once,
and every replay is a duplicate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.domain.errors import ValidationFailed
from service.domain.payment_facts import FactKind, PaymentFact
from service.stats.compare import Comparison, compare
from service.stats.summaries import SampleStats
from service.store.sql.event_tables import visitor_outcomes
from service.store.sql.payment_tables import payment_credits, payment_facts, payment_money
from service.usecases.apply_payment_fact import apply_payment_fact
from service.usecases.receive_payment import parse_fact
from service.wiring import Services
from tests.functional.events_support import banner_for, event, post_events, start_experiment
from tests.functional.test_conversions import VISITOR, pay, payment
from tests.functional.test_events_redis_fallback import flush
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
REPORT = "/v1/admin/experiments/monthly-ask/report"


@pytest.fixture
def variant(client: FlaskClient, auth: Auth) -> str:
    """The reader saw the banner (an impression): the variant their money is credited to."""
    start_experiment(client, auth("editor"), targeting={"audience": "non_supporters"})
    banner = banner_for(client, VISITOR)
    assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
    return str(banner["variant"])


def figures(app: Flask, client: FlaskClient, auth: Auth, variant: str) -> dict[str, Any]:
    flush(app)
    response = client.get(REPORT, headers=auth("viewer"))
    assert response.status_code == 200, response.json
    [row] = [v for v in response.json["variants"] if v["key"] == variant]
    return {
        name: row[name]
        for name in (
            "revenue",
            "net_revenue",
            "gross_revenue",
            "annualised_value",
            "refunds",
            "refunded_amount",
            "renewals",
            "renewal_amount",
            "active_recurring_donors",
            "churned_donors",
            "payments",
        )
    }


def send(client: FlaskClient, services: Services, body: dict[str, Any]) -> dict[str, Any]:
    response = pay(client, services, body)
    assert response.status_code == 200, response.json
    answer: dict[str, Any] = response.json
    return answer


def expect(revenue: float, gross: float, value: float, **others: Any) -> dict[str, Any]:
    base = {
        "revenue": revenue,
        "net_revenue": revenue,
        "gross_revenue": gross,
        "annualised_value": value,
        "refunds": 0,
        "refunded_amount": gross - revenue,
        "renewals": 0,
        "renewal_amount": 0.0,
        "active_recurring_donors": 1,
        "churned_donors": 0,
        "payments": 1,
    }
    return base | others


def test_renewal_refunds_dispute_and_cancellation_move_the_report(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    first = send(client, services, payment(subscription="sub_1"))
    assert first["status"] == "applied" and first["credited"]
    assert figures(app, client, auth, variant) == expect(10.0, 10.0, 120.0)

    renewal = {"type": "renewal", "id": "pay_0002", "subscription": "sub_1", "amount": 10.0}
    assert send(client, services, renewal | {"currency": "USD"})["status"] == "applied"
    assert figures(app, client, auth, variant) == expect(
        20.0, 20.0, 120.0, renewals=1, renewal_amount=10.0
    )
    renewed = {"renewals": 1, "renewal_amount": 10.0}

    # A partial refund of the renewal, incremental; then replayed: a duplicate.
    refund = {"type": "refund", "id": "re_1", "payment": "pay_0002", "amount": 3.0}
    refund["currency"] = "USD"
    assert send(client, services, refund)["status"] == "applied"
    assert send(client, services, refund)["status"] == "duplicate"
    assert figures(app, client, auth, variant) == expect(17.0, 20.0, 117.0, refunds=1, **renewed)

    # Cumulative totals on the first payment: 4 refunded so far, then the same total again
    # (another event, nothing new), as a negative entry of the plain body.
    cumulative = {"type": "refund", "payment": "pay_0001", "currency": "USD"}
    send(client, services, cumulative | {"id": "re_2", "refunded_total": 4.0})
    send(client, services, cumulative | {"id": "re_3", "refunded_total": 4.0})
    assert figures(app, client, auth, variant) == expect(13.0, 20.0, 113.0, refunds=2, **renewed)

    # A dispute of all 10 takes back only the 6 left of the first payment.
    dispute = {"id": "dp_1", "payment": "pay_0001", "amount": -10.0, "currency": "USD"}
    send(client, services, dispute)
    assert figures(app, client, auth, variant) == expect(7.0, 20.0, 107.0, refunds=3, **renewed)

    # Two payments received of the 12 expected: the 10 still to come go.
    cancel = {"type": "cancellation", "id": "cx_1", "subscription": "sub_1"}
    assert send(client, services, cancel)["status"] == "applied"
    send(client, services, cancel | {"id": "cx_2"})  # a second cancellation: nothing
    after = expect(
        7.0, 20.0, 7.0, refunds=3, active_recurring_donors=0, churned_donors=1, **renewed
    )
    assert figures(app, client, auth, variant) == after
    # Every reply leaves the figures as they were.
    for body in (payment(subscription="sub_1"), renewal | {"currency": "USD"}, dispute, cancel):
        assert send(client, services, body)["status"] == "duplicate"
    assert figures(app, client, auth, variant) == after


def test_a_refund_before_its_payment_is_held_then_applied_once(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    refund = {"type": "refund", "id": "re_9", "payment": "pay_0001", "amount": 4.0}
    refund["currency"] = "USD"
    assert send(client, services, refund)["status"] == "held"
    assert send(client, services, refund)["status"] == "duplicate"
    assert send(client, services, payment(frequency="one_off"))["status"] == "applied"
    assert send(client, services, payment(frequency="one_off"))["status"] == "duplicate"
    got = figures(app, client, auth, variant)
    assert (got["revenue"], got["gross_revenue"], got["refunds"]) == (6.0, 10.0, 1)
    assert got["annualised_value"] == 6.0
    with services.engine.connect() as conn:
        status = conn.execute(
            select(payment_facts.c.status).where(payment_facts.c.fact_id == "re_9")
        ).scalar_one()
    assert status == "applied"


def test_an_unattributed_payment_and_its_refund_are_recognised_not_held(
    client: FlaskClient, services: Services
) -> None:
    body = {"id": "pay_anon", "amount": 5.0, "currency": "USD"}

    fact = parse_fact(body | {"visitor": VISITOR}, services, services.clock())
    anonymous = PaymentFact(
        fact_id=fact.fact_id,
        kind=fact.kind,
        ts=fact.ts,
        names=fact.names,
        amount_minor=fact.amount_minor,
        currency=fact.currency,
    )
    assert apply_payment_fact(services, anonymous).status == "unattributed"
    refund = {"type": "refund", "id": "re_anon", "payment": "pay_anon", "amount": 5.0}
    assert send(client, services, refund | {"currency": "USD"})["status"] == "unattributed"


def test_a_payment_without_a_reader_is_refused_by_the_generic_webhook_naming_the_field(
    client: FlaskClient, services: Services
) -> None:
    response = pay(client, services, {"id": "pay_x", "amount": 5.0, "currency": "USD"})
    assert response.status_code == 422
    assert "visitor" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "refund", "id": "re_1", "amount": 1.0, "currency": "USD"}, "payment"),
        (
            {"type": "refund", "id": "re_1", "payment": "p", "currency": "XXX", "amount": 1.0},
            "currency",
        ),
        ({"type": "renewal", "id": "r", "amount": 1.0, "currency": "USD"}, "subscription"),
        ({"type": "renewal", "id": "r", "subscription": "s", "currency": "USD"}, "amount"),
        ({"type": "cancellation", "id": "c", "subscription": "s", "amount": 1.0}, "amount"),
        ({"type": "gift", "id": "c"}, "type"),
        # Two ways of saying how much: which to apply would be a guess.
        (
            {"type": "refund", "id": "r", "payment": "p", "currency": "USD", "amount": 1.0}
            | {"refunded_total": 1.0},
            "refunded_total",
        ),
    ],
)
def test_every_bad_field_is_named(
    client: FlaskClient, services: Services, body: dict[str, Any], field: str
) -> None:
    response = pay(client, services, body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json


def test_an_amount_past_what_is_stored_is_refused_on_every_way_in(services: Services) -> None:
    fact = PaymentFact(
        fact_id="evt_big",
        kind=FactKind.payment,
        ts=services.clock(),
        names=("pi_big",),
        visitor=VISITOR,
        amount_minor=2**63,
        currency="USD",
    )
    with pytest.raises(ValidationFailed) as refused:
        apply_payment_fact(services, fact)
    assert "amount" in refused.value.fields


def test_outcome_keeps_per_visitor_net_figures(
    app: Flask, client: FlaskClient, services: Services, variant: str
) -> None:
    send(client, services, payment(frequency="one_off"))
    send(
        client, services, {"id": "re_1", "payment": "pay_0001", "amount": -10.0, "currency": "USD"}
    )
    flush(app)
    with services.engine.connect() as conn:
        row = (
            conn.execute(select(visitor_outcomes).where(visitor_outcomes.c.visitor == VISITOR))
            .mappings()
            .one()
        )
    assert (row["revenue"], row["annualised_value"], row["refunded"], row["refunds"]) == (
        0.0,
        0.0,
        10.0,
        1,
    )


def test_erasure_leaves_no_payment_naming_the_visitor_and_replays_stay_duplicates(
    client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    send(client, services, payment(subscription="sub_1"))
    response = client.delete(f"/v1/admin/visitors/{VISITOR}", headers=auth("admin"))
    assert response.status_code == 200, response.json
    removed = response.json["removed"]
    assert (removed["payment_credits"], removed["payment_money"]) == (1, 1)
    with services.engine.connect() as conn:
        for table in (payment_facts, payment_money, payment_credits):
            named = conn.execute(select(table).where(table.c.visitor == VISITOR)).all()
            assert named == [], table.name
    assert send(client, services, payment(subscription="sub_1"))["status"] == "duplicate"
    cancel = {"type": "cancellation", "id": "cx_1", "subscription": "sub_1"}
    assert send(client, services, cancel)["status"] == "unattributed"


def test_concurrent_deliveries_of_one_fact_count_once(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    send(client, services, payment(frequency="one_off"))
    refund = {"type": "refund", "id": "re_1", "payment": "pay_0001", "amount": 2.0}
    refund["currency"] = "USD"
    fact = parse_fact(refund, services, services.clock())
    start = threading.Barrier(6)
    statuses: list[str] = []

    def deliver() -> None:
        start.wait()
        statuses.append(apply_payment_fact(services, fact).status)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["applied"] + ["duplicate"] * 5
    got = figures(app, client, auth, variant)
    assert (got["revenue"], got["refunds"], got["refunded_amount"]) == (8.0, 1, 2.0)


def test_statistics_on_net_figures_equal_the_stats_on_per_visitor_sums(
    app: Flask, client: FlaskClient, auth: Auth, services: Services
) -> None:
    """Refunds, renewals and cancellations change per-visitor values; the report's comparison
    is still the one the statistics (equal to gbstats, tests/unit/test_stats_golden.py) make
    of each variant's n, Σx and Σx² over visitors, read here straight from the outcomes."""
    start_experiment(client, auth("editor"))
    for i in range(40):
        visitor = f"reader-{i:06d}"
        banner = banner_for(client, visitor)
        assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
        if i % 3:
            continue
        body = {"id": f"pay_{i}", "visitor": visitor, "amount": 5.0 + i, "currency": "USD"}
        send(client, services, body | {"frequency": "monthly", "subscription": f"sub_{i}"})
        if i % 2:
            refund = {"type": "refund", "id": f"re_{i}", "payment": f"pay_{i}", "amount": 3.0}
            send(client, services, refund | {"currency": "USD"})
        if i % 4 == 0:
            renewal = {"type": "renewal", "id": f"ren_{i}", "subscription": f"sub_{i}"}
            send(client, services, renewal | {"amount": 5.0 + i, "currency": "USD"})
        if i % 9 == 0:
            send(
                client,
                services,
                {"type": "cancellation", "id": f"cx_{i}", "subscription": f"sub_{i}"},
            )
    flush(app)
    body = client.get(REPORT, headers=auth("viewer")).json
    with services.engine.connect() as conn:
        rows = (
            conn.execute(
                select(visitor_outcomes).where(visitor_outcomes.c.first_exposure_at.is_not(None))
            )
            .mappings()
            .all()
        )
    analysis = body["analysis"]
    for metric, column in (
        ("revenue_per_visitor", "revenue"),
        ("annualised_value_per_visitor", "annualised_value"),
    ):
        arms = []
        for variant in body["variants"]:
            values = [r[column] for r in rows if r["variant_key"] == variant["key"]]
            arms.append(SampleStats(len(values), sum(values), sum(v * v for v in values)))
        expected = compare(
            arms[0], arms[1], alpha=analysis["alpha"], sequential=analysis["sequential"]
        )
        assert isinstance(expected, Comparison)
        vs = body["variants"][1]["metrics"][metric]["vs_control"]
        assert vs["relative_lift"] == pytest.approx(expected.lift, rel=1e-9)
        if "p_value" in vs:
            assert vs["p_value"] == pytest.approx(expected.p_value, rel=1e-9)
        assert vs["ci"] == pytest.approx(list(expected.ci), rel=1e-9)


def test_a_redis_reply_lost_after_the_script_ran_is_retried_without_counting_twice(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    services: Services,
    variant: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    send(client, services, payment(subscription="sub_1"))
    real = services.event_ingest.record

    def times_out(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # Redis ran it; the reply is what got lost
        raise redis_lib.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(services.event_ingest, "record", times_out)
    renewal = {"type": "renewal", "id": "pay_0002", "subscription": "sub_1", "amount": 10.0}
    renewal["currency"] = "USD"
    assert pay(client, services, renewal).status_code == 503
    monkeypatch.setattr(services.event_ingest, "record", real)
    assert send(client, services, renewal)["status"] == "applied"
    got = figures(app, client, auth, variant)
    assert (got["revenue"], got["renewals"], got["annualised_value"]) == (20.0, 1, 120.0)


def test_a_renewal_and_a_cancellation_before_their_payment_apply_in_time_order(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    services: Services,
    variant: str,
    clock: FakeClock,
) -> None:
    clock.advance(hours=1)  # the banner was seen an hour ago
    now = services.clock()
    cancel = {"type": "cancellation", "id": "cx_1", "subscription": "sub_1"}
    renewal = {"type": "renewal", "id": "pay_0002", "subscription": "sub_1", "amount": 10.0}
    earlier = (now - timedelta(minutes=5)).isoformat()
    assert send(client, services, cancel | {"ts": now.isoformat()})["status"] == "held"
    renewal |= {"currency": "USD", "ts": earlier}
    assert send(client, services, renewal)["status"] == "held"
    first = payment(subscription="sub_1", ts=(now - timedelta(minutes=30)).isoformat())
    assert send(client, services, first)["status"] == "applied"
    # The renewal first (two payments received), then the cancellation: 10 months lost.
    got = figures(app, client, auth, variant)
    assert (got["revenue"], got["annualised_value"], got["churned_donors"]) == (20.0, 20.0, 1)
