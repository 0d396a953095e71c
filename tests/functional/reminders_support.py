"""Helpers for the e-mail reminder tests: a relay that keeps what it receives (aiosmtpd), an
experiment whose banners offer a reminder, and reading links out of the messages."""

from __future__ import annotations

import email
import re
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

from flask.testing import FlaskClient

from tests.support import banner, experiment_doc

PUBLIC_URL = "https://favor.example.org"
KEY = "monthly-ask"
OFFER = {
    "choices": [
        {"label": "In 2 weeks", "in_days": 14},
        {"label": "Next month", "next_month": True},
    ],
    "consent": "We will e-mail you once, then delete your address.",
    "privacy_url": "https://news.example.org/privacy",
}
MESSAGE = {
    "subject": "Time to give?",
    "body": "Two weeks ago you asked us to remind you. Here we are.",
}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # as sent, for what a parser would smooth over

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.raw.append(envelope.content)
        return "250 OK"

    def raw_header(self, index: int, name: str) -> str:
        """The header's value as sent, unfolded: mail clients read List-Unsubscribe's URL
        from it as it is, so an encoded word (=?utf-8?q?...) there is a broken link."""
        head = self.raw[index].split(b"\r\n\r\n", 1)[0].decode("ascii")
        unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ")
        for line in unfolded.split("\r\n"):
            if line.lower().startswith(name.lower() + ":"):
                return line.split(":", 1)[1].strip()
        raise KeyError(name)


def offering_doc(**overrides: Any) -> dict[str, Any]:
    """Both variants offer a reminder, so whichever a reader gets, the offer is there."""
    variants = [
        {"key": "control", "weight": 50, "banner": {**banner(), "reminder": OFFER}},
        {
            "key": "five-dollars",
            "weight": 50,
            "banner": {**banner(monthly=[5, 10, 20]), "reminder": OFFER},
        },
    ]
    return experiment_doc(variants=variants, reminder_message=MESSAGE, **overrides)


def start(client: FlaskClient, headers: dict[str, str], doc: dict[str, Any]) -> None:
    created = client.post("/v1/admin/experiments", json=doc, headers=headers)
    assert created.status_code == 201, created.json
    key = doc["key"]
    assert client.post(f"/v1/admin/experiments/{key}/start", headers=headers).status_code == 200


def when(now: datetime, **delta: float) -> str:
    return (now + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def sign_up(client: FlaskClient, token: str, address: str, remind_at: str, **kw: Any) -> Any:
    return client.post(
        "/v1/reminders",
        json={"token": token, "email": address, "remind_at": remind_at},
        headers={"Origin": "https://news.example.org", **kw.pop("headers", {})},
        **kw,
    )


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(message: EmailMessage, action: str) -> str:
    """The path and query of the message's link that does `action`, as the test client
    takes it."""
    found = re.search(
        rf"{re.escape(PUBLIC_URL)}(/v1/reminders/[^/\s]+/{action}\?sig=\S+)", text_of(message)
    )
    assert found, text_of(message)
    return found.group(1)
