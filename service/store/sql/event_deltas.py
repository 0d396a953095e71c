"""A batch of accepted events as rows: its `events` rows, and what its new, counted events
add to per-visitor outcomes and daily rollups.

Pure computation, kept apart from the SQL that applies it (event_writer), so the flusher can
do it for the next batch while the current one is written. Each outcome and rollup row here
is a delta shaped like its table row, so the upsert can merge it into the stored row with
sums, earliest and latest timestamps, in any order of batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, Integer

from service.domain.decision_log import LoggedDecision
from service.domain.events import EventRecord, EventType
from service.store.sql.event_tables import daily_rollups, events, visitor_outcomes
from service.store.sql.types import MAX_MS, MIN_MS, text_check, utc

DISMISS_REASONS = ("remind_later", "close", "already_donated")
RECURRING = frozenset({"monthly", "annual"})

# Names as plain str: a column's name is SQLAlchemy's quoted_name, a str subclass that orjson
# refuses as a dict key when the rows travel to PostgreSQL as JSON.
# Columns summed on merge: the outcome's numbers (but the covariate, kept from the first
# exposure), every rollup column but its key.
OUTCOME_COUNTERS = tuple(
    str(c.name)
    for c in visitor_outcomes.c
    if isinstance(c.type, Integer | Float) and c.name != "pre_article_views"
)
ROLLUP_COUNTERS = tuple(str(c.name) for c in daily_rollups.c if not c.primary_key)
# The columns of a new outcome or rollup row that start at zero (or False).
_OUTCOME_START = {str(c.name): c.type.python_type() for c in visitor_outcomes.c if c.default}
_ROLLUP_START = {str(c.name): c.type.python_type() for c in daily_rollups.c if c.default}
# Every `events` column but the surrogate id, in copy_row's order.
EVENT_COLUMNS = tuple(str(c.name) for c in events.c if not c.primary_key)

_TYPE_COUNTER = {
    EventType.impression: "impressions",
    EventType.view: "views",
    EventType.click: "clicks",
    EventType.conversion: "conversions",
    EventType.renewal: "renewals",
    EventType.refund: "refunds",
    EventType.cancellation: "cancellations",
}
# Events whose `revenue` the events table keeps: money in (conversions, renewals) or out.
_MONEY = frozenset(
    {EventType.conversion, EventType.renewal, EventType.refund, EventType.reinstatement}
)
# Events after a conversion (service/domain/payment_model.py), signed: they move revenue and
# the 12-month value by what they carry.
_AFTER = frozenset(
    {EventType.renewal, EventType.refund, EventType.reinstatement, EventType.cancellation}
)

# The outcome counters; every counted event adds one to exactly one of them, but a
# reinstatement (counter_for).
EVENT_COUNTERS = (*_TYPE_COUNTER.values(), *(f"dismiss_{reason}" for reason in DISMISS_REASONS))

OutcomeKey = tuple[str, str]  # (experiment, visitor)
RollupKey = tuple[str, str, date]  # (experiment, variant, UTC day)


def event_row(r: EventRecord) -> dict[str, Any]:
    """The record as an `events` row (every column but the surrogate id)."""
    return dict(zip(EVENT_COLUMNS, copy_row(r), strict=True)) | {
        "ts": utc(r.ts_ms),
        "received_at": utc(r.received_ms),
    }


def copy_row(r: EventRecord) -> tuple[Any, ...]:
    """The record in EVENT_COLUMNS order, timestamps left as epoch milliseconds (the
    PostgreSQL stage converts them, cheaper there than making datetimes here)."""
    return (
        r.event_id,
        r.type.value,
        r.experiment,
        r.variant,
        r.visitor,
        r.ts_ms,
        r.received_ms,
        r.reason,
        r.amount_minor,
        r.currency,
        r.frequency,
        r.revenue if r.type in _MONEY else None,
        r.country,
        r.device,
        r.source.value,
        r.counted,
        r.payment_id,
        r.article_views,
    )


_unfit_text = text_check(
    events,
    event_id="event_id",
    experiment="experiment_key",
    variant="variant_key",
    visitor="visitor",
    reason="reason",
    currency="currency",
    frequency="frequency",
    country="country",
    device="device",
    payment_id="payment_id",
)


def unfit_reason(r: EventRecord) -> str | None:
    """Why a parsed record cannot be stored (a value wider than its column or holding a NUL,
    a timestamp or amount out of range, a payment without its amount), or None. Such a
    record would fail its whole batch on every retry, so the flusher sets it aside."""
    why = _unfit_text(r)
    if why is not None:
        return why
    if not (MIN_MS <= r.ts_ms <= MAX_MS and MIN_MS <= r.received_ms <= MAX_MS):
        return "timestamp out of range"
    if r.amount_minor is not None and not -(2**63) <= r.amount_minor < 2**63:
        return "amount out of range"
    if r.article_views is not None and not 0 <= r.article_views < 2**31:
        return "article_views out of range"
    if not (math.isfinite(r.revenue) and math.isfinite(r.annualised)):
        return "revenue is not a finite number"
    if r.payment_id is not None and None in (r.amount_minor, r.currency, r.frequency):
        return "payment without amount, currency or frequency"
    return None


def counter_for(r: EventRecord) -> str | None:
    """The outcome/rollup counter an event adds one to (None: an unknown dismiss reason, or a
    reinstatement, which undoes part of a refund still counted as one)."""
    if r.type is EventType.dismiss:
        return f"dismiss_{r.reason}" if r.reason in DISMISS_REASONS else None
    return _TYPE_COUNTER.get(r.type)


@dataclass
class BatchDeltas:
    outcomes: dict[OutcomeKey, dict[str, Any]] = field(default_factory=dict)
    rollups: dict[RollupKey, dict[str, Any]] = field(default_factory=dict)
    # For converted_after_remind_later, which only these two can change: the batch's latest
    # conversion per visitor, and the visitors it brought a "remind later" for.
    latest_conversion: dict[OutcomeKey, datetime] = field(default_factory=dict)
    reminded: set[OutcomeKey] = field(default_factory=set)


def rollup_row(experiment: str, variant: str, day: date) -> dict[str, Any]:
    """A `daily_rollups` row of zeros."""
    return {"experiment_key": experiment, "variant_key": variant, "day": day, **_ROLLUP_START}


_TIMES = ("first_seen_at", "first_exposure_at", "last_event_at", "first_remind_later_at")
_DAY_MS = 86_400_000


def summarise(records: Iterable[EventRecord]) -> BatchDeltas:
    """Outcome and rollup deltas of new, counted records.

    Records are taken in time order, so "first" means earliest within the batch (first
    exposure, first remind-later, the first country and device seen); the upsert then keeps
    the earlier of the stored and the batch's values. Times stay in milliseconds until the
    end: a batch has far fewer visitors than events.
    """
    deltas = BatchDeltas()
    outcomes, rollups = deltas.outcomes, deltas.rollups
    latest: dict[OutcomeKey, int] = {}
    days: dict[int, date] = {}
    for r in sorted(records, key=_ts_ms):
        ms = r.ts_ms
        key = (r.experiment, r.visitor)
        row = outcomes.get(key)
        if row is None:
            row = outcomes[key] = _new_outcome(r, ms)
        row["last_event_at"] = ms
        if row["country"] is None:
            row["country"] = r.country
        if row["device"] is None:
            row["device"] = r.device
        day = days.get(ms // _DAY_MS)
        if day is None:
            day = days[ms // _DAY_MS] = utc(ms).date()
        rollup = rollups.get((r.experiment, r.variant, day))
        if rollup is None:
            rollup = rollups[(r.experiment, r.variant, day)] = rollup_row(
                r.experiment, r.variant, day
            )
        counter = counter_for(r)
        if counter is not None:
            row[counter] += 1
            rollup[counter] += 1
        kind = r.type
        if kind is EventType.impression:
            if row["first_exposure_at"] is None:
                row["first_exposure_at"] = ms
                row["pre_article_views"] = r.article_views
        elif kind is EventType.dismiss and r.reason == "remind_later":
            if row["first_remind_later_at"] is None:
                row["first_remind_later_at"] = ms
            deltas.reminded.add(key)
        elif kind is EventType.conversion:
            for target in (row, rollup):
                target["revenue"] += r.revenue
                target["annualised_value"] += r.annualised
            row["recurring_conversions"] += r.frequency in RECURRING
            latest[key] = ms
        elif kind in _AFTER:
            for target in (row, rollup):
                target["revenue"] += r.revenue
                target["annualised_value"] += r.annualised
                if kind is EventType.renewal:
                    target["renewal_revenue"] += r.revenue
                elif kind in (EventType.refund, EventType.reinstatement):
                    # A refund carries a negative revenue, a reinstatement a positive one:
                    # what came back is no longer refunded.
                    target["refunded"] -= r.revenue
    for row in outcomes.values():
        for name in _TIMES:
            if row[name] is not None:
                row[name] = utc(row[name])
    deltas.latest_conversion.update((key, utc(ms)) for key, ms in latest.items())
    return deltas


def _ts_ms(r: EventRecord) -> int:
    return r.ts_ms


def _new_outcome(r: EventRecord, ms: int) -> dict[str, Any]:
    # converted_after_remind_later starts False: the merge, which knows the stored first
    # remind-later, sets it (EventWriter).
    return {
        "experiment_key": r.experiment,
        "visitor": r.visitor,
        "variant_key": r.variant,
        "first_seen_at": ms,
        "first_exposure_at": None,
        "last_event_at": ms,
        "country": None,
        "device": None,
        "first_remind_later_at": None,
        "pre_article_views": None,
        **_OUTCOME_START,
    }


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """A batch made ready for EventWriter.write ahead of its transaction (the flusher does it
    while the previous batch is being written): deltas as if every record were new, which
    they are unless the batch is a replay."""

    records: list[EventRecord]  # one per event id, the first of each
    submitted: int  # records before that
    deltas: BatchDeltas  # of the counted records
    decisions: Sequence[LoggedDecision] = ()  # sampled decisions, for decision_log


def prepare(
    records: Sequence[EventRecord], decisions: Sequence[LoggedDecision] = ()
) -> PreparedWrite:
    # The first record of each id wins: a beacon retried inside one batch counts once.
    unique: dict[str, EventRecord] = {}
    for record in records:
        unique.setdefault(record.event_id, record)
    kept = list(unique.values())
    return PreparedWrite(kept, len(records), summarise(r for r in kept if r.counted), decisions)
