"""E-mail reminders: the rules of a sign-up's life, free of I/O (docs/PRIVACY.md).

A sign-up is `pending` until the reader confirms it through the link in the confirmation
e-mail (double opt-in), then `confirmed` until its reminder is `sent`. It ends `unsubscribed`
(the reader's one click), `expired` (not confirmed by `confirm_by`) or `failed` (the mail
could not be sent after MAX_ATTEMPTS). Only a confirmed reminder is ever sent.

One row carries at most one mail waiting to go out: while `next_attempt_at` is set, the
confirmation (pending) or the reminder (confirmed) is due at that time. Sending claims the row
with a conditional UPDATE (store/sql/reminders_repo.py) held for LEASE; a sender that stopped
mid-attempt loses its claim when the lease runs out and the next scheduler retries.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum

from service.domain.banner_render import format_amount
from service.domain.experiment import Banner, Frequency


class ReminderStatus(StrEnum):
    pending = "pending"  # waiting for the reader's confirmation
    confirmed = "confirmed"  # will be sent at remind_at
    sent = "sent"
    unsubscribed = "unsubscribed"
    expired = "expired"  # never confirmed
    failed = "failed"  # the mail could not be sent; `error` says why


# A row in one of these still holds the (encrypted) address; every other status has none.
HOLDS_ADDRESS = (ReminderStatus.pending, ReminderStatus.confirmed)

# An unconfirmed sign-up is dropped (with its address) this long after it was made.
CONFIRM_DAYS = 3
# The earliest and latest a reminder may be asked for. The latest is the offer's own limit
# (schemas/banner.py MAX_REMINDER_DAYS, 365) plus a day of slack for the reader's time zone.
MIN_LEAD = timedelta(hours=1)
MAX_AHEAD = timedelta(days=365 + 1)
# Attempts per mail (the confirmation, then the reminder), and the backoff between them.
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=6)
# Longer than an attempt can take (each SMTP step has EXPORT_TIMEOUT_SECONDS, at most 600),
# so a claim is only taken over from a sender that is really gone, as with export runs.
LEASE = timedelta(hours=1)
# Sign-ups allowed per client address per hour and per e-mail address per day: a form that
# sends mail must not become a way to flood someone's inbox.
SIGNUPS_PER_CLIENT = 20
CLIENT_WINDOW = timedelta(hours=1)
SIGNUPS_PER_EMAIL = 3
EMAIL_WINDOW = timedelta(days=1)


def confirm_by(created_at: datetime) -> datetime:
    return created_at + timedelta(days=CONFIRM_DAYS)


def remind_at_problem(remind_at: datetime, now: datetime) -> str | None:
    """Why `remind_at` cannot be accepted at `now`, or None."""
    if remind_at < now + MIN_LEAD:
        return "must be at least an hour from now"
    if remind_at > now + MAX_AHEAD:
        return f"must be at most {MAX_AHEAD.days} days from now"
    return None


def retry_delay(attempts: int) -> timedelta:
    """The wait after failed attempt number `attempts` (1, 2, …): 5 minutes, then three times
    longer each time, at most six hours."""
    delay: timedelta = RETRY_BASE * 3 ** max(attempts - 1, 0)
    return min(delay, RETRY_CAP)


def gives_up(attempts: int) -> bool:
    """Whether a mail that failed `attempts` times is given up (status failed)."""
    return attempts >= MAX_ATTEMPTS


def normalise_email(address: str) -> str:
    """The form two spellings of one address share, for idempotency and the per-address
    limit: trimmed, NFC, lower case (mailbox names are case-insensitive in practice)."""
    return unicodedata.normalize("NFC", address.strip()).lower()


_PER = {Frequency.monthly: " a month", Frequency.annual: " a year", Frequency.one_off: ""}


def amount_line(banner: Banner) -> str | None:
    """ "Give from $2 a month": the smallest amount of the frequency the banner opens on, as
    its %%AMOUNT%% says; None when the banner shows no amounts."""
    amounts = banner.amounts
    if amounts is None:
        return None
    frequency = amounts.default_frequency
    choices = amounts.for_frequency(frequency)
    if not choices:
        frequency, choices = next(
            ((f, c) for f in Frequency if (c := amounts.for_frequency(f))), (frequency, ())
        )
    if not choices:
        return None
    return f"Give from {format_amount(min(choices), amounts.currency)}{_PER[frequency]}"
