"""Who may call what on the admin API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]


def test_no_token_is_401_with_a_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/v1/admin/experiments")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer sf_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "sf_token"]
)
def test_bad_or_malformed_token_is_401(client: FlaskClient, header: str) -> None:
    response = client.get("/v1/admin/experiments", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_revoked_token_is_refused(client: FlaskClient, services, token_for) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from service.store.sql.access_tables import api_tokens

    token = token_for("admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/admin/experiments", headers=headers).status_code == 200
    with services.engine.begin() as conn:
        conn.execute(update(api_tokens).values(revoked_at=services.clock()))
    assert client.get("/v1/admin/experiments", headers=headers).status_code == 401


def test_viewer_reads_but_cannot_write(client: FlaskClient, auth: Auth) -> None:
    assert client.get("/v1/admin/experiments", headers=auth("viewer")).status_code == 200
    response = client.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("viewer"))
    assert response.status_code == 403
    assert "editor" in response.json["error"]["message"]


@pytest.mark.parametrize("action", ["start", "pause", "stop", "archive"])
def test_viewer_cannot_change_status(client: FlaskClient, auth: Auth, action: str) -> None:
    client.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("editor"))
    response = client.post(f"/v1/admin/experiments/monthly-ask/{action}", headers=auth("viewer"))
    assert response.status_code == 403


def test_viewer_cannot_edit(client: FlaskClient, auth: Auth) -> None:
    client.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("editor"))
    response = client.put(
        "/v1/admin/experiments/monthly-ask", json=experiment_doc(), headers=auth("viewer")
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role,status", [("viewer", 403), ("editor", 403), ("admin", 200)])
def test_only_admins_erase_visitors(
    client: FlaskClient, auth: Auth, role: str, status: int
) -> None:
    response = client.delete("/v1/admin/visitors/visitor-123456", headers=auth(role))
    assert response.status_code == status


def test_tokens_are_stored_only_as_hashes(services, token_for) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from service.store.sql.access_tables import api_tokens

    token = token_for("editor")
    with services.engine.connect() as conn:
        rows = conn.execute(select(api_tokens)).mappings().all()
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert token not in stored
    assert token[10:] not in stored
