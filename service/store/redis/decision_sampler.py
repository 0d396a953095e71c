"""Sampling decisions into the events stream, off the request path.

The cost on the decision path:
- an unsampled decision: one call of the random source and a comparison (well under a
  microsecond), nothing else;
- a sampled one: building a small record and appending it to an in-process queue.

A writer thread sends the queue to Redis as one pipeline of XADDs, waiting `linger_s` after
the first entry so that a busy process sends one packet for many sampled decisions instead of
one per decision. The outcome is only known after the ledger read, so the entry cannot ride
in that read's packet; batching them here costs the request nothing and Redis a fraction of
one round trip per decision. A Redis failure is logged, counted and retried with the next
batch; it never reaches the decision, which has been answered already.

What can be lost: entries queued when the process dies (at most `linger_s` worth; a clean
exit flushes them), and the oldest ones once `max_queued` wait during a long Redis outage.
That is acceptable for a sample; events, which are counted, never take this path.

The thread starts on the first sampled decision of each process, so nothing runs at import
or before gunicorn forks its workers; a forked child drops what its parent had queued (the
parent sends those).
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from service.domain.decision import Outcome
from service.domain.decision_log import SHOWN, LoggedDecision
from service.domain.page_context import PageContext
from service.metrics import REDIS_FAILURES
from service.store.redis.client import REDIS_ERRORS, RedisClient
from service.store.redis.keys import Keys

log = logging.getLogger(__name__)

_BATCH = 500  # XADDs per pipeline
_WARN_EVERY_S = 60.0


class DecisionSampler:
    def __init__(
        self,
        client: RedisClient,
        keys: Keys,
        rate: float,
        *,
        random_source: Callable[[], float] = random.random,
        linger_s: float = 0.5,
        max_queued: int = 10_000,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"sample rate must be between 0 and 1, got {rate}")
        self.rate = rate
        self._client = client
        self._keys = keys
        self._random = random_source
        self._linger = linger_s
        self._max_queued = max_queued
        self._queue: deque[LoggedDecision] = deque(maxlen=max_queued)
        self._wake = threading.Event()
        self._send_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._last_warning = -_WARN_EVERY_S

    def draw(self) -> bool:
        """Whether to log this decision; the only work an unsampled decision does."""
        return self._random() < self.rate

    def record(
        self, ctx: PageContext, outcome: Outcome, supporter: bool, decided_at: datetime
    ) -> None:
        """Queue a sampled decision; returns at once."""
        if self._pid != os.getpid():
            self._start_writer()
        if len(self._queue) == self._queue.maxlen:
            REDIS_FAILURES.labels("decision_log").inc()  # the oldest entry is dropped
        self._queue.append(
            LoggedDecision(
                entry_id=secrets.token_hex(12),
                decided_ms=int(decided_at.timestamp() * 1000),
                placement=ctx.placement,
                outcome=SHOWN if outcome.reason is None else outcome.reason.value,
                sample_rate=self.rate,
                device=ctx.device,
                experiment=outcome.experiment.key if outcome.experiment else None,
                variant=outcome.variant.key if outcome.variant else None,
                country=ctx.country,
                language=ctx.language,
                section=ctx.section,
                tags=ctx.tags,
                article_views=ctx.article_views,
                supporter=supporter,
            )
        )
        self._wake.set()

    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> bool:
        """Send everything queued now; False if Redis failed (the entries stay queued).
        The writer thread calls it; tests and the process's exit call it directly."""
        with self._send_lock:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
                try:
                    pipe = self._client.pipeline(transaction=False)
                    for entry in batch:
                        # Spread over the partitions (a decision names no visitor to follow).
                        stream = self._keys.events_stream(self._random_partition())
                        pipe.xadd(stream, entry.to_fields())  # type: ignore[arg-type]
                    pipe.execute()
                except REDIS_ERRORS as exc:
                    # Back to the front, oldest first; with the queue full, the newest go.
                    self._queue.extendleft(reversed(batch))
                    REDIS_FAILURES.labels("decision_log").inc()
                    self._warn(exc)
                    return False
        return True

    def _random_partition(self) -> int:
        return random.randrange(self._keys.partitions)

    def _start_writer(self) -> None:
        pid = os.getpid()
        with self._start_lock:
            if self._pid == pid:
                return
            if self._pid:
                # A forked child: the parent sends what it had queued, and the parent's
                # writer thread (which may have held the lock at the fork) does not exist here.
                self._queue = deque(maxlen=self._max_queued)
                self._send_lock = threading.Lock()
                self._wake = threading.Event()
            self._pid = pid
            self._thread = threading.Thread(
                target=self._write_forever, name="decision-log-writer", daemon=True
            )
            self._thread.start()
            atexit.register(self.flush)

    def _write_forever(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self._linger)  # let more entries join this packet
            self._wake.clear()
            if not self.flush():
                time.sleep(min(30.0, self._linger * 10))
                self._wake.set()

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_S:
            self._last_warning = now
            log.warning("decision log entries not sent, will retry: %s", exc)
