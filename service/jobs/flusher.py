"""The event flusher: Redis stream partitions → SQL, in batches, exactly once.

Loop: read a batch from one of the partitions this process holds, as one consumer of that
partition's "flusher" group → EventWriter.write (one SQL transaction, idempotent on event id)
→ XACK → now and then trim the acknowledged entries. The next batch is read and prepared on a
second thread while one is written. Flusher processes share the partitions through leases
(flusher_leases.py): each drains about partitions / flushers of them, and the partitions of a
flusher that dies are taken over once its leases expire.

Why nothing is lost or doubled, whenever a process dies:
- before COMMIT: the transaction rolls back and the entries stay pending; this consumer (by
  re-reading its own pending entries, id "0"), the partition's next owner (which claims every
  pending entry when it takes the partition over) or `flush --once` writes them again;
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
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from service.jobs.flush_batch import FlushCounts, PreparedBatch, prepare_batch
from service.metrics import FLUSH_BATCH_SECONDS, FLUSHED
from service.settings import Settings
from service.store.redis.client import connect
from service.store.redis.event_stream import EventStream, StreamBatch
from service.store.redis.event_streams import FixedStreams, PartitionedStreams, StreamSource
from service.store.redis.keys import Keys
from service.store.sql.decision_log_repo import DecisionLogRepo
from service.store.sql.engine import build_engine
from service.store.sql.event_writer import EventWriter

log = logging.getLogger(__name__)


def consumer_name() -> str:
    """One name per process: a restarted flusher is a new consumer, and the entries its
    predecessor left pending are claimed like any dead consumer's."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class _StreamState:
    """What run_forever knows about one stream it holds."""

    group_ready: bool = False
    takeover: bool = True  # claim every entry pending in it before anything else
    own_pending: bool = True  # a failed write's entries go before anything new
    cursor: str = "0-0"  # where the passes over idle consumers' pending entries stand
    next_claim: float = 0.0


class Flusher:
    def __init__(
        self,
        source: StreamSource | EventStream,
        writer: EventWriter,
        *,
        consumer: str | None = None,
        batch_size: int = 2000,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        maintenance_every_s: float = 5.0,
        refresh_every_s: float = 1.0,
        idle_wait_s: float = 0.1,
        backoff_s: tuple[float, float] = (0.25, 30.0),
        clock: Callable[[], float] = time.monotonic,
        decision_log: DecisionLogRepo | None = None,
        decision_retention_days: int = 30,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._source = FixedStreams([source]) if isinstance(source, EventStream) else source
        self._writer = writer
        self.consumer = consumer or consumer_name()
        self._batch_size = batch_size
        # The longest a quiet flusher waits before looking again: bounded by block_ms, which
        # is also about how long stopping takes.
        self._idle_wait = min(idle_wait_s, block_ms / 1000)
        self._claim_idle_ms = claim_idle_ms
        self._maintenance_every = maintenance_every_s
        self._refresh_every = refresh_every_s
        self._backoff = backoff_s
        self._clock = clock
        self.counts = FlushCounts()
        self._last_report = (clock(), 0)
        self._decision_log = decision_log
        self._retention_days = decision_retention_days
        self._today = today
        self._next_retention = clock()
        self._held: dict[str, tuple[EventStream, _StreamState]] = {}

    @property
    def held(self) -> list[EventStream]:
        """The streams this flusher drains now (run_forever)."""
        return [stream for stream, _ in self._held.values()]

    def run_once(self, stop: threading.Event | None = None) -> FlushCounts:
        """Drain every partition and trim it: every pending entry, this consumer's or
        another's whatever its idle time (safe: writes are idempotent), then new entries until
        none are left. Errors propagate; the failed batch stays pending."""
        stop = stop or threading.Event()
        counts = FlushCounts()
        with ThreadPoolExecutor(1, thread_name_prefix="flusher-read") as reader:
            for stream in self._source.everything():
                if stop.is_set():
                    break
                if stream.exists():
                    stream.ensure_group()
                    self._take_over(stream, counts, stop)
                    self._drain(reader, [stream], counts, stop)
                    stream.trim()
                    stream.remove_consumer(self.consumer)
        self._expire_decisions()
        return counts

    def _take_over(self, stream: EventStream, counts: FlushCounts, stop: threading.Event) -> None:
        """Write and ack every entry pending in `stream`, whoever holds it."""
        # Up to the entries pending now: a live flusher's later reads are its own business.
        last, cursor = stream.last_pending_id(), "0-0"
        while last is not None and not stop.is_set():
            batch, cursor = stream.claim(
                self.consumer, self._batch_size, min_idle_ms=0, start=cursor, end=last
            )
            self._store(prepare_batch(stream, batch), counts)
            if cursor == "0-0":
                break
        # Everything pending is now this consumer's: what it held before, and what Redis 6.2
        # hands over without fields when XAUTOCLAIM meets an entry deleted from the stream.
        while not stop.is_set() and self._store(
            prepare_batch(stream, self._own_pending_batch(stream)), counts
        ):
            pass

    def run_forever(self, stop: threading.Event) -> FlushCounts:
        """Flush until `stop` is set (SIGTERM/SIGINT): the batch in hand is written and acked
        first, and the partitions are released for the other flushers."""
        log.info("flusher %s started (batch size %d)", self.consumer, self._batch_size)
        failures = 0
        next_refresh = self._clock()
        next_maintenance = self._clock() + self._maintenance_every
        with ThreadPoolExecutor(1, thread_name_prefix="flusher-read") as reader:
            while not stop.is_set():
                try:
                    if self._clock() >= next_refresh:
                        settled = self._refresh_holdings()
                        # Short of its share, it looks again soon: another flusher is about
                        # to release partitions (it learns of this one at its own refresh).
                        wait = self._refresh_every if settled else self._refresh_every / 5
                        next_refresh = self._clock() + wait
                    worked = self._settle_held(stop)
                    due = min(next_maintenance, next_refresh)
                    ready = [s for s, state in self._held.values() if not state.own_pending]
                    worked = self._drain(reader, ready, self.counts, stop, until=due) or worked
                    if self._clock() >= next_maintenance:
                        next_maintenance = self._clock() + self._maintenance_every
                        self._maintain()
                    failures = 0
                    if not worked:
                        stop.wait(self._idle_wait)
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
                    for _, state in self._held.values():
                        state.group_ready, state.own_pending = False, True
                    next_refresh = self._clock()
                    stop.wait(delay)
        self._stop_cleanly()
        return self.counts

    # -- steps ----------------------------------------------------------------------------

    def _refresh_holdings(self) -> bool:
        """Follow the leases; returns whether this flusher holds its fair share."""
        owned, acquired, settled = self._source.refresh(int(time.time() * 1000))
        names = {stream.name for stream in owned}
        for name in list(self._held):
            if name not in names:
                log.info("flusher %s hands over %s", self.consumer, name)
                del self._held[name]
        for stream in owned:
            if stream.name not in self._held or stream.name in {s.name for s in acquired}:
                self._held[stream.name] = (stream, _StreamState(next_claim=self._clock()))
        return settled

    def _settle_held(self, stop: threading.Event) -> bool:
        """Groups, take-overs, own pending entries and idle consumers' entries of the streams
        held, before any new entry; True if anything was written."""
        worked = False
        for stream, state in list(self._held.values()):
            if stop.is_set():
                break
            if not state.group_ready:
                stream.ensure_group()
                state.group_ready = True
            if state.takeover:
                before = self.counts.entries
                self._take_over(stream, self.counts, stop)
                state.takeover = state.own_pending = False
                worked = worked or self.counts.entries > before
            elif state.own_pending:
                batch = self._own_pending_batch(stream)
                state.own_pending = self._store(prepare_batch(stream, batch), self.counts)
                worked = worked or state.own_pending
            elif self._clock() >= state.next_claim:
                state.own_pending = self._claim_from_idle_consumers(stream, state)
                worked = worked or state.own_pending
        return worked

    def _drain(
        self,
        reader: ThreadPoolExecutor,
        streams: Sequence[EventStream],
        counts: FlushCounts,
        stop: threading.Event,
        until: float = math.inf,
    ) -> bool:
        """Store new entries of `streams`, in turn, until every read comes back empty (or
        stop, or the clock reaches `until`); True if anything was written. The next batch is
        read and prepared on the reader thread while this one is written: the SQL round trips
        leave the interpreter idle, so the two overlap."""

        def load(stream: EventStream) -> PreparedBatch:
            return prepare_batch(stream, stream.read(self.consumer, self._batch_size))

        todo = deque(streams)
        if not todo:
            return False
        ahead = reader.submit(load, todo.popleft())
        worked = False
        while True:
            prepared = ahead.result()
            if prepared.batch:
                todo.append(prepared.stream)  # it may have more
            more = bool(todo) and not stop.is_set() and self._clock() < until
            if more:
                ahead = reader.submit(load, todo.popleft())
            try:
                worked = self._store(prepared, counts) or worked
            except BaseException:
                if more:  # let the read finish: its entries stay pending for this consumer
                    futures.wait([ahead])
                raise
            if not more:
                return worked

    def _claim_from_idle_consumers(self, stream: EventStream, state: _StreamState) -> bool:
        """Store a batch of entries that consumers idle for claim_idle_ms (dead ones) left
        pending; True if there were any."""
        batch, state.cursor = stream.claim(
            self.consumer, self._batch_size, min_idle_ms=self._claim_idle_ms, start=state.cursor
        )
        if state.cursor == "0-0":  # a whole pass over the pending list: rest a while
            state.next_claim = self._clock() + self._claim_idle_ms / 2000
        # On Redis 6.2 entries deleted from the stream are claimed without fields; reading
        # own pending entries next picks them up to ack them.
        return self._store(prepare_batch(stream, batch), self.counts)

    def _own_pending_batch(self, stream: EventStream) -> StreamBatch:
        return stream.read(self.consumer, self._batch_size, pending=True)

    def _store(self, prepared: PreparedBatch, counts: FlushCounts) -> bool:
        """Write then ack one batch; False if it was empty."""
        batch = prepared.batch
        if not batch:
            return False
        began = time.perf_counter()
        result = self._writer.write(prepared.write)
        # Only now, with the transaction committed, may the entries leave the pending list.
        prepared.stream.ack(batch)
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
        for stream in self.held:
            stream.trim()
            stream.forget_idle_consumers(idle_ms=86_400_000)
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
            for stream in self.held:
                stream.trim()
                stream.remove_consumer(self.consumer)
            self._source.release()
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
    than the web's (which must fail within ~50 ms): a batch of thousands of entries takes more
    than 50 ms to arrive."""
    flusher_settings = replace(settings, redis_timeout_ms=10_000)
    engine = build_engine(settings.database_url)
    client = connect(flusher_settings)
    consumer = consumer_name()
    try:
        keys = Keys(settings.redis_prefix, settings.event_partitions)
        yield Flusher(
            PartitionedStreams(client, keys, consumer),
            EventWriter(engine),
            consumer=consumer,
            batch_size=batch_size,
            decision_log=DecisionLogRepo(engine),
            decision_retention_days=settings.decision_log_retention_days,
        )
    finally:
        client.close()
        engine.dispose()
