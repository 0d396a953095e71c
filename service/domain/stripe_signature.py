"""Stripe's webhook signature, checked exactly as Stripe signs it.

`Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`, where each v1 is the
hex HMAC-SHA256 of "<t>.<raw body>" under an endpoint's signing secret (whsec_…). While a
secret rolls in Stripe's dashboard, Stripe sends one v1 per live secret; while it rolls on our
side, STRIPE_WEBHOOK_SECRET holds several secrets. Either way one match is enough. v0 (Stripe's
test scheme) and unknown schemes are ignored, as Stripe's own libraries do.

The timestamp is signed too, so a captured request cannot be replayed once it is older than the
tolerance; one too far in the future is refused as well (a signer with a wrong clock, or a
request forged for later). Comparison is constant time (hmac.compare_digest). Time passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

HEADER = "Stripe-Signature"
# Stripe's libraries' default.
TOLERANCE_SECONDS = 300
# Far more than Stripe sends (one v1 per live secret); bounds the work a hostile header makes.
MAX_HEADER_LENGTH = 4096
# What Stripe sends, for the API's description (the parser below is more lenient, as Stripe's
# own libraries are: unknown schemes are skipped, not refused).
HEADER_PATTERN = r"t=[0-9]{1,12}(,v[01]=[0-9a-f]{64})+"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SignatureRefused(Exception):
    """The header does not prove the body came from Stripe, recently; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex v1 signature of `body` sent at `timestamp`, as Stripe computes it."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The header Stripe would send for `body` (a local stand-in for Checkout signs with it)."""
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"


def verify(
    secrets: Sequence[str],
    body: bytes,
    header: str | None,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """The signed timestamp, if `header` signs `body` under one of `secrets` within
    `tolerance` seconds of `now` (unix seconds); else SignatureRefused."""
    timestamp, signatures = _parse(header)
    expected = [compute_signature(secret, timestamp, body) for secret in secrets]
    # Every pair compared in full: how long this takes says nothing about how close a guess is.
    matched = False
    for signature in signatures:
        for candidate in expected:
            matched |= hmac.compare_digest(candidate.encode(), signature.encode())
    if not matched:
        raise SignatureRefused(
            "no v1 signature matches this body under STRIPE_WEBHOOK_SECRET: check that the "
            "endpoint's signing secret (whsec_…) is the one configured, and that the body "
            "reaches the service unchanged"
        )
    if timestamp < now - tolerance:
        raise SignatureRefused(
            f"the signature's timestamp is {int(now - timestamp)} s old, over the "
            f"{tolerance} s tolerance (a replayed request, or a clock far off)"
        )
    if timestamp > now + tolerance:
        raise SignatureRefused(
            f"the signature's timestamp is {int(timestamp - now)} s in the future, over the "
            f"{tolerance} s tolerance (check the signer's clock)"
        )
    return timestamp


def _parse(header: str | None) -> tuple[int, list[str]]:
    if header is None or not header.strip():
        raise SignatureRefused(f"missing: send {HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256>")
    if len(header) > MAX_HEADER_LENGTH:
        raise SignatureRefused(f"longer than {MAX_HEADER_LENGTH} characters")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureRefused(f"malformed: {item.strip()[:40]!r} is not key=value")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise SignatureRefused("malformed: needs exactly one t=<unix seconds>")
    # A v1 that is not 64 hex digits cannot match; kept out so a match is always a real one.
    signatures = [s for s in signatures if _HEX_SIGNATURE.fullmatch(s)]
    if not signatures:
        raise SignatureRefused("malformed: no v1=<64 hex digits> signature")
    return int(timestamps[0]), signatures
