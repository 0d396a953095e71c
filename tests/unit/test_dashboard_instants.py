"""Moments on dashboard pages read as "5 Dec 2026, 17:18 UTC", the exact instant kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from service.dashboard.formatting import instant


def test_an_api_timestamp_reads_as_a_date_with_the_instant_in_its_time_element() -> None:
    assert str(instant("2026-12-05T17:18:00.988045Z")) == (
        '<time datetime="2026-12-05T17:18:00.988045Z" title="2026-12-05T17:18:00.988045Z">'
        "5 Dec 2026, 17:18 UTC</time>"
    )


def test_sql_datetimes_naive_or_in_another_zone_are_shown_in_utc() -> None:
    assert "2 Jan 2026, 03:04 UTC</time>" in str(instant(datetime(2026, 1, 2, 3, 4, 5)))
    paris = datetime(2026, 7, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    shown = str(instant(paris))
    assert 'datetime="2026-06-30T22:30:00Z"' in shown and "30 Jun 2026, 22:30 UTC" in shown
    assert "1 Jul 2026, 00:00 UTC" in str(instant(datetime(2026, 7, 1, tzinfo=UTC)))


def test_no_moment_is_a_dash() -> None:
    assert instant(None) == "—"
    assert instant("") == "—"
