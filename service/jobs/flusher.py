"""The event flusher: Redis stream → SQL, in batches, exactly once.

Loop: read a batch as one consumer of the "flusher" group → EventWriter.write (one SQL
transaction, idempotent on event id) → XACK → now and then trim the acknowledged entries.
The next batch is read and prepared on a second thread while one is written.

Why nothing is lost or doubled, whenever the process dies:
- before COMMIT: the transaction rolls back and the entries stay pending; this consumer (by
  re-reading its own pending entries, id "0") or another (XAUTOCLAIM once they are idle, or
  `flush --once`) writes them again;
- after COMMIT, before XACK: the same entries come back and their event ids are already
  stored, so the writer inserts and counts nothing for them, and they are acked.
Errors back off (bounded, exponential) and retry; nothing is acked until its write commits.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from service.metrics import FLUSH_BATCH_SECONDS, FLUSHED
from service.settings import Settings
from service.store.redis.client import connect
from service.store.redis.event_stream import EventStream, Malformed, StreamBatch
from service.store.redis.keys import Keys
from service.store.sql.decision_log_repo import DecisionLogRepo
from service.store.sql.decision_log_repo import unfit_reason as decision_unfit_reason
from service.store.sql.engine import build_engine
from service.store.sql.event_deltas import PreparedWrite, prepare, unfit_reason
from service.store.sql.event_writer import EventWriter

log = logging.getLogger(__name__)


def consumer_name() -> str:
    """One name per process: a restarted flusher is a new consumer, and the entries its
    predecessor left pending are claimed like any dead consumer's."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class _Prepared:
    batch: StreamBatch  # to ack: every entry id; records to write; entries set aside
    write: PreparedWrite


@dataclass
class FlushCounts:
    entries: int = 0  # stream entries handled and acked
    inserted: int = 0  # events new to SQL
    duplicates: int = 0  # already in SQL (a replay) or repeated in a batch
    malformed: int = 0  # set aside: unparseable, or impossible to store
    batches: int = 0
    decisions: int = 0  # sampled decisions new to decision_log


class Flusher:
    def __init__(
        self,
        stream: EventStream,
        writer: EventWriter,
        *,
        consumer: str | None = None,
        batch_size: int = 2000,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        maintenance_every_s: float = 5.0,
        backoff_s: tuple[float, float] = (0.25, 30.0),
        clock: Callable[[], float] = time.monotonic,
        decision_log: DecisionLogRepo | None = None,
        decision_retention_days: int = 30,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._stream = stream
        self._writer = writer
        self.consumer = consumer or consumer_name()
        self._batch_size = batch_size
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._maintenance_every = maintenance_every_s
        self._backoff = backoff_s
        self._clock = clock
        self.counts = FlushCounts()
        # Where run_forever's passes over other consumers' pending entries stand.
        self._cursor = "0-0"
        self._next_claim = clock()
        self._last_report = (clock(), 0)
        self._decision_log = decision_log
        self._retention_days = decision_retention_days
        self._today = today
        self._next_retention = clock()

    def run_once(self, stop: threading.Event | None = None) -> FlushCounts:
        """Drain the stream and trim it: every pending entry, this consumer's or another's
        whatever its idle time (safe: writes are idempotent), then new entries until none
        are left. Errors propagate; the failed batch stays pending."""
        stop = stop or threading.Event()
        counts = FlushCounts()
        self._stream.ensure_group()
        # Up to the entries pending now: a live flusher's later reads are its own business.
        last, cursor = self._stream.last_pending_id(), "0-0"
        while last is not None and not stop.is_set():
            batch, cursor = self._stream.claim(
                self.consumer, self._batch_size, min_idle_ms=0, start=cursor, end=last
            )
            self._store(self._prepare(batch), counts)
            if cursor == "0-0":
                break
        # Everything pending is now this consumer's: what it held before, and what Redis 6.2
        # hands over without fields when XAUTOCLAIM meets an entry deleted from the stream.
        while not stop.is_set() and self._store(self._prepare(self._own_pending_batch()), counts):
            pass
        with ThreadPoolExecutor(1, thread_name_prefix="flusher-read") as reader:
            self._drain(reader, counts, stop, block_ms=None)
        self._stream.trim()
        self._stream.remove_consumer(self.consumer)
        self._expire_decisions()
        return counts

    def run_forever(self, stop: threading.Event) -> FlushCounts:
        """Flush until `stop` is set (SIGTERM/SIGINT): the batch in hand is written and acked
        first. Blocking reads wait at most block_ms, so stopping takes about that long."""
        log.info("flusher %s started (batch size %d)", self.consumer, self._batch_size)
        failures, group_ready, own_pending = 0, False, True
        next_maintenance = self._clock() + self._maintenance_every
        with ThreadPoolExecutor(1, thread_name_prefix="flusher-read") as reader:
            while not stop.is_set():
                try:
                    if not group_ready:
                        self._stream.ensure_group()
                        group_ready = True
                    if own_pending:  # a failed write's entries go before anything new
                        batch = self._own_pending_batch()
                        own_pending = self._store(self._prepare(batch), self.counts)
                    elif self._clock() >= self._next_claim:
                        own_pending = self._claim_from_idle_consumers()
                    else:
                        due = min(next_maintenance, self._next_claim)
                        self._drain(reader, self.counts, stop, self._block_ms, until=due)
                    if self._clock() >= next_maintenance:
                        next_maintenance = self._clock() + self._maintenance_every
                        self._maintain()
                    failures = 0
                except Exception as exc:  # any failure: keep the entries, back off, retry
                    failures += 1
                    low, high = self._backoff
                    delay = min(high, low * 2 ** min(failures - 1, 20))
                    log.warning(
                        "flush failed (%s); entries stay pending, retrying in %.1f s",
                        f"{type(exc).__name__}: {exc}".splitlines()[0],
                        delay,
                    )
                    # The group may be gone (Redis restarted empty), and this consumer's
                    # pending entries must be written before anything new.
                    group_ready, own_pending = False, True
                    stop.wait(delay)
        self._stop_cleanly()
        return self.counts

    # -- steps ----------------------------------------------------------------------------

    def _drain(
        self,
        reader: ThreadPoolExecutor,
        counts: FlushCounts,
        stop: threading.Event,
        block_ms: int | None,
        until: float = math.inf,
    ) -> None:
        """Store new entries until a read comes back empty (or stop, or the clock reaches
        `until`). The next batch is read and prepared on the reader thread while this one is
        written: the SQL round trips leave the interpreter idle, so the two overlap."""

        def load() -> _Prepared:
            return self._prepare(
                self._stream.read(self.consumer, self._batch_size, block_ms=block_ms)
            )

        ahead = reader.submit(load)
        while True:
            prepared = ahead.result()
            if not prepared.batch:
                return
            more = not stop.is_set() and self._clock() < until
            if more:
                ahead = reader.submit(load)
            try:
                self._store(prepared, counts)
            except BaseException:
                if more:  # let the read finish: its entries stay pending for this consumer
                    futures.wait([ahead])
                raise
            if not more:
                return

    def _claim_from_idle_consumers(self) -> bool:
        """Store a batch of entries that consumers idle for claim_idle_ms (dead ones) left
        pending; True if there were any."""
        batch, self._cursor = self._stream.claim(
            self.consumer, self._batch_size, min_idle_ms=self._claim_idle_ms, start=self._cursor
        )
        if self._cursor == "0-0":  # a whole pass over the pending list: rest a while
            self._next_claim = self._clock() + self._claim_idle_ms / 2000
        # On Redis 6.2 entries deleted from the stream are claimed without fields; reading
        # own pending entries next picks them up to ack them.
        return self._store(self._prepare(batch), self.counts)

    def _own_pending_batch(self) -> StreamBatch:
        return self._stream.read(self.consumer, self._batch_size, pending=True)

    def _prepare(self, batch: StreamBatch) -> _Prepared:
        """Set aside records that could never be stored, and make the rest ready to write."""
        records, malformed = [], list(batch.malformed)
        for record in batch.records:
            why = unfit_reason(record)
            if why is None:
                records.append(record)
            else:
                log.warning("event %s set aside: %s", record.event_id, why)
                malformed.append(Malformed(record.event_id, record.to_fields(), why))
        decisions = []
        for decision in batch.decisions:
            why = decision_unfit_reason(decision)
            if why is None:
                decisions.append(decision)
            else:
                log.warning("decision %s set aside: %s", decision.entry_id, why)
                malformed.append(Malformed(decision.entry_id, decision.to_fields(), why))
        return _Prepared(
            StreamBatch(batch.ids, records, malformed, decisions), prepare(records, decisions)
        )

    def _store(self, prepared: _Prepared, counts: FlushCounts) -> bool:
        """Write then ack one batch; False if it was empty."""
        batch = prepared.batch
        if not batch:
            return False
        began = time.perf_counter()
        result = self._writer.write(prepared.write)
        # Only now, with the transaction committed, may the entries leave the pending list.
        self._stream.ack(batch)
        FLUSH_BATCH_SECONDS.observe(time.perf_counter() - began)
        FLUSHED.labels("inserted").inc(result.inserted)
        FLUSHED.labels("duplicate").inc(result.duplicates)
        FLUSHED.labels("malformed").inc(len(batch.malformed))
        counts.entries += len(batch)
        counts.inserted += result.inserted
        counts.duplicates += result.duplicates
        counts.malformed += len(batch.malformed)
        counts.batches += 1
        counts.decisions += result.decisions
        return True

    def _maintain(self) -> None:
        """Trim acknowledged entries, forget the names of flushers that stopped over a day ago
        with nothing pending, and say how it goes: at most once a minute, when busy."""
        self._stream.trim()
        self._stream.forget_idle_consumers(idle_ms=86_400_000)
        if self._clock() >= self._next_retention:
            self._next_retention = self._clock() + 3600
            self._expire_decisions()
        last = self._last_report
        now, entries = self._clock(), self.counts.entries
        if now - last[0] < 60:
            return
        self._last_report = (now, entries)
        if entries > last[1]:
            log.info(
                "flushed %d entries in %.0f s (since start: %d new, %d duplicates, %d set aside)",
                entries - last[1],
                now - last[0],
                self.counts.inserted,
                self.counts.duplicates,
                self.counts.malformed,
            )

    def _expire_decisions(self) -> int:
        """Delete decision-log days older than the retention (in batches: see the repo)."""
        if self._decision_log is None:
            return 0
        cutoff = self._today() - timedelta(days=self._retention_days)
        removed = self._decision_log.delete_days_before(cutoff)
        if removed:
            log.info("decision log: %d rows of days before %s deleted", removed, cutoff)
        return removed

    def _stop_cleanly(self) -> None:
        try:
            self._stream.trim()
            self._stream.remove_consumer(self.consumer)
        except Exception as exc:  # best effort on the way out
            log.warning("flusher stopping without trimming: %s", exc)
        log.info(
            "flusher %s stopped: %d entries, %d events new, %d duplicates, %d set aside",
            self.consumer,
            self.counts.entries,
            self.counts.inserted,
            self.counts.duplicates,
            self.counts.malformed,
        )


@contextmanager
def open_flusher(settings: Settings, batch_size: int) -> Iterator[Flusher]:
    """A flusher on connections of its own, closed on exit. Its Redis client waits longer
    than the web's (which must fail within ~50 ms): a blocking read holds the socket for
    block_ms, and a batch of thousands of entries takes more than 50 ms to arrive."""
    flusher_settings = replace(settings, redis_timeout_ms=10_000)
    engine = build_engine(settings.database_url)
    client = connect(flusher_settings)
    try:
        stream = EventStream(client, Keys(settings.redis_prefix))
        yield Flusher(
            stream,
            EventWriter(engine),
            batch_size=batch_size,
            decision_log=DecisionLogRepo(engine),
            decision_retention_days=settings.decision_log_retention_days,
        )
    finally:
        client.close()
        engine.dispose()
