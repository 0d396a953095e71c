"""Export files attached to one e-mail whose body is the run's plain-language digest."""

from __future__ import annotations

from email.message import EmailMessage

from service.domain.export_schedule import DestinationType, EmailDestination
from service.jobs.exports.destinations.base import Delivery, DeliveryFailed
from service.settings import Settings
from service.store.mail import MailNotSent, new_message, relay

__all__ = ["ByEmail", "new_message", "send"]


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


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the relay of SMTP_HOST (service/store/mail.py), or raise
    DeliveryFailed (one line). Verdict alerts (service/jobs/alerts.py) send through here too."""
    try:
        relay(settings, message)
    except MailNotSent as exc:
        raise DeliveryFailed(str(exc)) from None
