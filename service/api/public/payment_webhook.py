"""POST /v1/conversions at the edge: the payment side's signature.

`X-SmallFavor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, at most
5 minutes old (so a captured request cannot be replayed later) and compared in constant time.
Crediting the payment is service/usecases/receive_payment.py's business.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from service.api.http import ApiError

SIGNATURE_HEADER = "X-SmallFavor-Signature"
TOLERANCE_SECONDS = 300
# [0-9], not \d: \d also matches other scripts' digits (١٢٣), which no signer sends.
SIGNATURE_PATTERN = r"t=([0-9]{1,12}),v1=([0-9a-f]{64})"
_SIGNATURE = re.compile(SIGNATURE_PATTERN)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for a body; the payment side computes the same."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, raw: bytes, header: str, now: datetime) -> None:
    """header: the X-SmallFavor-Signature header's value ("" when absent); a 401 unless it
    signs this body, recently."""
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise _unauthorized(f"send {SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256>")
    timestamp = int(match.group(1))
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise _unauthorized("the signature is older than 5 minutes (or from the future)")
    expected = sign(secret, timestamp, raw).split("v1=", 1)[1]
    if not hmac.compare_digest(expected.encode(), match.group(2).encode()):
        raise _unauthorized("the signature does not match")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, {SIGNATURE_HEADER: message})
