"""The dashboard's experiment pages through the Flask client: create, validate, edit, run,
read history, preview; a viewer reads but cannot change anything."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import csrf, form_fields, log_in, make_user, post_form


def _new_form(client: FlaskClient) -> dict[str, Any]:
    page = client.get("/dashboard/experiments/new")
    assert page.status_code == 200
    return form_fields(page.get_data(as_text=True))


def _signed_in(client: FlaskClient, services: Services, role: str = "editor") -> None:
    assert log_in(client, make_user(services, role)).status_code == 302


def test_create_a_two_variant_experiment_from_the_form(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    fields = _new_form(client)
    # The starter form is complete: one control with a whole banner.
    assert fields["variants[0].key"] == "control"
    assert fields["variants[0].banner.amounts.monthly"] == "2, 5, 10"
    added = post_form(client, "/dashboard/experiments/new", {**fields, "op": "add-variant"})
    assert added.status_code == 200
    fields = form_fields(added.get_data(as_text=True))
    assert "variants[1].banner.heading" in fields
    fields.update(
        {
            "key": "winter-ask",
            "name": "Winter ask: $2 vs $5",
            "targeting.countries": "us, gb",
            "variants[1].key": "five-dollars",
            "variants[1].banner.amounts.monthly": "5, 10, 20",
            "variants[1].banner.paragraphs": "First paragraph.\n\nSecond paragraph.",
            "op": "save",
        }
    )
    created = post_form(client, "/dashboard/experiments/new", fields)
    assert created.status_code == 302, created.get_data(as_text=True)
    assert created.headers["Location"] == "/dashboard/experiments/winter-ask"
    stored = services.experiments.get("winter-ask")
    assert stored is not None
    e = stored.experiment
    assert [v.key for v in e.variants] == ["control", "five-dollars"]
    assert e.targeting.countries == ("US", "GB")
    assert e.variants[1].banner.amounts is not None
    assert e.variants[1].banner.amounts.monthly == (5, 10, 20)
    assert e.variants[1].banner.paragraphs == ("First paragraph.", "Second paragraph.")
    assert str(e.status) == "draft"
    results = client.get("/dashboard/experiments/winter-ask")
    assert "Created draft winter-ask" in results.get_data(as_text=True)
    history = services.experiments.history("winter-ask")
    assert history and history[0].actor == "user:editor@newsroom.example"


def test_validation_errors_sit_beside_their_fields_and_keep_the_input(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    fields = _new_form(client)
    fields.update(
        {
            "key": "Bad Key!",
            "name": "Kept name",
            "traffic": "lots",
            "variants[0].banner.amounts.monthly": "2, five",
            "variants[0].banner.cta.url": "javascript:alert(1)",
        }
    )
    response = post_form(client, "/dashboard/experiments/new", {**fields, "op": "save"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "fields need attention" in html
    for field in (
        "key",
        "traffic",
        "variants-0-banner-amounts-monthly",
        "variants-0-banner-cta-url",
    ):
        assert re.search(rf'id="f-{field}-error">[^<]+<', html), field
    assert 'value="Kept name"' in html
    assert 'value="2, five"' in html
    assert services.experiments.get("bad-key") is None


def test_the_amount_selected_first_is_set_in_the_editor_and_checked(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    fields = {**_new_form(client), "key": "chosen-ask", "name": "Chosen ask", "op": "save"}
    assert fields["variants[0].banner.amounts.default_amount"] == ""  # the second amount
    fields["variants[0].banner.amounts.default_amount"] = "7"
    refused = post_form(client, "/dashboard/experiments/new", fields)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(
        r'id="f-variants-0-banner-amounts-default_amount-error">'
        r"must be one of the monthly amounts: 2, 5, 10<",
        html,
    ), html
    fields["variants[0].banner.amounts.default_amount"] = "2"
    created = post_form(client, "/dashboard/experiments/new", fields)
    assert created.status_code == 302, created.get_data(as_text=True)
    stored = services.experiments.get("chosen-ask")
    assert stored is not None and stored.experiment.control.banner.amounts is not None
    assert stored.experiment.control.banner.amounts.default_amount == 2
    edit = form_fields(client.get("/dashboard/experiments/chosen-ask/edit").get_data(as_text=True))
    assert edit["variants[0].banner.amounts.default_amount"] == "2"


def test_duplicate_key_is_reported_on_the_key_field(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    fields = {**_new_form(client), "key": "twice", "name": "Twice", "op": "save"}
    assert post_form(client, "/dashboard/experiments/new", fields).status_code == 302
    again = post_form(client, "/dashboard/experiments/new", fields)
    assert again.status_code == 409
    assert 'id="f-key-error">already taken' in again.get_data(as_text=True)


def _create(client: FlaskClient, key: str = "winter-ask", variants: int = 2) -> None:
    fields = _new_form(client)
    for _ in range(variants - 1):
        fields = form_fields(
            post_form(
                client, "/dashboard/experiments/new", {**fields, "op": "add-variant"}
            ).get_data(as_text=True)
        )
    fields.update({"key": key, "name": "Winter ask", "op": "save"})
    for i in range(1, variants):
        fields[f"variants[{i}].key"] = f"arm-{i}"
    assert post_form(client, "/dashboard/experiments/new", fields).status_code == 302


def test_edit_saves_a_revision_and_history_shows_the_diff(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    _create(client)
    edit = client.get("/dashboard/experiments/winter-ask/edit")
    fields = form_fields(edit.get_data(as_text=True))
    assert fields["revision"] == "1"
    fields["variants[1].banner.heading"] = "A brand new heading"
    saved = post_form(
        client,
        "/dashboard/experiments/winter-ask/edit",
        {**fields, "op": "save"},
        page="/dashboard/experiments/winter-ask/edit",
    )
    assert saved.status_code == 302
    stored = services.experiments.get("winter-ask")
    assert stored is not None and stored.revision == 2
    assert stored.experiment.variants[1].banner.heading == "A brand new heading"
    history = client.get("/dashboard/experiments/winter-ask/history").get_data(as_text=True)
    assert "variants[1].banner.heading" in history
    assert "A brand new heading" in history
    compared = client.get("/dashboard/experiments/winter-ask/history?a=1&b=2")
    assert "Revision 1 → 2" in compared.get_data(as_text=True)


def test_a_stale_edit_is_kept_and_explained(client: FlaskClient, services: Services) -> None:
    _signed_in(client, services)
    _create(client)
    fields = form_fields(
        client.get("/dashboard/experiments/winter-ask/edit").get_data(as_text=True)
    )
    fields["name"] = "First editor"
    post_form(
        client,
        "/dashboard/experiments/winter-ask/edit",
        {**fields, "op": "save"},
        page="/dashboard/experiments/winter-ask/edit",
    )
    fields["name"] = "Second editor"  # still based on revision 1
    stale = post_form(
        client,
        "/dashboard/experiments/winter-ask/edit",
        {**fields, "op": "save"},
        page="/dashboard/experiments/winter-ask/edit",
    )
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone saved revision 2" in html
    assert 'value="Second editor"' in html
    assert 'name="revision" value="2"' in html  # a second save deliberately replaces theirs


def test_start_needs_confirmation_then_runs(client: FlaskClient, services: Services) -> None:
    _signed_in(client, services)
    _create(client)
    confirm = client.get("/dashboard/experiments/winter-ask/start")
    assert confirm.status_code == 200
    assert "Readers who match its targeting start seeing" in confirm.get_data(as_text=True)
    stored = services.experiments.get("winter-ask")
    assert stored is not None and str(stored.experiment.status) == "draft"
    done = client.post(
        "/dashboard/experiments/winter-ask/start",
        data={"csrf_token": csrf(confirm), "revision": "1"},
    )
    assert done.status_code == 302
    stored = services.experiments.get("winter-ask")
    assert stored is not None and str(stored.experiment.status) == "running"
    # A running experiment cannot be started again, nor archived before it stops.
    assert client.get("/dashboard/experiments/winter-ask/start").status_code == 409
    assert client.get("/dashboard/experiments/winter-ask/archive").status_code == 409


def test_live_experiment_locks_the_fields_that_move_visitors(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    _create(client)
    confirm = client.get("/dashboard/experiments/winter-ask/start")
    client.post(
        "/dashboard/experiments/winter-ask/start",
        data={"csrf_token": csrf(confirm), "revision": "1"},
    )
    page = client.get("/dashboard/experiments/winter-ask/edit").get_data(as_text=True)
    placement = re.search(
        r'<select id="f-placement" name="placement"[^>]*>(.*?)</select>', page, re.S
    )
    assert placement and placement.group(1).count("<option") == 1
    fields = form_fields(page)
    fields["variants[1].key"] = "renamed"
    refused = post_form(
        client,
        "/dashboard/experiments/winter-ask/edit",
        {**fields, "op": "save"},
        page="/dashboard/experiments/winter-ask/edit",
    )
    assert refused.status_code == 422
    assert "cannot be removed or renamed" in refused.get_data(as_text=True)


def test_viewer_reads_but_cannot_change(client: FlaskClient, services: Services) -> None:
    _signed_in(client, services)
    _create(client)
    client.post("/dashboard/logout", data={"csrf_token": csrf(client.get("/dashboard/"))})
    _signed_in(client, services, "viewer")
    listing = client.get("/dashboard/").get_data(as_text=True)
    assert "Winter ask" in listing
    assert "New experiment" not in listing
    results = client.get("/dashboard/experiments/winter-ask").get_data(as_text=True)
    assert "/edit" not in results and "/start" not in results
    assert client.get("/dashboard/experiments/new").status_code == 403
    assert client.get("/dashboard/experiments/winter-ask/edit").status_code == 403
    token = csrf(client.get("/dashboard/"))
    assert (
        client.post(
            "/dashboard/experiments/winter-ask/start", data={"csrf_token": token}
        ).status_code
        == 403
    )
    stored = services.experiments.get("winter-ask")
    assert stored is not None and str(stored.experiment.status) == "draft"


def test_banner_preview_fills_placeholders_and_reports_errors(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    fields = _new_form(client)
    token = csrf(client.get("/dashboard/experiments/new"))
    variant = {k.split("].", 1)[1]: v for k, v in fields.items() if k.startswith("variants[0].")}
    ok = client.post(
        "/dashboard/banner-preview", json={"fields": variant}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200
    body: Any = ok.json
    assert body["banner"]["token"] == ""
    assert body["banner"]["content"]["highlight"] == "Please support us with $5 a month."
    bad = client.post(
        "/dashboard/banner-preview",
        json={"fields": {**variant, "banner.heading": "Hi %%NAME%%"}},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422
    assert bad.json == {"errors": {"banner.heading": "unknown placeholder %%NAME%%"}}
    assert client.post("/dashboard/banner-preview", json={"fields": variant}).status_code == 400


def test_preview_link_is_signed_for_the_chosen_variant(
    client: FlaskClient, services: Services
) -> None:
    _signed_in(client, services)
    _create(client)
    page = client.get("/dashboard/experiments/winter-ask")
    response = client.post(
        "/dashboard/experiments/winter-ask/preview-link",
        data={"csrf_token": csrf(page), "variant": "arm-1", "hours": "24"},
    )
    assert response.status_code == 200
    token = re.search(
        r'<textarea id="preview-token" readonly rows="3">([^<]+)<', response.get_data(as_text=True)
    )
    assert token
    decision = client.get(
        "/v1/decision",
        query_string={
            "visitor": "qa-person-1",
            "placement": "article-end",
            "preview": token.group(1),
        },
    )
    body: Any = decision.json
    assert body["banner"]["variant"] == "arm-1" and body["banner"]["qa"] is True
