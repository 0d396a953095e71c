"""Every parser at the JSON API's edge, fed arbitrary text, bytes and extreme values: query
strings, JSON bodies, headers (Authorization, the webhook signature, the geo header) and path
segments. No answer may be a 5xx; a 4xx is the error envelope naming the field.

The example data (a running experiment, tokens) is made once per test; hypothesis then runs
its examples against the same app, which is what an attacker's session looks like too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.api.public.payment_webhook import SIGNATURE_HEADER, sign
from service.wiring import Services
from tests.functional.events_support import HEADERS, banner_for, event, start_experiment
from tests.functional.hostile_api_support import (
    EXTREME_TEXT,
    assert_no_server_error,
    dumps,
    header_text,
    hostile_text,
    json_values,
    nested,
    raw_query,
    with_hostile_values,
)
from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
_KEYS = itertools.count()
KEY = "monthly-ask"
VISITOR = "reader-000001"
FAST = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EVENT_FIELDS = ("id", "type", "token", "ts", "reason", "amount", "currency", "frequency")
PAYMENT_FIELDS = ("id", "visitor", "token", "amount", "currency", "frequency", "ts")
DECISION_PARAMS = (
    "visitor",
    "placement",
    "url",
    "section",
    "tags",
    "lang",
    "article_views",
    "supporter",
    "device",
    "debug",
    "force",
    "preview",
)


@pytest.fixture
def token(client: FlaskClient, auth: Auth) -> str:
    """A running experiment and a real decision token for VISITOR."""
    start_experiment(client, auth("editor"), targeting={})
    return str(banner_for(client, VISITOR)["token"])


@FAST
@given(value=hostile_text, raw=raw_query, geo=header_text, user_agent=header_text)
@example(value="²", raw="", geo="", user_agent="")
@example(value="p.a.b.c.é", raw="", geo="", user_agent="")
def test_decision_query_strings_and_headers(
    client: FlaskClient, token: str, value: str, raw: str, geo: str, user_agent: str
) -> None:
    headers = {"CF-IPCountry": geo, "User-Agent": user_agent}
    base = {"visitor": VISITOR, "placement": "article-end"}
    for name in DECISION_PARAMS:
        query = {**base, name: value}
        assert_no_server_error(client.get("/v1/decision", query_string=query, headers=headers))
    # As a WSGI server hands it over: any bytes, undecoded, duplicates and all.
    assert_no_server_error(
        client.get("/v1/decision", environ_overrides={"QUERY_STRING": raw}, headers=headers)
    )


@FAST
@given(
    hostile=st.lists(
        st.one_of(
            json_values,
            st.dictionaries(st.sampled_from(EVENT_FIELDS), json_values, max_size=8),
        ),
        min_size=1,
        max_size=4,
    ),
    mimetype=st.sampled_from(["application/json", "text/plain"]),
)
def test_event_batches_keep_their_valid_events(
    client: FlaskClient, token: str, hostile: list[Any], mimetype: str
) -> None:
    valid = event(token, "view")
    batch = [{**event(token, "click"), **h} if isinstance(h, dict) else h for h in hostile]
    body = b'{"events":[' + b",".join([dumps(valid), *(dumps(e) for e in batch)]) + b"]}"
    response = client.post("/v1/events", data=body, content_type=mimetype, headers=HEADERS)
    assert_no_server_error(response)
    if response.status_code == 202:
        answer = response.get_json()
        # The valid event is never lost with the others: accepted, or a duplicate of itself.
        assert answer["accepted"] >= 1, answer
        assert 0 not in {r["index"] for r in answer["rejected"]}


@FAST
@given(body=st.one_of(st.binary(max_size=300), json_values.map(dumps)))
def test_event_envelopes_of_any_bytes(client: FlaskClient, body: bytes) -> None:
    for mimetype in ("application/json", "text/plain"):
        response = client.post("/v1/events", data=body, content_type=mimetype, headers=HEADERS)
        assert_no_server_error(response)


@FAST
@given(
    fields=st.dictionaries(st.sampled_from(PAYMENT_FIELDS), json_values, max_size=7),
    signature=header_text,
)
def test_payment_webhook_bodies_and_signatures(
    client: FlaskClient, services: Services, token: str, fields: dict[str, Any], signature: str
) -> None:
    body = {"id": "pay_hostile", "visitor": VISITOR, "amount": 10.0, "currency": "USD"}
    raw = dumps({**body, **fields})
    now = int(services.clock().timestamp())
    signed = {SIGNATURE_HEADER: sign(services.settings.webhook_secret, now, raw)}
    sent = {"data": raw, "content_type": "application/json"}
    # Correctly signed, so the body's own parser is reached.
    assert_no_server_error(client.post("/v1/conversions", headers=signed, **sent))
    assert_no_server_error(
        client.post("/v1/conversions", headers={SIGNATURE_HEADER: signature}, **sent)
    )


@FAST
@given(authorization=header_text, bearer=header_text)
def test_any_authorization_header(client: FlaskClient, authorization: str, bearer: str) -> None:
    for value in (authorization, f"Bearer {bearer}"):
        response = client.get("/v1/admin/experiments", headers={"Authorization": value})
        assert_no_server_error(response)
        assert response.status_code == 401


@FAST
@given(data=st.data())
def test_experiment_documents_with_hostile_values(
    client: FlaskClient, auth: Auth, token: str, data: st.DataObject
) -> None:
    editor = auth("editor")
    key = f"hostile-{next(_KEYS)}"
    doc = with_hostile_values(experiment_doc(key=key), data.draw)
    created = client.post(
        "/v1/admin/experiments", data=dumps(doc), content_type="application/json", headers=editor
    )
    assert_no_server_error(created)
    if created.status_code == 201:
        # Whatever was accepted is stored and reads back (JSON, history, the list).
        key = created.get_json()["key"]
        for path in (f"/v1/admin/experiments/{key}", f"/v1/admin/experiments/{key}/history"):
            assert client.get(path, headers=editor).status_code == 200
        assert client.get("/v1/admin/experiments", headers=editor).status_code == 200
    edit = with_hostile_values(experiment_doc(key=KEY), data.draw)
    updated = client.put(
        f"/v1/admin/experiments/{KEY}",
        data=dumps(edit),
        content_type="application/json",
        headers={**editor, "If-Match": data.draw(header_text)},
    )
    assert_no_server_error(updated)


@FAST
@given(body=json_values, raw=st.binary(max_size=100))
def test_admin_action_bodies(
    client: FlaskClient, auth: Auth, token: str, body: Any, raw: bytes
) -> None:
    editor = auth("editor")
    for path in (
        f"/v1/admin/experiments/{KEY}/preview-token",
        f"/v1/admin/experiments/{KEY}/dry-run",
    ):
        for data in (dumps(body), raw, dumps({"variant": body, "ttl_hours": body, "days": body})):
            response = client.post(path, data=data, content_type="application/json", headers=editor)
            assert_no_server_error(response)


@FAST
@given(
    params=st.dictionaries(
        st.sampled_from(["from", "to", "segment", "status", "limit"]), hostile_text, max_size=3
    ),
    raw=raw_query,
)
def test_report_and_list_query_strings(
    client: FlaskClient, auth: Auth, token: str, params: dict[str, str], raw: str
) -> None:
    viewer = auth("viewer")
    for path in (
        f"/v1/admin/experiments/{KEY}/report",
        f"/v1/admin/experiments/{KEY}/report.csv",
        "/v1/admin/experiments",
        "/v1/admin/exports",
    ):
        assert_no_server_error(client.get(path, query_string=params, headers=viewer))
        assert_no_server_error(
            client.get(path, environ_overrides={"QUERY_STRING": raw}, headers=viewer)
        )


@FAST
@given(segment=st.one_of(st.sampled_from(EXTREME_TEXT), st.text(min_size=1, max_size=30)))
def test_path_segments(client: FlaskClient, auth: Auth, token: str, segment: str) -> None:
    admin = auth("admin")
    part = quote(segment, safe="")
    for method, path in (
        ("GET", f"/v1/admin/experiments/{part}"),
        ("GET", f"/v1/admin/experiments/{part}/report"),
        ("GET", f"/v1/admin/experiments/{part}/history"),
        ("POST", f"/v1/admin/experiments/{part}/start"),
        ("DELETE", f"/v1/admin/visitors/{part}"),
        ("GET", f"/v1/admin/exports/{part}"),
        ("GET", f"/v1/admin/exports/{part}/runs"),
    ):
        assert_no_server_error(client.open(path, method=method, headers=admin))


def test_deeply_nested_bodies_are_refused_everywhere(
    client: FlaskClient, services: Services, auth: Auth, token: str
) -> None:
    for depth in (40, 2000, 100_000):
        body = nested(depth)
        now = int(services.clock().timestamp())
        signed = {SIGNATURE_HEADER: sign(services.settings.webhook_secret, now, body)}
        for path, headers in (
            ("/v1/admin/experiments", auth("editor")),
            ("/v1/events", HEADERS),
            ("/v1/conversions", signed),
            ("/v1/admin/exports", auth("admin")),
        ):
            response = client.post(
                path, data=body, content_type="application/json", headers=headers
            )
            assert response.status_code in (400, 413), (path, depth, response.get_data()[:200])
            assert_no_server_error(response)
