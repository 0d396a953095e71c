"""A client reusing event ids on purpose, under other decision tokens, must not make the live
counters (Redis) and the report (SQL) disagree: an event Redis refuses as a duplicate writes
nothing, not even the reader's ledger, whose exposure the payment webhook would otherwise
credit live while SQL, which never stored that impression, does not count it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis.cluster import RedisCluster

from service.jobs.flusher import open_flusher
from service.settings import Settings
from service.store.redis.live_counters import read_live
from service.usecases.build_report import report_for
from service.wiring import Services
from tests.functional.events_support import (
    banner_for,
    donate,
    event,
    post_events,
    start_experiment,
)
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
FIRST = "reader-000001"


def another_visitor(services: Services, visitor: str, *, same_partition: bool) -> str:
    """Another reader whose events go to the same event partition as `visitor`'s, or not."""
    partition = services.keys.partition_of(visitor)
    for n in range(2, 10_000):
        other = f"reader-{n:06d}"
        if (services.keys.partition_of(other) == partition) == same_partition:
            return other
    raise AssertionError("no such reader")


def live_and_sql(services: Services, key: str) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """Per variant (impressions, donations, revenue) as the results page's live counters show
    them, and as the report has them from SQL."""
    experiment = services.experiment_cache.snapshot().by_key[key]
    variants = [v.key for v in experiment.variants]
    live = read_live(services.redis, services.keys, key, variants, services.clock().date())
    assert live is not None
    report = report_for(services, experiment)
    from_live = [
        (v.variant, int(v.count("impression")), int(v.count("conversion")), v.count("revenue"))
        for v in live
    ]
    from_sql = [(r.key, r.impressions, r.payments, r.revenue or 0.0) for r in report.variants]
    return from_live, from_sql


@pytest.mark.parametrize(
    "reuser", ["another_experiment", "another_visitor", "a_visitor_of_another_partition"]
)
def test_an_event_id_reused_under_another_token_changes_neither_figure(
    client: FlaskClient,
    auth: Auth,
    services: Services,
    settings: Settings,
    clock: FakeClock,
    reuser: str,
) -> None:
    start_experiment(client, auth("editor"), targeting={})
    first = banner_for(client, FIRST)
    reused = event(first["token"])
    assert post_events(client, [reused]).json["accepted"] == 1

    if reuser != "another_experiment":
        if reuser != "another_visitor" and isinstance(services.redis, RedisCluster):
            pytest.skip("a cluster's dedupe marks are per partition: SQL alone refuses it")
        same = reuser == "another_visitor"
        donor, key = another_visitor(services, FIRST, same_partition=same), "monthly-ask"
        other = banner_for(client, donor)
    else:
        start_experiment(client, auth("editor"), key="header-ask", placement="header")
        donor, key = FIRST, "header-ask"
        other = banner_for(client, donor, placement="header")
        assert other["experiment"] == key
    # The same id under the other token: a duplicate, which must leave no exposure behind.
    answer = post_events(client, [{**reused, "token": other["token"]}]).json
    assert answer["accepted"] == 0 and answer["duplicates"] == 1
    clock.advance(minutes=5)
    donate(client, settings.webhook_secret, clock(), donor, "pay_reused", amount=25)
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()

    from_live, from_sql = live_and_sql(services, key)
    assert from_live == from_sql
    assert all(payments == 0 for _, _, payments, _ in from_sql)
