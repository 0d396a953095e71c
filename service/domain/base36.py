"""Base 36 for integers in compact text: token timestamps and ledger impression times."""

from __future__ import annotations

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode(value: int) -> str:
    """A non-negative integer in lower-case base 36; `int(text, 36)` reads it back."""
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = _DIGITS[rest] + out
        if not value:
            return out
