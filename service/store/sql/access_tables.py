"""Who may use the dashboard and the admin API: users, their sign-in sessions, API tokens,
set-password links, and the audit of changes to them. Part of tables.metadata (tables.py
imports this module).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from service.store.sql.schema import metadata
from service.store.sql.types import UtcDateTime

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_login_at", UtcDateTime),
)

# Dashboard sign-ins. The cookie carries a random session id; only its SHA-256 is kept, so a
# copy of this table opens nothing. Ending a session deletes its row: logout, "sign out
# everywhere", and any change to the user's password, role or disabled flag.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("user_agent", String(200), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the token: the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

# One-time set-password links, from an invitation or a password reset: only the SHA-256 of the
# link's token is kept; a link works once, before it expires.
password_links = Table(
    "password_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

# Who changed users or API tokens, and when: one row per change, from the dashboard or the CLI.
# Kept apart from experiment_revisions, which audits experiments with their whole document.
admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(300), nullable=False),  # "user:<e-mail>" or "cli"
    Column("action", String(32), nullable=False),  # e.g. "token.create", "token.revoke"
    Column("subject", String(300), nullable=False),  # what it was done to, e.g. "token 3 'ci'"
    Index("ix_admin_audit_at", "at"),
)
