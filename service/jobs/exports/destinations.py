"""Where export files go: a directory under EXPORT_DIR, an HTTPS webhook, or e-mail.

Each delivery either completes or raises DeliveryFailed with a one-line reason, which the run
records; the scheduler retries the whole run. A retried run delivers every file again under
the same names (they carry the run id), so a directory ends up with one copy of each and a
webhook receiver can drop repeats by X-SmallFavor-Export-File.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import smtplib
import ssl
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from service.domain.export_schedule import (
    Destination,
    DirectoryDestination,
    EmailDestination,
    WebhookDestination,
)
from service.domain.webhook_targets import AllowList
from service.jobs.exports import webhook_http
from service.jobs.exports.files import ExportFile, write_atomically
from service.settings import Settings

SIGNATURE_HEADER = "X-SmallFavor-Signature"


class DeliveryFailed(Exception):
    """The destination refused or could not be reached; the message is one line."""


class DeliveryRefused(DeliveryFailed):
    """The service may not deliver there (an internal webhook host): nothing was connected
    to, and retrying cannot help, so the run fails at once."""


def deliver(
    destination: Destination,
    files: Sequence[ExportFile],
    *,
    run_id: int,
    subject: str,
    digest: str,
    settings: Settings,
) -> str:
    """Deliver the files; returns where they went, for the run record."""
    if isinstance(destination, DirectoryDestination):
        return to_directory(settings.export_dir, destination.path, files)
    if isinstance(destination, WebhookDestination):
        return to_webhook(
            destination,
            files,
            run_id=run_id,
            timeout=settings.export_timeout_seconds,
            allow=AllowList.parse(settings.export_webhook_allow),
        )
    return by_email(destination, files, subject=subject, digest=digest, settings=settings)


def to_directory(base: Path, relative: str, files: Sequence[ExportFile]) -> str:
    root = base.resolve()
    target = (root / relative).resolve()
    # Validation already refuses "..", but a symlink inside EXPORT_DIR could still lead out.
    if not target.is_relative_to(root):
        raise DeliveryFailed(f"{relative} resolves outside EXPORT_DIR ({root})")
    try:
        for file in files:
            write_atomically(target / file.name, file.content)
    except OSError as exc:
        raise DeliveryFailed(f"cannot write to {target}: {exc.strerror or exc}") from None
    return str(target)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The same scheme as the payment webhook (DESIGN §3): t=<unix>,v1=<hex HMAC-SHA256>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def to_webhook(
    destination: WebhookDestination,
    files: Sequence[ExportFile],
    *,
    run_id: int,
    timeout: float,
    allow: AllowList,
) -> str:
    # Resolved and checked once for every file of the run: see webhook_http on rebinding.
    try:
        pinned = webhook_http.pin(destination.url, allow)
    except webhook_http.Refused as exc:
        raise DeliveryRefused(f"refused, nothing was sent: {exc}") from None
    except webhook_http.Unresolved as exc:
        raise DeliveryFailed(str(exc)) from None
    for file in files:
        headers = {
            "Content-Type": file.media_type,
            "User-Agent": "smallfavor-export/1",
            SIGNATURE_HEADER: sign(destination.secret, int(time.time()), file.content),
            "X-SmallFavor-Export-Run": str(run_id),
            "X-SmallFavor-Export-File": file.name,
            "X-SmallFavor-Experiment": file.experiment,
        }
        try:
            status = webhook_http.post(pinned, file.content, headers, timeout=timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DeliveryFailed(f"the webhook cannot be reached: {reason}") from None
        if not 200 <= status < 300:
            # A redirect is a failure: urllib-style following would turn the POST into a GET
            # without the file, and would send it to a host nobody checked.
            note = " (redirects are not followed)" if 300 <= status < 400 else ""
            raise DeliveryFailed(f"the webhook answered HTTP {status} to {file.name}{note}")
    return destination.url


def by_email(
    destination: EmailDestination,
    files: Sequence[ExportFile],
    *,
    subject: str,
    digest: str,
    settings: Settings,
) -> str:
    if not settings.smtp_host:
        raise DeliveryFailed("e-mail is not configured on this server: set SMTP_HOST")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(destination.to)
    message["Subject"] = destination.subject or subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    message.set_content(digest)
    for file in files:
        maintype, subtype = file.media_type.split(";")[0].strip().split("/")
        message.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.name)
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
    return "mailto:" + ",".join(destination.to)
