"""The admin audit: who created or revoked an API token (or changed a user), and when.

Rows are written in the same transaction as the change they describe, so the audit never
claims a change that was rolled back, nor misses one that was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from service.store.sql.access_tables import admin_audit as a

CLI_ACTOR = "cli"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str


def record(conn: Connection, now: datetime, actor: str, action: str, subject: str) -> None:
    conn.execute(insert(a).values(at=now, actor=actor[:300], action=action, subject=subject[:300]))


class AdminAuditRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def recent(self, limit: int = 50) -> list[AuditEntry]:
        """The newest entries first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(a).order_by(a.c.at.desc(), a.c.id.desc()).limit(limit))
            return [AuditEntry(r.at, r.actor, r.action, r.subject) for r in rows]
