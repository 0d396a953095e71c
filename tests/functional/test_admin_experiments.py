"""Creating, reading, editing and listing experiments through the admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments"


def create(client: FlaskClient, auth: Auth, **overrides: Any) -> Any:
    response = client.post(URL, json=experiment_doc(**overrides), headers=auth("editor"))
    assert response.status_code == 201, response.json
    return response


def test_create_returns_the_stored_document(client: FlaskClient, auth: Auth) -> None:
    response = create(client, auth)
    body = response.json
    assert response.headers["Location"].endswith("/v1/admin/experiments/monthly-ask")
    assert response.headers["ETag"] == '"r1"'
    assert body["status"] == "draft"
    assert body["revision"] == 1
    assert [v["key"] for v in body["variants"]] == ["control", "five-dollars"]
    # Defaults are filled in, so staff see what the service will actually do.
    assert body["snooze_hours"]["remind_later"] == 168
    assert body["allowed_actions"] == ["start", "archive"]


def test_get_returns_what_was_created(client: FlaskClient, auth: Auth) -> None:
    created = create(client, auth).json
    response = client.get(f"{URL}/monthly-ask", headers=auth("viewer"))
    assert response.status_code == 200
    assert response.json == created


def test_invalid_document_names_every_bad_field(client: FlaskClient, auth: Auth) -> None:
    doc = experiment_doc(placement="sidebar", traffic=1.5)
    doc["variants"][1]["weight"] = -3
    doc["variants"][0]["banner"]["cta"]["url"] = "javascript:alert(1)"
    response = client.post(URL, json=doc, headers=auth("editor"))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert {"placement", "traffic", "variants[1].weight", "variants[0].banner.cta.url"} <= set(
        error["fields"]
    )
    assert client.get(f"{URL}/monthly-ask", headers=auth("viewer")).status_code == 404


def test_an_amount_selected_first_that_is_not_offered_is_422_naming_it(
    client: FlaskClient, auth: Auth
) -> None:
    doc = experiment_doc()
    doc["variants"][1]["banner"]["amounts"]["default_amount"] = 2  # monthly: 5, 10, 20
    response = client.post(URL, json=doc, headers=auth("editor"))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "variants[1].banner.amounts.default_amount": "must be one of the monthly amounts: 5, 10, 20"
    }
    doc["variants"][1]["banner"]["amounts"]["default_amount"] = 5
    created = client.post(URL, json=doc, headers=auth("editor"))
    assert created.status_code == 201, created.json
    amounts = created.json["variants"][1]["banner"]["amounts"]
    assert amounts["default_amount"] == 5


def test_new_experiments_must_start_as_draft(client: FlaskClient, auth: Auth) -> None:
    response = client.post(URL, json=experiment_doc(status="running"), headers=auth("editor"))
    assert response.status_code == 422
    assert "status" in response.json["error"]["fields"]


def test_duplicate_key_is_a_conflict(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    response = client.post(URL, json=experiment_doc(), headers=auth("editor"))
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"key": "already taken"}


def test_malformed_json_is_400(client: FlaskClient, auth: Auth) -> None:
    response = client.post(
        URL, data=b'{"key": "x",', content_type="application/json", headers=auth("editor")
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_non_json_body_is_415(client: FlaskClient, auth: Auth) -> None:
    response = client.post(URL, data="key=x", content_type="text/plain", headers=auth("editor"))
    assert response.status_code == 415


def test_array_body_is_422_naming_the_root(client: FlaskClient, auth: Auth) -> None:
    response = client.post(URL, json=[experiment_doc()], headers=auth("editor"))
    assert response.status_code == 422
    assert "$" in response.json["error"]["fields"]


def test_deeply_nested_body_is_refused(client: FlaskClient, auth: Auth) -> None:
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    response = client.post(URL, json={"key": "x", "name": deep}, headers=auth("editor"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "too_deep"


def test_oversize_body_is_413(client: FlaskClient, auth: Auth) -> None:
    doc = experiment_doc(name="x" * 2_000_000)
    response = client.post(URL, json=doc, headers=auth("editor"))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_list_filters_by_status(client: FlaskClient, auth: Auth) -> None:
    create(client, auth, key="first")
    create(client, auth, key="second")
    client.post(f"{URL}/second/start", headers=auth("editor"))
    everything = client.get(URL, headers=auth("viewer")).json["experiments"]
    assert sorted(e["key"] for e in everything) == ["first", "second"]
    running = client.get(f"{URL}?status=running", headers=auth("viewer")).json["experiments"]
    assert [e["key"] for e in running] == ["second"]
    drafts = client.get(f"{URL}?status=draft,paused", headers=auth("viewer")).json["experiments"]
    assert [e["key"] for e in drafts] == ["first"]


def test_unknown_status_filter_is_400(client: FlaskClient, auth: Auth) -> None:
    response = client.get(f"{URL}?status=live", headers=auth("viewer"))
    assert response.status_code == 400
    assert "status" in response.json["error"]["fields"]


def test_update_changes_the_document_and_the_revision(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    doc = experiment_doc()
    doc["variants"][1]["weight"] = 70
    del doc["key"]
    response = client.put(f"{URL}/monthly-ask", json=doc, headers=auth("editor"))
    assert response.status_code == 200, response.json
    assert response.json["revision"] == 2
    assert response.headers["ETag"] == '"r2"'
    assert response.json["variants"][1]["weight"] == 70


def test_update_with_a_stale_etag_is_412(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    first = experiment_doc(name="First edit")
    second = experiment_doc(name="Second edit")
    ok = client.put(
        f"{URL}/monthly-ask", json=first, headers={**auth("editor"), "If-Match": '"r1"'}
    )
    assert ok.status_code == 200
    stale = client.put(
        f"{URL}/monthly-ask", json=second, headers={**auth("editor"), "If-Match": '"r1"'}
    )
    assert stale.status_code == 412
    current = client.get(f"{URL}/monthly-ask", headers=auth("viewer")).json
    assert current["name"] == "First edit"


def test_update_cannot_rename_the_key(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    response = client.put(
        f"{URL}/monthly-ask", json=experiment_doc(key="other-key"), headers=auth("editor")
    )
    assert response.status_code == 422
    assert "key" in response.json["error"]["fields"]


def test_update_cannot_change_status(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    response = client.put(
        f"{URL}/monthly-ask", json=experiment_doc(status="running"), headers=auth("editor")
    )
    assert response.status_code == 422
    assert "status" in response.json["error"]["fields"]


def test_running_experiment_keeps_its_variants(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    client.post(f"{URL}/monthly-ask/start", headers=auth("editor"))
    doc = experiment_doc()
    doc["variants"] = doc["variants"][:1]
    response = client.put(f"{URL}/monthly-ask", json=doc, headers=auth("editor"))
    assert response.status_code == 422
    assert "variants" in response.json["error"]["fields"]
    # Copy and weights may still change while it runs.
    doc = experiment_doc()
    doc["variants"][0]["banner"]["heading"] = "A new heading"
    response = client.put(f"{URL}/monthly-ask", json=doc, headers=auth("editor"))
    assert response.status_code == 200
    assert response.json["status"] == "running"


def test_unknown_experiment_is_404_everywhere(client: FlaskClient, auth: Auth) -> None:
    for method, path in [
        ("get", f"{URL}/nope"),
        ("put", f"{URL}/nope"),
        ("post", f"{URL}/nope/start"),
        ("get", f"{URL}/nope/history"),
    ]:
        response = getattr(client, method)(path, json=experiment_doc(), headers=auth("editor"))
        assert response.status_code == 404, (method, path)
        assert response.json["error"]["code"] == "not_found"


def test_what_get_returns_can_be_put_back(client: FlaskClient, auth: Auth) -> None:
    create(client, auth)
    read = client.get(f"{URL}/monthly-ask", headers=auth("viewer"))
    edited = {**read.json, "name": "Edited in place"}
    response = client.put(
        f"{URL}/monthly-ask",
        json=edited,
        headers={**auth("editor"), "If-Match": read.headers["ETag"]},
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Edited in place"
