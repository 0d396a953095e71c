"""The pure rules of e-mail reminders: when a reminder may be asked for, the backoff, the
address's normal form, the amount line, the derived keys and the words of the messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain import reminder_mail
from service.domain.experiment import Amounts, Banner, Frequency, ReminderMessage
from service.domain.reminder_keys import CONFIRM, GIVE, AddressUnreadable, ReminderKeys
from service.domain.reminders import (
    MAX_AHEAD,
    amount_line,
    confirm_by,
    gives_up,
    normalise_email,
    remind_at_problem,
    retry_delay,
)
from service.schemas.banner import MAX_REMINDER_DAYS
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_a_reminder_is_between_an_hour_and_the_offers_limit_plus_a_day_ahead() -> None:
    assert timedelta(days=MAX_REMINDER_DAYS + 1) == MAX_AHEAD
    assert remind_at_problem(NOW + timedelta(hours=1), NOW) is None
    assert remind_at_problem(NOW + MAX_AHEAD, NOW) is None
    assert (
        remind_at_problem(NOW + timedelta(minutes=59), NOW) == "must be at least an hour from now"
    )
    assert remind_at_problem(NOW - timedelta(days=1), NOW) == "must be at least an hour from now"
    assert remind_at_problem(NOW + MAX_AHEAD + timedelta(seconds=1), NOW) == (
        "must be at most 366 days from now"
    )


def test_unconfirmed_sign_ups_have_three_days() -> None:
    assert confirm_by(NOW) == NOW + timedelta(days=3)


def test_retries_back_off_and_give_up_after_five_attempts() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(minutes=45),
        timedelta(minutes=135),
    ]
    assert retry_delay(10) == timedelta(hours=6)
    assert [gives_up(n) for n in (1, 4, 5, 6)] == [False, False, True, True]


def test_two_spellings_of_one_address_are_one() -> None:
    assert normalise_email("  Reader@Example.ORG ") == normalise_email("reader@example.org")


def _banner(**amounts: Any) -> Banner:
    banner = parse_experiment(experiment_doc()).control.banner
    return replace(banner, amounts=Amounts(**amounts) if amounts else None)


def test_the_amount_line_is_the_smallest_amount_of_the_opening_frequency() -> None:
    monthly = _banner(currency="USD", monthly=(5, 2, 10), one_off=(1,))
    assert amount_line(monthly) == "Give from $2 a month"
    annual = _banner(currency="EUR", annual=(50, 120), default_frequency=Frequency.annual)
    assert amount_line(annual) == "Give from €50 a year"
    once = _banner(currency="USD", one_off=(7.5, 20), default_frequency=Frequency.one_off)
    assert amount_line(once) == "Give from $7.50"
    assert amount_line(_banner()) is None
    assert Amounts("USD").for_frequency(Frequency.monthly) == ()


def test_addresses_are_encrypted_and_only_this_secret_reads_them() -> None:
    keys = ReminderKeys("a" * 48)
    cipher = keys.encrypt("reader@example.org")
    assert "reader" not in cipher and keys.decrypt(cipher) == "reader@example.org"
    assert keys.encrypt("reader@example.org") != cipher  # a fresh IV each time
    with pytest.raises(AddressUnreadable):
        ReminderKeys("b" * 48).decrypt(cipher)


def test_each_purpose_has_its_own_key() -> None:
    keys = ReminderKeys("a" * 48)
    assert keys.email_hash("r@example.org") == ReminderKeys("a" * 48).email_hash("r@example.org")
    assert keys.email_hash("r@example.org") != ReminderKeys("b" * 48).email_hash("r@example.org")
    assert keys.signup_key("token", "r@example.org") != keys.email_hash("r@example.org")
    signature = keys.link_signature("abc", CONFIRM)
    assert keys.link_valid("abc", CONFIRM, signature)
    assert not keys.link_valid("abc", GIVE, signature)  # a confirm link cannot give
    assert not keys.link_valid("abd", CONFIRM, signature)
    assert not keys.link_valid("abc", CONFIRM, "é" + signature[1:])


def test_the_reminder_says_the_newsrooms_words_the_amount_and_both_links() -> None:
    banner = _banner(currency="USD", monthly=(2, 5))
    message = ReminderMessage(subject="Time\nto give?", body="  Hello.  ")
    text = reminder_mail.reminder(message, banner, "https://g/give", "https://g/unsub")
    assert text.subject == "Time to give?"  # one header line, whatever the editor typed
    assert text.text.startswith("Hello.\n\nGive from $2 a month\n\nSupport us: https://g/give\n")
    assert text.text.endswith("Unsubscribe: https://g/unsub\n")
    no_amounts = reminder_mail.reminder(message, _banner(), "https://g/give", "https://g/u")
    assert "Give from" not in no_amounts.text


def test_the_confirmation_has_the_link_and_says_what_happens_without_it() -> None:
    text = reminder_mail.confirmation("https://g/confirm", "https://g/unsub", "20 December 2026")
    assert "on 20 December 2026" in text.text and "https://g/confirm\n" in text.text
    assert "without your confirmation" in text.text and text.unsubscribe_url == "https://g/unsub"
