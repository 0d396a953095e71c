"""E-mail reminders for readers (POST /v1/reminders and the links in the e-mails):
signing up, confirming, unsubscribing and following the reminder's link to give.
docs/PRIVACY.md says what is kept and for how long; domain/reminders.py holds the rules.

Sign-up, in order: every field is checked (a 422 names each bad one: token, email,
remind_at); the same token and address again answer the first sign-up as it is (no second
mail, and no count against the limits); then the limits: per client address (Redis) and per
e-mail address (Redis, or while Redis is away the sign-ups SQL still holds for the address:
the limit that protects someone else's inbox holds through an outage, the per-client one is
waived); then the row is inserted already claimed for its confirmation, the reader's
placement is snoozed until remind_at in the visitor ledger (best effort: without Redis the
snippet still hides the banner it showed), and the confirmation is sent at once. If sending
fails the sign-up stands and the scheduler retries the confirmation with backoff.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from service.domain.errors import NotFound, RateLimited, ValidationFailed
from service.domain.experiment import Experiment, Variant
from service.domain.instants import InstantInvalid, parse_instant
from service.domain.ledger import reminder_click_ops, snooze_until_ops
from service.domain.reminder_keys import ReminderKeys
from service.domain.reminders import (
    CLIENT_WINDOW,
    EMAIL_WINDOW,
    SIGNUPS_PER_CLIENT,
    SIGNUPS_PER_EMAIL,
    ReminderStatus,
    confirm_by,
    normalise_email,
    remind_at_problem,
)
from service.domain.tokens import DecisionClaims, TokenInvalid
from service.schemas.checks import Invalid, email_address
from service.store.mail import can_deliver
from service.store.redis.client import REDIS_ERRORS
from service.store.redis.reminder_limits import ReminderLimits
from service.store.sql.reminders_repo import Reminder
from service.usecases.errors import Unavailable
from service.usecases.reminder_delivery import ReminderMailer
from service.wiring import Services

log = logging.getLogger(__name__)

_FIELDS = ("token", "email", "remind_at")
_ID_BYTES = 16  # 22 URL-safe characters


@dataclass(frozen=True, slots=True)
class SignedUp:
    reminder: str
    status: str
    snoozed_until: datetime


def sign_up(svc: Services, body: object, client: str) -> SignedUp:
    """body: the request's JSON. Raises ValidationFailed (naming each bad field),
    RateLimited, or Unavailable (e-mail not configured, SQL away)."""
    now = svc.clock()
    keys = ReminderKeys(svc.settings.secret_key)
    token, address, remind_at, claims = _parse(svc, body, now)
    normalised = normalise_email(address)
    mailer = ReminderMailer(svc.engine, svc.settings)
    signup_key = keys.signup_key(token, normalised)
    existing = mailer.repo.by_signup_key(signup_key)
    if existing is not None:
        return _answer(existing)
    email_hash = keys.email_hash(normalised)
    _check_limits(svc, mailer, client, email_hash, now)
    if not can_deliver(svc.settings):
        raise Unavailable("e-mail reminders are not configured on this server: set SMTP_HOST")
    experiment = svc.experiment_cache.snapshot().by_key[claims.experiment]
    worker = f"signup-{socket.gethostname()}-{secrets.token_hex(3)}"
    values: dict[str, Any] = {
        "id": secrets.token_urlsafe(_ID_BYTES),
        "signup_key": signup_key,
        "experiment_key": claims.experiment,
        "variant_key": claims.variant,
        "visitor": claims.visitor,
        "placement": str(experiment.placement),
        "qa": claims.qa,
        "email_cipher": keys.encrypt(address),
        "email_hash": email_hash,
        "created_at": now,
        "remind_at": remind_at,
        "confirm_by": confirm_by(now),
    }
    if not mailer.repo.insert_claimed(values, worker, now):
        # The same sign-up, sent twice at once: the other request sends the confirmation.
        same = mailer.repo.by_signup_key(signup_key)
        if same is None:  # erased between the two: try again from the start
            raise Unavailable("the sign-up could not be recorded; retry")
        return _answer(same)
    held = mailer.repo.get(values["id"])
    assert held is not None
    log.info("reminder %s: signed up for %s/%s", held.id, held.experiment_key, held.variant_key)
    if not claims.qa:  # QA decisions never touch the ledger (usecases/record_events.py)
        _snooze(svc, held)
    mailer.attempt(held, now)
    return _answer(held)


def _parse(svc: Services, body: object, now: datetime) -> tuple[str, str, datetime, DecisionClaims]:
    if not isinstance(body, dict):
        raise ValidationFailed({"$": "must be an object"}, "the body must be a JSON object")
    errors = {name: "unknown field" for name in body if name not in _FIELDS}
    token, address, when = body.get("token"), body.get("email"), body.get("remind_at")
    claims = None
    if not isinstance(token, str) or not token:
        errors["token"] = "required: the decision token of the banner"
    else:
        try:
            claims = svc.signer.verify_decision(
                token, int(now.timestamp()), svc.settings.token_max_age_hours * 3600
            )
        except TokenInvalid as exc:
            errors["token"] = str(exc)
        else:
            problem = _offer_problem(svc.experiment_cache.snapshot().by_key, claims)
            if problem:
                errors["token"] = problem
    try:
        address = email_address(address.strip() if isinstance(address, str) else address)
    except Invalid as exc:
        errors["email"] = str(exc)
    remind_at = now
    try:
        remind_at = parse_instant(when)
        problem = remind_at_problem(remind_at, now)
        if problem:
            errors["remind_at"] = problem
    except InstantInvalid as exc:
        errors["remind_at"] = str(exc)
    if errors or claims is None:
        raise ValidationFailed(errors, "the reminder sign-up is invalid")
    assert isinstance(token, str) and isinstance(address, str)
    return token, address, remind_at, claims


def _offer_problem(experiments: Mapping[str, Experiment], claims: DecisionClaims) -> str | None:
    experiment = experiments.get(claims.experiment)
    variant: Variant | None = None if experiment is None else experiment.variant(claims.variant)
    if variant is None:
        return "names an experiment or variant that no longer exists"
    if variant.banner.reminder is None:
        return "its banner offers no e-mail reminder"
    return None


def _check_limits(
    svc: Services, mailer: ReminderMailer, client: str, email_hash: str, now: datetime
) -> None:
    limits = ReminderLimits(svc.redis, svc.keys)
    try:
        by_client, client_wait = limits.count_client(client, int(CLIENT_WINDOW.total_seconds()))
        by_email, email_wait = limits.count_email(email_hash, int(EMAIL_WINDOW.total_seconds()))
    except REDIS_ERRORS as exc:
        log.warning("reminder limits: Redis is away, counting this address in SQL: %s", exc)
        by_client, client_wait = 0, 0
        by_email = mailer.repo.signups_since(email_hash, now - EMAIL_WINDOW) + 1
        email_wait = int(EMAIL_WINDOW.total_seconds())
    if by_client > SIGNUPS_PER_CLIENT:
        raise RateLimited(client_wait)
    if by_email > SIGNUPS_PER_EMAIL:
        raise RateLimited(
            email_wait,
            "too many reminders for this e-mail address; try again later",
            {"email": f"at most {SIGNUPS_PER_EMAIL} sign-ups a day for one address"},
        )


def _snooze(svc: Services, held: Reminder) -> None:
    ops = {held.visitor: snooze_until_ops(held.placement, held.remind_at.timestamp())}
    try:
        svc.event_ingest.record([], ops, "reminders", held.created_at, rate_limited=False)
    except REDIS_ERRORS as exc:
        log.warning("reminder %s: placement not snoozed, Redis is away: %s", held.id, exc)


def _answer(reminder: Reminder) -> SignedUp:
    # Answered as the sign-up was made, whatever became of it since: a retried request sees
    # the answer its first copy got.
    return SignedUp(reminder.id, str(ReminderStatus.pending), reminder.remind_at)


# -- the links in the e-mails -------------------------------------------------------------


def reminder_for_link(svc: Services, reminder_id: str, action: str, signature: str) -> Reminder:
    """The reminder a signed link names; NotFound when the signature is wrong or the
    reminder is gone (erased): the reader cannot tell the two apart, nor need to."""
    keys = ReminderKeys(svc.settings.secret_key)
    if not keys.link_valid(reminder_id, action, signature):
        raise NotFound("this link is not valid; open it from the e-mail as it is")
    reminder = ReminderMailer(svc.engine, svc.settings).repo.get(reminder_id)
    if reminder is None:
        raise NotFound("this reminder no longer exists")
    return reminder


def confirm(svc: Services, reminder: Reminder) -> bool:
    """Confirm a pending sign-up; False if it is not pending any more (or expired)."""
    done = ReminderMailer(svc.engine, svc.settings).repo.confirm(reminder.id, svc.clock())
    if done:
        log.info("reminder %s: confirmed", reminder.id)
    return done


def unsubscribe(svc: Services, reminder: Reminder) -> None:
    ReminderMailer(svc.engine, svc.settings).repo.unsubscribe(reminder.id, svc.clock())
    log.info("reminder %s: unsubscribed", reminder.id)


def give_url(svc: Services, reminder: Reminder) -> str:
    """Where the reminder's link leads: the variant's donation page with the parameters the
    snippet's button adds (a fresh decision token among them), so the payment that follows
    is credited to this reader. Recorded as the reminder's click (the first one counts). For
    an unsubscribed reminder, the page without the reader's identity, and no click: the
    reader asked to hear no more of it. NotFound if the variant no longer exists."""
    now = svc.clock()
    experiment = svc.experiment_cache.snapshot().by_key.get(reminder.experiment_key)
    variant = None if experiment is None else experiment.variant(reminder.variant_key)
    if experiment is None or variant is None:
        raise NotFound("the appeal of this reminder no longer exists")
    url = variant.banner.cta.url
    if reminder.unsubscribed_at is not None:
        return url
    ReminderMailer(svc.engine, svc.settings).repo.clicked(reminder.id, now)
    if not reminder.qa:
        ops = {reminder.visitor: reminder_click_ops(experiment.key, now.timestamp())}
        try:
            svc.event_ingest.record([], ops, "reminders", now, rate_limited=False)
        except REDIS_ERRORS as exc:
            log.warning("reminder %s: click not marked in the ledger: %s", reminder.id, exc)
    token = svc.signer.decision(
        reminder.visitor, experiment.key, variant.key, int(now.timestamp()), reminder.qa
    )
    params = {"sf_experiment": experiment.key, "sf_variant": variant.key, "sf_token": token}
    amounts = variant.banner.amounts
    if amounts is not None:
        amount = amounts.preselected(amounts.default_frequency)
        if amount is not None:
            params["amount"] = f"{amount:g}"
            params["frequency"] = str(amounts.default_frequency)
    return _with_query(url, params)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode(query + list(params.items()))))
