"""DELETE /v1/admin/visitors/<visitor>: the visitor disappears from Redis and SQL."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

from service.store.sql.event_tables import events, visitor_outcomes
from service.wiring import Services

Auth = Callable[[str], dict[str, str]]
VISITOR = "reader-0001-abcdef"
OTHER = "reader-0002-ghijkl"


def _seed(services: Services, visitor: str) -> None:
    now = services.clock()
    services.redis.hset(services.keys.ledger(visitor), mapping={"imp": 3})
    with services.engine.begin() as conn:
        conn.execute(
            insert(events).values(
                event_id=f"evt-{visitor}",
                type="impression",
                experiment_key="e",
                variant_key="a",
                visitor=visitor,
                ts=now,
                received_at=now,
                source="client",
            )
        )
        conn.execute(
            insert(visitor_outcomes).values(
                experiment_key="e",
                visitor=visitor,
                variant_key="a",
                first_seen_at=now,
                first_exposure_at=now,
                last_event_at=now,
                impressions=1,
            )
        )


def test_erase_removes_the_visitor_and_nobody_else(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    _seed(services, VISITOR)
    _seed(services, OTHER)
    response = client.delete(f"/v1/admin/visitors/{VISITOR}", headers=auth("admin"))
    assert response.status_code == 200
    assert response.json == {
        "visitor": VISITOR,
        "removed": {
            "redis_keys": 1,
            "stream_entries": 0,
            "events": 1,
            "visitor_outcomes": 1,
            "payments": 0,
            "reminders": 0,
            "payment_credits": 0,
            "payment_money": 0,
            "payment_facts": 0,
        },
    }
    assert not services.redis.exists(services.keys.ledger(VISITOR))
    assert services.redis.exists(services.keys.ledger(OTHER))
    with services.engine.connect() as conn:
        remaining = conn.execute(select(events.c.visitor)).scalars().all()
        outcomes = conn.execute(select(func.count()).select_from(visitor_outcomes)).scalar()
    assert remaining == [OTHER]
    assert outcomes == 1


def test_erasing_again_reports_nothing_left(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    _seed(services, VISITOR)
    client.delete(f"/v1/admin/visitors/{VISITOR}", headers=auth("admin"))
    again = client.delete(f"/v1/admin/visitors/{VISITOR}", headers=auth("admin"))
    assert set(again.json["removed"].values()) == {0}


def test_malformed_visitor_is_400_naming_it(client: FlaskClient, auth: Auth) -> None:
    response = client.delete("/v1/admin/visitors/short", headers=auth("admin"))
    assert response.status_code == 400
    assert "visitor" in response.json["error"]["fields"]
