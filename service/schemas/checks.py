"""Typed checks of one JSON value each, with the rule in the words editors see; the field types
of service/schemas/fields.py validate with them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
Check = Callable[[object], T]


class Invalid(Exception):
    """One value broke one rule; the message is shown to the editor as it is."""


# Checks: each takes a raw JSON value and returns the typed value or raises Invalid.


# C0 controls and DEL, except tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# The largest whole number a document may hold where no smaller bound is given: JSON's exact
# integer range, so the number survives every encoder (orjson refuses ints past 64 bits) and
# every SQL column it could reach.
MAX_INTEGER = 2**53 - 1
# The longest list a document may hold where no smaller bound is given; past it, the items are
# not checked one by one.
MAX_LIST_ITEMS = 1000


def integer(lo: int, hi: int | None = None) -> Check[int]:
    top = MAX_INTEGER if hi is None else hi
    span = f"between {lo} and {hi}" if hi is not None else f"of at least {lo}"
    rule = f"must be a whole number {span}"

    def check(value: object) -> int:
        # bool is an int to Python, but true is never a number in a document.
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise Invalid(rule)
        if value > top:
            raise Invalid(rule if hi is not None else f"must be a whole number of at most {top}")
        return value

    return check


def number(
    lo: float, hi: float | None = None, *, above: bool = False, below: bool = False
) -> Check[float]:
    """A finite number from lo to hi; `above` leaves lo out of the range, `below` leaves hi out."""
    if hi is not None and not above and not below:
        rule = f"must be a number between {_bound(lo)} and {_bound(hi)}"
    else:
        parts = [f"greater than {_bound(lo)}" if above else f"of at least {_bound(lo)}"]
        if hi is not None:
            parts.append(f"less than {_bound(hi)}" if below else f"at most {_bound(hi)}")
        rule = "must be a number " + " and ".join(parts)

    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(rule)
        x = float(value)
        # NaN fails every comparison, so it has to be refused by name.
        if not math.isfinite(x) or x < lo or (above and x == lo):
            raise Invalid(rule)
        if hi is not None and (x > hi or (below and x == hi)):
            raise Invalid(rule)
        return x

    return check


def text(max_len: int, *, non_empty: bool = False) -> Check[str]:
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise Invalid("must be a string")
        if non_empty and not value.strip():
            raise Invalid("must not be empty")
        if len(value) > max_len:
            raise Invalid(f"must be at most {max_len} characters")
        if _CONTROL.search(value):
            # NUL in particular: PostgreSQL refuses it in text and JSON.
            raise Invalid("must not contain control characters")
        return value

    return check


def pattern(regex: str, rule: str, normalise: Callable[[str], str] = str) -> Check[str]:
    compiled = re.compile(regex)

    def check(value: object) -> str:
        if isinstance(value, str) and compiled.fullmatch(normalise(value)):
            return normalise(value)
        raise Invalid(rule)

    return check


def choice(kind: type[E]) -> Check[E]:
    def check(value: object) -> E:
        if isinstance(value, str) and value in kind._value2member_map_:
            return kind(value)
        raise Invalid(f"must be one of: {', '.join(kind)}")

    return check


def or_null(check: Check[T]) -> Check[T | None]:
    return lambda value: None if value is None else check(value)


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid("must be true or false")


def http_url(value: object) -> str:
    url = text(2000, non_empty=True)(value)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in the host
        raise Invalid("must be an absolute http or https URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("must be an absolute http or https URL")
    if any(c.isspace() for c in url):
        raise Invalid("must not contain spaces")
    return url


# A dot-atom on each side (RFC 5322), ASCII only: the relay may not speak SMTPUTF8, and a
# control character, a quoted local part or a label that starts or ends with a hyphen is an
# address no relay delivers (it would be retried and fail, or worse, be read as two).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def email_address(value: object) -> str:
    # A numeric last label is an address written as a domain (root@127.0.0.1): the relay
    # would deliver straight to that host, maybe an internal one. Mail goes to domain names.
    if (
        isinstance(value, str)
        and len(value) <= 254
        and _EMAIL.fullmatch(value)
        and not value.rsplit(".", 1)[1].isdigit()
    ):
        return value
    raise Invalid("must be an e-mail address")


CURRENCY = pattern(r"[A-Z]{3}", "must be an ISO 4217 currency code in capitals, such as USD")
