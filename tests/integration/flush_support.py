"""Building accepted events and reading back what the flusher wrote."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis as redis_lib
from sqlalchemy import Engine, func, select

from service.domain.events import ANNUAL_MULTIPLIER, EventRecord, EventType, Source
from service.store.redis.keys import Keys
from service.store.sql.event_tables import daily_rollups, events, visitor_outcomes
from tests.support import LoggedProcess

ROOT = Path(__file__).resolve().parents[2]

DAY = datetime(2026, 11, 27, tzinfo=UTC)
KEYS = Keys("sf")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def event(
    event_id: str,
    kind: str = "impression",
    *,
    at: timedelta = timedelta(hours=10),
    visitor: str = "reader-0001",
    experiment: str = "monthly-ask",
    variant: str = "control",
    **extra: Any,
) -> EventRecord:
    """An accepted event `at` after midnight UTC of DAY; conversions default to $5 monthly."""
    when = ms(DAY + at)
    if kind == "conversion":
        extra.setdefault("amount_minor", 500)
        extra.setdefault("currency", "USD")
        extra.setdefault("frequency", "monthly")
        extra.setdefault("revenue", extra["amount_minor"] / 100)
        extra.setdefault("annualised", extra["revenue"] * ANNUAL_MULTIPLIER[extra["frequency"]])
    extra.setdefault("source", Source.client)
    return EventRecord(
        event_id=event_id,
        type=EventType(kind),
        experiment=experiment,
        variant=variant,
        visitor=visitor,
        ts_ms=when,
        received_ms=when + 250,
        **extra,
    )


def xadd_all(client: redis_lib.Redis, records: list[EventRecord]) -> None:
    pipe = client.pipeline(transaction=False)
    for record in records:
        pipe.xadd(KEYS.events_stream(), record.to_fields())  # type: ignore[arg-type]
    pipe.execute()


def outcome(engine: Engine, visitor: str, experiment: str = "monthly-ask") -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(visitor_outcomes).where(
                visitor_outcomes.c.visitor == visitor,
                visitor_outcomes.c.experiment_key == experiment,
            )
        ).one()
    return dict(row._mapping)


def all_outcomes(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = select(visitor_outcomes).order_by(
            visitor_outcomes.c.experiment_key, visitor_outcomes.c.visitor
        )
        return [dict(row._mapping) for row in conn.execute(query)]


def rollups(engine: Engine) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Rollup rows by (experiment, variant, ISO day)."""
    with engine.connect() as conn:
        rows = conn.execute(select(daily_rollups)).all()
    return {(r.experiment_key, r.variant_key, r.day.isoformat()): dict(r._mapping) for r in rows}


def event_counts(engine: Engine) -> tuple[int, int]:
    """(rows in the event log, distinct event ids in it)."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(events)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(events.c.event_id)))).scalar_one()
    return int(total), int(distinct)


def flush_process(env: dict[str, str], *args: str) -> LoggedProcess:
    """`smallfavor flush ARGS` in a process of its own, with the test's environment."""
    return LoggedProcess(
        [sys.executable, "-m", "service.cli", "flush", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
    )
