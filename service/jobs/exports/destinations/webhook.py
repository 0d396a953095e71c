"""Export files POSTed one by one to an HTTPS webhook, signed like the payment webhook.

A receiver can drop repeats (a retried run sends every file again) by X-SmallFavor-Export-File.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
from collections.abc import Mapping, Sequence

from service.domain.export_schedule import DestinationType, WebhookDestination
from service.domain.webhook_targets import AllowList
from service.jobs.exports import webhook_http
from service.jobs.exports.destinations.base import Delivery, DeliveryFailed, DeliveryRefused
from service.jobs.exports.files import ExportFile

SIGNATURE_HEADER = "X-SmallFavor-Signature"


class ToWebhook:
    kind = DestinationType.webhook

    def deliver(self, config: WebhookDestination, delivery: Delivery) -> str:
        settings = delivery.settings
        return to_webhook(
            config,
            delivery.files,
            run_id=delivery.run_id,
            timeout=settings.export_timeout_seconds,
            allow=AllowList.parse(settings.export_webhook_allow),
        )


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
    pinned = _pin(destination.url, allow)
    for file in files:
        headers = {
            "Content-Type": file.media_type,
            "User-Agent": "smallfavor-export/1",
            "X-SmallFavor-Export-Run": str(run_id),
            "X-SmallFavor-Export-File": file.name,
            "X-SmallFavor-Experiment": file.experiment,
        }
        _post(pinned, file.content, headers, destination.secret, timeout, f" to {file.name}")
    return destination.url


def post_signed(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    timeout: float,
    allow: AllowList,
) -> None:
    """POST one signed body (a verdict alert, service/jobs/alerts/) under the same SSRF guard
    and signature as export files; DeliveryRefused or DeliveryFailed, with a one-line reason."""
    _post(_pin(url, allow), body, headers, secret, timeout, "")


def _pin(url: str, allow: AllowList) -> webhook_http.Pinned:
    try:
        return webhook_http.pin(url, allow)
    except webhook_http.Refused as exc:
        raise DeliveryRefused(f"refused, nothing was sent: {exc}") from None
    except webhook_http.Unresolved as exc:
        raise DeliveryFailed(str(exc)) from None


def _post(
    pinned: webhook_http.Pinned,
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    timeout: float,
    what: str,
) -> None:
    signed = {**headers, SIGNATURE_HEADER: sign(secret, int(time.time()), body)}
    try:
        status = webhook_http.post(pinned, body, signed, timeout=timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeliveryFailed(f"the webhook cannot be reached: {reason}") from None
    if not 200 <= status < 300:
        # A redirect is a failure: urllib-style following would turn the POST into a GET
        # without the body, and would send it to a host nobody checked.
        note = " (redirects are not followed)" if 300 <= status < 400 else ""
        raise DeliveryFailed(f"the webhook answered HTTP {status}{what}{note}")
