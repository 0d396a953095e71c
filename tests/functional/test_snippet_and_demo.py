"""Serving the snippet, and the demo article and donation pages."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
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


def test_demo_donation_goes_through_the_checkout_standin_and_is_credited(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    from tests.functional.events_support import event, post_events
    from tests.functional.test_events_redis_fallback import flush

    start_experiment(client, auth("editor"), targeting={})
    banner = banner_for(client, "reader-000001")
    post_events(client, [event(banner["token"])])
    link = "/demo/donate?client_reference_id=reader-000001&amount=5&frequency=monthly"
    assert 'value="reader-000001"' in client.get(link).get_data(as_text=True)
    done = client.post(
        "/demo/donate",
        data={"visitor": "reader-000001", "amount": "5", "currency": "USD", "frequency": "monthly"},
    )
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Thank you" in text and "monthly-ask" in text
    # The events Stripe sends for a subscription's Checkout, each applied once.
    for sent in ("checkout.session.completed", "invoice.paid", "invoice_payment.paid"):
        assert f"<code>{sent}</code>" in text
    later = dict(re.findall(r'name="(\w+)" value="(\w*)"', text))
    assert later["amount"] == "500" and later["subscription"].startswith("sub_")

    def variant_figures() -> dict[str, Any]:
        flush(app)
        report = client.get("/v1/admin/experiments/monthly-ask/report", headers=auth("viewer")).json
        [row] = [v for v in report["variants"] if v["key"] == banner["variant"]]
        return {k: row[k] for k in ("conversions", "revenue", "renewals", "churned_donors")}

    assert variant_figures() == {
        "conversions": 1,
        "revenue": 5.0,
        "renewals": 0,
        "churned_donors": 0,
    }
    for step in ("renew", "refund", "cancel"):
        answer = client.post(f"/demo/checkout/{step}", data=later)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert "applied" in answer.get_data(as_text=True)
    # Renewed (+5), the first payment refunded (-5), then cancelled.
    assert variant_figures() == {
        "conversions": 1,
        "revenue": 5.0,
        "renewals": 1,
        "churned_donors": 1,
    }


def test_demo_donation_explains_a_refusal(client: FlaskClient) -> None:
    refused = client.post(
        "/demo/donate",
        data={"token": "forged", "amount": "5", "currency": "USD", "frequency": "monthly"},
    )
    assert refused.status_code == 422
    assert "refused" in refused.get_data(as_text=True)
    not_a_number = client.post("/demo/donate", data={"token": "t", "amount": "five"})
    assert not_a_number.status_code == 422
    assert "as a number" in not_a_number.get_data(as_text=True)
    endless = client.post("/demo/donate", data={"token": "t", "amount": "inf"})
    assert endless.status_code == 422
    assert "above zero" in endless.get_data(as_text=True)
    odd = client.post("/demo/checkout/renew", data={"subscription": "sub_1'<", "amount": "5x"})
    assert odd.status_code == 422
    assert "bad subscription, amount, currency" in odd.get_data(as_text=True)


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


def test_the_demo_offers_a_reminder_in_one_variant_and_its_privacy_page_answers(
    client: FlaskClient,
) -> None:
    from service.demo.experiment import demo_document
    from service.schemas.experiment import parse_experiment

    demo = parse_experiment(demo_document("http://127.0.0.1:8000"))
    offers = {v.key: v.banner.reminder for v in demo.variants}
    assert offers["control"] is None
    offer = offers["five-dollars"]
    assert offer is not None and [c.label for c in offer.choices] == ["In 2 weeks", "Next month"]
    assert offer.privacy_url == "http://127.0.0.1:8000/demo/privacy"
    page = client.get("/demo/privacy")
    assert page.status_code == 200
    assert "Reminder e-mails and your address" in page.get_data(as_text=True)
