"""Writes a batch of accepted events to SQL in one transaction: the event log, per-visitor
outcomes, daily rollups and webhook payments.

Idempotency: the event log's unique event_id decides which records are new (INSERT … ON
CONFLICT DO NOTHING RETURNING), and only those new, counted records are added to outcomes
and rollups. A replayed batch (a flusher killed after COMMIT but before XACK, or an entry
claimed from a dead consumer) therefore inserts nothing and adds nothing. Because the whole
batch is one transaction, a crash before COMMIT leaves no trace either: nothing is lost or
doubled, whatever the moment of the crash.

Concurrency: outcomes and rollups are merged by the upsert itself (sums, earliest, latest),
never read, changed and written back, so two flushers touching the same visitor cannot lose
each other's counts. Rows are sent in key order so that two such transactions take their row
locks in the same order instead of deadlocking.

Two callers. The flusher writes what the Redis stream accepted. POST /v1/events writes here
directly when Redis does not answer in time (usecases/record_events.py): SQL's unique event_id
still stores and counts each event once, but Redis has no dedupe mark for those events and its live
counters do not include them, and an earlier copy may be waiting in the stream, not yet
flushed. So the endpoint answers `inserted` as "pending" (stored, not known to be the first
copy), never as "accepted": a resend once Redis answers is accepted once (or is a duplicate,
if the timed-out script had run after all), and when the stream's copy meets the row stored
here the flusher counts it as a duplicate. An event is thus accepted at most once in the
answers, counted at most once in the live counters and exactly once in SQL.

PostgreSQL and SQLite run the same statements, apart from how rows reach them: COPY and a
JSON array of rows on PostgreSQL, executemany on SQLite.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    case,
    exists,
    func,
    literal_column,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from service.domain.events import EventRecord, EventType
from service.store.sql.decision_log_repo import insert_decisions
from service.store.sql.event_deltas import (
    EVENT_COLUMNS,
    EVENT_COUNTERS,
    OUTCOME_COUNTERS,
    ROLLUP_COUNTERS,
    BatchDeltas,
    OutcomeKey,
    PreparedWrite,
    RollupKey,
    copy_row,
    event_row,
    prepare,
    rollup_row,
    summarise,
)
from service.store.sql.event_tables import daily_rollups, events, payments, visitor_outcomes
from service.store.sql.outcome_sums import Collision, Pending, RunningSums
from service.store.sql.types import dialect_insert, rows_insert, rows_params, utc

_STAGE = "flush_events_stage"
_RETRIES = 5
# deadlock_detected, serialization_failure: the transaction was rolled back; try it again.
_TRANSIENT = frozenset({"40P01", "40001"})

_COLUMNS = ", ".join(EVENT_COLUMNS)
# The stage holds copy_row()s, timestamps as epoch milliseconds that the INSERT makes
# timestamptz (integer arithmetic: exact). Widths were checked by unfit_reason.
_STAGE_DDL = (
    f"CREATE TEMPORARY TABLE {_STAGE} (event_id text, type text, experiment_key text, "
    "variant_key text, visitor text, ts bigint, received_at bigint, reason text, "
    "amount_minor bigint, currency text, frequency text, revenue float8, country text, "
    "device text, source text, counted boolean, payment_id text, article_views integer) "
    "ON COMMIT DROP"
)
_STAGE_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) SELECT %s FROM {_STAGE} "
    % ", ".join(
        f"timestamptz 'epoch' + {name} * interval '1 millisecond'"
        if name in ("ts", "received_at")
        else name
        for name in EVENT_COLUMNS
    )
    # No conflict target: the same statement then works on the plain table (unique
    # event_id) and on a table partitioned by month, whose unique key must include ts
    # (docs/DEPLOY.md); a replayed entry repeats both.
    + "ON CONFLICT DO NOTHING RETURNING event_id"
)


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int  # new to SQL, now in the log (counted or not); maybe still in the stream
    duplicates: int  # records whose event id was already stored, or repeated in the batch
    decisions: int = 0  # sampled decisions new to decision_log


class EventWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        # Built once: their shape does not depend on the batch.
        self._outcome_upsert = self._outcome_statement()
        self._rollup_upsert = self._rollup_statement()
        self._payment_insert = dialect_insert(engine, payments).on_conflict_do_nothing(
            index_elements=["payment_id"]
        )
        self._sums = RunningSums(engine)

    def write(self, batch: Sequence[EventRecord] | PreparedWrite) -> WriteResult:
        """Store a batch in one transaction; see the module's docstring for why a replay of
        it (whole or in part) inserts and counts nothing."""
        prepared = batch if isinstance(batch, PreparedWrite) else prepare(batch)
        if not prepared.records and not prepared.decisions:
            return WriteResult(0, 0)
        for attempt in range(_RETRIES):
            try:
                return self._write(prepared)
            except Collision:
                # Rolled back whole: another flusher created one of the batch's visitors
                # while this one was reading the kept sums (outcome_sums.py). Rare, and
                # cheaper to write the batch again than to lock every new visitor.
                if attempt == _RETRIES - 1:
                    raise
            except OperationalError as exc:
                # Two flushers on the same entries (one claiming the other's, or two
                # `flush --once`) can deadlock on their rows; PostgreSQL rolls one back, which
                # writes its batch again, as a deadlock's victim should.
                if getattr(exc.orig, "sqlstate", None) not in _TRANSIENT or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _write(self, prepared: PreparedWrite) -> WriteResult:
        with self._engine.begin() as conn:
            # Sampled decisions ride in the same transaction, idempotent by their entry id.
            decisions = insert_decisions(conn, prepared.decisions)
            fresh_ids = self._insert_events(conn, prepared.records) if prepared.records else set()
            fresh = prepared.records
            deltas = prepared.deltas
            if len(fresh_ids) < len(fresh):  # a replay, in part: count only what is new
                fresh = [r for r in fresh if r.event_id in fresh_ids]
                deltas = summarise(r for r in fresh if r.counted)
            if deltas.outcomes:
                # Only now: this transaction already wrote (events), so on SQLite it holds
                # the write lock and nobody changes outcomes between the two reads.
                pending = self._sums.before(conn, deltas.outcomes)
                new_visitors, flag, check = self._upsert_outcomes(conn, deltas, pending)
                self._upsert_rollups(conn, deltas, new_visitors)
                self._mark_converted_after_remind_later(conn, flag, check)
                self._sums.after(conn, pending)
            self._insert_payments(conn, fresh)
        return WriteResult(len(fresh_ids), prepared.submitted - len(fresh_ids), decisions)

    def _insert_events(self, conn: Connection, records: list[EventRecord]) -> set[str]:
        """Inserts the records that are new; returns their event ids."""
        if not self._postgres:
            stmt = sqlite.insert(events).on_conflict_do_nothing(index_elements=["event_id"])
            rows = [event_row(r) for r in records]
            result = conn.execute(stmt.returning(events.c.event_id), rows)
            return {event_id for (event_id,) in result}
        # COPY into a transaction-scoped stage, then one set-based INSERT that skips ids
        # already stored: COPY speed with ON CONFLICT semantics, which COPY alone lacks.
        conn.exec_driver_sql(_STAGE_DDL)
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {_STAGE} ({_COLUMNS}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(copy_row(record))
            # No ORDER BY: only two flushers inserting the same ids at once (one claiming the
            # other's entries) could deadlock, and then one rolls back and retries.
            # On the driver's cursor: its fetchall builds the rows in C, where SQLAlchemy's
            # result fetched them one call at a time (~6 % of a flush under cProfile).
            cursor.execute(_STAGE_INSERT)
            return {event_id for (event_id,) in cursor.fetchall()}

    def _outcome_statement(self) -> Any:
        t = visitor_outcomes
        stmt = rows_insert(self._engine, t)
        x = stmt.excluded
        merged: dict[str, Any] = {name: t.c[name] + x[name] for name in OUTCOME_COUNTERS}
        merged.update(
            first_seen_at=_earliest(t.c.first_seen_at, x.first_seen_at),
            first_exposure_at=_earliest(t.c.first_exposure_at, x.first_exposure_at),
            last_event_at=case(
                (x.last_event_at > t.c.last_event_at, x.last_event_at), else_=t.c.last_event_at
            ),
            # The first event that carried them wins; later ones may come from another device.
            country=func.coalesce(t.c.country, x.country),
            device=func.coalesce(t.c.device, x.device),
            first_remind_later_at=_earliest(t.c.first_remind_later_at, x.first_remind_later_at),
            # The covariate goes with the first exposure: set with it, moved only if a late
            # batch brings an even earlier impression, never by later ones.
            pre_article_views=case(
                (t.c.first_exposure_at.is_(None), x.pre_article_views),
                (x.first_exposure_at < t.c.first_exposure_at, x.pre_article_views),
                else_=t.c.pre_article_views,
            ),
        )
        # variant_key is not updated: a visitor keeps the variant of their first event.
        return stmt.on_conflict_do_update(
            index_elements=[t.c.experiment_key, t.c.visitor], set_=merged
        ).returning(
            t.c.experiment_key,
            t.c.visitor,
            t.c.variant_key,
            t.c.impressions,
            t.c.first_exposure_at,
            t.c.conversions,
            t.c.first_remind_later_at,
            t.c.converted_after_remind_later,
            sum((t.c[name] for name in EVENT_COUNTERS), literal_column("0")).label("events"),
        )

    def _upsert_outcomes(
        self, conn: Connection, deltas: BatchDeltas, pending: Pending | None
    ) -> tuple[Counter[RollupKey], set[OutcomeKey], set[OutcomeKey]]:
        """Merges the batch into the stored outcomes. Returns the new visitors per rollup
        row, the visitors that converted after their first "remind later" (told by the
        merged row), and those for whom only earlier batches' conversions can tell."""
        rows = [deltas.outcomes[key] for key in sorted(deltas.outcomes)]
        new_visitors: Counter[RollupKey] = Counter()
        flag: set[OutcomeKey] = set()
        check: set[OutcomeKey] = set()
        # The returned rows are the merged ones, read under the row lock that serialises
        # concurrent batches on the same visitor, so each sees the other's effect in full.
        for row in conn.execute(self._outcome_upsert, rows_params(self._engine, rows)):
            key = (row.experiment_key, row.visitor)
            delta = deltas.outcomes[key]
            if pending is not None:
                pending.check_new(key, row.events, sum(delta[name] for name in EVENT_COUNTERS))
            # This batch set the first exposure exactly when every stored impression is
            # this batch's: a new visitor is counted once, on the day of that exposure (a
            # later batch bringing an even earlier impression moves first_exposure_at, not
            # the count already made).
            if delta["impressions"] and row.impressions == delta["impressions"]:
                new_visitors[(key[0], row.variant_key, row.first_exposure_at.date())] += 1
            if row.first_remind_later_at is None or row.converted_after_remind_later:
                continue
            latest = deltas.latest_conversion.get(key)
            if latest is not None and latest > row.first_remind_later_at:
                flag.add(key)
            elif key in deltas.reminded and row.conversions > delta["conversions"]:
                check.add(key)  # converted in an earlier batch, perhaps after this snooze
        return new_visitors, flag, check

    def _rollup_statement(self) -> Any:
        t = daily_rollups
        stmt = rows_insert(self._engine, t)
        return stmt.on_conflict_do_update(
            index_elements=[t.c.experiment_key, t.c.variant_key, t.c.day],
            set_={name: t.c[name] + stmt.excluded[name] for name in ROLLUP_COUNTERS},
        )

    def _upsert_rollups(
        self, conn: Connection, deltas: BatchDeltas, new_visitors: Counter[RollupKey]
    ) -> None:
        # Copies: a PreparedWrite must stay as it was, should the transaction be retried.
        rows = {key: dict(row) for key, row in deltas.rollups.items()}
        for key, count in new_visitors.items():
            rows.setdefault(key, rollup_row(*key))["new_visitors"] += count
        conn.execute(
            self._rollup_upsert, rows_params(self._engine, [rows[key] for key in sorted(rows)])
        )

    def _mark_converted_after_remind_later(
        self, conn: Connection, flag: set[OutcomeKey], check: set[OutcomeKey]
    ) -> None:
        """Sets converted_after_remind_later once a counted conversion is later than the first
        "remind later", whichever reached SQL first: `flag` are known to, `check` are asked
        of the event log (which already holds this batch). Both sets are small."""
        t, e = visitor_outcomes, events
        later_conversion = exists().where(
            e.c.visitor == t.c.visitor,
            e.c.experiment_key == t.c.experiment_key,
            e.c.type == EventType.conversion.value,
            e.c.counted == true(),
            e.c.ts > t.c.first_remind_later_at,
        )
        for keys, condition in ((flag, true()), (check, later_conversion)):
            if keys:
                conn.execute(
                    update(t)
                    .where(tuple_(t.c.experiment_key, t.c.visitor).in_(sorted(keys)), condition)
                    .values(converted_after_remind_later=True)
                )

    def _insert_payments(self, conn: Connection, fresh: list[EventRecord]) -> None:
        """One row per payment id, whichever experiments the webhook credited it to; the
        unique payment_id makes a replay (or a second credit) a no-op."""
        rows = {  # reversed: the first record of a payment id wins
            r.payment_id: {
                "payment_id": r.payment_id,
                "visitor": r.visitor,
                "amount_minor": r.amount_minor,
                "currency": r.currency,
                "frequency": r.frequency,
                "ts": utc(r.ts_ms),
                "received_at": utc(r.received_ms),
            }
            for r in reversed(fresh)
            if r.payment_id is not None and r.type is EventType.conversion
        }
        if rows:
            conn.execute(self._payment_insert, [rows[key] for key in sorted(rows)])


def _earliest(stored: Any, incoming: Any) -> ColumnElement[Any]:
    """The earlier of two nullable timestamps (NULL only when both are): PostgreSQL's LEAST
    ignores NULLs but SQLite's min() does not, so it is spelled out."""
    return case(
        (stored.is_(None), incoming),
        (incoming.is_(None), stored),
        (incoming < stored, incoming),
        else_=stored,
    )
