"""Money in minor units, client event validation, the stream format, ledger operations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.domain.events import EventInvalid, EventRecord, EventType, Source
from service.domain.ledger import impression_ops, parse_ledger, snooze_ops, supporter_ops
from service.domain.money import MoneyError, convert, to_minor
from service.schemas.events import parse_client_event
from service.schemas.experiment import parse_experiment
from service.store.sql.event_deltas import summarise
from tests.support import experiment_doc

RATES = {"USD": 1.0, "EUR": 1.08, "JPY": 0.0066, "BHD": 2.65}


@pytest.mark.parametrize(
    "amount,currency,minor",
    [
        (10, "USD", 1000),
        (10.5, "EUR", 1050),
        ("0.01", "USD", 1),
        (500, "JPY", 500),
        (1.234, "BHD", 1234),
        (19.99, "USD", 1999),
    ],
)
def test_minor_units_are_exact(amount: object, currency: str, minor: int) -> None:
    assert to_minor(amount, currency, RATES) == minor  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "amount,currency,words",
    [
        (10, "XYZ", "unknown currency"),
        (10, "usd", "unknown currency"),
        (0, "USD", "positive"),
        (-1, "USD", "positive"),
        (1.5, "JPY", "0 decimal"),
        (1.001, "USD", "2 decimal"),
        ("ten", "USD", "number"),
    ],
)
def test_bad_money_is_refused(amount: object, currency: str, words: str) -> None:
    with pytest.raises(MoneyError, match=words):
        to_minor(amount, currency, RATES)  # type: ignore[arg-type]


def test_conversion_through_the_rate_table() -> None:
    assert convert(1000, "EUR", "USD", RATES) == pytest.approx(10.8)
    assert convert(1000, "USD", "EUR", RATES) == pytest.approx(10 / 1.08)
    assert convert(500, "JPY", "USD", RATES) == pytest.approx(3.3)
    assert convert(1999, "USD", "USD", RATES) == 19.99


def test_a_valid_client_event() -> None:
    event = parse_client_event(
        {
            "id": "0b6f2d1c-0000-4000-8000-000000000001",
            "type": "conversion",
            "token": "t",
            "ts": "2026-11-28T12:00:00Z",
            "amount": 5,
            "currency": "USD",
            "frequency": "monthly",
        }
    )
    assert event.type == EventType.conversion
    assert event.ts == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert (event.amount, event.currency, str(event.frequency)) == (5.0, "USD", "monthly")


@pytest.mark.parametrize(
    "raw,fields",
    [
        ("not an object", {"$"}),
        ({"type": "view", "token": "t"}, {"id"}),
        ({"id": "abcdefgh", "type": "scroll", "token": "t"}, {"type"}),
        ({"id": "abcdefgh", "type": "view"}, {"token"}),
        ({"id": "abcdefgh", "type": "view", "token": "t", "ts": "2026-11-28T12:00:00"}, {"ts"}),
        ({"id": "abcdefgh", "type": "dismiss", "token": "t", "reason": "bored"}, {"reason"}),
        ({"id": "abcdefgh", "type": "view", "token": "t", "reason": "close"}, {"reason"}),
        ({"id": "abcdefgh", "type": "conversion", "token": "t"}, {"amount", "currency"}),
        (
            {
                "id": "abcdefgh",
                "type": "conversion",
                "token": "t",
                "amount": True,
                "currency": "USD",
            },
            {"amount"},
        ),
        ({"id": "abcdefgh", "type": "view", "token": "t", "visitor": "me"}, {"visitor"}),
    ],
)
def test_each_problem_names_its_field(raw: object, fields: set[str]) -> None:
    with pytest.raises(EventInvalid) as failure:
        parse_client_event(raw)
    assert set(failure.value.fields) == fields


def test_stream_fields_round_trip() -> None:
    record = EventRecord(
        event_id="pay:p1:ask",
        type=EventType.conversion,
        experiment="ask",
        variant="control",
        visitor="reader-0001",
        ts_ms=1_796_000_000_123,
        received_ms=1_796_000_000_456,
        source=Source.webhook,
        counted=False,
        amount_minor=1000,
        currency="EUR",
        frequency="monthly",
        revenue=10.8,
        annualised=129.6,
        country="GB",
        device="mobile",
        payment_id="p1",
    )
    assert EventRecord.from_fields(record.to_fields()) == record
    minimal = EventRecord(
        "e1e1e1e1", EventType.view, "ask", "control", "reader-0001", 1, 2, Source.client
    )
    assert EventRecord.from_fields(minimal.to_fields()) == minimal


def test_ledger_operations() -> None:
    experiment = parse_experiment(experiment_doc(caps={"max_impressions": 3, "per_days": 7}))
    [imp, last] = impression_ops(experiment, 1000.0, "0b6f2d1c-aaaa-bbbb")
    # Seconds in base 36 (1000 = "rs") and 4 characters of the id: five entries of a current
    # timestamp fit in 64 bytes, Redis's limit for a compact hash value.
    assert imp == ("imp", "i:monthly-ask", "rs/0b6f", f"{1000 - 7 * 86400:.3f}", "3")
    [current, _] = impression_ops(experiment, 1_796_494_334.0, "0b6f2d1c-aaaa-bbbb")
    assert len(" ".join([current[2]] * 5)) <= 64
    assert last == ("max", "li:monthly-ask", "1000.000")
    from service.domain.experiment import DismissReason

    assert snooze_ops(experiment, DismissReason.remind_later, 0.0) == [
        ("max", "s:article-end", f"{168 * 3600:.3f}")
    ]
    assert supporter_ops(5.0) == [("max", "sup", "5.000")]
    ledger = parse_ledger(
        {"i:monthly-ask": "1000.000/abc 1001.500/def rt/0b6f", "li:monthly-ask": "1001.5"}
    )
    # Entries written before (decimal, with a '.') and now (base 36) both parse.
    assert ledger.impressions == {"monthly-ask": (1000.0, 1001.5, 1001.0)}
    assert ledger.last_impressions == {"monthly-ask": 1001.5}


def test_an_impressions_article_count_travels_through_the_stream_and_sets_the_covariate() -> None:
    def impression(event_id: str, ts_ms: int, views: int | None) -> EventRecord:
        kind, source = EventType.impression, Source.client
        return EventRecord(
            event_id, kind, "ask", "control", "reader-0001", ts_ms, 9, source, article_views=views
        )

    later, first = impression("e2e2e2e2", 2_000, 9), impression("e1e1e1e1", 1_000, 7)
    assert EventRecord.from_fields(later.to_fields()) == later
    sent = {"id": "e1e1e1e1", "type": "impression", "token": "t", "article_views": 7}
    assert parse_client_event(sent).article_views == 7
    # The batch's earliest impression sets it, in whatever order the records came.
    [row] = summarise([later, first]).outcomes.values()
    assert (row["impressions"], row["pre_article_views"]) == (2, 7)
    [row] = summarise([impression("e3e3e3e3", 1_000, None), later]).outcomes.values()
    assert row["pre_article_views"] is None
