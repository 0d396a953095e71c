"""The login throttle on a real Redis: attempts are counted atomically before any password is
checked, every key expires with its window, and a success resets the e-mail's count."""

from __future__ import annotations

import threading

import redis as redis_lib

from service.store.redis.keys import Keys
from service.store.redis.login_throttle import (
    MAX_PER_ADDRESS,
    MAX_PER_EMAIL,
    WINDOW_SECONDS,
    LoginThrottle,
)


def _admit_all_at_once(throttle: LoginThrottle, attempts: list[tuple[str, str]]) -> int:
    start = threading.Barrier(len(attempts))
    admitted: list[bool] = []

    def one(address: str, email: str) -> None:
        start.wait(timeout=60)
        admitted.append(throttle.admit(address, email))

    threads = [threading.Thread(target=one, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(admitted) == len(attempts)
    return sum(admitted)


def test_concurrent_attempts_at_one_e_mail_admit_exactly_the_limit(
    redis_client: redis_lib.Redis,
) -> None:
    throttle = LoginThrottle(redis_client, Keys("sf"))
    attempts = [(f"192.0.2.{i}", "Editor@News.example") for i in range(60)]
    assert _admit_all_at_once(throttle, attempts) == MAX_PER_EMAIL
    assert not throttle.admit("192.0.2.200", "editor@news.example")  # same e-mail, normalised


def test_concurrent_attempts_from_one_address_admit_exactly_its_limit(
    redis_client: redis_lib.Redis,
) -> None:
    throttle = LoginThrottle(redis_client, Keys("sf"))
    attempts = [("198.51.100.1", f"u{i}@news.example") for i in range(MAX_PER_ADDRESS + 20)]
    assert _admit_all_at_once(throttle, attempts) == MAX_PER_ADDRESS


def test_every_count_expires_with_its_window(redis_client: redis_lib.Redis) -> None:
    throttle = LoginThrottle(redis_client, Keys("sf"))
    throttle.admit("192.0.2.1", "a@news.example")
    throttle.succeeded("192.0.2.1", "a@news.example")
    throttle.admit("192.0.2.1", "b@news.example")
    keys = list(redis_client.scan_iter("sf:login:*"))
    assert keys
    for key in keys:
        assert 0 < redis_client.ttl(key) <= WINDOW_SECONDS
    # A window never restarts while attempts keep coming.
    redis_client.expire(keys[0], 5)
    throttle.admit("192.0.2.1", "b@news.example")
    assert redis_client.ttl(keys[0]) <= 5


def test_a_success_resets_the_e_mail_and_takes_its_own_attempt_back(
    redis_client: redis_lib.Redis,
) -> None:
    throttle = LoginThrottle(redis_client, Keys("sf"))
    for _ in range(MAX_PER_EMAIL - 1):
        assert throttle.admit("192.0.2.1", "a@news.example")
    assert throttle.admit("192.0.2.1", "a@news.example")
    throttle.succeeded("192.0.2.1", "a@news.example")
    for _ in range(MAX_PER_EMAIL):
        assert throttle.admit("192.0.2.2", "a@news.example")
    assert not throttle.admit("192.0.2.2", "a@news.example")
    # 192.0.2.1 made 10 attempts, one of them right: nine count against the address.
    address_key = Keys("sf").login_attempts("ip:192.0.2.1")
    assert redis_client.get(address_key) == "9"


def test_a_success_after_the_window_leaves_no_key_without_expiry(
    redis_client: redis_lib.Redis,
) -> None:
    throttle = LoginThrottle(redis_client, Keys("sf"))
    throttle.admit("192.0.2.1", "a@news.example")
    redis_client.flushdb()  # the window ran out between the check and the success
    throttle.succeeded("192.0.2.1", "a@news.example")
    assert list(redis_client.scan_iter("sf:login:*")) == []
