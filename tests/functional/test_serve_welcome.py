"""What `make run` prints works as printed: every address answers, and the commands parse
with the options the CLI really has, whatever PORT or VAR_DIR say."""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from service.cli.serve import welcome
from service.cli.simulate import simulate
from service.settings import Settings


def _line(text: str, label: str) -> str:
    [line] = [line for line in text.splitlines() if line.strip().startswith(label)]
    return line.strip().removeprefix(label).strip()


def test_traffic_command_names_the_base_url_so_it_works_off_port_8000(tmp_path: Path) -> None:
    settings = Settings.from_env({"PORT": "8123", "VAR_DIR": str(tmp_path / "var")})
    text = welcome(settings.public_url, settings.var_dir, tmp_path)

    argv = shlex.split(_line(text, "traffic"))
    assert argv[:2] == [".venv/bin/smallfavor", "simulate"]
    context = simulate.make_context("simulate", argv[2:])
    assert context.params["base_url"] == "http://127.0.0.1:8123"
    assert context.params["key"] == "demo-monthly-ask"


def test_a_var_dir_elsewhere_is_passed_on_so_simulate_finds_the_secret_and_token(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "state"
    settings = Settings.from_env({"VAR_DIR": str(elsewhere)})
    text = welcome(settings.public_url, settings.var_dir, tmp_path / "repo")

    assert _line(text, "traffic").startswith(f"VAR_DIR={elsewhere} .venv/bin/smallfavor")
    assert f"$(cat {elsewhere / 'demo_admin_token'})" in _line(text, "admin API")


def test_the_default_var_dir_needs_no_prefix_and_shows_the_readme_path(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path / "var")})
    text = welcome(settings.public_url, settings.var_dir, tmp_path)

    assert _line(text, "traffic").startswith(".venv/bin/smallfavor simulate")
    assert "$(cat var/demo_admin_token)" in _line(text, "admin API")


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("demo article", 200),
        ("dashboard", 302),  # to the login page
        ("API docs", 200),
        ("health", 200),
        ("admin API", 200),
    ],
)
def test_every_printed_address_answers(
    client: FlaskClient,
    settings: Settings,
    auth: object,
    tmp_path: Path,
    label: str,
    status: int,
) -> None:
    text = welcome(settings.public_url, settings.var_dir, tmp_path)
    urls = [word for word in shlex.split(_line(text, label)) if word.startswith("http")]
    assert urls
    headers = auth("viewer") if label == "admin API" else {}  # type: ignore[operator]
    for url in urls:
        assert client.get(urlsplit(url).path, headers=headers).status_code == status, url


def test_it_says_where_reminder_mail_goes_without_and_with_a_relay(tmp_path: Path) -> None:
    local = Settings.from_env({"VAR_DIR": str(tmp_path / "var")})
    text = welcome(local.public_url, local.var_dir, tmp_path, local.smtp_host)
    assert _line(text, "Reminder e-mails:") == "written to var/mail/ (no SMTP_HOST set)"

    elsewhere = Settings.from_env({"VAR_DIR": str(tmp_path / "state")})
    text = welcome(elsewhere.public_url, elsewhere.var_dir, tmp_path / "repo", "")
    assert (
        _line(text, "Reminder e-mails:")
        == f"written to {tmp_path / 'state' / 'mail'}/ (no SMTP_HOST set)"
    )

    relayed = Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "SMTP_HOST": "mail.example.org"})
    text = welcome(relayed.public_url, relayed.var_dir, tmp_path, relayed.smtp_host)
    assert _line(text, "Reminder e-mails:") == "sent through SMTP mail.example.org"
