"""POST /v1/events when Redis times out: the events go straight to SQL, and however the copies
of an event arrive (during the outage, after it, in either order) the answers accept it at most
once, the live counters count it at most once and SQL stores and counts it exactly once.

A copy stored straight in SQL is answered `pending`, not `accepted`: without Redis the service
cannot tell whether it is the first copy (an earlier one may still wait in the stream), and the
live counters do not include it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient

from service.jobs.flusher import Flusher
from service.store.redis.event_ingest import EventIngest
from service.store.redis.event_streams import PartitionedStreams
from service.store.sql.event_writer import EventWriter
from service.wiring import Services
from tests.functional.events_support import banner_for, event, post_events, start_experiment
from tests.functional.test_conversions import pay
from tests.integration.flush_support import event_counts, rollups
from tests.support import live_counts, stream_length

Auth = Callable[[str], dict[str, str]]
VISITOR = "reader-fallback-01"


class RedisTimeouts:
    """Makes the events path's round trip to Redis time out, as a loaded machine did: either
    before Redis ran anything (`ran=False`) or after the scripts ran and only the reply was
    late (`ran=True`). `on = False` is Redis answering again. It stands in for the whole of
    EventIngest.record, which on a cluster is two round trips (the rate count first)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        self.ran = False
        real = EventIngest.record

        def record(ingest: EventIngest, *args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return real(ingest, *args, **kwargs)
            if self.ran:
                # The scripts must have run before the made-up timeout. On a loaded machine
                # the real call can time out too (leaving it unknown whether they ran), so it
                # is repeated until it answers: the dedupe marks make a second run a no-op.
                while True:
                    try:
                        real(ingest, *args, **kwargs)
                        break
                    except redis_lib.TimeoutError:
                        continue
            raise redis_lib.TimeoutError("Timeout reading from socket")

        monkeypatch.setattr(EventIngest, "record", record)


@pytest.fixture
def timeouts(monkeypatch: pytest.MonkeyPatch) -> RedisTimeouts:
    return RedisTimeouts(monkeypatch)


@pytest.fixture
def token(client: FlaskClient, auth: Auth) -> Iterator[str]:
    start_experiment(client, auth("editor"))
    yield banner_for(client, VISITOR)["token"]


def flush(app: Flask) -> None:
    svc: Services = app.extensions["smallfavor"]
    Flusher(
        PartitionedStreams(svc.redis, svc.keys, "test-flusher"), EventWriter(svc.engine)
    ).run_once()


def live_impressions(services: Services) -> int:
    day = services.clock().strftime("%Y-%m-%d")
    counts = live_counts(services.redis, services.keys, "monthly-ask", day)
    return sum(int(float(v)) for k, v in counts.items() if k.endswith(":impression"))


def stored_impressions(services: Services) -> int:
    return sum(row["impressions"] for row in rollups(services.engine).values())


def answers(*responses: Any) -> dict[str, int]:
    """accepted / duplicates / pending summed over several answers."""
    for response in responses:
        assert response.status_code == 202, response.json
    return {
        name: sum(int(r.json.get(name, 0)) for r in responses)
        for name in ("accepted", "duplicates", "pending")
    }


def test_a_copy_stored_while_redis_timed_out_is_not_accepted_twice_when_resent(
    app: Flask, client: FlaskClient, services: Services, token: str, timeouts: RedisTimeouts
) -> None:
    impression = event(token)
    timeouts.on = True
    during = post_events(client, [impression])
    assert event_counts(services.engine) == (1, 1)  # stored, straight in SQL
    assert live_impressions(services) == 0

    timeouts.on = False  # Redis answers again; the snippet (or a beacon) sends it once more
    after = post_events(client, [impression])
    again = post_events(client, [impression])
    assert answers(during, after, again) == {"accepted": 1, "duplicates": 1, "pending": 1}
    assert during.json["pending"] == 1 and after.json["accepted"] == 1
    assert live_impressions(services) == 1  # the copy Redis accepted, once

    flush(app)
    assert event_counts(services.engine) == (1, 1)
    assert stored_impressions(services) == 1
    assert stream_length(services.redis, services.keys) == 0


def test_a_late_reply_from_redis_leaves_one_copy_and_one_count(
    app: Flask, client: FlaskClient, services: Services, token: str, timeouts: RedisTimeouts
) -> None:
    impression = event(token)
    timeouts.on = timeouts.ran = True  # the script ran; only its reply timed out
    during = post_events(client, [impression])
    assert live_impressions(services) == 1  # Redis did count it

    timeouts.on = False
    after = post_events(client, [impression])
    assert answers(during, after) == {"accepted": 0, "duplicates": 1, "pending": 1}
    assert live_impressions(services) == 1

    flush(app)  # the stream's copy meets the one already stored
    assert event_counts(services.engine) == (1, 1)
    assert stored_impressions(services) == 1


def test_a_resend_stored_in_sql_while_the_first_copy_waits_in_the_stream_is_not_accepted(
    app: Flask, client: FlaskClient, services: Services, token: str, timeouts: RedisTimeouts
) -> None:
    impression = event(token)
    first = post_events(client, [impression])
    assert first.json["accepted"] == 1 and live_impressions(services) == 1

    timeouts.on = True  # not flushed yet: SQL does not know the event, so it cannot say
    during = post_events(client, [impression])
    assert answers(first, during) == {"accepted": 1, "duplicates": 0, "pending": 1}
    assert live_impressions(services) == 1

    flush(app)  # the stream's copy is a duplicate in SQL: stored and counted once
    assert event_counts(services.engine) == (1, 1)
    assert stored_impressions(services) == 1

    late = post_events(client, [impression])  # still down, and now SQL knows it
    assert answers(late) == {"accepted": 0, "duplicates": 1, "pending": 0}
    timeouts.on = False
    assert post_events(client, [impression]).json["duplicates"] == 1
    assert live_impressions(services) == 1


@pytest.mark.parametrize("ran", [False, True], ids=["before-the-script", "after-the-script"])
def test_a_payment_whose_redis_reply_timed_out_is_credited_once_on_the_retry(
    app: Flask,
    client: FlaskClient,
    services: Services,
    token: str,
    timeouts: RedisTimeouts,
    ran: bool,
) -> None:
    """The webhook has no SQL fallback: it answers 503, keeps nothing in SQL, and the
    provider's retry credits the payment once, whether or not the timed-out script ran."""
    assert post_events(client, [event(token)]).json["accepted"] == 1
    body = {"id": "pay_timeout_1", "visitor": VISITOR, "amount": 10.0, "currency": "USD"}
    timeouts.on, timeouts.ran = True, ran
    assert pay(client, services, body).status_code == 503
    timeouts.on = False
    retried = pay(client, services, body)
    assert retried.status_code == 200 and retried.json["duplicate"] is False
    assert pay(client, services, body).json["duplicate"] is True

    day = services.clock().strftime("%Y-%m-%d")
    live = live_counts(services.redis, services.keys, "monthly-ask", day)
    assert sum(float(v) for k, v in live.items() if k.endswith(":conversion")) == 1
    flush(app)
    assert sum(row["conversions"] for row in rollups(services.engine).values()) == 1
    assert event_counts(services.engine) == (2, 2)  # the impression and one credit
