"""Signed tokens: decision tokens (snippet → events) and preview tokens (staff QA links).

Decision token, URL-safe and at most 160 characters:

    <kind>.<visitor>.<experiment>.<variant>.<issued, base 36 epoch seconds>.<MAC>

kind is "d" (a real decision) or "q" (a QA decision, whose events never reach results). The
fields are already URL-safe by validation and cannot contain "."; the MAC is HMAC-SHA256 over
the text before it, keyed with a key derived for this purpose from SECRET_KEY, truncated to
96 bits (as IPsec's HMAC-SHA-256-128 and similar truncations do: forging still needs ~2**96
tries, each a request). Worst case: 1+64+40+24+7+16 characters + 5 dots = 157.

Preview token: "p.<experiment>.<variant>.<expires, base 36>.<MAC>" with its own derived key,
so a decision token can never pass as a preview token or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from service.domain import base36

DECISION_MAX_LENGTH = 160
# A decision token is issued before anything it names can happen; this much clock skew
# between the service's processes is allowed for (event times, the dedupe window).
CLOCK_SKEW_SECONDS = 60
_MAC_BYTES = 12


class TokenInvalid(ValueError):
    """The token is malformed, forged, or expired; the message says which."""


@dataclass(frozen=True, slots=True)
class DecisionClaims:
    visitor: str
    experiment: str
    variant: str
    issued_at: int
    qa: bool


@dataclass(frozen=True, slots=True)
class PreviewClaims:
    experiment: str
    variant: str
    expires_at: int


def _keyed(secret: str, purpose: str) -> hmac.HMAC:
    """An HMAC already keyed for one purpose; copying it skips the key setup on every call."""
    key = hmac.new(secret.encode(), f"smallfavor:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _mac(keyed: hmac.HMAC, body: str) -> str:
    mac = keyed.copy()
    mac.update(body.encode())
    return base64.urlsafe_b64encode(mac.digest()[:_MAC_BYTES]).decode().rstrip("=")


def _same_mac(given: str, expected: str) -> bool:
    """Constant-time comparison of a MAC from a client with ours. compare_digest refuses str
    with characters beyond ASCII (TypeError), so both sides are compared as UTF-8 bytes."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


class TokenSigner:
    """Signs and verifies both kinds of token with keys derived from one secret."""

    def __init__(self, secret: str) -> None:
        self._decision_key = _keyed(secret, "decision")
        self._preview_key = _keyed(secret, "preview")

    def decision(
        self, visitor: str, experiment: str, variant: str, issued_at: int, qa: bool
    ) -> str:
        body = f"{'q' if qa else 'd'}.{visitor}.{experiment}.{variant}.{base36.encode(issued_at)}"
        return f"{body}.{_mac(self._decision_key, body)}"

    def verify_decision(self, token: str, now: int, max_age_seconds: int) -> DecisionClaims:
        if len(token) > DECISION_MAX_LENGTH:
            raise TokenInvalid("token is too long")
        parts = token.split(".")
        if not token.isascii() or len(parts) != 6 or parts[0] not in ("d", "q"):
            raise TokenInvalid("token is malformed")
        body, mac = token.rsplit(".", 1)
        if not _same_mac(mac, _mac(self._decision_key, body)):
            raise TokenInvalid("token signature does not match")
        kind, visitor, experiment, variant, issued_raw = parts[:5]
        try:
            issued_at = int(issued_raw, 36)
        except ValueError:
            raise TokenInvalid("token is malformed") from None
        if issued_at > now + 300:
            raise TokenInvalid("token is issued in the future")
        if now - issued_at > max_age_seconds:
            raise TokenInvalid("token has expired")
        return DecisionClaims(visitor, experiment, variant, issued_at, kind == "q")

    def preview(self, experiment: str, variant: str, expires_at: int) -> str:
        body = f"p.{experiment}.{variant}.{base36.encode(expires_at)}"
        return f"{body}.{_mac(self._preview_key, body)}"

    def verify_preview(self, token: str, now: int) -> PreviewClaims:
        parts = token.split(".")
        if not token.isascii() or len(parts) != 5 or parts[0] != "p":
            raise TokenInvalid("preview token is malformed")
        body, mac = token.rsplit(".", 1)
        if not _same_mac(mac, _mac(self._preview_key, body)):
            raise TokenInvalid("preview token signature does not match")
        try:
            expires_at = int(parts[3], 36)
        except ValueError:
            raise TokenInvalid("preview token is malformed") from None
        if now >= expires_at:
            raise TokenInvalid("preview token has expired")
        return PreviewClaims(parts[1], parts[2], expires_at)
