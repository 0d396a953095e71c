"""Numbers and days typed into dashboard forms and query strings, read strictly.

Python is generous where the dashboard must not be: `str.isdigit()` is true for "²" that
`int()` then refuses, `int()` and `float()` take "١٢" or "1_000" and give up past 4,300
digits, and a day next to `date.max` overflows as soon as a report adds one to it. Every
value here is ASCII, of bounded length and inside a range the code after it can compute with,
so a bad one becomes a message beside its field instead of a 500.
"""

from __future__ import annotations

import math
import re
from datetime import date

# 18 digits stay inside a signed 64-bit integer, whatever column or check a number meets.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_DECIMAL_CHARS = 64
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Days a report or a page may ask for. Reports add a day to the last one and pages step back
# up to a year from it, so neither end may sit next to date.min or date.max.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)
DAY_RULE = f"use YYYY-MM-DD, a day from {EARLIEST_DAY} to {LATEST_DAY}"


def integer(raw: str | None) -> int | None:
    """A whole number in ASCII digits (a sign allowed), or None for anything else."""
    text = (raw or "").strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def whole_number(raw: str | None) -> int | None:
    """A whole number of at least 0 (a revision, an index, hours), or None."""
    value = integer(raw)
    return value if value is not None and value >= 0 else None


def decimal(raw: str | None) -> float | None:
    """A finite number written in ASCII (no "nan", "inf" or overflow), or None."""
    text = (raw or "").strip()
    if len(text) > _MAX_DECIMAL_CHARS or not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def day(raw: str) -> date | None:
    """A YYYY-MM-DD day from EARLIEST_DAY to LATEST_DAY, or None."""
    text = raw.strip()
    if not _DAY.fullmatch(text):
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return None
    return value if EARLIEST_DAY <= value <= LATEST_DAY else None
