"""The in-process cache of experiments that the decision path reads instead of SQL.

Freshness: at most once a second a request thread compares the Redis config version with the
one the snapshot was built from, and reloads from SQL when it moved (every admin change bumps
it). A snapshot older than `max_age` is reloaded anyway, so a bump lost to a Redis outage only
delays a change. Only one thread reloads; the others keep serving the current snapshot, which
is replaced by a single reference assignment (atomic under the GIL).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from service.domain.experiment import Experiment, Placement
from service.domain.placement_order import ON_PLACEMENT, order

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int | None
    loaded_at: float
    # Running experiments per placement in decision order (service/domain/placement_order.py).
    running: Mapping[Placement, tuple[Experiment, ...]] = field(default_factory=dict)
    # Every experiment by key, whatever its status (preview tokens may name a draft).
    by_key: Mapping[str, Experiment] = field(default_factory=dict)


def build_snapshot(experiments: Sequence[Experiment], version: int | None, now: float) -> Snapshot:
    running: dict[Placement, list[Experiment]] = {}
    for experiment in experiments:
        # A shipped experiment serves its winner: it decides like a running one.
        if experiment.status in ON_PLACEMENT:
            running.setdefault(experiment.placement, []).append(experiment)
    ordered = {placement: tuple(sorted(items, key=order)) for placement, items in running.items()}
    return Snapshot(version, now, ordered, {e.key: e for e in experiments})


class ExperimentCache:
    def __init__(
        self,
        load: Callable[[], Sequence[Experiment]],
        version: Callable[[], int],
        *,
        check_every: float = 1.0,
        max_age: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._version = version
        self._check_every = check_every
        self._max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = float("-inf")

    def snapshot(self) -> Snapshot:
        return self.checked_snapshot()[0]

    def checked_snapshot(self) -> tuple[Snapshot, bool]:
        """The current snapshot, and whether this very call found Redis unreachable while
        checking the version: the caller's next Redis command would most likely wait out
        the same timeout, so the decision path answers at once instead of waiting twice."""
        current = self._snapshot
        now = self._monotonic()
        if current is not None and now - self._checked_at < self._check_every:
            return current, False
        if current is None:
            with self._lock:  # the first request waits for the first load
                redis_failed = self._refresh(now, None) if self._snapshot is None else False
            return self._snapshot or Snapshot(None, now), redis_failed
        redis_failed = False
        if self._lock.acquire(blocking=False):
            try:
                redis_failed = self._refresh(now, current)
            finally:
                self._lock.release()
        return self._snapshot or current, redis_failed

    def _refresh(self, now: float, current: Snapshot | None) -> bool:
        """Reload if needed; returns whether the version check failed."""
        self._checked_at = now
        try:
            version: int | None = self._version()
        except Exception as exc:  # Redis away: keep serving what we have
            log.warning("config version unavailable: %s", exc)
            version = None
        version_failed = version is None
        stale = current is None or now - current.loaded_at >= self._max_age
        if not stale and current is not None and (version is None or version == current.version):
            return version_failed
        try:
            experiments = self._load()
        except Exception as exc:  # SQL away: keep the old snapshot, try again next check
            log.warning("experiments not reloaded: %s", exc)
            if current is None:
                # An empty, already-stale snapshot: decisions say "no_experiment" and the
                # next check (not every request) tries SQL again.
                self._snapshot = Snapshot(None, float("-inf"))
            return version_failed
        self._snapshot = build_snapshot(experiments, version, now)
        return version_failed
