"""E-mail reminders without SMTP_HOST: in development each message is written as an .eml file
under VAR_DIR/mail/ (the log names the file, never the address); in production sign-ups are
refused, as exports and alerts refuse e-mail, rather than taken and never confirmed."""

from __future__ import annotations

import email
import logging
from collections.abc import Callable
from dataclasses import replace
from email import policy

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.settings import Settings
from tests.functional.events_support import banner_for
from tests.functional.reminders_support import offering_doc, sign_up, start, when
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
ADDRESS = "reader@example.org"


def test_in_development_mail_goes_to_files_under_var(
    client: FlaskClient,
    auth: Auth,
    settings: Settings,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert settings.smtp_host == ""
    caplog.set_level(logging.INFO)
    start(client, auth("editor"), offering_doc())
    token = banner_for(client, "reader-000001")["token"]
    signed = sign_up(client, token, ADDRESS, when(clock.now, days=14))
    assert signed.status_code == 202, signed.json
    (written,) = (settings.var_dir / "mail").glob("*.eml")
    assert written.name.endswith(f"-{signed.json['reminder']}-confirmation.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert message["To"] == ADDRESS and message["List-Unsubscribe-Post"]
    assert str(written) in caplog.text and ADDRESS not in caplog.text


def test_in_production_without_smtp_host_sign_ups_are_refused(
    client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock
) -> None:
    start(client, auth("editor"), offering_doc())
    token = banner_for(client, "reader-000001")["token"]
    production = create_app(replace(settings, mode="production"), clock=clock)
    try:
        refused = sign_up(production.test_client(), token, ADDRESS, when(clock.now, days=14))
    finally:
        production.extensions["smallfavor"].close()
    assert refused.status_code == 503
    assert "SMTP_HOST" in refused.json["error"]["message"]
    assert not (settings.var_dir / "mail").exists()
