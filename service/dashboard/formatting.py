"""Template filters: numbers as staff read them. Missing figures show as a dash, never as
"None" or "nan"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from flask import Blueprint

from service.domain.banner_render import currency_symbol

DASH = "—"


def pct(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f} %"


def signed_pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:+.1f} %"


def money(value: float | None, currency: str) -> str:
    if value is None:
        return DASH
    return f"{currency_symbol(currency)}{value:,.2f}"


def count(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


# A relative lift of -100 % is losing everything; an interval's lower end below it (a normal
# approximation on a handful of donors) is shown as this, never as "-174 %".
BELOW_FLOOR = "below -100 %"


def interval(bounds: Sequence[float] | None) -> str:
    """A relative lift's interval."""
    if not bounds:
        return DASH
    low = BELOW_FLOOR if bounds[0] < -1 else f"{bounds[0] * 100:+.1f} %"
    return f"{low} to {bounds[1] * 100:+.1f} %"


def bound(value: float | None, floor: float | None = None) -> str:
    """A charted interval bound: at the chart's floor (where charts.py stops a lift's band)
    it reads "below -100 %"."""
    if value is not None and floor is not None and value <= floor:
        return BELOW_FLOOR
    return pct(value)


def probability(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.4f}"


def day(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).date().isoformat()


def period(unix_seconds: int, kind: str = "day") -> str:
    """A chart's period by its start: "2026-11-28 06:00" for an hour, "2026-11-28" for a day."""
    if kind == "hour":
        return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M")
    return day(unix_seconds)


def register(bp: Blueprint) -> None:
    for function in (pct, signed_pct, money, count, interval, bound, probability, day, period):
        bp.add_app_template_filter(function)  # named as the function is
