"""Sending one claimed reminder mail: the confirmation of a pending sign-up, or the reminder
of a confirmed one, and recording how the attempt ended (docs/PRIVACY.md).

Used by the sign-up (its confirmation goes out at once) and by the scheduler's job
(service/jobs/reminders.py: retries, and reminders whose time has come). A failed attempt is
retried with backoff until MAX_ATTEMPTS, then the reminder is `failed`, its error recorded and
its address forgotten. Nothing here logs an address: log lines name the reminder id, and the
relay's error text (which may quote the recipient) goes to the row only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import Engine

from service.domain import reminder_mail
from service.domain.reminder_keys import (
    CONFIRM,
    GIVE,
    UNSUBSCRIBE,
    AddressUnreadable,
    ReminderKeys,
)
from service.domain.reminders import ReminderStatus, gives_up, retry_delay
from service.settings import Settings
from service.store.mail import MailNotSent, deliver, new_message
from service.store.sql.experiments_repo import ExperimentRepo
from service.store.sql.reminders_repo import Reminder, ReminderRepo

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """Retrying cannot help (the experiment or variant is gone, the address unreadable)."""


@dataclass(frozen=True, slots=True)
class Attempted:
    reminder: str
    sent: bool
    error: str | None = None


def link(settings: Settings, keys: ReminderKeys, reminder_id: str, action: str) -> str:
    signature = keys.link_signature(reminder_id, action)
    return f"{settings.public_url}/v1/reminders/{reminder_id}/{action}?sig={signature}"


class ReminderMailer:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.repo = ReminderRepo(engine)
        self._experiments = ExperimentRepo(engine)
        self._settings = settings
        self._keys = ReminderKeys(settings.secret_key)

    def attempt(self, held: Reminder, now: datetime) -> Attempted:
        """Send the mail `held` (claimed by this sender) is due for, and record the outcome.
        Only an SQL error escapes; the lease then retries the attempt."""
        address = ""
        try:
            address, message = self._message(held)
            where = deliver(self._settings, message, f"{held.id}-{_kind(held)}", now)
        except Undeliverable as exc:
            return self._failed(held, str(exc), now, final=True)
        except MailNotSent as exc:
            # A relay refusing a recipient quotes it (smtplib's SMTPRecipientsRefused).
            return self._failed(held, _without(str(exc), address), now)
        except Exception as exc:  # a bug: recorded and retried all the same
            # No traceback: an exception's text may quote the address.
            log.error("reminder %s: sending failed unexpectedly: %s", held.id, type(exc).__name__)
            error = _without(f"{type(exc).__name__}: {exc}".splitlines()[0], address)
            return self._failed(held, error, now)
        if held.status == ReminderStatus.pending:
            recorded = self.repo.confirmation_sent(held)
        else:
            recorded = self.repo.reminder_sent(held, now)
        log.info(
            "reminder %s: %s sent to %s%s",
            held.id,
            _kind(held),
            where,
            "" if recorded else " (the reminder changed meanwhile)",
        )
        return Attempted(held.id, sent=True)

    def _failed(
        self, held: Reminder, error: str, now: datetime, *, final: bool = False
    ) -> Attempted:
        give_up = final or gives_up(held.attempts)
        retry_at = None if give_up else now + retry_delay(held.attempts)
        self.repo.attempt_failed(held, error, retry_at)
        log.warning(
            "reminder %s: %s attempt %d failed%s",
            held.id,
            _kind(held),
            held.attempts,
            ", given up" if give_up else f", retrying at {retry_at:%Y-%m-%dT%H:%M:%SZ}",
        )
        return Attempted(held.id, sent=False, error=error)

    def _message(self, held: Reminder) -> tuple[str, EmailMessage]:
        """The address (decrypted) and the message to send it."""
        if held.email_cipher is None:
            raise Undeliverable("the reminder holds no address")
        try:
            address = self._keys.decrypt(held.email_cipher)
        except AddressUnreadable as exc:
            raise Undeliverable(f"{exc} (was SECRET_KEY changed?)") from None
        settings, keys = self._settings, self._keys
        unsubscribe = link(settings, keys, held.id, UNSUBSCRIBE)
        if held.status == ReminderStatus.pending:
            text = reminder_mail.confirmation(
                link(settings, keys, held.id, CONFIRM), unsubscribe, f"{held.remind_at:%d %B %Y}"
            )
        else:
            stored = self._experiments.get(held.experiment_key)
            variant = None if stored is None else stored.experiment.variant(held.variant_key)
            if stored is None or variant is None:
                raise Undeliverable("its experiment or variant no longer exists")
            text = reminder_mail.reminder(
                stored.experiment.reminder_message,
                variant.banner,
                link(settings, keys, held.id, GIVE),
                unsubscribe,
            )
        message = new_message(settings, [address], text.subject)
        # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to the URL.
        message["List-Unsubscribe"] = f"<{text.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text.text)
        return address, message


def _without(text: str, address: str) -> str:
    """The text with the address taken out, for the row's error column."""
    if not address:
        return text
    return re.sub(re.escape(address), "<recipient>", text, flags=re.IGNORECASE)


def _kind(reminder: Reminder) -> str:
    return "confirmation" if reminder.status == ReminderStatus.pending else "reminder"
