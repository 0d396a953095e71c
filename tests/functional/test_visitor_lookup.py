"""The "Why no banner" page's visitor lookup: the decision one reader would get now, and the
rule that ruled each experiment out, the same trace `debug=1` gives the page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.functional.test_decision_log import decide, flush_decisions, start
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
READER = "reader-lookup-01"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DECISION_LOG_SAMPLE_RATE": "1"}


def trace(page: str) -> dict[str, str]:
    rows = re.findall(
        r'<tr data-experiment="([^"]+)"><th scope="row">[^<]*</th>\s*<td>(.*?)</td>', page, re.S
    )
    return {key: " ".join(cell.split()) for key, cell in rows}


def lookup(client: FlaskClient, **params: str) -> str:
    query = {"visitor": READER, "visitor_placement": "article-end", **params}
    response = client.get("/dashboard/decisions", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_lookup_names_the_rule_for_each_experiment_and_agrees_with_debug(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    start(client, auth, "uk-only", priority=50, targeting={"countries": ["GB"]})
    start(client, auth, "everyone", priority=10, targeting={})
    start(client, auth, "later", priority=1, targeting={})
    assert log_in(client, make_user(services, "viewer")).status_code == 302

    page = lookup(client, country="us", device="mobile")
    assert "sees <strong>everyone</strong>" in page
    assert trace(page) == {
        "uk-only": "countries",
        "everyone": "— shown",
        "later": "priority (an experiment before it decided the placement)",
    }
    # The page's own debug answer says the same.
    debug = decide(client, READER, debug="1", country="US")["debug"]["experiments"]
    assert [(r["experiment"], r["failed"]) for r in debug] == [
        ("uk-only", "countries"),
        ("everyone", None),
        ("later", "priority"),
    ]
    assert "sees <strong>everyone</strong>" in lookup(client, country="US")
    assert trace(lookup(client, country="GB"))["uk-only"] == "— shown"


def test_a_snoozed_reader_is_explained_and_the_lookup_writes_nothing(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth, "everyone", targeting={})
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    ledger = services.keys.ledger(READER)
    assert "sees <strong>everyone</strong>" in lookup(client)
    assert services.redis.exists(ledger) == 0  # the assignment it would make is not stored
    services.redis.hset(ledger, "s:article-end", str(int(clock().timestamp()) + 3600))
    ttl = services.redis.ttl(ledger)
    page = lookup(client)
    assert "no banner, reason <strong>snoozed</strong>" in page
    assert trace(page) == {"everyone": "snoozed"}
    assert services.redis.ttl(ledger) == ttl  # looking a reader up does not keep them around


def test_bad_lookup_input_is_named_next_to_its_field(
    client: FlaskClient, services: Services
) -> None:
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    page = lookup(client, visitor="no", country="Great Britain", visitor_placement="sidebar")
    assert 'id="visitor-error"' in page and 'id="country-error"' in page
    assert 'id="visitor_placement-error"' in page
    assert 'id="lookup-result"' not in page


def test_the_page_says_when_its_figures_rest_on_few_samples(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth)
    for i in range(3):
        decide(client, f"reader-few-{i:04d}")
    flush_decisions(app, clock)
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    page = client.get("/dashboard/decisions").get_data(as_text=True)
    assert "Based on 3 sampled decisions: rough." in page


def test_the_lookup_asks_about_the_page_language_section_tags_and_reading(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    targeting = {
        "languages": ["de"],
        "sections": ["sport"],
        "tags": ["football"],
        "min_article_views": 3,
    }
    start(client, auth, "german-sport", priority=50, targeting=targeting)
    start(client, auth, "supporters", priority=40, targeting={"audience": "supporters"})
    start(client, auth, "everyone", priority=10, targeting={})
    assert log_in(client, make_user(services, "viewer")).status_code == 302

    assert trace(lookup(client))["german-sport"] == "languages"
    assert trace(lookup(client, lang="de-AT"))["german-sport"] == "sections"
    assert trace(lookup(client, lang="de", section="Sport"))["german-sport"] == "tags"
    page_signals = {"lang": "de", "section": "sport", "tags": "Cup, football"}
    assert trace(lookup(client, **page_signals))["german-sport"] == "min article views"
    page = lookup(client, **page_signals, article_views="3")
    assert "sees <strong>german-sport</strong>" in page
    assert "language de, section sport, tags cup, football, 3 articles read" in page
    # The page's own debug answer for the same page agrees.
    debug = decide(client, READER, debug="1", **page_signals, article_views="3")
    assert [(r["experiment"], r["failed"]) for r in debug["debug"]["experiments"]] == [
        ("german-sport", None),
        ("supporters", "priority"),
        ("everyone", "priority"),
    ]
    # The page's word that the reader supports us is asked too.
    assert trace(lookup(client, supporter="1"))["supporters"] == "— shown"
    assert trace(lookup(client))["supporters"] == "audience"


def test_bad_page_signals_are_named_next_to_their_field(
    client: FlaskClient, services: Services
) -> None:
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    page = lookup(
        client, lang="deutsch!", section="sport news", tags="ok,not ok", article_views="x"
    )
    assert 'id="lookup-result"' not in page
    assert re.search(r'id="lang-error">Language: must be a language tag such as en or en-GB<', page)
    assert re.search(r'id="section-error">Section: must be a slug of', page)
    assert re.search(r'id="tags-error">Tags: each tag must be a slug of', page)
    assert re.search(r'id="article_views-error">Articles read: must be a whole number', page)
    # What was typed stays in the form, to correct.
    assert (
        'value="sport news"' in page and 'aria-invalid="true" aria-describedby="tags-error"' in page
    )
