"""smallfavor simulate against a live app: real HTTP on a thread, the flusher, the report."""

from __future__ import annotations

import random
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import WSGIRequestHandler, make_server

from service.app import create_app
from service.cli import cli
from service.jobs.flusher import open_flusher
from service.jobs.simulate.http_client import HttpClient
from service.jobs.simulate.plan import plan_visit
from service.jobs.simulate.preflight import fetch_experiment
from service.jobs.simulate.runner import Result, RunConfig, run, run_identity, visitor_seeds
from service.jobs.simulate.summary import summary_lines
from service.settings import Settings
from service.store.redis.live_counters import read_live
from tests.functional.events_support import start_experiment
from tests.support import FakeClock, banner, experiment_doc

Auth = Callable[[str], dict[str, str]]
VARIANTS = [
    {"key": "control", "weight": 50, "banner": banner()},
    {"key": "b", "weight": 50, "banner": banner(monthly=[5, 10, 20])},
]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    # The simulator's threads and the server's share one process and its GIL here: give
    # Redis calls more than production's 50 ms, so a busy moment is not an outage.
    return {**env, "REDIS_TIMEOUT_MS": "2000"}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        """Hundreds of requests per test: no access log."""


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live(app: Flask, clock: FakeClock) -> Iterator[str]:
    # The webhook checks signatures against the app's clock; the simulator signs with the
    # real one.
    clock.now = datetime.now(UTC)
    with serving(app) as url:
        yield url


def token(auth: Auth, role: str = "viewer") -> str:
    return auth(role)["Authorization"].removeprefix("Bearer ")


def simulate(
    base_url: str, settings: Settings, auth: Auth, visitors: int, key: str = "sim", **config: Any
) -> Result:
    client = HttpClient(base_url)
    info = fetch_experiment(client, key, token(auth))
    client.close()
    defaults: dict[str, Any] = {
        "rates": {"control": 0.3, "b": 0.1},
        "amounts": {},
        "seed": 11,
        "webhook_secret": settings.webhook_secret,
        "concurrency": 4,
    }
    return run(RunConfig(base_url=base_url, visitors=visitors, **{**defaults, **config}), info)


def report(client: FlaskClient, auth: Auth, key: str = "sim", **query: str) -> dict[str, Any]:
    response = client.get(
        f"/v1/admin/experiments/{key}/report", query_string=query, headers=auth("viewer")
    )
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def by_variant(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["key"]: v for v in report["variants"]}


def visitors_by_segment(report: dict[str, Any]) -> Counter[str]:
    return Counter(
        {s["value"]: sum(v["visitors"] for v in s["variants"]) for s in report["segments"]}
    )


def test_simulated_readers_reach_the_report(
    live: str, client: FlaskClient, auth: Auth, settings: Settings
) -> None:
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)

    result = simulate(live, settings, auth, 300)
    tally = result.tally

    assert tally.visitors == 300 and sum(tally.shown.values()) == 300
    assert not tally.rejected and tally.duplicates == 0 and tally.donations_skipped == 0
    assert tally.accepted >= 300  # an impression each, and views, clicks, dismissals
    assert tally.credited == tally.donations  # every donation credited to its variant
    with open_flusher(settings, 2000) as flusher:
        flusher.run_once()
    variants = by_variant(report(client, auth))
    for key, rate in (("control", 0.3), ("b", 0.1)):
        row = variants[key]
        assert row["visitors"] == row["impressions"] == tally.shown[key] > 100
        assert row["conversions"] == tally.credited[key]
        assert abs(row["conversions"] / row["visitors"] - rate) < 0.08, (key, row)
        assert row["revenue"] > 0 and row["views"] > 0
        assert sum(row["dismissals"].values()) > 0
    # Rates 0.3 and 0.1 over ~150 readers each: three times as many, give or take chance.
    assert variants["control"]["conversions"] > 1.5 * variants["b"]["conversions"]
    # Each reader's events carry their own country and device (batches group by both).
    identity = run_identity("sim", 11, {"control": 0.3, "b": 0.1}, {})
    visits = [plan_visit(random.Random(s), result.info) for s in visitor_seeds(identity, 300)]
    countries = visitors_by_segment(report(client, auth, segment="country"))
    assert countries == Counter(v.country for v in visits) and set(countries) == {"US", "GB"}
    devices = visitors_by_segment(report(client, auth, segment="device"))
    assert devices == Counter(v.device for v in visits) and set(devices) == {"desktop", "mobile"}


def test_the_same_seed_replays_the_same_readers_and_counts_them_once(
    live: str, client: FlaskClient, auth: Auth, settings: Settings
) -> None:
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)
    first = simulate(live, settings, auth, 60, rates={"control": 0.5, "b": 0.5}).tally
    again = simulate(live, settings, auth, 60, rates={"control": 0.5, "b": 0.5}).tally
    # Readers who dismissed the banner are snoozed now; everyone else sees it again.
    assert sum(again.shown.values()) + again.no_banner["snoozed"] == 60
    assert again.no_banner["snoozed"] > 0
    assert again.accepted == 0 and again.duplicates > 0
    assert sum(first.credited.values()) > 0
    assert again.donation_duplicates == sum(again.donations.values()) > 0
    assert not again.credited  # a payment id seen before is not credited twice


def test_a_rerun_with_other_rates_is_new_readers(
    live: str, client: FlaskClient, auth: Auth, settings: Settings
) -> None:
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)
    simulate(live, settings, auth, 40, rates={"control": 0.5, "b": 0.5})
    other = simulate(live, settings, auth, 40, rates={"control": 0.2, "b": 0.2}).tally
    # Other rates make other choices: replaying the first run's ids would mix the two.
    assert sum(other.shown.values()) == 40 and other.duplicates == 0
    assert other.donation_duplicates == 0


def _two_experiments_with_one_seed(
    live: str, client: FlaskClient, auth: Auth, settings: Settings
) -> tuple[Result, Result]:
    """What issue 18's user did: the same --seed against the demo, then a second experiment
    (on another placement, so both show their banners to everyone)."""
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)
    start_experiment(
        client, auth("editor"), key="second", placement="bottom-banner", variants=VARIANTS
    )
    amounts = {"control": 10.0, "b": 10.0}
    first = simulate(live, settings, auth, 100, seed=7, amounts=amounts)
    second = simulate(
        live,
        settings,
        auth,
        100,
        key="second",
        seed=7,
        amounts=amounts,
        rates={"control": 0.5, "b": 0.5},
    )
    with open_flusher(settings, 2000) as flusher:
        flusher.run_once()
    return first, second


def test_the_same_seed_on_a_second_experiment_is_counted_there_and_only_there(
    live: str, client: FlaskClient, auth: Auth, settings: Settings
) -> None:
    first, second = _two_experiments_with_one_seed(live, client, auth, settings)

    tally = second.tally
    assert tally.duplicates == 0 and tally.donation_duplicates == 0
    assert tally.credited == tally.donations
    counted = by_variant(report(client, auth, "second"))
    for key in ("control", "b"):
        assert counted[key]["visitors"] == tally.shown[key] > 0
        assert counted[key]["conversions"] == tally.credited[key] > 0
    # The second run's readers are not the first run's: none of their donations is credited
    # to the first experiment.
    demo = by_variant(report(client, auth, "sim"))
    for key in ("control", "b"):
        assert demo[key]["conversions"] == first.tally.credited[key]
        assert demo[key]["revenue"] == 10.0 * first.tally.credited[key]


def test_the_live_counters_count_the_payments_the_report_counts(
    app: Flask, live: str, client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock
) -> None:
    _two_experiments_with_one_seed(live, client, auth, settings)

    svc = app.extensions["smallfavor"]
    for experiment in ("sim", "second"):
        counted = by_variant(report(client, auth, experiment))
        counters = read_live(svc.redis, svc.keys, experiment, ["control", "b"], clock.now.date())
        assert counters is not None
        for row in counters:
            sql = counted[row.variant]
            assert (row.count("conversion"), row.count("revenue")) == (
                sql["conversions"],
                sql["revenue"],
            ), (experiment, row.variant)
            assert row.count("impression") == sql["impressions"] > 0


def test_events_refused_by_the_rate_limit_are_reported(
    app: Flask, client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock
) -> None:
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)
    clock.now = datetime.now(UTC)
    limited = create_app(replace(settings, rate_limit_per_minute=2), clock=clock)
    try:
        with serving(limited) as url:
            # Pacing off and no waiting: as against a service whose limit we do not know.
            result = simulate(url, settings, auth, 200, events_per_minute=0, max_wait=0)
    finally:
        limited.extensions["smallfavor"].close()
    tally = result.tally
    assert tally.accepted > 0 and tally.rejected["rate_limited"] > 0
    assert tally.accepted + tally.rejected["rate_limited"] >= 200
    # Donors whose impression was refused are not sent: the webhook could not credit them.
    assert tally.donations_skipped > 0 and tally.credited == tally.donations
    text = "\n".join(
        summary_lines(tally, result.info, base_url=url, seed=11, elapsed=1.0, held_back=0)
    )
    assert f"rejected (rate_limited {tally.rejected['rate_limited']})" in text


# The command line


def invoke(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, ["simulate", *args], env=env)


def test_the_command_needs_no_flags_on_a_local_install(
    live: str, client: FlaskClient, auth: Auth, env: dict[str, str]
) -> None:
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)
    # What `make run` leaves behind: PUBLIC_URL is the service, seed-demo's token in VAR_DIR.
    var_dir = Path(env["VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / "demo_admin_token").write_text(token(auth, "admin"))
    args = ["--experiment", "sim", "--visitors", "80", "--rates", "control=0.5,b=0.25"]
    result = invoke({**env, "PUBLIC_URL": live}, *args, "--seed", "5", "--flush")
    assert result.exit_code == 0, result.output
    assert f"simulated 80 visitors on 'sim' at {live}" in result.output
    assert ", 0 rejected in " in result.output
    assert "flushed " in result.output
    variants = by_variant(report(client, auth))
    assert variants["control"]["visitors"] + variants["b"]["visitors"] == 80
    assert variants["control"]["conversions"] > 0 and variants["b"]["conversions"] > 0


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--rates", "control=1.2,b=0.1"], "--rates: control=1.2 is not a rate between 0 and 1"),
        (["--rates", "control=0.1,c=0.1"], "--rates names c, not a variant of 'sim'"),
        (["--rates", "control=0.1,b=0.1", "--amounts", "d=5"], "--amounts names d, not a"),
        (["--rates", "control=0.1"], "--rates gives no rate for b"),
        (["--rates", "control=0.1,b=0.1", "--token", "sf_wrong"], "refused the token"),
        (
            ["--rates", "control=0.1,b=0.1", "--webhook-secret", "not-the-secret"],
            "the payment webhook refuses our signature",
        ),
    ],
)
def test_bad_input_fails_with_one_line(
    live: str,
    client: FlaskClient,
    auth: Auth,
    env: dict[str, str],
    args: list[str],
    reason: str,
) -> None:
    start_experiment(client, auth("editor"), key="sim", variants=VARIANTS)
    base = ["--experiment", "sim", "--visitors", "5", "--base-url", live]
    result = invoke({**env, "SMALLFAVOR_TOKEN": token(auth)}, *base, *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("smallfavor: error: ") and result.stderr.count("\n") == 1
    assert reason in result.stderr
    assert "simulated" not in result.stdout  # nothing was sent


def test_an_experiment_that_is_missing_or_not_running_is_refused(
    live: str, client: FlaskClient, auth: Auth, env: dict[str, str]
) -> None:
    draft = experiment_doc(key="sim", variants=VARIANTS)
    created = client.post("/v1/admin/experiments", json=draft, headers=auth("editor"))
    assert created.status_code == 201, created.json
    env = {**env, "SMALLFAVOR_TOKEN": token(auth)}
    rates = ["--visitors", "5", "--rates", "control=0.1,b=0.1", "--base-url", live]
    result = invoke(env, "--experiment", "sim", *rates)
    assert result.exit_code == 1
    assert "experiment 'sim' is draft, not running; start it first" in result.stderr
    result = invoke(env, "--experiment", "nope", *rates)
    assert result.exit_code == 1 and f"no experiment 'nope' at {live}" in result.stderr


def test_an_unreachable_service_is_a_one_line_error(env: dict[str, str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = invoke(
        {**env, "SMALLFAVOR_TOKEN": "sf_x"},
        *["--experiment", "sim", "--visitors", "5", "--rates", "control=0.1"],
        *["--base-url", f"http://127.0.0.1:{port}"],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"smallfavor: error: cannot reach http://127.0.0.1:{port}")
