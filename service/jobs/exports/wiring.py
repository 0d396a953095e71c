"""A Scheduler on its own engine, for `smallfavor schedule` and `export --schedule`.

Exports need SQL only (no Redis), so a Kubernetes CronJob running `export` is one small pod;
`schedule` also runs the bandit job, which tells Redis when it moved weights (best effort).
Imported when a command needs it: pyarrow is too heavy for every command's start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from service.clock import utc_now
from service.jobs.bandit import BanditJob
from service.jobs.exports.runner import ExportRunner
from service.jobs.exports.scheduler import Scheduler
from service.settings import Settings
from service.store.sql.engine import build_engine
from service.store.sql.exports_repo import ExportRepo

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from service.store.redis.client import RedisClient

log = logging.getLogger(__name__)


@contextmanager
def open_scheduler(
    settings: Settings,
    max_attempts: int | None = None,
    *,
    bandits: bool = False,
    jobs: Sequence[Callable[[Engine], Callable[[datetime], object]]] = (),
) -> Iterator[Scheduler]:
    """A Scheduler on a fresh engine, disposed of afterwards; `bandits` adds the bandit job to
    every poll, and each of `jobs` makes one more periodic job on the engine (the verdict
    alerts, service/jobs/alerts.py, which the CLI adds: they use this package's delivery)."""
    engine = build_engine(settings.database_url)
    announcer = Announcer(settings)
    try:
        periodic: list[Callable[[datetime], object]] = (
            [BanditJob(engine, announcer).run_due] if bandits else []
        )
        periodic += [make(engine) for make in jobs]
        yield Scheduler(
            ExportRepo(engine),
            ExportRunner(engine, settings),
            clock=utc_now,
            max_attempts=max_attempts or settings.export_max_attempts,
            retry_seconds=settings.export_retry_seconds,
            periodic=periodic,
        )
    finally:
        announcer.close()
        engine.dispose()


class Announcer:
    """Bumps the config version after the bandit moved weights, so that decision caches reload
    at once. Redis is connected on first use (exports alone never need it), and an outage only
    delays the reload until the caches' maximum age."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: RedisClient | None = None

    def __call__(self) -> bool:
        # Imported here: a process that only exports never loads the Redis client.
        from service.store.redis import config_version
        from service.store.redis.client import REDIS_ERRORS, connect
        from service.store.redis.keys import Keys

        try:
            if self._client is None:
                self._client = connect(self._settings)
            config_version.bump(self._client, Keys(self._settings.redis_prefix))
        except REDIS_ERRORS as exc:
            log.warning("config version not bumped, caches will catch up by age: %s", exc)
            return False
        return True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
