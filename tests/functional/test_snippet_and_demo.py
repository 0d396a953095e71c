"""Serving the snippet, and the demo article and donation pages."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

from flask.testing import FlaskClient

from service.app import create_app
from service.settings import Settings
from tests.functional.events_support import banner_for, start_experiment

Auth = Callable[[str], dict[str, str]]
SIZE_BUDGET = 6 * 1024


def test_snippet_fits_its_gzip_budget_as_served(client: FlaskClient) -> None:
    response = client.get("/snippet.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) <= SIZE_BUDGET
    assert gzip.decompress(response.data).startswith(b"/* Small Favor snippet")


def test_the_served_snippet_is_the_source_without_its_comment_lines(client: FlaskClient) -> None:
    source = (resources.files("service.snippet") / "snippet.js").read_text().splitlines()
    served = client.get("/snippet.js").get_data(as_text=True).splitlines()
    assert served == [line for line in source if not line.lstrip().startswith("//")]
    assert len(served) < len(source)


def test_alias_is_short_cached_and_the_versioned_file_immutable(client: FlaskClient) -> None:
    alias = client.get("/snippet.js")
    assert alias.headers["Cache-Control"] == "public, max-age=300"
    assert alias.mimetype == "application/javascript"
    page = client.get("/demo").get_data(as_text=True)
    versioned = re.search(r'src="(/snippet\.[0-9a-f]{12}\.js)"', page)
    assert versioned, "the demo page loads the versioned snippet"
    pinned = client.get(versioned.group(1))
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert pinned.data == alias.data
    assert client.get("/snippet.000000000000.js").status_code == 404


def test_demo_article_embeds_the_snippet(client: FlaskClient) -> None:
    page = client.get("/demo").get_data(as_text=True)
    assert 'data-smallfavor="article-end"' in page
    assert 'data-placement="article-end bottom-banner"' in page
    assert "<h1>The last ferry keeper of Marrow Bend</h1>" in page


def test_demo_donation_is_credited(client: FlaskClient, auth: Auth) -> None:
    start_experiment(client, auth("editor"), targeting={})
    banner = banner_for(client, "reader-000001")
    from tests.functional.events_support import event, post_events

    post_events(client, [event(banner["token"])])
    form = client.get(f"/demo/donate?sf_token={banner['token']}&amount=5&frequency=monthly")
    assert banner["token"] in form.get_data(as_text=True)
    done = client.post(
        "/demo/donate",
        data={"token": banner["token"], "amount": "5", "currency": "USD", "frequency": "monthly"},
    )
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Thank you" in text and "monthly-ask" in text


def test_demo_donation_explains_a_refusal(client: FlaskClient) -> None:
    refused = client.post(
        "/demo/donate",
        data={"token": "forged", "amount": "5", "currency": "USD", "frequency": "monthly"},
    )
    assert refused.status_code == 422
    assert "refused" in refused.get_data(as_text=True)
    not_a_number = client.post("/demo/donate", data={"token": "t", "amount": "five"})
    assert not_a_number.status_code == 422
    endless = client.post("/demo/donate", data={"token": "t", "amount": "inf"})
    assert endless.status_code == 422
    assert "amount: required" in endless.get_data(as_text=True)


def test_demo_donation_without_redis_asks_to_retry(
    env: dict[str, str], client: FlaskClient, auth: Auth
) -> None:
    start_experiment(client, auth("editor"), targeting={})
    token = banner_for(client, "reader-000001")["token"]
    down = create_app(Settings.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0"}))
    refused = down.test_client().post(
        "/demo/donate",
        data={"token": token, "amount": "5", "currency": "USD", "frequency": "monthly"},
    )
    assert refused.status_code == 503
    assert "retry later" in refused.get_data(as_text=True)


def test_demo_payments_are_off_in_production(
    env: dict[str, str], clean_db: Any, redis_client: Any
) -> None:
    app = create_app(Settings.from_env({**env, "SMALLFAVOR_ENV": "production"}))
    response = app.test_client().post("/demo/donate", data={"token": "t", "amount": "5"})
    assert response.status_code == 404
    assert "turned off in production" in response.get_data(as_text=True)
