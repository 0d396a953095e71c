"""Parallel logins cannot outrun the login limit: each attempt is counted before its password
is checked, so at most the limit's worth of passwords is ever checked in a window."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.store.redis.login_throttle import MAX_PER_ADDRESS, MAX_PER_EMAIL
from service.wiring import Services
from tests.functional.dashboard_support import csrf, make_user


class CountingVerify:
    """Stands in for the password check: counts calls and holds each one until every request
    has either reached it or finished without it, so that all requests are in flight at once
    (the widest race a real server could see)."""

    def __init__(self, requests: int) -> None:
        self.requests = requests
        self.checks = 0
        self.finished = 0
        self._changed = threading.Condition()
        self._release = threading.Event()

    def __call__(self, email: str, password: str, now: Any) -> None:
        with self._changed:
            self.checks += 1
            self._changed.notify_all()
        self._release.wait(timeout=60)
        return None  # a wrong password

    def request_done(self) -> None:
        with self._changed:
            self.finished += 1
            self._changed.notify_all()

    def release_when_all_in_flight(self) -> None:
        with self._changed:
            assert self._changed.wait_for(
                lambda: self.checks + self.finished >= self.requests, timeout=60
            ), "requests neither reached the password check nor finished"
        self._release.set()


def _race(
    app: Flask,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    n: int,
    attempt: Callable[[int], tuple[str, str]],
) -> tuple[CountingVerify, list[int]]:
    verify = CountingVerify(n)
    monkeypatch.setattr(services.users, "verify", verify)
    statuses: list[int] = []

    def one(i: int) -> None:
        try:
            address, email = attempt(i)
            browser: FlaskClient = app.test_client()
            environ = {"REMOTE_ADDR": address}
            token = csrf(browser.get("/dashboard/login", environ_overrides=environ))
            answer = browser.post(
                "/dashboard/login",
                data={"email": email, "password": "wrong guess", "csrf_token": token},
                environ_overrides=environ,
            )
            statuses.append(answer.status_code)
        finally:
            verify.request_done()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    verify.release_when_all_in_flight()
    for thread in threads:
        thread.join(timeout=120)
    return verify, statuses


def test_parallel_guesses_at_one_e_mail_get_at_most_the_limit_of_checks(
    app: Flask, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = make_user(services, "admin")
    # Each guess from its own address, as a botnet would: only the e-mail's limit applies.
    verify, statuses = _race(
        app, services, monkeypatch, 40, lambda i: (f"203.0.113.{i + 1}", email)
    )
    assert verify.checks == MAX_PER_EMAIL
    assert sorted(statuses) == [401] * MAX_PER_EMAIL + [429] * (40 - MAX_PER_EMAIL)


def test_parallel_guesses_from_one_address_get_at_most_its_limit_of_checks(
    app: Flask, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = MAX_PER_ADDRESS + 15
    verify, statuses = _race(
        app, services, monkeypatch, n, lambda i: ("198.51.100.7", f"user{i}@newsroom.example")
    )
    assert verify.checks == MAX_PER_ADDRESS
    assert statuses.count(429) == n - MAX_PER_ADDRESS
