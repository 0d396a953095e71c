"""A report's query parameters (from, to, segment), checked the same way for the admin API
and the dashboard."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date
from typing import cast

from service.domain.errors import InvalidRequest
from service.domain.report import Segment

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d takes "١٢٣" too
_SEGMENTS = ("country", "device")


def report_params(args: Mapping[str, str]) -> tuple[date | None, date | None, Segment | None]:
    """from, to and segment, or InvalidRequest naming the bad one."""
    start = _date_param(args, "from")
    end = _date_param(args, "to")
    if start and end and start > end:
        raise InvalidRequest("the date range is empty", {"from": "must be <= to"})
    raw_segment = args.get("segment") or None
    if raw_segment is not None and raw_segment not in _SEGMENTS:
        raise InvalidRequest("unknown segment", {"segment": f"one of {', '.join(_SEGMENTS)}"})
    return start, end, cast(Segment | None, raw_segment)


def _date_param(args: Mapping[str, str], name: str) -> date | None:
    raw = args.get(name)
    if not raw:
        return None
    if _DATE.fullmatch(raw):
        with contextlib.suppress(ValueError):  # 2026-02-30
            return date.fromisoformat(raw)
    raise InvalidRequest(f"{name} is not a date", {name: "use YYYY-MM-DD"})
