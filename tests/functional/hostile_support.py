"""What the hostile-input tests of the dashboard share: a signed-in admin with something on
every page, and the values an attacker tries first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask.testing import FlaskClient
from hypothesis import strategies as st

from service.wiring import Services
from tests.functional.dashboard_support import csrf, form_fields, log_in, make_user
from tests.functional.events_support import start_experiment
from tests.functional.hostile_api_support import EXTREME_TEXT
from tests.support import experiment_doc

RUNNING = "monthly-ask"
DRAFT = "winter-ask"


@dataclass(frozen=True)
class World:
    """A signed-in admin's browser, the session's CSRF token and the ids the pages need."""

    client: FlaskClient
    token: str
    schedule_id: int


def dashboard_world(
    client: FlaskClient, services: Services, auth: Callable[[str], dict[str, str]]
) -> World:
    """A running experiment, a draft and an export schedule, seen by a signed-in admin."""
    editor = auth("editor")
    start_experiment(client, editor, targeting={})
    created = client.post("/v1/admin/experiments", json=experiment_doc(key=DRAFT), headers=editor)
    assert created.status_code == 201, created.json
    assert log_in(client, make_user(services, "admin")).status_code == 302
    page = client.get("/dashboard/exports/new")
    fields = {**form_fields(page.get_data(as_text=True)), "name": "Finance weekly"}
    saved = client.post("/dashboard/exports/new", data={**fields, "csrf_token": csrf(page)})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    match = re.search(r"/exports/(\d+)", saved.headers["Location"])
    assert match
    return World(client, csrf(client.get("/dashboard/")), int(match.group(1)))


# The API's list of values that broke parsers somewhere, plus what dashboard forms see: dates
# without a zone, impossible days, markup, paths and header injection.
EXTREMES = tuple(
    dict.fromkeys(
        (
            *EXTREME_TEXT,
            "-1e400",
            "inf",
            "0x10",
            "2026-02-30",
            "0001-01-01T00:00",
            "9999-12-31T23:59",
            "0001-01-01T00:00:00+23:59",
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "\r\nSet-Cookie: x=1",
            "\u00e9" * 300,
        )
    )
)

hostile_text = st.one_of(
    st.sampled_from(EXTREMES),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20).map(lambda s: s + "\x00"),
    st.integers().map(str),
    st.floats().map(str),
)
