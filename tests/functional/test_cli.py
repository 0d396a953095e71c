"""The smallfavor command line, run as a real process the way operators run it."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from sqlalchemy import Engine, func, select

from service.store.sql.access_tables import users
from service.store.sql.experiment_tables import experiments
from service.store.sql.tokens_repo import TokenRepo


def smallfavor(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tokens_create_prints_a_working_token_last(env: dict[str, str], clean_db: Engine) -> None:
    result = smallfavor(env, "tokens", "create", "--role", "editor", "--name", "ci-bot")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    found = TokenRepo(clean_db).authenticate(
        token, __import__("datetime").datetime.now(__import__("datetime").UTC)
    )
    assert found is not None and found.role == "editor" and found.name == "ci-bot"


def test_unknown_role_is_refused(env: dict[str, str], clean_db: Engine) -> None:
    result = smallfavor(env, "tokens", "create", "--role", "owner", "--name", "x")
    assert result.returncode != 0
    assert "owner" in result.stderr


def test_users_create_reads_the_password_from_stdin(env: dict[str, str], clean_db: Engine) -> None:
    result = smallfavor(
        env,
        "users",
        "create",
        "--email",
        "Ed@news.example",
        "--role",
        "viewer",
        stdin="a long enough password\n",
    )
    assert result.returncode == 0, result.stderr
    with clean_db.connect() as conn:
        row = conn.execute(select(users)).one()
    assert row.email == "ed@news.example"
    assert "a long enough password" not in row.password_hash


def test_failures_exit_non_zero_with_one_line(env: dict[str, str], clean_db: Engine) -> None:
    result = smallfavor(
        env, "users", "create", "--email", "ed@news.example", "--role", "viewer", stdin="short\n"
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("smallfavor: error: password")


def test_bad_setting_is_one_line_naming_the_variable(env: dict[str, str]) -> None:
    result = smallfavor({**env, "PORT": "http"}, "migrate")
    assert result.returncode == 1
    assert result.stderr.strip() == "smallfavor: error: PORT must be a whole number, got 'http'"


def test_unreachable_database_is_one_line(env: dict[str, str]) -> None:
    result = smallfavor({**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "migrate")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("smallfavor: error:")


def test_seed_demo_is_idempotent(env: dict[str, str], clean_db: Engine) -> None:
    first = smallfavor(env, "seed-demo")
    assert first.returncode == 0, first.stderr
    second = smallfavor(env, "seed-demo")
    assert second.returncode == 0, second.stderr
    token_line = [line for line in first.stdout.splitlines() if "token" in line]
    assert token_line and token_line == [
        line for line in second.stdout.splitlines() if "token" in line
    ]
    with clean_db.connect() as conn:
        rows = conn.execute(select(experiments.c.key, experiments.c.status)).all()
        user_count = conn.execute(select(func.count()).select_from(users)).scalar()
    assert [tuple(r) for r in rows] == [("demo-monthly-ask", "running")]
    assert user_count == 1


def test_seed_demo_refuses_production(env: dict[str, str]) -> None:
    production = {
        **env,
        "SMALLFAVOR_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WEBHOOK_SECRET": secrets.token_urlsafe(48),
    }
    result = smallfavor(production, "seed-demo")
    assert result.returncode == 1
    assert "seed-demo creates a known password" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["tokens", "--help"]])
def test_help(env: dict[str, str], args: list[str]) -> None:
    assert smallfavor(env, *args).returncode == 0


def test_tokens_list_and_revoke_and_the_audit_says_cli(
    env: dict[str, str], clean_db: Engine
) -> None:
    from datetime import UTC, datetime

    from service.domain.roles import Role
    from service.store.sql.admin_audit_repo import AdminAuditRepo

    repo = TokenRepo(clean_db)
    assert smallfavor(env, "tokens", "list").stdout.strip() == "no tokens"
    token, plain = repo.create("ci-bot", Role.editor, datetime.now(UTC))
    listed = smallfavor(env, "tokens", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{token.id}\teditor\t'ci-bot'" in listed.stdout
    assert "last used never\tlive" in listed.stdout
    revoked = smallfavor(env, "tokens", "revoke", str(token.id))
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked editor token 'ci-bot'" in revoked.stdout
    assert repo.authenticate(plain, datetime.now(UTC)) is None
    assert "\trevoked " in smallfavor(env, "tokens", "list").stdout
    again = smallfavor(env, "tokens", "revoke", str(token.id))
    assert again.returncode != 0
    assert f"no live token has the id {token.id}" in again.stderr
    entries = AdminAuditRepo(clean_db).recent()
    assert [(e.actor, e.action) for e in entries] == [("cli", "token.revoke")]
