"""`smallfavor users set-password|set-role|disable|enable|sign-out`: each change takes effect at
once, and the ones that change what a user may do end all their dashboard sessions."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from service.cli import cli
from service.store.sql.admin_audit_repo import AdminAuditRepo
from service.wiring import Services
from tests.functional.dashboard_support import PASSWORD, log_in, make_user


def smallfavor(env: dict[str, str], *args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, env=env)


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (("users", "set-password"), "a new long password\n", "password of"),
        (("users", "set-role", "--role", "viewer"), "", "is now viewer"),
        (("users", "disable"), "", "is disabled"),
        (("users", "sign-out"), "", "2 sessions signed out"),
    ],
)
def test_each_change_ends_all_the_users_sessions(
    client: FlaskClient,
    services: Services,
    env: dict[str, str],
    args: tuple[str, ...],
    stdin: str,
    said: str,
) -> None:
    email = make_user(services, "admin")
    log_in(client, email)
    other = client.application.test_client()
    log_in(other, email)
    result = smallfavor(env, *args, "--email", email.upper(), stdin=stdin)
    assert result.exit_code == 0, result.output
    assert said in result.stdout
    assert client.get("/dashboard/").status_code == 302
    assert other.get("/dashboard/").status_code == 302


def test_set_password_replaces_the_password(
    client: FlaskClient, services: Services, env: dict[str, str]
) -> None:
    email = make_user(services, "editor")
    result = smallfavor(env, "users", "set-password", "--email", email, stdin="fresh password 1\n")
    assert result.exit_code == 0, result.output
    assert log_in(client, email, PASSWORD).status_code == 401
    assert log_in(client, email, "fresh password 1").status_code == 302


def test_set_role_changes_what_the_user_may_do(
    client: FlaskClient, services: Services, env: dict[str, str]
) -> None:
    email = make_user(services, "viewer")
    assert smallfavor(env, "users", "set-role", "--email", email, "--role", "admin").exit_code == 0
    user = services.users.get_by_email(email)
    assert user is not None and user.role == "admin"
    audited = AdminAuditRepo(services.engine).recent()
    assert [(e.actor, e.action, e.subject) for e in audited] == [("cli", "user.role-admin", email)]


def test_disable_then_enable(client: FlaskClient, services: Services, env: dict[str, str]) -> None:
    email = make_user(services, "editor")
    assert smallfavor(env, "users", "disable", "--email", email).exit_code == 0
    assert log_in(client, email).status_code == 401
    enabled = smallfavor(env, "users", "enable", "--email", email)
    assert enabled.exit_code == 0
    assert "is enabled" in enabled.stdout
    assert log_in(client, email).status_code == 302


@pytest.mark.parametrize(
    "args",
    [
        ("set-password",),
        ("set-role", "--role", "editor"),
        ("disable",),
        ("enable",),
        ("sign-out",),
    ],
)
def test_an_unknown_e_mail_fails_with_one_line(
    services: Services, env: dict[str, str], args: tuple[str, ...]
) -> None:
    result = smallfavor(
        env,
        "users",
        args[0],
        "--email",
        "nobody@newsroom.example",
        *args[1:],
        stdin="long enough pw\n",
    )
    assert result.exit_code == 1
    assert result.stderr == "smallfavor: error: no user has the e-mail nobody@newsroom.example\n"


def test_a_short_new_password_is_refused_and_changes_nothing(
    client: FlaskClient, services: Services, env: dict[str, str]
) -> None:
    email = make_user(services, "viewer")
    log_in(client, email)
    result = smallfavor(env, "users", "set-password", "--email", email, stdin="short\n")
    assert result.exit_code == 1
    assert result.stderr == "smallfavor: error: password must be at least 10 characters\n"
    assert client.get("/dashboard/").status_code == 200


def test_the_installed_command_exits_non_zero_with_the_reason(env: dict[str, str]) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "users", "sign-out", "--email", "x@y.example"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "smallfavor: error: no user has the e-mail x@y.example"
    ]
