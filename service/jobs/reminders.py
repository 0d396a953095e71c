"""E-mail reminders' periodic job in the scheduler (`smallfavor schedule`, docs/PRIVACY.md).

Each run:
1. unconfirmed sign-ups past confirm_by become `expired`, their addresses deleted;
2. mails whose last allowed attempt was claimed by a scheduler that stopped (its lease ran
   out) are given up as `failed`; earlier attempts left that way are simply due again;
3. every mail due (a confirmation to retry, a confirmed reminder whose remind_at has come) is
   claimed by a conditional UPDATE and sent: of two schedulers racing, one sends each mail.

A scheduler that dies after the relay took a message but before recording it leaves the claim
to run out; the next one sends that mail again. That is the one way a reader can get a mail
twice; the lease (an hour) keeps it to schedulers that really stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from service.domain.reminders import LEASE, MAX_ATTEMPTS
from service.jobs.exports.scheduler import worker_name
from service.settings import Settings
from service.usecases.reminder_delivery import Attempted, ReminderMailer

log = logging.getLogger(__name__)


class ReminderJob:
    def __init__(self, engine: Engine, settings: Settings, *, worker: str | None = None) -> None:
        self.mailer = ReminderMailer(engine, settings)
        self.worker = worker or worker_name()

    def run(self, now: datetime) -> list[Attempted]:
        """The scheduler's periodic hook; returns the attempts this scheduler made."""
        repo = self.mailer.repo
        expired = repo.expire_unconfirmed(now)
        if expired:
            log.info("%d unconfirmed reminder sign-ups expired, their addresses deleted", expired)
        given_up = repo.give_up_stale(
            now, LEASE, MAX_ATTEMPTS, "the scheduler stopped during the last attempt"
        )
        if given_up:
            log.warning("%d reminders failed: their scheduler stopped on the last try", given_up)
        done = []
        for waiting in repo.due(now, LEASE):
            held = repo.claim(waiting, self.worker, now, LEASE)
            if held is not None:  # None: another scheduler took it first
                done.append(self.mailer.attempt(held, now))
        return done
