"""Reading a point in time that a client sent: ISO 8601 with a time zone, in a range every
later step can do arithmetic on.

Python accepts 0001-01-01T00:00:00+05:00 and 9999-12-31T23:59:59-23:59, but converting them to
UTC leaves the years datetime can hold (OverflowError), and a time at either end still
overflows once a window or a day is added to it. So every client's time is read here, and only
[1970-01-01, 9999-01-01) UTC is accepted: a year of headroom at the top, and nothing before
the Unix epoch, which no event, payment or schedule of this service can have happened at.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
# The longest ISO 8601 form: 2026-11-28T12:00:00.123456+05:30:00.123456
MAX_LENGTH = 40
RULE = "must be an ISO 8601 time with a time zone, between 1970 and 9998"


class InstantInvalid(ValueError):
    """The text is not a time this service accepts; the message says why."""


def parse_instant(value: object) -> datetime:
    """The UTC time `value` (a string such as 2026-11-28T12:00:00Z) stands for."""
    if not isinstance(value, str) or not value.isascii() or len(value) > MAX_LENGTH:
        raise InstantInvalid(RULE)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InstantInvalid(RULE) from None
    return checked_instant(parsed)


def checked_instant(value: datetime) -> datetime:
    """An aware datetime in UTC, refused when naive or outside the accepted range."""
    if value.utcoffset() is None:
        raise InstantInvalid("needs a time zone, such as 2026-11-01T09:00:00Z")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise InstantInvalid(RULE) from None
    if not EARLIEST <= utc < LATEST:
        raise InstantInvalid(RULE)
    return utc


def iso_utc(moment: datetime) -> str:
    """How JSON bodies and files write a time: ISO 8601 in UTC, "Z" for the offset."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
