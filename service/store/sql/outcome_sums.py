"""The report's sums kept as outcomes change, so a report reads buckets, not visitors.

A report over ten million exposed visitors cannot scan ten million rows in a second; it can
add up the few thousand rows of `outcome_sums`: one per variant, hour of first exposure,
country and device, each holding every sum of `ArmTotals` over the visitors in it.

How they stay exact. Whoever changes visitor outcomes (the flusher, an erasure) reads the
contributions of the visitors it is about to change, makes the change, reads them again and
adds the difference to the buckets, in the transaction that makes the change. Both reads are
`report_sums.outcome_sums` grouped by bucket: the very sums the report's full scan
selects, so the two cannot disagree on what a visitor adds. A visitor whose first exposure
moves to an earlier hour leaves one bucket and enters another; an erased one leaves theirs.

Concurrency. On PostgreSQL a writer holds a shared advisory lock per experiment and locks the
rows of the visitors it touches (FOR UPDATE) before its first read, so nobody changes them
between its two reads. A visitor another flusher inserts in between is caught by the writer
(`Collision`) and its batch is retried. Rebuilding or dropping an experiment's sums takes the
lock exclusively, so it never interleaves with a writer. SQLite has one writer at a time, and
the flusher reads only once its transaction holds the write lock.

Which experiments are kept, and for which revenue cap (the capped sums depend on it), is
`outcome_sums_state`. An experiment gets its row when created; a change of cap drops its sums
until `rebuild` (run by the scheduler) recomputes them, and reports scan meanwhile.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Text,
    any_,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from service.domain.arm_totals import SUM_FIELDS
from service.store.sql.event_tables import outcome_sums as sums_table
from service.store.sql.event_tables import outcome_sums_state as state
from service.store.sql.event_tables import visitor_outcomes as vo
from service.store.sql.report_sums import epoch_seconds, outcome_sums
from service.store.sql.types import rows_insert, rows_params

Bucket = tuple[str, int, str, str]  # variant, hour since the epoch (UTC), country, device
Sums = dict[str, Any]
_NAMES = [name for name, _ in SUM_FIELDS]
_CHUNK = 1000  # visitors per IN list on SQLite: within its parameter limit
# The advisory lock's key space (ASCII "SFsm"), so no other lock in the database clashes.
_LOCK_SPACE = 0x5346736D


class Collision(Exception):
    """Another writer created a visitor's outcome after this one looked for it: the batch's
    reads are stale, so the transaction must be rolled back and the batch written again."""


@dataclass
class Pending:
    """What `RunningSums.before` found: the kept experiments' caps and visitors, the visitors
    that already had an outcome, and their contributions by bucket."""

    caps: dict[str, float | None]
    visitors: dict[str, list[str]]
    existing: set[tuple[str, str]] = field(default_factory=set)
    before: dict[str, dict[Bucket, Sums]] = field(default_factory=dict)

    def check_new(self, key: tuple[str, str], stored_events: int, batch_events: int) -> None:
        """Raise Collision if a visitor this writer found no outcome for holds more events
        than its batch brought: another writer created it in between."""
        if key[0] in self.caps and key not in self.existing and stored_events != batch_events:
            raise Collision(key)


class RunningSums:
    def __init__(self, engine: Engine) -> None:
        self._postgres = engine.dialect.name == "postgresql"

    def before(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> Pending | None:
        """Call before changing the outcomes of `keys` (experiment, visitor); None when none
        of their experiments is kept."""
        by_experiment: dict[str, list[str]] = defaultdict(list)
        for experiment, visitor in sorted(keys):
            by_experiment[experiment].append(visitor)
        if self._postgres:
            _lock(conn, by_experiment, shared=True)
        caps = kept_caps(conn, by_experiment)
        if not caps:
            return None
        pending = Pending(caps, {e: v for e, v in by_experiment.items() if e in caps})
        for experiment, visitors in pending.visitors.items():
            for among in _among(conn, visitors):
                found = select(vo.c.visitor).where(vo.c.experiment_key == experiment, among)
                if self._postgres:  # in key order, as the upsert locks them
                    found = found.order_by(vo.c.visitor).with_for_update()
                pending.existing.update((experiment, v) for (v,) in conn.execute(found))
            pending.before[experiment] = self._contributions(
                conn, experiment, caps[experiment], visitors
            )
        return pending

    def after(self, conn: Connection, pending: Pending | None) -> None:
        """Call once the outcomes have changed, in the same transaction: adds the difference."""
        if pending is None:
            return
        for experiment, cap in pending.caps.items():
            before = pending.before[experiment]
            after = self._contributions(conn, experiment, cap, pending.visitors[experiment])
            changes = []
            for bucket in sorted(before.keys() | after.keys()):
                old, new = before.get(bucket, {}), after.get(bucket, {})
                change = {name: new.get(name, 0) - old.get(name, 0) for name in _NAMES}
                if any(change.values()):
                    changes.append(_row(experiment, bucket, change))
            if changes:
                conn.execute(_merge(conn), rows_params(conn, changes))

    def _contributions(
        self,
        conn: Connection,
        experiment: str,
        cap: float | None,
        visitors: Sequence[str],
    ) -> dict[Bucket, Sums]:
        """The visitors' sums by bucket (exposed visitors only, as the report counts them)."""
        out: dict[Bucket, Sums] = {}
        for among in _among(conn, visitors):
            bucket = _bucket(conn)
            query = (
                select(*bucket, *outcome_sums(cap))
                .where(
                    vo.c.experiment_key == experiment,
                    vo.c.first_exposure_at.is_not(None),
                    among,
                )
                .group_by(*bucket)
            )
            for row in conn.execute(query).mappings():
                key = (row["variant_key"], int(row["hour"]), row["country"], row["device"])
                sums = {name: kind(row[name] or 0) for name, kind in SUM_FIELDS}
                if key in out:  # the same bucket in another chunk
                    sums = {name: out[key][name] + sums[name] for name in _NAMES}
                out[key] = sums
        return out

    def before_erasing(self, conn: Connection, visitor: str) -> Pending | None:
        """`before` for every experiment the visitor has an outcome in."""
        experiments = conn.execute(
            select(vo.c.experiment_key).where(vo.c.visitor == visitor)
        ).scalars()
        return self.before(conn, [(experiment, visitor) for experiment in experiments])


def kept_caps(conn: Connection, experiments: Iterable[str]) -> dict[str, float | None]:
    """The revenue cap each of these experiments' sums were built for; kept ones only."""
    keys = sorted(set(experiments))
    if not keys:
        return {}
    rows = conn.execute(
        select(state.c.experiment_key, state.c.revenue_cap).where(state.c.experiment_key.in_(keys))
    )
    return {key: cap for key, cap in rows}


def start(conn: Connection, experiment: str, cap: float | None, now: datetime) -> None:
    """A new experiment has no outcomes yet: its (empty) sums are complete from the start."""
    conn.execute(insert(state).values(experiment_key=experiment, revenue_cap=cap, built_at=now))


def drop(conn: Connection, experiment: str) -> None:
    """Stop keeping the experiment's sums (its cap changed): reports scan until `rebuild`."""
    if conn.dialect.name == "postgresql":
        _lock(conn, [experiment], shared=False)
    conn.execute(delete(state).where(state.c.experiment_key == experiment))
    conn.execute(delete(sums_table).where(sums_table.c.experiment_key == experiment))


def rebuild(engine: Engine, experiment: str, cap: float | None, now: datetime) -> None:
    """Recompute the experiment's sums from every outcome, for revenue cap `cap`."""
    with engine.begin() as conn:
        drop(conn, experiment)
        bucket = _bucket(conn)
        scan = (
            select(literal(experiment).label("experiment_key"), *bucket, *outcome_sums(cap))
            .where(vo.c.experiment_key == experiment, vo.c.first_exposure_at.is_not(None))
            .group_by(*bucket)
        )
        columns = [column.name for column in scan.selected_columns]  # in the SELECT's order
        conn.execute(insert(sums_table).from_select(columns, scan))
        conn.execute(insert(state).values(experiment_key=experiment, revenue_cap=cap, built_at=now))


def stale(engine: Engine, caps: Mapping[str, float | None]) -> list[str]:
    """The experiments of `caps` (key: current revenue cap) whose sums are missing or were
    built for another cap."""
    with engine.connect() as conn:
        kept = kept_caps(conn, caps)
    return [key for key, cap in caps.items() if key not in kept or kept[key] != cap]


def _bucket(conn: Connection) -> list[ColumnElement[Any]]:
    """The bucket of a visitor_outcomes row. Literals, not bind parameters, so the SELECT and
    GROUP BY expressions are identical."""
    empty: ColumnElement[str] = literal_column("''")
    return [
        vo.c.variant_key,
        (epoch_seconds(conn, vo.c.first_exposure_at) // literal_column("3600")).label("hour"),
        func.coalesce(vo.c.country, empty).label("country"),
        func.coalesce(vo.c.device, empty).label("device"),
    ]


def _row(experiment: str, bucket: Bucket, sums: Sums) -> dict[str, Any]:
    variant, hour, country, device = bucket
    return {
        "experiment_key": experiment,
        "variant_key": variant,
        "hour": hour,
        "country": country,
        "device": device,
        **sums,
    }


def _merge(conn: Connection) -> Any:
    stmt = rows_insert(conn, sums_table)
    return stmt.on_conflict_do_update(
        index_elements=[c for c in sums_table.primary_key.columns],
        set_={name: sums_table.c[name] + stmt.excluded[name] for name in _NAMES},
    )


def _lock(conn: Connection, experiments: Iterable[str], *, shared: bool) -> None:
    """PostgreSQL advisory locks for the transaction, in key order so writers never deadlock."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    for experiment in sorted(experiments):
        lock_id = _LOCK_SPACE << 32 | zlib.crc32(experiment.encode())  # < 2**63
        conn.exec_driver_sql(f"SELECT {function}(%s::bigint)", (lock_id,))


def _among(conn: Connection, visitors: Sequence[str]) -> Iterable[ColumnElement[bool]]:
    """`visitor` among these: on PostgreSQL one array parameter (= ANY), planned and bound
    once however many there are; on SQLite IN lists, within its parameter limit."""
    if conn.dialect.name == "postgresql":
        yield vo.c.visitor == any_(literal(list(visitors), postgresql.ARRAY(Text)))
        return
    for i in range(0, len(visitors), _CHUNK):
        yield vo.c.visitor.in_(visitors[i : i + _CHUNK])
