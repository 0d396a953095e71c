"""Lifecycle actions, the audit history, and the config version that caches watch."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.store.redis import config_version
from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments"


@pytest.fixture
def draft(client: FlaskClient, auth: Auth) -> str:
    assert client.post(URL, json=experiment_doc(), headers=auth("editor")).status_code == 201
    return f"{URL}/monthly-ask"


def test_full_lifecycle(client: FlaskClient, auth: Auth, draft: str, clock) -> None:  # type: ignore[no-untyped-def]
    steps = [
        ("start", "running"),
        ("pause", "paused"),
        ("start", "running"),
        ("stop", "stopped"),
        ("archive", "archived"),
    ]
    for action, status in steps:
        clock.advance(minutes=1)
        response = client.post(f"{draft}/{action}", headers=auth("editor"))
        assert response.status_code == 200, (action, response.json)
        assert response.json["status"] == status
    final = response.json
    assert final["started_at"] == "2026-11-28T12:01:00Z"
    assert final["stopped_at"] == "2026-11-28T12:04:00Z"
    assert final["allowed_actions"] == []


@pytest.mark.parametrize("action", ["pause", "stop"])
def test_draft_cannot_pause_or_stop(
    client: FlaskClient, auth: Auth, draft: str, action: str
) -> None:
    response = client.post(f"{draft}/{action}", headers=auth("editor"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "transition_not_allowed"
    assert client.get(draft, headers=auth("viewer")).json["status"] == "draft"


def test_unknown_action_is_404(client: FlaskClient, auth: Auth, draft: str) -> None:
    assert client.post(f"{draft}/launch", headers=auth("editor")).status_code == 404


def test_stopped_experiment_is_read_only(client: FlaskClient, auth: Auth, draft: str) -> None:
    client.post(f"{draft}/start", headers=auth("editor"))
    client.post(f"{draft}/stop", headers=auth("editor"))
    response = client.put(draft, json=experiment_doc(), headers=auth("editor"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "read_only"


def test_every_change_bumps_the_config_version(client: FlaskClient, auth: Auth, services) -> None:  # type: ignore[no-untyped-def]
    versions = [config_version.current(services.redis, services.keys)]
    client.post(URL, json=experiment_doc(), headers=auth("editor"))
    versions.append(config_version.current(services.redis, services.keys))
    client.put(f"{URL}/monthly-ask", json=experiment_doc(name="Renamed"), headers=auth("editor"))
    versions.append(config_version.current(services.redis, services.keys))
    client.post(f"{URL}/monthly-ask/start", headers=auth("editor"))
    versions.append(config_version.current(services.redis, services.keys))
    assert versions == sorted(set(versions)), versions
    # A refused change announces nothing.
    client.post(f"{URL}/monthly-ask/archive", headers=auth("editor"))
    assert config_version.current(services.redis, services.keys) == versions[-1]


def test_history_records_who_did_what(client: FlaskClient, auth: Auth, draft: str, clock) -> None:  # type: ignore[no-untyped-def]
    doc = experiment_doc()
    doc["variants"][1]["weight"] = 80
    clock.advance(hours=1)
    client.put(draft, json=doc, headers=auth("editor"))
    clock.advance(hours=1)
    client.post(f"{draft}/start", headers=auth("admin"))
    response = client.get(f"{draft}/history", headers=auth("viewer"))
    assert response.status_code == 200
    revisions = response.json["revisions"]
    assert [(r["revision"], r["action"]) for r in revisions] == [
        (3, "start"),
        (2, "update"),
        (1, "create"),
    ]
    assert revisions[0]["actor"] == "token:test-admin"
    assert revisions[1]["actor"] == "token:test-editor"
    assert revisions[1]["at"] == "2026-11-28T13:00:00Z"
    assert {"path": "variants[1].weight", "op": "changed", "old": 50, "new": 80} in revisions[1][
        "changes"
    ]
    assert {"path": "status", "op": "changed", "old": "draft", "new": "running"} in revisions[0][
        "changes"
    ]
    assert revisions[2]["document"]["variants"][1]["weight"] == 50
