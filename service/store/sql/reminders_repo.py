"""E-mail reminders in SQL: one row per sign-up (`reminders` in delivery_tables.py,
docs/PRIVACY.md).

Exactly once, as export runs and alert deliveries are (store/sql/attempts.py): taking a mail
to send is a conditional UPDATE on what was read (status, attempts, and no live claim), so of
several schedulers only one wins it; recording how the attempt ended is conditional on still
holding the claim, so a sender whose lease ran out cannot overwrite its successor's outcome.
Nothing is locked while a message is sent. Every end of a reminder (sent, unsubscribed,
expired, failed) clears the address and its hash in the same UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.reminders import HOLDS_ADDRESS, ReminderStatus
from service.store.sql.attempts import ERROR_LIMIT
from service.store.sql.delivery_tables import reminders as t

# What ends a reminder's need for the address.
_FORGET = {"email_cipher": None, "email_hash": None, "next_attempt_at": None, "claimed_by": None}
_OPEN = [s.value for s in HOLDS_ADDRESS]


@dataclass(frozen=True, slots=True)
class Reminder:
    """A `reminders` row, field for field."""

    id: str
    signup_key: str
    experiment_key: str
    variant_key: str
    visitor: str
    placement: str
    qa: bool
    status: ReminderStatus
    email_cipher: str | None
    email_hash: str | None
    created_at: datetime
    remind_at: datetime
    confirm_by: datetime
    confirmed_at: datetime | None
    sent_at: datetime | None
    clicked_at: datetime | None
    unsubscribed_at: datetime | None
    attempts: int
    claimed_by: str | None
    started_at: datetime | None
    next_attempt_at: datetime | None
    error: str | None


def _reminder(row: Any) -> Reminder:
    values = dict(row._mapping)
    values["status"] = ReminderStatus(values["status"])
    return Reminder(**values)


class ReminderRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, reminder_id: str) -> Reminder | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == reminder_id)).first()
        return None if row is None else _reminder(row)

    def by_signup_key(self, signup_key: str) -> Reminder | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.signup_key == signup_key)).first()
        return None if row is None else _reminder(row)

    def of_visitor(self, visitor: str) -> list[Reminder]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.visitor == visitor).order_by(t.c.created_at))
            return [_reminder(row) for row in rows]

    def signups_since(self, email_hash: str, since: datetime) -> int:
        """Sign-ups of one address made since then that still hold it (the per-address limit
        while Redis is away)."""
        query = select(func.count()).where(t.c.email_hash == email_hash, t.c.created_at >= since)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def insert_claimed(self, values: dict[str, Any], worker: str, now: datetime) -> bool:
        """A new sign-up, already claimed by `worker` for its confirmation (attempt 1), so
        that no scheduler sends it too; False if its signup_key exists (the same sign-up)."""
        row = {
            **values,
            "status": ReminderStatus.pending.value,
            "attempts": 1,
            "claimed_by": worker,
            "started_at": now,
            "next_attempt_at": now,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(t).values(**row))
        except IntegrityError:
            return False
        return True

    # -- sending -------------------------------------------------------------------------

    def _claimable(self, now: datetime, lease: timedelta) -> Any:
        return or_(t.c.claimed_by.is_(None), t.c.started_at < now - lease)

    def due(self, now: datetime, lease: timedelta, limit: int = 100) -> list[Reminder]:
        """Mails whose time has come (confirmations to retry, reminders to send), unclaimed
        or left by a sender whose lease ran out; oldest first."""
        query = (
            select(t)
            .where(
                t.c.status.in_(_OPEN),
                t.c.next_attempt_at <= now,
                self._claimable(now, lease),
            )
            .order_by(t.c.next_attempt_at, t.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_reminder(row) for row in conn.execute(query)]

    def claim(
        self, read: Reminder, worker: str, now: datetime, lease: timedelta
    ) -> Reminder | None:
        """Take the next attempt of the mail read as `read`; None if another sender took it
        (or it changed: confirmed, unsubscribed, erased) since."""
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(t)
                .where(
                    t.c.id == read.id,
                    t.c.status == read.status.value,
                    t.c.attempts == read.attempts,
                    t.c.next_attempt_at <= now,
                    self._claimable(now, lease),
                )
                .values(attempts=read.attempts + 1, claimed_by=worker, started_at=now)
            ).rowcount
        return self.get(read.id) if taken == 1 else None

    def _finish(self, held: Reminder, **values: Any) -> bool:
        with self._engine.begin() as conn:
            done = conn.execute(
                update(t)
                .where(
                    t.c.id == held.id,
                    t.c.status == held.status.value,
                    t.c.claimed_by == held.claimed_by,
                    t.c.attempts == held.attempts,
                )
                .values(**values)
            ).rowcount
        return done == 1

    def confirmation_sent(self, held: Reminder) -> bool:
        """The confirmation went out: nothing is due until the reader confirms."""
        return self._finish(held, claimed_by=None, next_attempt_at=None, attempts=0, error=None)

    def reminder_sent(self, held: Reminder, now: datetime) -> bool:
        return self._finish(
            held, status=ReminderStatus.sent.value, sent_at=now, error=None, **_FORGET
        )

    def attempt_failed(self, held: Reminder, error: str, retry_at: datetime | None) -> bool:
        """A failed attempt: retried at `retry_at`, or given up (failed, the address
        forgotten) when None."""
        values: dict[str, Any] = {"error": error[:ERROR_LIMIT]}
        if retry_at is None:
            values |= {"status": ReminderStatus.failed.value, **_FORGET}
        else:
            values |= {"claimed_by": None, "next_attempt_at": retry_at}
        return self._finish(held, **values)

    def give_up_stale(self, now: datetime, lease: timedelta, max_attempts: int, error: str) -> int:
        """Mails whose last allowed attempt was claimed by a sender that stopped: failed.
        (Earlier attempts left that way are simply claimable again, see `due`.)"""
        with self._engine.begin() as conn:
            return int(
                conn.execute(
                    update(t)
                    .where(
                        t.c.status.in_(_OPEN),
                        t.c.claimed_by.is_not(None),
                        t.c.started_at < now - lease,
                        t.c.attempts >= max_attempts,
                    )
                    .values(status=ReminderStatus.failed.value, error=error, **_FORGET)
                ).rowcount
            )

    def expire_unconfirmed(self, now: datetime) -> int:
        """Sign-ups not confirmed by their confirm_by: expired, the address forgotten."""
        with self._engine.begin() as conn:
            return int(
                conn.execute(
                    update(t)
                    .where(t.c.status == ReminderStatus.pending.value, t.c.confirm_by <= now)
                    .values(status=ReminderStatus.expired.value, **_FORGET)
                ).rowcount
            )

    # -- the reader's links --------------------------------------------------------------

    def confirm(self, reminder_id: str, now: datetime) -> bool:
        """pending -> confirmed, its reminder due at remind_at; False unless it was pending
        and not past confirm_by. A confirmation attempt still under way keeps going; its
        outcome is no longer recorded (the row is no longer what it claimed)."""
        with self._engine.begin() as conn:
            done = conn.execute(
                update(t)
                .where(
                    t.c.id == reminder_id,
                    t.c.status == ReminderStatus.pending.value,
                    t.c.confirm_by > now,
                )
                .values(
                    status=ReminderStatus.confirmed.value,
                    confirmed_at=now,
                    attempts=0,
                    claimed_by=None,
                    started_at=None,
                    error=None,
                    next_attempt_at=t.c.remind_at,
                )
            ).rowcount
        return done == 1

    def unsubscribe(self, reminder_id: str, now: datetime) -> bool:
        """No mail of this reminder goes out any more, and its address is forgotten; a
        reminder already sent keeps status sent and records the click. False if unknown."""
        with self._engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == reminder_id, t.c.status.in_(_OPEN))
                .values(status=ReminderStatus.unsubscribed.value, **_FORGET)
            )
            found = conn.execute(
                update(t)
                .where(t.c.id == reminder_id)
                .values(unsubscribed_at=func.coalesce(t.c.unsubscribed_at, now))
            ).rowcount
        return found == 1

    def clicked(self, reminder_id: str, now: datetime) -> None:
        """The first click on the reminder's link (later ones keep the first time)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == reminder_id, t.c.clicked_at.is_(None))
                .values(clicked_at=now)
            )
