"""Verdict alerts (docs/ALERTS.md): a periodic job of the export scheduler (`smallfavor
schedule`) that tells an experiment's watchers when its verdicts change.

Each run:
1. at most once per EVALUATE_EVERY, for every running experiment: build its report, read its
   verdict state, and compare it with the last state recorded in SQL. The first evaluation
   records the state and tells nobody. A different state is recorded as the next revision,
   with one queued delivery per watcher, in one transaction (store/sql/alerts_repo.py): of two
   schedulers racing, or one restarted, only the one whose INSERT wins queues messages;
2. deliveries due are claimed one by one (a conditional UPDATE) and sent: e-mail through the
   exports' SMTP relay, webhooks signed and SSRF-guarded like export webhooks. A failure is
   recorded and retried with the exports' backoff until EXPORT_MAX_ATTEMPTS.
The message is built when the change is recorded, so every retry sends the same words.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.domain.experiment import Status
from service.domain.export_schedule import RunStatus, retry_delay
from service.domain.verdict_alerts import AlertMessage, alert_message, changes, verdict_state
from service.domain.webhook_targets import AllowList
from service.jobs.exports.destinations import DeliveryFailed, DeliveryRefused
from service.jobs.exports.destinations.mail import new_message, send
from service.jobs.exports.destinations.webhook import post_signed
from service.jobs.exports.scheduler import DEFAULT_LEASE, worker_name
from service.settings import Settings
from service.store.sql.alerts_repo import AlertDelivery, AlertRepo
from service.store.sql.experiments_repo import ExperimentRepo, StoredExperiment
from service.usecases.build_report import load_report

log = logging.getLogger(__name__)

EVALUATE_EVERY = timedelta(minutes=1)
EMAIL, WEBHOOK = "email", "webhook"


class AlertJob:
    def __init__(self, engine: Engine, settings: Settings, *, worker: str | None = None) -> None:
        self.repo = AlertRepo(engine)
        self._engine = engine
        self._settings = settings
        self._experiments = ExperimentRepo(engine)
        self.worker = worker or worker_name()
        self._evaluated_at: datetime | None = None

    def run(self, now: datetime) -> None:
        """The scheduler's periodic hook: evaluate (when due), then send what is due."""
        if self._evaluated_at is None or now - self._evaluated_at >= EVALUATE_EVERY:
            self.evaluate(now)
            self._evaluated_at = now
        self.deliver_due(now)

    def evaluate(self, now: datetime) -> int:
        """Record each running experiment's verdict changes; returns how many were recorded
        by this scheduler (first evaluations included)."""
        recorded = 0
        for stored in self._experiments.find([Status.running]):
            try:
                recorded += self._evaluate_one(stored, now)
            except Exception:  # one broken report must not silence the other experiments
                log.exception("verdict alerts of %r not evaluated", stored.experiment.key)
        return recorded

    def _evaluate_one(self, stored: StoredExperiment, now: datetime) -> int:
        experiment = stored.experiment
        report = load_report(self._engine, experiment, now=now, daily=False)
        state = verdict_state(report)
        last = self.repo.latest(experiment.key)
        if last is not None and last.state == state:
            return 0
        revision = 1 if last is None else last.revision + 1
        found = changes(None if last is None else last.state, report)
        message: AlertMessage | None = None
        targets: list[tuple[str, str]] = []
        if found:
            message = alert_message(
                experiment_key=experiment.key,
                experiment_name=experiment.name,
                revision=revision,
                found=found,
                report=report,
                results_url=f"{self._settings.public_url}/dashboard/experiments/{experiment.key}",
            )
            alerts = experiment.alerts
            targets = [(EMAIL, to) for to in alerts.emails]
            targets += [(WEBHOOK, url) for url in alerts.webhooks]
        alert_id = self.repo.record(
            experiment.key,
            revision,
            state,
            changes=[c.to_document() for c in found],
            message=message,
            targets=targets,
            worker=self.worker,
            now=now,
        )
        if alert_id is None:  # another scheduler recorded this revision first
            return 0
        if message is not None:
            log.info(
                "verdict alert %d of %r (revision %d): %s, to %d watchers",
                alert_id,
                experiment.key,
                revision,
                message.subject,
                len(targets),
            )
        return 1

    def deliver_due(self, now: datetime) -> list[AlertDelivery]:
        """Send every delivery due; returns the attempts this scheduler made, as recorded."""
        settings = self._settings
        expired = self.repo.expire_stale(now, DEFAULT_LEASE, settings.export_max_attempts)
        if expired:
            log.warning("%d alert deliveries were left running by a stopped scheduler", expired)
        done: list[AlertDelivery] = []
        for waiting in self.repo.due(now):
            claimed = self.repo.claim(waiting, self.worker, now)
            if claimed is not None:  # None: another scheduler took it first
                done.append(self.attempt(claimed, now))
        return done

    def attempt(self, delivery: AlertDelivery, now: datetime) -> AlertDelivery:
        message = self.repo.message(delivery.alert_id)
        try:
            if message is None:
                raise DeliveryRefused("the change has no message")
            self._send(delivery, message)
        except DeliveryRefused as exc:  # retrying cannot help
            self._failed(delivery, str(exc), now, final=True)
        except DeliveryFailed as exc:
            self._failed(delivery, str(exc), now)
        except Exception as exc:  # a bug: recorded and retried all the same
            log.exception("alert delivery %d failed unexpectedly", delivery.id)
            self._failed(delivery, f"{type(exc).__name__}: {exc}".splitlines()[0], now)
        else:
            self.repo.finish(delivery, status=RunStatus.succeeded, now=now)
        return self.repo.delivery(delivery.id) or delivery

    def _send(self, delivery: AlertDelivery, message: AlertMessage) -> None:
        settings = self._settings
        if delivery.channel == EMAIL:
            mail = new_message(settings, [delivery.target], message.subject)
            mail.set_content(message.text)
            send(settings, mail)
            return
        if not settings.alert_webhook_secret:
            raise DeliveryRefused("webhooks are not configured: set ALERT_WEBHOOK_SECRET")
        body = json.dumps(message.payload, ensure_ascii=False, sort_keys=True).encode()
        post_signed(
            delivery.target,
            body,
            {
                "Content-Type": "application/json",
                "User-Agent": "smallfavor-alert/1",
                "X-SmallFavor-Alert": str(delivery.alert_id),
                "X-SmallFavor-Experiment": str(message.payload.get("experiment", "")),
            },
            secret=settings.alert_webhook_secret,
            timeout=settings.export_timeout_seconds,
            allow=AllowList.parse(settings.export_webhook_allow),
        )

    def _failed(
        self, delivery: AlertDelivery, error: str, now: datetime, *, final: bool = False
    ) -> None:
        max_attempts = self._settings.export_max_attempts
        if final or delivery.attempts >= max_attempts:
            self.repo.finish(delivery, status=RunStatus.failed, now=now, error=error)
        else:
            retry_at = now + retry_delay(delivery.attempts, self._settings.export_retry_seconds)
            self.repo.finish(
                delivery, status=RunStatus.retrying, now=now, error=error, next_attempt_at=retry_at
            )
        log.warning(
            "alert delivery %d (%s) attempt %d failed: %s",
            delivery.id,
            delivery.channel,
            delivery.attempts,
            error,
        )
