"""GET /v1/decision: the whole contract, every reason, every QA path and every bad input."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.domain.bucketing import HOLDOUT, bucket
from service.domain.ledger import impressions_field, snooze_field
from service.schemas.experiment import parse_experiment
from service.settings import Settings
from service.wiring import Services
from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
ADMIN = "/v1/admin/experiments"
VISITOR = "reader-000001"
MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


@pytest.fixture
def start(client: FlaskClient, auth: Auth) -> Callable[..., dict[str, Any]]:
    def run(key: str = "monthly-ask", **overrides: Any) -> dict[str, Any]:
        created = client.post(
            ADMIN, json=experiment_doc(key=key, **overrides), headers=auth("editor")
        )
        assert created.status_code == 201, created.json
        started = client.post(f"{ADMIN}/{key}/start", headers=auth("editor"))
        assert started.status_code == 200
        return started.json  # type: ignore[no-any-return]

    return run


def decide(
    client: FlaskClient, visitor: str = VISITOR, country: str | None = "US", **params: str
) -> Any:
    query = {"visitor": visitor, "placement": "article-end", **params}
    headers = {"User-Agent": MOBILE_UA}
    if country:
        headers["CF-IPCountry"] = country
    return client.get("/v1/decision", query_string=query, headers=headers)


def test_banner_for_a_targeted_reader(client: FlaskClient, start, services: Services) -> None:  # type: ignore[no-untyped-def]
    start()
    response = decide(client, section="world", lang="en-US", article_views="3")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["reason"] is None
    banner = body["banner"]
    assert banner["experiment"] == "monthly-ask"
    assert banner["variant"] in {"control", "five-dollars"}
    assert banner["template"] == "epic"
    assert banner["qa"] is False
    assert banner["snooze_hours"] == {"remind_later": 168, "close": 336, "already_donated": 8760}
    content = banner["content"]
    assert content["heading"] == "…we have a small favor to ask"
    assert content["highlight"].startswith("Support us with $")
    assert content["remind_later_label"] == "Not ready to support today? Remind me later."
    claims = services.signer.verify_decision(banner["token"], int(services.clock().timestamp()), 60)
    assert (claims.visitor, claims.experiment, claims.variant, claims.qa) == (
        VISITOR,
        "monthly-ask",
        banner["variant"],
        False,
    )


def test_encoded_and_plain_query_strings_mean_the_same(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start(targeting={"countries": ["US"], "sections": ["world"], "tags": ["climate"]})
    headers = {"User-Agent": MOBILE_UA, "CF-IPCountry": "US"}
    plain = "visitor=reader-000777&placement=article-end&section=world&tags=energy,climate"
    encoded = (
        "visitor=reader%2D000777&placement=article-end&section=%77orld&tags=energy%2C+climate"
        "&url=https%3A%2F%2Fexample.org%2Fa%3Fb%3Dc&section=ignored-second-value"
    )
    first = client.get(f"/v1/decision?{plain}", headers=headers)
    second = client.get(f"/v1/decision?{encoded}", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json["banner"] is not None
    assert first.json["banner"]["variant"] == second.json["banner"]["variant"]
    bad = client.get("/v1/decision?visitor=short&placement=article-end", headers=headers)
    assert bad.status_code == 400 and "visitor" in bad.json["error"]["fields"]


def test_the_same_reader_always_gets_the_same_variant(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start()
    variants = {decide(client).json["banner"]["variant"] for _ in range(5)}
    assert len(variants) == 1


def test_editing_weights_never_moves_an_assigned_reader(
    client: FlaskClient, start, auth: Auth
) -> None:  # type: ignore[no-untyped-def]
    start()
    readers = [f"reader-{i:06d}" for i in range(40)]
    before = {r: decide(client, r).json["banner"]["variant"] for r in readers}
    doc = experiment_doc()
    doc["variants"][0]["weight"] = 1
    doc["variants"][1]["weight"] = 99
    assert client.put(f"{ADMIN}/monthly-ask", json=doc, headers=auth("editor")).status_code == 200
    after = {r: decide(client, r).json["banner"]["variant"] for r in readers}
    assert after == before
    newcomers = [decide(client, f"newcomer-{i:04d}").json["banner"]["variant"] for i in range(40)]
    assert newcomers.count("five-dollars") >= 35


def test_no_experiment(client: FlaskClient) -> None:
    assert decide(client).json == {"banner": None, "reason": "no_experiment"}


def test_paused_experiment_shows_nothing(client: FlaskClient, start, auth: Auth) -> None:  # type: ignore[no-untyped-def]
    start()
    client.post(f"{ADMIN}/monthly-ask/pause", headers=auth("editor"))
    assert decide(client).json["reason"] == "no_experiment"


@pytest.mark.parametrize("country,params", [("FR", {}), ("US", {"device": "tablet"}), (None, {})])
def test_not_targeted(client: FlaskClient, start, country: str | None, params: dict) -> None:  # type: ignore[no-untyped-def]
    start()  # targets US and GB on mobile and desktop
    assert decide(client, country=country, **params).json["reason"] == "not_targeted"


def test_device_comes_from_the_user_agent(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start(targeting={"devices": ["desktop"]})
    assert decide(client).json["reason"] == "not_targeted"  # an iPhone
    assert decide(client, device="desktop").json["reason"] is None


def test_outside_traffic(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start(traffic=0.5)
    experiment = parse_experiment(experiment_doc(traffic=0.5))
    outside = next(
        f"reader-{i:06d}"
        for i in range(500)
        if not bucket(experiment, f"reader-{i:06d}").in_traffic
    )
    assert decide(client, outside).json == {"banner": None, "reason": "outside_traffic"}


def test_holdout(client: FlaskClient, start, services: Services) -> None:  # type: ignore[no-untyped-def]
    start(holdout=0.5)
    experiment = parse_experiment(experiment_doc(holdout=0.5))
    held = next(
        f"reader-{i:06d}"
        for i in range(500)
        if bucket(experiment, f"reader-{i:06d}").assignment == HOLDOUT
    )
    assert decide(client, held).json == {"banner": None, "reason": "holdout"}
    assert services.redis.hget(services.keys.ledger(held), "a:monthly-ask") == HOLDOUT


def test_capped(client: FlaskClient, start, services: Services) -> None:  # type: ignore[no-untyped-def]
    start(caps={"max_impressions": 2, "per_days": 30})
    now = services.clock().timestamp()
    services.redis.hset(
        services.keys.ledger(VISITOR),
        impressions_field("monthly-ask"),
        f"{now - 7200} {now - 3600}",
    )
    assert decide(client).json == {"banner": None, "reason": "capped"}


def test_snoozed(client: FlaskClient, start, services: Services) -> None:  # type: ignore[no-untyped-def]
    start()
    until = services.clock().timestamp() + 3600
    services.redis.hset(services.keys.ledger(VISITOR), snooze_field("article-end"), until)
    assert decide(client).json == {"banner": None, "reason": "snoozed"}


def test_supporter(client: FlaskClient, start, services: Services) -> None:  # type: ignore[no-untyped-def]
    start(targeting={"audience": "non_supporters"})
    assert decide(client, supporter="1").json["reason"] == "supporter"
    services.redis.hset(services.keys.ledger("reader-000002"), "sup", 1)
    assert decide(client, "reader-000002").json["reason"] == "supporter"
    assert decide(client, "reader-000003").json["reason"] is None


def test_priority_decides_between_experiments(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start("low-priority", priority=1)
    start("high-priority", priority=50)
    assert decide(client).json["banner"]["experiment"] == "high-priority"


def test_new_assignment_is_written_with_a_sliding_ttl(
    client: FlaskClient, start, services: Services
) -> None:  # type: ignore[no-untyped-def]
    start()
    variant = decide(client).json["banner"]["variant"]
    key = services.keys.ledger(VISITOR)
    assert services.redis.hget(key, "a:monthly-ask") == variant
    ttl = services.redis.ttl(key)
    assert 399 * 86_400 < ttl <= 400 * 86_400


def test_debug_names_the_rule_that_failed(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start("uk-only", priority=50, targeting={"countries": ["GB"]})
    start("everyone", priority=1, targeting={})
    body = decide(client, debug="1").json
    assert body["banner"]["experiment"] == "everyone"
    assert body["debug"]["experiments"] == [
        {"experiment": "uk-only", "failed": "countries"},
        {"experiment": "everyone", "failed": None},
    ]
    assert "debug" not in decide(client).json


def test_debug_names_experiments_the_decision_never_reached(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start("first", priority=50, targeting={})
    start("second", priority=1, targeting={})
    body = decide(client, debug="1").json
    assert body["banner"]["experiment"] == "first"
    assert body["debug"]["experiments"] == [
        {"experiment": "first", "failed": None},
        {"experiment": "second", "failed": "priority"},
    ]


# -- QA ---------------------------------------------------------------------------------


def test_force_shows_the_variant_and_writes_nothing(
    client: FlaskClient, start, services: Services
) -> None:  # type: ignore[no-untyped-def]
    start()
    body = decide(client, "qa-reader-01", force="monthly-ask:five-dollars").json
    assert body["banner"]["variant"] == "five-dollars"
    assert body["banner"]["qa"] is True
    claims = services.signer.verify_decision(
        body["banner"]["token"], int(services.clock().timestamp()), 60
    )
    assert claims.qa is True
    assert not services.redis.exists(services.keys.ledger("qa-reader-01"))


@pytest.mark.parametrize("force", ["monthly-ask:nope", "missing:control", "monthly-ask", "Bad:Key"])
def test_bad_force_is_400_naming_force(client: FlaskClient, start, force: str) -> None:  # type: ignore[no-untyped-def]
    start()
    response = decide(client, force=force)
    assert response.status_code == 400
    assert "force" in response.json["error"]["fields"]


def test_force_needs_a_running_experiment(client: FlaskClient, auth: Auth) -> None:
    client.post(ADMIN, json=experiment_doc(), headers=auth("editor"))
    response = decide(client, force="monthly-ask:control")
    assert response.status_code == 400
    assert "preview" in response.json["error"]["message"]


def test_preview_token_shows_a_draft(client: FlaskClient, auth: Auth, services: Services) -> None:
    client.post(ADMIN, json=experiment_doc(), headers=auth("editor"))
    issued = client.post(
        f"{ADMIN}/monthly-ask/preview-token",
        json={"variant": "five-dollars"},
        headers=auth("editor"),
    )
    assert issued.status_code == 200
    assert issued.json["expires_at"] == "2026-11-29T12:00:00Z"
    body = decide(client, "qa-reader-02", preview=issued.json["token"]).json
    assert body["banner"]["variant"] == "five-dollars"
    assert body["banner"]["qa"] is True
    assert not services.redis.exists(services.keys.ledger("qa-reader-02"))


def test_preview_token_rules(client: FlaskClient, auth: Auth, clock) -> None:  # type: ignore[no-untyped-def]
    client.post(ADMIN, json=experiment_doc(), headers=auth("editor"))
    url = f"{ADMIN}/monthly-ask/preview-token"
    assert client.post(url, headers=auth("viewer")).status_code == 403
    bad = client.post(url, json={"variant": "nope", "ttl_hours": 0}, headers=auth("editor"))
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"variant", "ttl_hours"}
    token = client.post(url, json={"ttl_hours": 1}, headers=auth("editor")).json["token"]
    assert decide(client, preview=token).json["banner"]["variant"] == "control"
    assert decide(client, preview=token + "x").status_code == 400
    clock.advance(hours=2)
    expired = decide(client, preview=token)
    assert expired.status_code == 400
    assert "expired" in expired.json["error"]["fields"]["preview"]


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,field",
    [
        ({"placement": "article-end"}, "visitor"),
        ({"visitor": "short", "placement": "article-end"}, "visitor"),
        ({"visitor": "has spaces in it", "placement": "article-end"}, "visitor"),
        ({"visitor": VISITOR}, "placement"),
        ({"visitor": VISITOR, "placement": "sidebar"}, "placement"),
        ({"visitor": VISITOR, "placement": "header", "article_views": "-1"}, "article_views"),
        ({"visitor": VISITOR, "placement": "header", "lang": "english!"}, "lang"),
        ({"visitor": VISITOR, "placement": "header", "device": "watch"}, "device"),
        ({"visitor": VISITOR, "placement": "header", "supporter": "maybe"}, "supporter"),
        ({"visitor": VISITOR, "placement": "header", "section": "World News"}, "section"),
        ({"visitor": VISITOR, "placement": "header", "url": "x" * 3000}, "url"),
        ({"visitor": "v" * 300, "placement": "header"}, "visitor"),
        (
            {
                "visitor": VISITOR,
                "placement": "header",
                "tags": ",".join(f"t{i}" for i in range(30)),
            },
            "tags",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field(client: FlaskClient, query: dict, field: str) -> None:
    response = client.get("/v1/decision", query_string=query)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]


def test_every_bad_field_is_named_at_once(client: FlaskClient) -> None:
    response = client.get("/v1/decision", query_string={"visitor": "x", "placement": "y"})
    assert set(response.json["error"]["fields"]) == {"visitor", "placement"}


# -- CORS -------------------------------------------------------------------------------


def test_cors_only_for_configured_origins(env: dict[str, str], clean_db, redis_client) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings.from_env({**env, "ALLOWED_ORIGINS": "https://news.example"}))
    client = app.test_client()
    query = {"visitor": VISITOR, "placement": "header"}
    ok = client.get("/v1/decision", query_string=query, headers={"Origin": "https://news.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert "Origin" in ok.headers["Vary"]
    other = client.get(
        "/v1/decision", query_string=query, headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    admin = client.get("/v1/admin/experiments", headers={"Origin": "https://news.example"})
    assert "Access-Control-Allow-Origin" not in admin.headers


# -- Redis away -------------------------------------------------------------------------


@pytest.fixture
def silent_redis() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("kind", ["refused", "hung"])
def test_redis_away_fails_closed_and_fast(
    env: dict[str, str],
    clean_db,
    silent_redis: int,
    kind: str,
    client: FlaskClient,
    start,  # type: ignore[no-untyped-def]
) -> None:
    start()
    port = 1 if kind == "refused" else silent_redis
    # Production's timeout, not the suite's tolerant one (tests/conftest.py).
    away = {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "REDIS_TIMEOUT_MS": "50"}
    app = create_app(Settings.from_env(away))
    down = app.test_client()
    decide(down)  # the first request also loads the experiment cache from SQL
    began = time.perf_counter()
    response = decide(down)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200
    assert response.json == {"banner": None, "reason": "unavailable"}
    # The contract is 100 ms; the margin absorbs a loaded CI machine (bench/ measures it).
    assert elapsed < 0.5
    metrics = down.get("/metrics").get_data(as_text=True)
    assert 'smallfavor_decisions_total{outcome="unavailable"}' in metrics


def test_other_methods_are_405_in_the_envelope(client: FlaskClient) -> None:
    response = client.post("/v1/decision", query_string={"visitor": VISITOR, "placement": "header"})
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_preflight_answers_with_cors(client: FlaskClient) -> None:
    response = client.options("/v1/decision", headers={"Origin": "https://news.example"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_repeated_parameters_take_the_first_value(client: FlaskClient, start) -> None:  # type: ignore[no-untyped-def]
    start()
    response = client.get(
        "/v1/decision?visitor=reader-000001&placement=article-end&placement=sidebar",
        headers={"CF-IPCountry": "US", "User-Agent": MOBILE_UA},
    )
    assert response.status_code == 200
    assert response.json["banner"]["experiment"] == "monthly-ask"


def test_decisions_can_be_rate_limited_per_client(
    env: dict[str, str],
    clean_db,
    redis_client,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    app = create_app(Settings.from_env({**env, "DECISION_RATE_LIMIT_PER_MINUTE": "2"}), clock=clock)
    limited = app.test_client()
    answers = [decide(limited).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    refused = decide(limited)
    assert refused.json["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "60"
    other = limited.get(
        "/v1/decision",
        query_string={"visitor": VISITOR, "placement": "article-end"},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert other.status_code == 200


def test_a_variant_with_a_reminder_offer_carries_it_and_the_others_carry_none(
    client: FlaskClient, start
) -> None:  # type: ignore[no-untyped-def]
    from tests.support import banner

    offer = {
        "choices": [
            {"label": "In 2 weeks", "in_days": 14},
            {"label": "Next month", "next_month": True},
            {"label": "On 1 February", "on": "2027-02-01"},
        ],
        "consent": "We will e-mail you once, then delete your address.",
        "privacy_url": "https://news.example.org/privacy",
        "thanks": "Check your inbox to confirm.",
    }
    offering = {**banner(monthly=[5, 10, 20]), "reminder": offer}
    start(
        variants=[
            {"key": "control", "weight": 50, "banner": banner()},
            {"key": "five-dollars", "weight": 50, "banner": offering},
        ]
    )
    shown = {
        v: decide(client, force=f"monthly-ask:{v}").json["banner"]["content"]["reminder"]
        for v in ("control", "five-dollars")
    }
    assert shown["control"] is None
    assert shown["five-dollars"] == {
        "choices": [
            {"label": "In 2 weeks", "in_days": 14},
            {"label": "Next month", "next_month": True},
            {"label": "On 1 February", "on": "2027-02-01"},
        ],
        "consent": "We will e-mail you once, then delete your address.",
        "privacy_url": "https://news.example.org/privacy",
        "email_label": "Your e-mail address",
        "submit_label": "Remind me",
        "thanks": "Check your inbox to confirm.",
    }
