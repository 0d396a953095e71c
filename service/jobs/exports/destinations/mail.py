"""Export files attached to one e-mail whose body is the run's plain-language digest."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from service.domain.export_schedule import DestinationType, EmailDestination
from service.jobs.exports.destinations.base import Delivery, DeliveryFailed
from service.settings import Settings


class ByEmail:
    kind = DestinationType.email

    def deliver(self, config: EmailDestination, delivery: Delivery) -> str:
        settings = delivery.settings
        message = new_message(settings, config.to, config.subject or delivery.subject)
        message.set_content(delivery.digest)
        for file in delivery.files:
            maintype, subtype = file.media_type.split(";")[0].strip().split("/")
            message.add_attachment(
                file.content, maintype=maintype, subtype=subtype, filename=file.name
            )
        send(settings, message)
        return "mailto:" + ",".join(config.to)


def new_message(settings: Settings, to: Sequence[str], subject: str) -> EmailMessage:
    """A message from SMTP_FROM, its body and attachments still to be added."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the relay of SMTP_HOST, or raise DeliveryFailed (one line).
    Verdict alerts (service/jobs/alerts/) send through here too."""
    if not settings.smtp_host:
        raise DeliveryFailed("e-mail is not configured on this server: set SMTP_HOST")
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
        raise DeliveryFailed(f"SMTP {host}:{port}: {exc}".splitlines()[0]) from None
