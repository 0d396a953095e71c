"""Template filters: numbers as staff read them. Missing figures show as a dash, never as
"None" or "nan"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from flask import Blueprint
from markupsafe import Markup

from service.domain.banner_render import currency_symbol
from service.domain.report_metrics import metric_label

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


# Not strftime's %b, which follows the process's locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def instant(value: datetime | str | None) -> Markup | str:
    """A moment as people read it, "5 Dec 2026, 17:18 UTC", in a <time> element whose
    datetime attribute keeps the exact ISO 8601 instant (local_time.js rewrites the text in
    the viewer's own time zone). Accepts the API resources' ISO strings and SQL's datetimes;
    a naive datetime is UTC, as everything the service stores."""
    if value is None or value == "":
        return DASH
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(UTC)
    exact = moment.isoformat().replace("+00:00", "Z")
    readable = f"{moment.day} {_MONTHS[moment.month - 1]} {moment:%Y, %H:%M} UTC"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(exact, exact, readable)


def register(bp: Blueprint) -> None:
    functions = (
        pct,
        signed_pct,
        money,
        count,
        interval,
        bound,
        probability,
        day,
        period,
        instant,
        metric_label,
    )
    for function in functions:
        bp.add_app_template_filter(function)  # named as the function is
