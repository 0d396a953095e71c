"""The whole loop as staff see it: decisions, events and donations, the flusher, the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from service.jobs.flusher import open_flusher
from service.settings import Settings
from tests.functional.events_support import (
    banner_for,
    donate,
    event,
    post_events,
    start_experiment,
)

Auth = Callable[[str], dict[str, str]]


def test_what_readers_do_reaches_the_report(
    client: FlaskClient, auth: Auth, services: Any, settings: Settings
) -> None:
    start_experiment(client, auth("editor"), targeting={})
    seen: dict[str, str] = {}
    for i in range(40):
        visitor = f"loop-reader-{i:04d}"
        banner = banner_for(client, visitor)
        seen[visitor] = banner["variant"]
        batch = [event(banner["token"]), event(banner["token"], "view")]
        if i % 5 == 0:
            batch.append(event(banner["token"], "dismiss", reason="remind_later"))
        assert post_events(client, batch).json["accepted"] == len(batch)
    donors = [f"loop-reader-{i:04d}" for i in range(0, 40, 4)]  # 10 donors, $5 monthly each
    for n, visitor in enumerate(donors):
        credited = donate(
            client,
            settings.webhook_secret,
            services.clock(),
            visitor,
            f"pay_loop_{n}",
            frequency="monthly",
        )
        assert credited["credited"], credited

    with open_flusher(settings, 500) as flusher:
        counts = flusher.run_once()
    assert counts.inserted == 40 * 2 + 8 + 10

    report = client.get("/v1/admin/experiments/monthly-ask/report", headers=auth("viewer")).json
    by_key = {v["key"]: v for v in report["variants"]}
    for key in ("control", "five-dollars"):
        arm = by_key[key]
        readers = [v for v, variant in seen.items() if variant == key]
        paid = [v for v in donors if seen[v] == key]
        assert arm["visitors"] == len(readers)
        assert arm["impressions"] == len(readers) and arm["views"] == len(readers)
        assert arm["conversions"] == len(paid)
        assert arm["revenue"] == 5.0 * len(paid)
        assert arm["annualised_value"] == 60.0 * len(paid)
    assert sum(v["dismissals"]["remind_later"] for v in report["variants"]) == 8
    assert len(report["verdicts"]) == 1
