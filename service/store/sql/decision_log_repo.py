"""The sampled decision log in SQL: idempotent inserts (inside the flusher's transaction),
the per-day, per-reason summary of the "why no banner" page, the samples a dry run reads, and
retention.

Estimated decisions are the Horvitz-Thompson sum of 1 / sample_rate over the samples, so a
rate changed mid-range still adds up to the right total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from service.domain.decision_log import LoggedDecision
from service.domain.experiment import Device, Placement
from service.store.sql.event_tables import decision_log
from service.store.sql.types import EPOCH, MAX_MS, MIN_MS, dialect_insert, text_check, utc

_unfit_text = text_check(
    decision_log,
    entry_id="entry_id",
    experiment="experiment_key",
    variant="variant_key",
    country="country",
    language="language",
    section="section",
)
_MAX_INT = 2**31 - 1


def unfit_reason(d: LoggedDecision) -> str | None:
    """Why a parsed entry cannot be stored (it would fail its whole batch on every retry, so
    the flusher sets it aside), or None."""
    why = _unfit_text(d)
    if why is not None:
        return why
    if any("\x00" in tag for tag in d.tags):
        return "a tag holds a NUL"
    if not MIN_MS <= d.decided_ms <= MAX_MS:
        return "timestamp out of range"
    if d.article_views > _MAX_INT:
        return "article_views out of range"
    return None


def _row(d: LoggedDecision) -> dict[str, Any]:
    decided_at = utc(d.decided_ms)
    return {
        "entry_id": d.entry_id,
        "decided_at": decided_at,
        "day": decided_at.date(),
        "placement": d.placement.value,
        "outcome": d.outcome,
        "experiment_key": d.experiment,
        "variant_key": d.variant,
        "country": d.country,
        "device": d.device.value,
        "language": d.language,
        "section": d.section,
        "tags": sorted(d.tags),
        "article_views": d.article_views,
        "supporter": d.supporter,
        "sample_rate": d.sample_rate,
    }


def insert_decisions(conn: Connection, decisions: Sequence[LoggedDecision]) -> int:
    """Insert the entries not stored yet (ON CONFLICT on entry_id DO NOTHING), in the
    caller's transaction; returns how many were new. A replayed entry inserts nothing."""
    rows = {d.entry_id: _row(d) for d in reversed(decisions)}  # the first of an id wins
    if not rows:
        return 0
    stmt = dialect_insert(conn, decision_log).on_conflict_do_nothing(index_elements=["entry_id"])
    # Key order, so that two flushers inserting the same entries lock them in the same order.
    result = conn.execute(stmt.returning(decision_log.c.entry_id), [rows[k] for k in sorted(rows)])
    return len(result.fetchall())


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    day: date
    placement: str
    outcome: str
    samples: int
    estimated: float  # decisions the samples stand for


@dataclass(frozen=True, slots=True)
class SampleWindow:
    """The sampled decisions of one placement in [start, end]: every one's weight summed, and
    the rows themselves (the newest `limit` of them)."""

    samples: list[LoggedDecision]
    total_samples: int
    total_weight: float
    first_at: datetime | None


class DecisionLogRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def summary(self, start: date, end: date, placement: str | None = None) -> list[OutcomeCount]:
        """Samples and estimated decisions per day, placement and outcome, days in [start, end]."""
        t = decision_log
        query = (
            select(
                t.c.day,
                t.c.placement,
                t.c.outcome,
                func.count(),
                func.sum(1.0 / t.c.sample_rate),
            )
            .where(t.c.day >= start, t.c.day <= end)
            .group_by(t.c.day, t.c.placement, t.c.outcome)
            .order_by(t.c.day, t.c.placement, t.c.outcome)
        )
        if placement is not None:
            query = query.where(t.c.placement == placement)
        with self._engine.connect() as conn:
            return [
                OutcomeCount(day, placement_, outcome, int(samples), float(estimated))
                for day, placement_, outcome, samples, estimated in conn.execute(query)
            ]

    def window(
        self, placement: str, start: datetime, end: datetime, limit: int = 50_000
    ) -> SampleWindow:
        t = decision_log
        where = (t.c.placement == placement, t.c.decided_at > start, t.c.decided_at <= end)
        totals = select(func.count(), func.sum(1.0 / t.c.sample_rate), func.min(t.c.decided_at))
        rows = select(t).where(*where).order_by(t.c.decided_at.desc(), t.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            count, weight, first_at = conn.execute(totals.where(*where)).one()
            samples = [_decision(row) for row in conn.execute(rows).mappings()]
        return SampleWindow(samples, int(count), float(weight or 0.0), first_at)

    def delete_days_before(self, day: date, batch: int = 5000) -> int:
        """Delete rows of days before `day`, `batch` rows per transaction so that a large
        backlog never holds long locks; returns how many went."""
        t = decision_log
        removed = 0
        while True:
            doomed = select(t.c.id).where(t.c.day < day).order_by(t.c.id).limit(batch)
            with self._engine.begin() as conn:
                ids = list(conn.execute(doomed).scalars())
                if ids:
                    conn.execute(delete(t).where(t.c.id.in_(ids)))
            removed += len(ids)
            if len(ids) < batch:
                return removed


def _decision(row: Any) -> LoggedDecision:
    decided_at: datetime = row["decided_at"]
    return LoggedDecision(
        entry_id=row["entry_id"],
        decided_ms=(decided_at - EPOCH) // timedelta(milliseconds=1),
        placement=Placement(row["placement"]),
        outcome=row["outcome"],
        sample_rate=float(row["sample_rate"]),
        device=Device(row["device"]),
        experiment=row["experiment_key"],
        variant=row["variant_key"],
        country=row["country"],
        language=row["language"],
        section=row["section"],
        tags=frozenset(row["tags"] or ()),
        article_views=int(row["article_views"]),
        supporter=bool(row["supporter"]),
    )
