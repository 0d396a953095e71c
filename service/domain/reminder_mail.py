"""The words of the two reminder e-mails, plain text (docs/PRIVACY.md): the confirmation a
sign-up gets at once, and the reminder itself, from the experiment's `reminder_message`.

Both end with the unsubscribe link, which the message also names in its List-Unsubscribe
header (RFC 8058 one-click, usecases/reminder_delivery.py); the reminder carries the signed
link to give, which opens the variant's donation page.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.experiment import Banner, ReminderMessage
from service.domain.reminders import amount_line

CONFIRM_SUBJECT = "Please confirm your reminder"


@dataclass(frozen=True, slots=True)
class MailText:
    subject: str
    text: str
    unsubscribe_url: str


def confirmation(confirm_url: str, unsubscribe_url: str, remind_on: str) -> MailText:
    """remind_on: when the reminder is due, as the reader will read it (a UTC date)."""
    text = (
        f"You asked us to remind you on {remind_on} about supporting our journalism.\n"
        "\n"
        "Please confirm that this is your address by opening this link:\n"
        f"{confirm_url}\n"
        "\n"
        "If you did not ask for a reminder, ignore this message: without your confirmation "
        "we will not write to you again, and your address is deleted in a few days.\n"
        "\n"
        f"Unsubscribe: {unsubscribe_url}\n"
    )
    return MailText(CONFIRM_SUBJECT, text, unsubscribe_url)


def reminder(
    message: ReminderMessage, banner: Banner, give_url: str, unsubscribe_url: str
) -> MailText:
    lines = [message.body.strip(), ""]
    amount = amount_line(banner)
    if amount:
        lines += [amount, ""]
    lines += [
        f"{banner.cta.label}: {give_url}",
        "",
        "You get this e-mail once, because you asked for a reminder. We have now deleted your "
        "address.",
        f"Unsubscribe: {unsubscribe_url}",
    ]
    return MailText(_one_line(message.subject), "\n".join(lines) + "\n", unsubscribe_url)


def _one_line(subject: str) -> str:
    # A header is one line: a line break in an editor's subject must not start a new header.
    return " ".join(subject.split())
