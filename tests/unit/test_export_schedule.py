"""Export schedules: validation with field paths, and fire times across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.errors import ValidationFailed
from service.domain.export_schedule import (
    REDACTED,
    WebhookDestination,
    fire_times_between,
    next_fire_times,
    retry_delay,
)
from service.domain.webhook_targets import AllowList
from service.schemas.exports import parse_schedule

BERLIN = "Europe/Berlin"


def doc(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "Weekly board report",
        "cron": "0 6 * * 1",
        "timezone": BERLIN,
        "experiments": ["monthly-ask"],
        "format": "parquet",
        "destination": {"type": "webhook", "url": "https://hooks.example/x", "secret": "s" * 20},
    }
    document.update(overrides)
    return document


def errors_of(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_schedule(document)
    return caught.value.fields


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_valid_document_round_trips_and_redacts_the_secret() -> None:
    schedule = parse_schedule(doc())
    assert schedule.enabled and schedule.catch_up  # defaults
    assert isinstance(schedule.destination, WebhookDestination)
    again = parse_schedule(schedule.to_document())
    assert again == schedule
    assert schedule.to_document(redact=True)["destination"]["secret"] == REDACTED
    assert parse_schedule(doc(experiments="all_running")).experiments is None


def test_every_bad_field_is_named_by_its_path() -> None:
    errors = errors_of(
        doc(
            name=" ",
            cron="0 6 * *",
            timezone="Mars/Olympus",
            experiments=["monthly-ask", "Bad Key", "monthly-ask"],
            format="xlsx",
            enabled="yes",
            colour="blue",
            destination={"type": "webhook", "url": "http://hooks.example/x", "secret": "short"},
        )
    )
    assert set(errors) == {
        "name",
        "cron",
        "timezone",
        "experiments[1]",
        "experiments[2]",
        "format",
        "enabled",
        "colour",
        "destination.url",
        "destination.secret",
    }
    assert "https" in errors["destination.url"]
    assert errors["colour"] == "unknown field"


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("0 0 30 2 *", "not a valid cron"),  # parses, never fires
        ("61 * * * *", "not a valid cron"),
        ("R 6 * * *", "random"),  # every scheduler would pick another minute
        ("0 0 * * * *", "5 fields"),  # seconds are not offered
        ("@reboot", "5 fields"),
    ],
)
def test_cron_expressions_that_cannot_be_scheduled_are_refused(cron: str, reason: str) -> None:
    assert reason in errors_of(doc(cron=cron))["cron"]


def test_aliases_are_accepted() -> None:
    assert parse_schedule(doc(cron="@Daily")).cron == "@daily"


@pytest.mark.parametrize(
    ("destination", "field", "reason"),
    [
        ({"type": "directory", "path": "../etc"}, "destination.path", "without .."),
        ({"type": "directory", "path": "/etc/cron.d"}, None, None),  # made relative
        ({"type": "email", "to": []}, "destination.to", "1 to 20"),
        ({"type": "email", "to": ["not-an-address"]}, "destination.to[0]", "e-mail"),
        ({"type": "email", "to": ["a@b.org", "root@127.0.0.1"]}, "destination.to[1]", "e-mail"),
        ({"type": "email", "to": ["root@2130706433.0"]}, "destination.to[0]", "e-mail"),
        ({"type": "email", "to": ["a@b.org"], "subject": "x\nBcc: all"},
         "destination.subject", "one line"),
        ({"type": "ftp"}, "destination.type", "one of"),
        ({"type": "webhook", "url": "https://u:p@hooks.example", "secret": "s" * 16},
         "destination.url", "password"),
        ({"type": "directory", "path": "ok", "url": "x"}, "destination.url", "unknown field"),
    ],
)  # fmt: skip
def test_destinations_are_checked(
    destination: dict[str, Any], field: str | None, reason: str | None
) -> None:
    if field is None:
        assert parse_schedule(doc(destination=destination)).destination.to_document() == {
            "type": "directory",
            "path": "etc/cron.d",
        }
        return
    assert reason is not None and reason in errors_of(doc(destination=destination))[field]


def test_this_machine_only_through_the_allow_list_and_then_plain_http_too() -> None:
    local = {"type": "webhook", "url": "http://127.0.0.1:8080/hook", "secret": "s" * 16}
    assert "loopback" in errors_of(doc(destination=local))["destination.url"]
    allowed = parse_schedule(doc(destination=local), webhook_allow=AllowList.parse(["127.0.0.0/8"]))
    assert allowed.destination.to_document()["url"] == "http://127.0.0.1:8080/hook"


def test_not_an_object_and_missing_fields() -> None:
    assert errors_of([])  # type: ignore[arg-type]
    errors = errors_of({})
    assert {"name", "cron", "experiments", "format", "destination"} <= set(errors)


# Fire times. Europe/Berlin: clocks go forward 2026-03-29 02:00 → 03:00 and back
# 2026-10-25 03:00 → 02:00.


def test_next_fire_times_follow_local_time_across_the_change() -> None:
    # 06:00 local is 05:00 UTC in winter and 04:00 UTC in summer.
    fires = next_fire_times("0 6 * * *", BERLIN, utc(2026, 3, 27, 12), 3)
    assert fires == [utc(2026, 3, 28, 5), utc(2026, 3, 29, 4), utc(2026, 3, 30, 4)]


def test_a_time_skipped_by_dst_fires_right_after_the_gap() -> None:
    fires = next_fire_times("30 2 * * *", BERLIN, utc(2026, 3, 27, 12), 3)
    # 02:30 does not exist on Mar 29: the run happens at 03:00 CEST (01:00 UTC), not never.
    assert fires == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]


def test_slots_inside_the_gap_collapse_into_one_run() -> None:
    fires = next_fire_times("*/30 * * * *", BERLIN, utc(2026, 3, 29, 0, 10), 3)
    # 01:30 CET, then 02:00 and 02:30 (missing) both become 03:00 CEST, then 03:30 CEST.
    assert fires == [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]


def test_a_repeated_local_time_fires_once() -> None:
    fires = next_fire_times("30 2 * * *", BERLIN, utc(2026, 10, 24, 12), 2)
    # 02:30 happens twice on Oct 25 (CEST, then CET): one run, at the first.
    assert fires == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    hourly = next_fire_times("0 * * * *", BERLIN, utc(2026, 10, 24, 22, 30), 3)
    # 01:00 CEST, 02:00 CEST, (02:00 CET skipped), 03:00 CET.
    assert hourly == [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 2)]


def test_the_same_rule_holds_walking_backwards_for_catch_up() -> None:
    fall = fire_times_between("30 2 * * *", BERLIN, utc(2026, 10, 23), utc(2026, 10, 27), limit=9)
    assert fall == [
        utc(2026, 10, 23, 0, 30),
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]
    spring = fire_times_between(
        "30 2 * * *", BERLIN, utc(2026, 3, 28, 2), utc(2026, 3, 31, 1), limit=9
    )
    assert spring == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_new_york_changes_on_other_dates() -> None:
    # 09:00 EST is 14:00 UTC; from Mar 8 09:00 EDT is 13:00 UTC.
    fires = next_fire_times("0 9 * * *", "America/New_York", utc(2026, 3, 7, 12), 3)
    assert fires == [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]
    assert next_fire_times("0 9 * * *", "America/New_York", utc(2026, 3, 8, 0), 1) == [
        utc(2026, 3, 8, 13)
    ]


def test_due_fire_times_bounds_catch_up_and_includes_now() -> None:
    schedule = parse_schedule(doc(cron="0 6 * * *", timezone="UTC"))
    now = utc(2026, 11, 28, 6)  # exactly a fire time: due now
    due = schedule.due_fire_times(anchor=utc(2026, 11, 20, 12), now=now, limit=100)
    assert due == [utc(2026, 11, day, 6) for day in range(21, 29)]
    assert schedule.due_fire_times(anchor=utc(2026, 11, 20, 12), now=now, limit=3) == due[-3:]
    assert schedule.due_fire_times(anchor=now, now=now, limit=100) == []
    no_catch_up = parse_schedule(doc(cron="0 6 * * *", timezone="UTC", catch_up=False))
    assert no_catch_up.due_fire_times(anchor=utc(2026, 11, 20), now=now, limit=100) == [now]


def test_retry_delay_doubles_up_to_a_cap() -> None:
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(30, 60) == timedelta(hours=6)
