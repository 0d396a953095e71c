"""Handing e-mail to the mail relay of SMTP_HOST: export files, verdict alerts and reminders
all send through here.

Without SMTP_HOST, exports and alerts refuse e-mail (an editor chose that destination and must
hear it cannot work), while reminders in development write each message as an .eml file under
VAR_DIR/mail/ (`deliver`), so a local install shows the whole path without a mail server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from service.settings import Settings

log = logging.getLogger(__name__)

# Headers are folded at RFC 5322's hard limit, not its 78-character advice: Python folds a long
# word it cannot break (a List-Unsubscribe URL) into RFC 2047 encoded words, which no mail client
# reads back as a URL, so the one-click unsubscribe would be broken.
_POLICY = policy.SMTP.clone(max_line_length=998)


class MailNotSent(Exception):
    """The relay refused the message or could not be reached; the message is one line."""


def new_message(settings: Settings, to: Sequence[str], subject: str) -> EmailMessage:
    """A message from SMTP_FROM, its body and attachments still to be added."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    return message


def relay(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the relay of SMTP_HOST, or raise MailNotSent."""
    if not settings.smtp_host:
        raise MailNotSent("e-mail is not configured on this server: set SMTP_HOST")
    host, port = settings.smtp_host, settings.smtp_port
    timeout = settings.export_timeout_seconds
    try:
        smtp: smtplib.SMTP
        if settings.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        # Only the relay's words: a refused recipient's address is not repeated here (the
        # relay's reply may name it, so reminders record this text, never log it).
        raise MailNotSent(f"SMTP {host}:{port}: {exc}".splitlines()[0]) from None


def can_deliver(settings: Settings) -> bool:
    """Whether `deliver` can send anything: a relay, or the development mail folder."""
    return bool(settings.smtp_host) or not settings.is_production


def mail_folder(settings: Settings) -> Path:
    return settings.var_dir / "mail"


def deliver(settings: Settings, message: EmailMessage, name: str, now: datetime) -> str:
    """Send through the relay; in development without SMTP_HOST, write the message to
    VAR_DIR/mail/<time>-<name>.eml instead. Returns where it went (never the address, which
    must not reach a log). Raises MailNotSent."""
    if settings.smtp_host or settings.is_production:
        relay(settings, message)
        return f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    folder = mail_folder(settings)
    path = folder / f"{now.strftime('%Y%m%dT%H%M%S')}-{name}.eml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(message))
    except OSError as exc:
        raise MailNotSent(f"cannot write {path}: {exc.strerror}") from None
    return str(path)
