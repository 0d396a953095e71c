"""The ledger's round trips and TTL on a real Redis, and the experiment cache's freshness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib
from redis.connection import AbstractConnection

from service.api.public.decision_params import parse_decision_request
from service.domain.experiment import Experiment
from service.domain.tokens import TokenSigner
from service.schemas.experiment import parse_experiment
from service.store.experiment_cache import ExperimentCache
from service.store.redis.keys import Keys
from service.store.redis.ledger import LedgerStore
from service.usecases.decide import Decider
from tests.support import FakeClock, experiment_doc


class RoundTrips:
    """Counts what travels to Redis: every write to a connection's socket (a command, or a
    whole pipeline packed together) is one round trip."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = AbstractConnection.send_packed_command

        def send(conn: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(conn, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", send)


def running(key: str, **overrides: Any) -> Experiment:
    return parse_experiment(experiment_doc(key=key, status="running", **overrides))


@pytest.fixture
def decider(redis_client: redis_lib.Redis) -> Iterator[Any]:
    experiments: list[Experiment] = []
    cache = ExperimentCache(lambda: experiments, lambda: 1, check_every=3600)
    store = LedgerStore(redis_client, Keys("sf"), ttl_seconds=86_400)
    yield Decider(cache, store, TokenSigner("k" * 40), FakeClock(), keys=Keys("sf")), experiments


def ask(decider: Decider, visitor: str, **params: str) -> dict[str, Any]:
    request = parse_decision_request(
        {"visitor": visitor, "placement": "article-end", **params},
        user_agent="Mozilla/5.0 (iPhone) Mobile",
        country="US",
    )
    return decider.answer(request)


def warm_up(the_decider: Decider) -> None:
    """Connections are made, and scripts loaded, on first use of each server: on a cluster,
    forty visitors' slots cover three masters many times over. The thread keeps one
    connection for the hot path; a store of an assignment takes another from the pool, made
    here too (a new connection's handshake would count as round trips)."""
    for n in range(40):
        ask(the_decider, f"reader-warm-up-{n}")
        the_decider._ledger.store_assignment(f"reader-warm-up-{n}", "warm-up", "control")


def test_one_round_trip_for_new_and_returning_readers(decider, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    the_decider, experiments = decider
    experiments.append(running("ask"))
    warm_up(the_decider)
    trips = RoundTrips(monkeypatch)
    first = ask(the_decider, "reader-000001")
    assert first["banner"] is not None
    assert trips.count == 1
    ask(the_decider, "reader-000001")
    assert trips.count == 2


def test_second_trip_only_when_the_guess_was_wrong(decider, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    the_decider, experiments = decider
    experiments.extend(
        [
            running("ask", priority=10, targeting={"audience": "non_supporters"}),
            running("thanks", priority=1, targeting={"audience": "supporters"}),
        ]
    )
    warm_up(the_decider)
    trips = RoundTrips(monkeypatch)
    body = ask(the_decider, "reader-000002", supporter="1")
    assert body["banner"]["experiment"] == "thanks"
    assert trips.count == 2


def test_ledger_has_a_ttl_and_keeps_the_first_assignment(redis_client: redis_lib.Redis) -> None:
    store = LedgerStore(redis_client, Keys("sf"), ttl_seconds=1000)
    store.read("reader-000003", ("ask", "control"))
    store.read("reader-000003", ("ask", "five-dollars"))
    store.store_assignment("reader-000003", "ask", "other")
    key = Keys("sf").ledger("reader-000003")
    assert redis_client.hgetall(key) == {"a:ask": "control"}
    assert 990 < redis_client.ttl(key) <= 1000


def test_a_ledger_under_its_former_key_is_read_and_moved(redis_client: redis_lib.Redis) -> None:
    keys = Keys("sf")
    store = LedgerStore(redis_client, keys, ttl_seconds=1000)
    redis_client.hset(keys.former_ledger("reader-000004"), mapping={"a:ask": "control"})
    assert store.read("reader-000004", ("other", "b")) == {"a:ask": "control"}
    assert not redis_client.exists(keys.former_ledger("reader-000004"))
    moved = redis_client.hgetall(keys.ledger("reader-000004"))
    assert moved == {"a:ask": "control", "a:other": "b"}
    assert 990 < redis_client.ttl(keys.ledger("reader-000004")) <= 1000


def test_a_thread_per_request_server_neither_leaks_nor_exhausts_connections(
    redis_url: str,
) -> None:
    """Each thread keeps a connection for the hot path (one_round_trip.py); a thread that ends
    gives it back, so a server starting a thread per request reuses a few connections."""
    import threading

    from tests.support import redis_for_tests

    client = redis_for_tests(redis_url)
    pools = (
        [node.redis_connection.connection_pool for node in client.get_nodes()]
        if hasattr(client, "get_nodes")
        else [client.connection_pool]
    )
    for pool in pools:
        pool.max_connections = 20
    store = LedgerStore(client, Keys("sf"), ttl_seconds=1000)
    failures: list[BaseException] = []

    def one_request(n: int) -> None:
        try:
            store.read(f"reader-thread-{n:04d}", ("ask", "control"))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)

    for n in range(300):
        thread = threading.Thread(target=one_request, args=(n,))
        thread.start()
        thread.join()
    assert not failures, failures[:3]
    assert client.hget(Keys("sf").ledger("reader-thread-0299"), "a:ask") == "control"
    client.close()


def test_cache_reloads_when_the_version_moves_and_not_more_than_asked() -> None:
    loads: list[int] = []
    version = [1]
    now = [0.0]
    experiments = [running("ask")]

    def load() -> list[Experiment]:
        loads.append(1)
        return experiments

    cache = ExperimentCache(
        load, lambda: version[0], check_every=1.0, max_age=30.0, monotonic=lambda: now[0]
    )
    cache.snapshot()
    assert len(loads) == 1
    version[0] = 2
    now[0] = 0.5
    cache.snapshot()
    assert len(loads) == 1  # checked at most once a second
    now[0] = 1.0
    assert cache.snapshot().version == 2
    assert len(loads) == 2
    now[0] = 2.5
    cache.snapshot()
    assert len(loads) == 2  # unchanged version, not stale yet
    now[0] = 40.0
    cache.snapshot()
    assert len(loads) == 3  # stale: reloaded even though the version did not move


def test_cache_keeps_serving_when_redis_or_sql_fail() -> None:
    now = [0.0]
    fail = {"sql": False, "redis": False}

    def load() -> list[Experiment]:
        if fail["sql"]:
            raise RuntimeError("sql down")
        return [running("ask")]

    def version() -> int:
        if fail["redis"]:
            raise redis_lib.ConnectionError("redis down")
        return 1

    cache = ExperimentCache(load, version, check_every=1.0, max_age=30.0, monotonic=lambda: now[0])
    assert list(cache.snapshot().by_key) == ["ask"]
    fail.update(sql=True, redis=True)
    now[0] = 100.0
    assert list(cache.snapshot().by_key) == ["ask"]


def test_ledger_read_survives_a_script_flush(redis_client: redis_lib.Redis) -> None:
    store = LedgerStore(redis_client, Keys("sf"), ttl_seconds=1000)
    redis_client.hset(Keys("sf").ledger("reader-000004"), "a:ask", "control")
    redis_client.script_flush()
    assert store.read("reader-000004") == {"a:ask": "control"}
    assert store.read("reader-000004") == {"a:ask": "control"}
