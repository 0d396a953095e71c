"""Export webhooks at run time (SSRF): the host is resolved once, every address is checked,
the connection goes to a checked address (DNS rebinding cannot move it), an internal target
fails the run at once with nothing connected, and the allow-listed receiver still gets its
files."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from service.domain.errors import ValidationFailed
from service.domain.export_schedule import ExportFormat, ExportSchedule, RunStatus
from service.domain.export_schedule import WebhookDestination as Webhook
from service.domain.webhook_targets import AllowList
from service.jobs.exports import webhook_http
from service.schemas.exports import parse_schedule
from service.settings import Settings
from service.store.sql.exports_repo import ExportRepo
from tests.integration.export_support import (
    RECEIVER_ALLOW,
    at,
    save_schedule,
    scheduler,
    seed_figures,
    self_signed_certificate,
    start_experiment,
    webhook_receiver,
)
from tests.support import FakeClock

SECRET = "webhook-secret-0123456789"
HINT = "; an operator can allow internal receivers with EXPORT_WEBHOOK_ALLOW"
PUBLIC = "93.184.216.34"


@pytest.fixture
def seeded(clean_db: Engine) -> Engine:
    start_experiment(clean_db)
    seed_figures(clean_db)
    return clean_db


@pytest.fixture
def allowing(env: dict[str, str]) -> Settings:
    """The settings of an install that allows the local receiver (EXPORT_WEBHOOK_ALLOW)."""
    return Settings.from_env({**env, "EXPORT_WEBHOOK_ALLOW": RECEIVER_ALLOW})


class FakeDns:
    """Answers lookups from a script: each lookup of a name takes its next answer (the last
    one repeats), as a rebinding DNS server would."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        queue = self.answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[list[str]]]], FakeDns]:
    def install(answers: dict[str, list[list[str]]]) -> FakeDns:
        fake = FakeDns(answers)
        monkeypatch.setattr(webhook_http, "getaddrinfo", fake)
        return fake

    return install


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every connection the webhook client opens, by the addresses it was given; the real
    connect still runs."""
    seen: list[list[str]] = []
    real = webhook_http.connect

    def recording(endpoints: Sequence[webhook_http.Endpoint], timeout: float) -> socket.socket:
        seen.append([str(e.address) for e in endpoints])
        return real(endpoints, timeout)

    monkeypatch.setattr(webhook_http, "connect", recording)
    return seen


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (["127.0.0.1"], "127.0.0.1, which is loopback"),
        (["::1"], "::1, which is loopback"),
        ([PUBLIC, "10.0.0.5"], "10.0.0.5, which is private (RFC 1918)"),
        (["::ffff:169.254.169.254"], "IPv6 form of 169.254.169.254"),
        (["100.100.100.200"], "100.100.100.200, which is carrier-grade NAT"),
    ],
)
def test_a_name_resolving_to_an_internal_address_fails_the_run_with_nothing_connected(
    seeded: Engine,
    settings: Settings,
    dns: Callable[..., FakeDns],
    connects: list[list[str]],
    answer: list[str],
    reason: str,
) -> None:
    with webhook_receiver() as receiver:
        url = f"https://hooks.example:{receiver.port}/exports"
        save_schedule(seeded, at(27, 12), destination={"type": "webhook", "url": url, **_key()})
        fake = dns({"hooks.example": [answer]})
        (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.failed and run.attempts == 1  # no retry can help
    assert run.next_attempt_at is None and run.rows is None
    assert run.error is not None
    assert run.error.startswith("refused, nothing was sent: the webhook host hooks.example ")
    assert reason in run.error and run.error.endswith(HINT)
    assert fake.lookups == ["hooks.example"]
    assert connects == [] and receiver.requests == []


def test_rebinding_after_the_check_cannot_move_the_connection(
    seeded: Engine,
    settings: Settings,
    tmp_path: Path,
    dns: Callable[..., FakeDns],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name answers a public address once, then 127.0.0.1 (a rebinding DNS server). The
    client resolves once per run, connects to the public address for every file, and keeps
    the name for Host, SNI and the certificate check."""
    start_experiment(seeded, "yearly-ask")  # two files, two POSTs
    cert, key = self_signed_certificate(tmp_path, "hooks.example")
    monkeypatch.setattr(
        webhook_http, "tls_context", lambda: ssl.create_default_context(cafile=str(cert))
    )
    fake = dns({"hooks.example": [[PUBLIC], ["127.0.0.1"]]})
    with webhook_receiver(tls=(cert, key)) as receiver:
        # Stands in for the internet: whatever answers at the public address is our receiver.
        dialled: list[list[str]] = []

        def public_internet(endpoints: Sequence[webhook_http.Endpoint], timeout: float) -> Any:
            dialled.append([str(e.address) for e in endpoints])
            return socket.create_connection(("127.0.0.1", receiver.port), timeout)

        monkeypatch.setattr(webhook_http, "connect", public_internet)
        url = f"https://hooks.example:{receiver.port}/exports?team=finance"
        save_schedule(seeded, at(27, 12), destination={"type": "webhook", "url": url, **_key()})
        (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.succeeded, run.error
    assert fake.lookups == ["hooks.example"]
    assert dialled == [[PUBLIC], [PUBLIC]]
    assert len(receiver.requests) == 2
    assert {h["host"] for h, _ in receiver.requests} == {f"hooks.example:{receiver.port}"}
    assert receiver.server_names == ["hooks.example", "hooks.example"]


def test_the_certificate_is_checked_against_the_name_not_the_address(
    seeded: Engine,
    settings: Settings,
    tmp_path: Path,
    dns: Callable[..., FakeDns],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = self_signed_certificate(tmp_path, "other.example")
    monkeypatch.setattr(
        webhook_http, "tls_context", lambda: ssl.create_default_context(cafile=str(cert))
    )
    dns({"hooks.example": [[PUBLIC]]})
    with webhook_receiver(tls=(cert, key)) as receiver:
        monkeypatch.setattr(
            webhook_http,
            "connect",
            lambda _endpoints, timeout: socket.create_connection(
                ("127.0.0.1", receiver.port), timeout
            ),
        )
        url = f"https://hooks.example:{receiver.port}/exports"
        save_schedule(seeded, at(27, 12), destination={"type": "webhook", "url": url, **_key()})
        (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.retrying and run.error is not None
    assert run.error.startswith("the webhook cannot be reached: ")
    assert "certificate" in run.error and "hooks.example" in run.error
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("https://metadata.google.internal/computeMetadata/v1/", "cloud metadata service"),
        ("http://[::1]:{port}/exports", "::1 is loopback"),
        ("http://0x7f.1:{port}/exports", "127.0.0.1 is loopback"),
        ("http://2130706433:{port}/exports", "127.0.0.1 is loopback"),
        ("http://localhost:{port}/exports", "localhost is this machine"),
        ("http://[::ffff:127.0.0.1]:{port}/exports", "IPv6 form of 127.0.0.1"),
    ],
)
def test_a_schedule_saved_before_the_rule_is_refused_at_run_time(
    seeded: Engine, settings: Settings, connects: list[list[str]], url: str, reason: str
) -> None:
    with webhook_receiver() as receiver:
        # Written straight to the store, as rows saved before the rule existed are.
        _store(seeded, url.format(port=receiver.port))
        (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.failed and run.attempts == 1
    assert run.error is not None
    assert run.error.startswith("refused, nothing was sent: the webhook URL must not point")
    assert reason in run.error
    assert connects == [] and receiver.requests == []


def test_the_allow_listed_local_receiver_gets_its_delivery_and_only_it(
    seeded: Engine, settings: Settings, allowing: Settings, connects: list[list[str]]
) -> None:
    with webhook_receiver() as receiver:
        destination = {"type": "webhook", "url": receiver.url, **_key()}
        with pytest.raises(ValidationFailed) as refused:
            parse_schedule(_document(destination))  # no allow-list: production's rule
        assert "loopback" in refused.value.fields["destination.url"]

        stored = save_schedule(seeded, at(27, 12), destination=destination)
        repo = ExportRepo(seeded)
        refused_run = scheduler(seeded, settings, FakeClock(at(28, 6))).attempt(
            stored, repo.start_adhoc(stored.id, "test", at(28, 6))
        )
        assert refused_run.status == RunStatus.failed and receiver.requests == []
        assert connects == []

        (run,) = scheduler(seeded, allowing, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.succeeded and run.destination == receiver.url
    assert connects == [["127.0.0.1"]] and len(receiver.requests) == 1


def test_a_name_on_the_allow_list_is_delivered_to_wherever_it_resolves(
    seeded: Engine, env: dict[str, str], dns: Callable[..., FakeDns], connects: list[list[str]]
) -> None:
    settings = Settings.from_env({**env, "EXPORT_WEBHOOK_ALLOW": "reports.corp"})
    dns({"reports.corp": [["127.0.0.1"]]})
    with webhook_receiver() as receiver:
        url = f"http://reports.corp:{receiver.port}/exports"
        parse_schedule(  # what the API checks with this install's settings
            _document({"type": "webhook", "url": url, **_key()}),
            webhook_allow=AllowList.parse(settings.export_webhook_allow),
        )
        _store(seeded, url)
        (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.succeeded, run.error
    assert connects == [["127.0.0.1"]]
    ((headers, _),) = receiver.requests
    assert headers["host"] == f"reports.corp:{receiver.port}"


def test_a_redirect_is_a_failure_and_is_not_followed(
    seeded: Engine, allowing: Settings, connects: list[list[str]]
) -> None:
    with webhook_receiver() as receiver:
        receiver.status = 307
        receiver.headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
        save_schedule(
            seeded, at(27, 12), destination={"type": "webhook", "url": receiver.url, **_key()}
        )
        (run,) = scheduler(seeded, allowing, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.retrying and run.error is not None
    assert run.error.startswith("the webhook answered HTTP 307 to monthly-ask_")
    assert run.error.endswith("(redirects are not followed)")
    assert connects == [["127.0.0.1"]] and len(receiver.requests) == 1


def test_a_name_that_does_not_resolve_is_retried(
    seeded: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nxdomain(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(webhook_http, "getaddrinfo", nxdomain)
    url = "https://hooks.example/exports"
    save_schedule(seeded, at(27, 12), destination={"type": "webhook", "url": url, **_key()})
    (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.retrying and run.error is not None
    assert run.error.startswith("the webhook host hooks.example does not resolve: ")


def test_pinned_endpoints_are_the_checked_addresses() -> None:
    pinned = webhook_http.pin("https://[2606:4700::1111]:8443/x", AllowList())
    assert [e.address for e in pinned.endpoints] == [ip_address("2606:4700::1111")]
    assert pinned.endpoints[0].family == socket.AF_INET6


def _key() -> dict[str, str]:
    return {"secret": SECRET}


def _document(destination: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "hook",
        "cron": "0 6 * * *",
        "experiments": "all_running",
        "format": "csv",
        "destination": destination,
    }


def _store(engine: Engine, url: str) -> None:
    schedule = ExportSchedule(
        name="old hook",
        cron="0 6 * * *",
        timezone="UTC",
        experiments=None,
        format=ExportFormat.csv,
        destination=Webhook(url, SECRET),
    )
    ExportRepo(engine).create(schedule, datetime(2026, 11, 27, 12, tzinfo=UTC))
