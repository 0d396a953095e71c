"""/v1/admin/exports: schedules and their runs through the admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.domain.export_schedule import REDACTED
from service.jobs.exports.runner import ExportRunner
from service.jobs.exports.scheduler import Scheduler
from service.store.sql.exports_repo import ExportRepo
from service.wiring import Services
from tests.support import FakeClock, experiment_doc

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/exports"
SECRET = "a-long-enough-secret-123"


def schedule_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "Weekly board report",
        "cron": "0 6 * * 1",
        "timezone": "Europe/Berlin",
        "experiments": ["monthly-ask"],
        "format": "csv",
        "destination": {"type": "webhook", "url": "https://hooks.example/in", "secret": SECRET},
    }
    doc.update(overrides)
    return doc


def body(response: Any) -> dict[str, Any]:
    data = response.json
    assert isinstance(data, dict), response.data
    return data


@pytest.fixture
def created(client: FlaskClient, auth: Auth) -> dict[str, Any]:
    response = client.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("editor"))
    assert response.status_code == 201
    response = client.post(URL, json=schedule_doc(), headers=auth("editor"))
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith(f"{URL}/{body(response)['id']}")
    return body(response)


def test_create_read_and_list_never_show_the_secret(
    client: FlaskClient, auth: Auth, created: dict[str, Any]
) -> None:
    assert created["destination"] == {
        "type": "webhook",
        "url": "https://hooks.example/in",
        "secret": REDACTED,
    }
    # The clock stands at Saturday 2026-11-28 12:00 UTC: next Monday 06:00 CET is 05:00 UTC.
    assert created["next_run_at"] == "2026-11-30T05:00:00Z"
    assert created["last_run"] is None and created["catch_up"] is True
    one = client.get(f"{URL}/{created['id']}", headers=auth("viewer"))
    assert body(one) == created
    listed = body(client.get(URL, headers=auth("viewer")))
    assert listed == {"exports": [created]}
    assert SECRET not in client.get(URL, headers=auth("viewer")).get_data(as_text=True)


def test_viewers_read_and_editors_write(
    client: FlaskClient, auth: Auth, created: dict[str, Any]
) -> None:
    path = f"{URL}/{created['id']}"
    assert client.get(URL).status_code == 401
    assert client.post(URL, json=schedule_doc(), headers=auth("viewer")).status_code == 403
    assert client.put(path, json=schedule_doc(), headers=auth("viewer")).status_code == 403
    assert client.delete(path, headers=auth("viewer")).status_code == 403
    assert client.post(f"{path}/run", headers=auth("viewer")).status_code == 403
    assert client.get(f"{path}/runs", headers=auth("viewer")).status_code == 200


def test_every_bad_field_is_a_422_naming_it(client: FlaskClient, auth: Auth) -> None:
    response = client.post(
        URL,
        json=schedule_doc(
            cron="every monday",
            timezone="Berlin",
            experiments=["nope"],
            destination={"type": "email", "to": ["x"]},
        ),
        headers=auth("editor"),
    )
    assert response.status_code == 422
    error = body(response)["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"cron", "timezone", "destination.to[0]"}
    unknown = client.post(URL, json=schedule_doc(experiments=["nope"]), headers=auth("editor"))
    assert body(unknown)["error"]["fields"] == {"experiments[0]": "no experiment with key 'nope'"}
    # No mail relay configured here: an e-mail destination could never be delivered.
    mail = client.post(
        URL,
        json=schedule_doc(
            experiments="all_running", destination={"type": "email", "to": ["a@b.org"]}
        ),
        headers=auth("editor"),
    )
    assert body(mail)["error"]["fields"] == {
        "destination.type": "e-mail is not configured on this server (SMTP_HOST)"
    }
    not_json = client.post(URL, data="name=x", headers=auth("editor"))
    assert not_json.status_code == 415 and "error" in body(not_json)
    assert client.post(URL, json=[1], headers=auth("editor")).status_code == 422


def test_put_keeps_the_secret_unless_the_url_changes(
    client: FlaskClient, auth: Auth, created: dict[str, Any], services: Services
) -> None:
    path = f"{URL}/{created['id']}"
    edited = {**created, "format": "parquet", "enabled": False}  # PUT back what was read
    response = client.put(path, json=edited, headers=auth("editor"))
    assert response.status_code == 200, response.json
    assert body(response)["format"] == "parquet" and body(response)["next_run_at"] is None
    stored = ExportRepo(services.engine).get(created["id"])
    assert stored is not None and stored.schedule.destination.to_document()["secret"] == SECRET
    moved = {**edited, "destination": {**created["destination"], "url": "https://evil.example"}}
    refused = client.put(path, json=moved, headers=auth("editor"))
    assert refused.status_code == 422
    assert body(refused)["error"]["fields"]["destination.secret"].startswith("send the secret")


def test_names_are_unique_and_missing_ids_are_404(
    client: FlaskClient, auth: Auth, created: dict[str, Any]
) -> None:
    again = client.post(URL, json=schedule_doc(), headers=auth("editor"))
    assert again.status_code == 409 and body(again)["error"]["fields"] == {"name": "taken"}
    for method, path in (
        ("get", f"{URL}/999"),
        ("put", f"{URL}/999"),
        ("delete", f"{URL}/999"),
        ("post", f"{URL}/999/run"),
        ("get", f"{URL}/999/runs"),
    ):
        response = getattr(client, method)(path, json=schedule_doc(), headers=auth("editor"))
        assert response.status_code == 404, (method, path)
        assert body(response)["error"]["code"] == "not_found"
    assert client.get(f"{URL}/abc", headers=auth("viewer")).status_code == 404
    # "²" and Arabic-Indic ten pass str.isdigit(); int() refuses the first, reads the second.
    for limit in ("0", "\u00b2", "\u0661\u0660", "99999999999999999999", "5 ", "-1"):
        bad = client.get(f"{URL}/{created['id']}/runs?limit={limit}", headers=auth("viewer"))
        assert bad.status_code == 400, limit
        assert "limit" in body(bad)["error"]["fields"], limit


def test_run_now_is_queued_executed_by_the_scheduler_and_listed(
    client: FlaskClient,
    auth: Auth,
    services: Services,
    clock: FakeClock,
    tmp_path: Any,
) -> None:
    client.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("editor"))
    doc = schedule_doc(destination={"type": "directory", "path": "adhoc"}, format="json")
    created = body(client.post(URL, json=doc, headers=auth("editor")))
    path = f"{URL}/{created['id']}"
    queued = client.post(f"{path}/run", headers=auth("editor"))
    assert queued.status_code == 202
    assert queued.headers["Location"].endswith(f"{path}/runs")
    assert body(queued)["status"] == "queued" and body(queued)["fire_time"] is None

    scheduler = Scheduler(
        ExportRepo(services.engine),
        ExportRunner(services.engine, services.settings),
        clock=clock,
        max_attempts=3,
        retry_seconds=60,
    )
    scheduler.run_pending()
    runs = body(client.get(f"{path}/runs", headers=auth("viewer")))["runs"]
    assert len(runs) == 1
    (run,) = runs
    assert run["id"] == body(queued)["id"] and run["status"] == "succeeded"
    assert run["rows"] == 2 and run["bytes"] > 0  # a draft experiment: summary rows only
    assert run["finished_at"] == "2026-11-28T12:00:00Z"
    files = list((services.settings.export_dir / "adhoc").iterdir())
    assert [f.name for f in files] == [f"monthly-ask_2026-11-28_2026-11-28_run{run['id']}.json"]
    assert body(client.get(path, headers=auth("viewer")))["last_run"] == run


def test_delete_removes_the_schedule_and_its_runs(
    client: FlaskClient, auth: Auth, created: dict[str, Any], services: Services
) -> None:
    path = f"{URL}/{created['id']}"
    client.post(f"{path}/run", headers=auth("editor"))
    assert client.delete(path, headers=auth("editor")).status_code == 204
    assert client.get(path, headers=auth("viewer")).status_code == 404
    assert ExportRepo(services.engine).runs(created["id"]) == []


def test_ids_beyond_the_sql_integer_range_are_404_not_500(
    client: FlaskClient, auth: Callable[[str], dict[str, str]]
) -> None:
    for method, path in (
        ("GET", "/v1/admin/exports/9223372036854775808"),
        ("DELETE", "/v1/admin/exports/2147483648"),
        ("GET", "/v1/admin/exports/2147483648/runs"),
        ("POST", "/v1/admin/exports/0/run"),
    ):
        response = client.open(path, method=method, headers=auth("admin"))
        assert response.status_code == 404, (method, path)
        assert response.json["error"]["code"] == "not_found"


INTERNAL_URLS = [
    "https://169.254.169.254/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://[::1]:22/",
    "https://127.0.0.1:6379/",
    "https://0x7f.1:5432/",
    "https://2130706433/",
    "https://[::ffff:10.0.0.1]/",
    "https://192.168.1.1/admin",
    "https://100.64.0.1/",
    "https://localhost./",
    "https://ⓛocalhost/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_webhook_urls_are_refused_naming_the_field(
    client: FlaskClient, auth: Auth, created: dict[str, Any], services: Services, url: str
) -> None:
    hook = {"type": "webhook", "url": url, "secret": SECRET}
    new = client.post(
        URL, json=schedule_doc(name="internal", destination=hook), headers=auth("editor")
    )
    assert new.status_code == 422
    message = body(new)["error"]["fields"]["destination.url"]
    assert message.startswith("must not point to an internal host: ")
    assert message.endswith("an operator can allow internal receivers with EXPORT_WEBHOOK_ALLOW")
    edit = client.put(
        f"{URL}/{created['id']}", json={**created, "destination": hook}, headers=auth("editor")
    )
    assert edit.status_code == 422 and "destination.url" in body(edit)["error"]["fields"]
    (stored,) = ExportRepo(services.engine).find()
    assert stored.schedule.destination.to_document()["url"] == "https://hooks.example/in"
