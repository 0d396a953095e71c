"""The export scheduler: `smallfavor schedule`, one loop per process, any number of replicas.

Each poll (`run_pending`):
1. runs whose scheduler died mid-attempt (running longer than the lease) become retries;
2. for every enabled schedule, the fire times due since its last claimed fire time (or its
   last edit) are claimed by INSERTing (schedule, fire time) — the unique pair makes exactly
   one replica win each — and the winner runs them, oldest first;
3. queued ad-hoc runs and retries whose time has come are claimed by a conditional UPDATE
   and run;
4. the `periodic` jobs given to the scheduler run (the bandit job, service/jobs/bandit.py),
   each guarded so that its failure neither stops the loop nor the exports.
A failed attempt is retried after an exponential backoff until EXPORT_MAX_ATTEMPTS; every
attempt's outcome is recorded on its run. Nothing an export does can stop the loop: its
errors become the run's `error`, and database errors back the loop off until SQL returns.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from service.domain.export_schedule import RunStatus, retry_delay
from service.jobs.exports.destinations import DeliveryFailed, DeliveryRefused
from service.jobs.exports.runner import ExportError, ExportRunner
from service.metrics import EXPORT_RUNS
from service.store.sql.exports_repo import ExportRepo, ExportRun, RunFile, StoredSchedule

log = logging.getLogger(__name__)

# Longer than any attempt can take (every network step has EXPORT_TIMEOUT_SECONDS), so a run
# is only taken over from a scheduler that is really gone.
DEFAULT_LEASE = timedelta(hours=1)
# After a long downtime a catch_up schedule runs at most this many of its latest missed times.
CATCH_UP_LIMIT = 100


def worker_name() -> str:
    # The random part tells apart two schedulers in one process (tests) or a reused pid.
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Scheduler:
    def __init__(
        self,
        repo: ExportRepo,
        runner: ExportRunner,
        *,
        clock: Callable[[], datetime],
        max_attempts: int,
        retry_seconds: float,
        lease: timedelta = DEFAULT_LEASE,
        worker: str | None = None,
        periodic: Sequence[Callable[[datetime], object]] = (),
    ) -> None:
        self.repo = repo
        self._runner = runner
        self._clock = clock
        self._max_attempts = max_attempts
        self._retry_seconds = retry_seconds
        self._lease = lease
        self.worker = worker or worker_name()
        self._periodic = tuple(periodic)
        # Set by run_forever's caller on SIGTERM: a long catch-up stops between attempts.
        self._stop = threading.Event()

    def run_pending(self, now: datetime | None = None) -> list[ExportRun]:
        """Run everything due at `now` (default: the clock); returns the attempts this
        scheduler made, as recorded."""
        now = now or self._clock()
        done: list[ExportRun] = []
        expired = self.repo.expire_stale(now, self._lease, self._max_attempts)
        if expired:
            log.warning("%d export runs were left running by a stopped scheduler", expired)
        for stored in self.repo.find(enabled_only=True):
            for fire_time in self._due(stored, now):
                if self._stop.is_set():
                    return done  # unclaimed fire times stay due for the next scheduler
                run = self.repo.claim_fire(stored.id, fire_time, self.worker, self._clock())
                if run is not None:  # None: another scheduler has it
                    done.append(self.attempt(stored, run))
        for waiting in self.repo.due_runs(now):
            if self._stop.is_set():
                break
            schedule = self.repo.get(waiting.schedule_id)
            if schedule is None:  # deleted meanwhile, its runs with it
                continue
            claimed = self.repo.claim_attempt(waiting, self.worker, self._clock())
            if claimed is not None:  # None: another scheduler took it first
                done.append(self.attempt(schedule, claimed))
        self._run_periodic()
        return done

    def _run_periodic(self) -> None:
        for job in self._periodic:
            if self._stop.is_set():
                return
            try:
                job(self._clock())
            except Exception:  # SQL away or a bug: the next poll tries again
                log.exception("periodic job %r failed", job)

    def _due(self, stored: StoredSchedule, now: datetime) -> list[datetime]:
        last = self.repo.last_fire_time(stored.id)
        anchor = max(last, stored.updated_at) if last else stored.updated_at
        try:
            return stored.schedule.due_fire_times(anchor=anchor, now=now, limit=CATCH_UP_LIMIT)
        except (ValueError, KeyError) as exc:  # e.g. a time zone the system no longer knows
            log.error("export schedule %r cannot be scheduled: %s", stored.schedule.name, exc)
            return []

    def attempt(self, stored: StoredSchedule, run: ExportRun) -> ExportRun:
        """Execute one claimed attempt and record how it ended. Whatever the export raises
        is recorded; only an SQL error while recording escapes (the lease retries the run)."""
        started = self._clock()
        try:
            delivered = self._runner.run(
                stored.schedule, run_id=run.id, as_of=run.fire_time or started, now=started
            )
        except DeliveryRefused as exc:  # an internal webhook: no retry can make it allowed
            return self._failed(run, str(exc), final=True)
        except (DeliveryFailed, ExportError) as exc:
            return self._failed(run, str(exc))
        except Exception as exc:  # a bug or SQL away: recorded and retried all the same
            log.exception("export run %d failed unexpectedly", run.id)
            return self._failed(run, f"{type(exc).__name__}: {exc}".splitlines()[0])
        self.repo.finish(
            run,
            status=RunStatus.succeeded,
            now=self._clock(),
            rows=delivered.rows,
            size=delivered.bytes,
            destination=delivered.destination,
            destination_type=stored.schedule.destination.type,
            files=[RunFile(f.name, len(f.content), f.rows, f.media_type) for f in delivered.files],
        )
        log.info(
            "export run %d of %r: %d files, %d rows to %s",
            run.id,
            stored.schedule.name,
            len(delivered.files),
            delivered.rows,
            delivered.destination,
        )
        return self._recorded(run)

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        """Poll until `stop` is set (SIGTERM/SIGINT): an attempt under way is finished and
        recorded first. SQL errors back off exponentially (up to 5 minutes) and retry."""
        log.info("export scheduler %s started (poll every %ss)", self.worker, poll_seconds)
        self._stop = stop
        failures = 0
        while not stop.is_set():
            try:
                self.run_pending()
                failures = 0
                wait = poll_seconds
            except Exception as exc:  # SQL away: try again later, never exit
                failures += 1
                wait = min(poll_seconds * 2**failures, 300)
                log.error("export scheduler poll failed, retrying in %.0fs: %s", wait, exc)
            stop.wait(wait)
        log.info("export scheduler %s stopped", self.worker)

    def _failed(self, run: ExportRun, error: str, *, final: bool = False) -> ExportRun:
        now = self._clock()
        if final or run.attempts >= self._max_attempts:
            self.repo.finish(run, status=RunStatus.failed, now=now, error=error)
        else:
            retry_at = now + retry_delay(run.attempts, self._retry_seconds)
            self.repo.finish(
                run, status=RunStatus.retrying, now=now, error=error, next_attempt_at=retry_at
            )
        log.warning("export run %d attempt %d failed: %s", run.id, run.attempts, error)
        return self._recorded(run)

    def _recorded(self, run: ExportRun) -> ExportRun:
        recorded = self.repo.run(run.id) or run
        EXPORT_RUNS.labels(str(recorded.status)).inc()
        return recorded
