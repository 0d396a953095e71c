"""EventWriter on the configured SQL backend: outcomes, rollups, payments, idempotency."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from service.domain.events import Source
from service.store.sql.event_deltas import EVENT_COLUMNS, unfit_reason
from service.store.sql.event_tables import events, payments
from service.store.sql.event_writer import EventWriter, WriteResult
from tests.integration.flush_support import (
    DAY,
    all_outcomes,
    event,
    event_counts,
    ms,
    outcome,
    rollups,
)

H = timedelta(hours=1)


def test_one_visitors_journey_becomes_an_outcome_and_rollups(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    batch = [
        # Out of time order on purpose: "first" means earliest, not first in the batch.
        event("e-view", "view", at=11 * H, country="US", device="mobile"),
        event("e-imp-1", "impression", at=10 * H, device="desktop"),
        event("e-imp-2", "impression", at=12 * H, country="GB"),
        event("e-click", "click", at=13 * H),
        event("e-snooze", "dismiss", at=14 * H, reason="remind_later"),
        event("e-close", "dismiss", at=15 * H, reason="close"),
        event("e-pay", "conversion", at=26 * H, amount_minor=500, frequency="monthly"),
        event("e-other", "view", at=9 * H, visitor="reader-0002", variant="five-dollars"),
    ]
    assert writer.write(batch) == WriteResult(inserted=8, duplicates=0)

    row = outcome(clean_db, "reader-0001")
    assert row["variant_key"] == "control"
    assert row["first_seen_at"] == DAY + 10 * H
    assert row["first_exposure_at"] == DAY + 10 * H
    assert row["last_event_at"] == DAY + 26 * H
    # Country and device of the earliest event that had each.
    assert (row["country"], row["device"]) == ("US", "desktop")
    assert (row["impressions"], row["views"], row["clicks"]) == (2, 1, 1)
    assert (row["dismiss_remind_later"], row["dismiss_close"]) == (1, 1)
    assert row["dismiss_already_donated"] == 0
    assert row["first_remind_later_at"] == DAY + 14 * H
    assert (row["conversions"], row["recurring_conversions"]) == (1, 1)
    assert row["revenue"] == pytest.approx(5.0)
    assert row["annualised_value"] == pytest.approx(60.0)
    assert row["converted_after_remind_later"] is True

    unexposed = outcome(clean_db, "reader-0002")
    assert unexposed["first_exposure_at"] is None  # a view alone is not an exposure
    assert unexposed["variant_key"] == "five-dollars"

    days = rollups(clean_db)
    first = days[("monthly-ask", "control", "2026-11-27")]
    assert first["new_visitors"] == 1
    assert (first["impressions"], first["views"], first["clicks"]) == (2, 1, 1)
    assert (first["dismiss_remind_later"], first["dismiss_close"], first["conversions"]) == (
        1,
        1,
        0,
    )
    second = days[("monthly-ask", "control", "2026-11-28")]  # the conversion's UTC day
    assert (second["new_visitors"], second["conversions"]) == (0, 1)
    assert (second["revenue"], second["annualised_value"]) == pytest.approx((5.0, 60.0))
    other = days[("monthly-ask", "five-dollars", "2026-11-27")]
    assert (other["new_visitors"], other["views"]) == (0, 1)

    with clean_db.connect() as conn:
        stored = conn.execute(select(events).where(events.c.event_id == "e-pay")).one()
    assert stored.ts == DAY + 26 * H
    assert stored.received_at == DAY + 26 * H + timedelta(milliseconds=250)
    assert (stored.amount_minor, stored.currency, stored.frequency) == (500, "USD", "monthly")
    assert (stored.source, stored.counted) == ("client", True)


def test_replaying_a_batch_inserts_and_counts_nothing(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    batch = [
        event("r-1", "impression"),
        event("r-2", "conversion", at=11 * H, payment_id="pay-1", source=Source.webhook),
        event("r-3", "impression", visitor="reader-0002"),
    ]
    assert writer.write(batch) == WriteResult(3, 0)
    before = (all_outcomes(clean_db), rollups(clean_db))

    assert writer.write(batch) == WriteResult(inserted=0, duplicates=3)
    assert (all_outcomes(clean_db), rollups(clean_db)) == before
    assert event_counts(clean_db) == (3, 3)


def test_a_batch_that_repeats_an_id_counts_it_once(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    batch = [
        event("d-1", "impression"),
        event("d-1", "impression", at=11 * H),  # a retried beacon within one batch
        event("d-2", "view"),
    ]
    assert writer.write(batch) == WriteResult(inserted=2, duplicates=1)
    row = outcome(clean_db, "reader-0001")
    assert row["impressions"] == 1
    assert row["first_exposure_at"] == DAY + 10 * H  # the first record of the id wins
    assert rollups(clean_db)[("monthly-ask", "control", "2026-11-27")]["impressions"] == 1


def test_uncounted_events_are_stored_but_not_counted(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    writer.write(
        [
            event("u-1", "impression"),
            event("u-2", "conversion", at=11 * H, counted=False),  # an untrusted client claim
        ]
    )
    with clean_db.connect() as conn:
        counted = conn.execute(select(events.c.counted).where(events.c.event_id == "u-2"))
        assert counted.scalar_one() is False
    row = outcome(clean_db, "reader-0001")
    assert (row["conversions"], row["revenue"], row["last_event_at"]) == (0, 0.0, DAY + 10 * H)
    assert rollups(clean_db)[("monthly-ask", "control", "2026-11-27")]["conversions"] == 0


def test_a_payment_credited_to_two_experiments_is_one_payment(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    credit = {"payment_id": "pay-9", "source": Source.webhook, "amount_minor": 1000}
    batch = [
        event("p-a", "conversion", experiment="monthly-ask", **credit),
        event("p-b", "conversion", experiment="annual-ask", variant="big", **credit),
    ]
    writer.write(batch)
    writer.write([*batch, event("p-c", "conversion", experiment="third", **credit)])
    with clean_db.connect() as conn:
        rows = conn.execute(select(payments)).all()
    assert [(r.payment_id, r.visitor, r.amount_minor, r.currency, r.frequency) for r in rows] == [
        ("pay-9", "reader-0001", 1000, "USD", "monthly")
    ]
    assert rows[0].ts == DAY + 10 * H
    # Each experiment the payment was credited to counts it once.
    assert outcome(clean_db, "reader-0001", "monthly-ask")["conversions"] == 1
    assert outcome(clean_db, "reader-0001", "annual-ask")["revenue"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        pytest.param([["snooze", "convert"]], True, id="same-batch"),
        pytest.param([["snooze"], ["convert"]], True, id="snooze-then-conversion-batch"),
        # The conversion reaches SQL first although the snooze happened first.
        pytest.param([["convert"], ["snooze"]], True, id="late-snooze-batch"),
        pytest.param([["early-convert", "snooze"]], False, id="converted-before-snooze"),
        pytest.param([["early-convert"], ["snooze"]], False, id="before-across-batches"),
        pytest.param([["snooze", "untrusted"]], False, id="uncounted-conversion"),
    ],
)
def test_converted_after_remind_later(
    clean_db: Engine, batches: list[list[str]], expected: bool
) -> None:
    made = {
        "snooze": event("c-snooze", "dismiss", at=10 * H, reason="remind_later"),
        "convert": event("c-pay", "conversion", at=30 * H),
        "early-convert": event("c-pay", "conversion", at=9 * H),
        "untrusted": event("c-pay", "conversion", at=30 * H, counted=False),
    }
    writer = EventWriter(clean_db)
    for names in batches:
        writer.write([made[name] for name in names])
    assert outcome(clean_db, "reader-0001")["converted_after_remind_later"] is expected


def test_batches_merge_into_the_stored_outcome(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    writer.write([event("m-1", "view", at=12 * H), event("m-2", "impression", at=13 * H)])
    writer.write([event("m-3", "impression", at=20 * H, country="FR")])
    writer.write([event("m-4", "view", at=8 * H, country="DE", device="tablet")])
    row = outcome(clean_db, "reader-0001")
    assert (row["first_seen_at"], row["last_event_at"]) == (DAY + 8 * H, DAY + 20 * H)
    assert (row["first_exposure_at"], row["impressions"], row["views"]) == (DAY + 13 * H, 2, 2)
    assert (row["country"], row["device"]) == ("FR", "tablet")  # first one stored wins
    # A visitor is new once, on the day of their first exposure, however many batches.
    assert sum(r["new_visitors"] for r in rollups(clean_db).values()) == 1


def test_new_visitors_per_day(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    writer.write(
        [
            event("n-1", "impression", at=1 * H, visitor="reader-a-0001"),
            event("n-2", "impression", at=2 * H, visitor="reader-b-0001"),
            event("n-3", "impression", at=25 * H, visitor="reader-a-0001"),  # next day, not new
            event("n-4", "impression", at=26 * H, visitor="reader-c-0001"),
        ]
    )
    days = rollups(clean_db)
    assert days[("monthly-ask", "control", "2026-11-27")]["new_visitors"] == 2
    assert days[("monthly-ask", "control", "2026-11-28")]["new_visitors"] == 1
    assert days[("monthly-ask", "control", "2026-11-28")]["impressions"] == 2


def test_empty_and_all_duplicate_batches(clean_db: Engine) -> None:
    writer = EventWriter(clean_db)
    assert writer.write([]) == WriteResult(0, 0)
    writer.write([event("x-1")])
    assert writer.write([event("x-1"), event("x-1")]) == WriteResult(0, 2)


def test_every_event_column_is_written() -> None:
    assert set(EVENT_COLUMNS) == {column.name for column in events.columns} - {"id"}


def test_unfit_records_are_named() -> None:
    assert unfit_reason(event("ok-1", country="US")) is None
    assert unfit_reason(event("bad-1", country="USA")) == (
        "country longer than 2 characters or holding a NUL"
    )
    assert unfit_reason(event("bad-2", visitor="v" * 65)) == (
        "visitor longer than 64 characters or holding a NUL"
    )
    assert unfit_reason(event("bad-nul", device="mob\x00ile")) == (
        "device longer than 16 characters or holding a NUL"
    )
    assert unfit_reason(event("bad-big", "conversion", amount_minor=2**63)) == "amount out of range"
    far = replace(event("bad-3"), ts_ms=ms(DAY) * 10_000)
    assert unfit_reason(far) == "timestamp out of range"
    unpaid = event("bad-4", "conversion", payment_id="pay-1", currency=None)
    assert unfit_reason(unpaid) == "payment without amount, currency or frequency"
