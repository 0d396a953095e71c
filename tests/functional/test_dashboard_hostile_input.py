"""No input makes a dashboard page answer 5xx: every page's query values, every path segment
and every form field, as an admin with a valid CSRF token would send them, arbitrary text and
the extremes that broke parsers before (issue 15). Bad values get a 4xx page, or the form
again with the message beside the field; the explicit cases below are the ones the attack run
found, each a 500 before."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.dashboard.experiment_form import TOP_FIELDS, VARIANT_FIELDS
from service.wiring import Services
from tests.functional.dashboard_support import form_fields
from tests.functional.hostile_support import (
    DRAFT,
    EXTREMES,
    RUNNING,
    World,
    dashboard_world,
    hostile_text,
)
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
QUICK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every GET page with the query parameters it reads.
PAGES: dict[str, tuple[str, ...]] = {
    "/dashboard/": ("archived",),
    "/dashboard/decisions": (
        "from",
        "to",
        "placement",
        "visitor",
        "visitor_placement",
        "country",
        "device",
    ),
    f"/dashboard/experiments/{RUNNING}": ("from", "to", "segment"),
    f"/dashboard/experiments/{RUNNING}/report.csv": ("from", "to", "segment"),
    f"/dashboard/experiments/{RUNNING}/history": ("a", "b"),
    f"/dashboard/experiments/{RUNNING}/edit": (),
    f"/dashboard/experiments/{RUNNING}/pause": (),
    f"/dashboard/experiments/{DRAFT}/start": (),
    "/dashboard/experiments/new": (),
    "/dashboard/exports": (),
    "/dashboard/exports/new": (),
    "/dashboard/exports/{id}": (),
    "/dashboard/exports/{id}/edit": (),
    "/dashboard/exports/{id}/delete": (),
}
# Every route with a path segment, GET and POST alike.
TEMPLATES = (
    "/dashboard/experiments/{}",
    "/dashboard/experiments/{}/report.csv",
    "/dashboard/experiments/{}/history",
    "/dashboard/experiments/{}/edit",
    "/dashboard/experiments/{}/start",
    "/dashboard/experiments/{}/dry-run",
    "/dashboard/experiments/{}/preview-link",
    "/dashboard/exports/{}",
    "/dashboard/exports/{}/edit",
    "/dashboard/exports/{}/run",
    "/dashboard/exports/{}/delete",
    "/dashboard/static/{}",
)


@pytest.fixture
def world(client: FlaskClient, services: Services, auth: Auth) -> World:
    return dashboard_world(client, services, auth)


def _url(world: World, page: str) -> str:
    return page.replace("{id}", str(world.schedule_id))


def _quoted(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _fine(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]


# Query strings: any value, raw bytes that are not UTF-8, parameters repeated or unknown.
query_values = st.one_of(
    hostile_text.map(_quoted), st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe=""))
)


@QUICK
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(sorted({n for names in PAGES.values() for n in names})), query_values
        ),
        max_size=4,
    ),
    unknown=st.lists(st.tuples(st.text(max_size=8).map(_quoted), query_values), max_size=2),
)
def test_no_query_value_makes_a_page_fail(
    world: World, pairs: list[tuple[str, str]], unknown: list[tuple[str, str]]
) -> None:
    query = "&".join(f"{name}={value}" for name, value in [*pairs, *unknown])
    for page in (page for page, names in PAGES.items() if names):  # the others read none
        _fine(world.client.get(f"{_url(world, page)}?{query}"))


@QUICK
@given(template=st.sampled_from(TEMPLATES), segment=st.one_of(hostile_text, st.integers()))
def test_no_path_segment_makes_a_page_fail(world: World, template: str, segment: Any) -> None:
    url = template.format(_quoted(str(segment)) or "x")
    _fine(world.client.get(url))
    _fine(world.client.post(url, data={"csrf_token": world.token}))


# The experiment editor: its own fields, the variant buttons, the dry-run panel.
EDITOR_EXTRA = (
    "op",
    "revision",
    "dry_run.minimum_effect",
    "dry_run.baseline",
    "dry_run.baseline_sd",
    "dry_run.days",
    "variants[2].key",
    "variants[0].banner.payment_methods",
)
EDITOR_FIELDS = sorted(
    {
        *TOP_FIELDS,
        *EDITOR_EXTRA,
        *(f"variants[{i}].{name}" for i in (0, 1) for name in VARIANT_FIELDS),
    }
)
OPS = ("save", "add-variant", "remove-variant:0", "copy-variant:0", "remove-variant:")


@QUICK
@given(data=st.data())
def test_no_editor_field_makes_the_editor_fail(world: World, data: st.DataObject) -> None:
    client = world.client
    fields = form_fields(client.get(f"/dashboard/experiments/{DRAFT}/edit").get_data(as_text=True))
    changed = data.draw(
        st.dictionaries(
            st.one_of(st.sampled_from(EDITOR_FIELDS), st.text(max_size=20)),
            st.one_of(hostile_text, st.sampled_from(OPS), st.lists(hostile_text, max_size=3)),
            min_size=1,
            max_size=6,
        )
    )
    for action in ("new", f"{DRAFT}/edit", f"{DRAFT}/dry-run"):
        url = f"/dashboard/experiments/{action}"
        response = client.post(url, data={**fields, **changed, "csrf_token": world.token})
        _fine(response)
        if response.status_code == 422:  # the editor again, saying what to change
            assert 'id="form-errors"' in response.get_data(as_text=True)


EXPORT_FIELDS = (
    "name",
    "cron",
    "timezone",
    "scope",
    "experiments",
    "format",
    "destination.type",
    "destination.path",
    "destination.url",
    "destination.secret",
    "destination.to",
    "destination.subject",
    "enabled",
    "catch_up",
)


@QUICK
@given(data=st.data())
def test_no_export_field_makes_the_export_form_fail(world: World, data: st.DataObject) -> None:
    client = world.client
    page = client.get(f"/dashboard/exports/{world.schedule_id}/edit")
    fields = form_fields(page.get_data(as_text=True))
    changed = data.draw(
        st.dictionaries(
            st.sampled_from(EXPORT_FIELDS),
            st.one_of(
                hostile_text,
                st.sampled_from(["directory", "webhook", "email", "chosen", "all", "json"]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    url = data.draw(
        st.sampled_from(["/dashboard/exports/new", f"/dashboard/exports/{world.schedule_id}/edit"])
    )
    _fine(client.post(url, data={**fields, **changed, "csrf_token": world.token}))


@QUICK
@given(
    url=st.sampled_from(
        [
            f"/dashboard/experiments/{RUNNING}/preview-link",
            f"/dashboard/experiments/{RUNNING}/pause",
            f"/dashboard/experiments/{DRAFT}/start",
            "/dashboard/exports/{id}/run",
        ]
    ),
    form=st.dictionaries(
        st.sampled_from(["variant", "hours", "revision", "x"]), hostile_text, max_size=3
    ),
)
def test_no_field_of_a_small_form_makes_it_fail(
    world: World, url: str, form: dict[str, str]
) -> None:
    _fine(world.client.post(_url(world, url), data={**form, "csrf_token": world.token}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@QUICK
@given(
    fields=st.dictionaries(
        st.one_of(
            st.sampled_from(
                ["key", "weight", "banner.heading", "banner.amounts.one_off", "banner.template"]
            ),
            st.text(max_size=10),
        ),
        json_values,
        max_size=5,
    )
)
def test_no_field_makes_the_banner_preview_fail(world: World, fields: dict[str, Any]) -> None:
    response = world.client.post(
        "/dashboard/banner-preview",
        json={"fields": fields},
        headers={"X-CSRF-Token": world.token},
    )
    _fine(response)


# The attack run's findings, each a 500 before.


def test_report_days_past_what_a_report_can_compute_are_refused_on_a_page(world: World) -> None:
    rule = "not a day the report can show; use YYYY-MM-DD, a day from 1970-01-01 to 9998-12-31"
    cases = {
        "to=9999-12-31": "to",
        "from=2026-11-01&to=9999-12-31": "to",
        "from=0001-01-01&to=9999-12-31": "from and to",
        "from=\u0661\u0662\u0663\u0664-\u0660\u0661-\u0660\u0661": "from",
    }
    for query, named in cases.items():
        for page in ("", "/report.csv"):
            response = world.client.get(f"/dashboard/experiments/{RUNNING}{page}?{query}")
            assert response.status_code == 400, (page, query)
            assert response.mimetype == "text/html"
            assert f"{named}: {rule}" in response.get_data(as_text=True)


def test_decisions_page_says_which_day_is_out_of_range(world: World, clock: FakeClock) -> None:
    today = clock().date()
    default = f"from {today - timedelta(days=13)} to {today}"
    for query in ("from=0001-01-01&to=0001-01-05", "to=0001-01-01", "to=9999-12-31"):
        response = world.client.get(f"/dashboard/decisions?{query}")
        assert response.status_code == 200, query
        text = response.get_data(as_text=True)
        assert "is not a date (YYYY-MM-DD) from 1970-01-01 to 9998-12-31" in text
        assert default in text  # the default range, shown instead


def test_odd_digits_in_a_revision_or_dry_run_field_are_not_numbers(world: World) -> None:
    client = world.client
    url = f"/dashboard/experiments/{DRAFT}/dry-run"
    fields = form_fields(client.get(f"/dashboard/experiments/{DRAFT}/edit").get_data(as_text=True))
    for revision in ("²", "٣", "9" * 5000):
        data = {**fields, "revision": revision, "csrf_token": world.token}
        response = client.post(url, data=data)
        assert response.status_code == 200, revision
        assert 'name="revision" value="1"' in response.get_data(as_text=True)
    data = {**fields, "dry_run.days": "²", "dry_run.baseline": "1e400", "csrf_token": world.token}
    text = client.post(url, data=data).get_data(as_text=True)
    assert "a whole number" in text and "must be a number" in text


def test_numbers_no_field_can_hold_are_named_beside_their_field(world: World) -> None:
    client = world.client
    url = f"/dashboard/experiments/{DRAFT}/edit"
    fields = form_fields(client.get(url).get_data(as_text=True))
    cases = {
        "variants[0].weight": ["9" * 400, "9" * 5000, "1e400", "²", "١٢"],
        "priority": ["9" * 30, "nan"],
        "start_at": ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"],
    }
    for name, values in cases.items():
        for value in values:
            response = client.post(url, data={**fields, name: value, "csrf_token": world.token})
            assert response.status_code == 422, (name, value)
            field = re.escape(f'name="{name}"')
            assert re.search(field + r'[^>]*aria-invalid="true"', response.get_data(as_text=True))


def test_a_variant_index_of_thousands_of_digits_is_ignored(world: World) -> None:
    client = world.client
    url = f"/dashboard/experiments/{DRAFT}/edit"
    fields = form_fields(client.get(url).get_data(as_text=True))
    odd = {f"variants[{'9' * 5000}].key": "x", "variants[٣].key": "y"}
    response = client.post(url, data={**fields, **odd, "csrf_token": world.token})
    assert response.status_code == 302  # saved, as if the odd fields were not there


def test_banner_preview_ignores_fields_a_form_cannot_send(world: World) -> None:
    response = world.client.post(
        "/dashboard/banner-preview",
        json={"fields": {"banner.heading": ["a", 1], "banner.cta.label": {"x": 1}}},
        headers={"X-CSRF-Token": world.token},
    )
    assert response.status_code == 422
    assert "banner.cta.label" in response.json["errors"]


def test_every_extreme_in_every_editor_number_field(world: World) -> None:
    """One save per extreme value, typed into every numeric field at once."""
    client = world.client
    url = f"/dashboard/experiments/{DRAFT}/edit"
    fields = form_fields(client.get(url).get_data(as_text=True))
    numeric = [name for name in fields if _NUMERIC.search(name)]
    assert len(numeric) > 15
    for value in EXTREMES:
        data = {**fields, **dict.fromkeys(numeric, value), "csrf_token": world.token}
        _fine(client.post(url, data=data))


_NUMERIC = re.compile(
    r"(priority|traffic|holdout|weight|views|impressions|days|hours|between|floor|min_|cadence|"
    r"alpha|cap|one_off|monthly|annual|_at|close|remind_later|already_donated)$"
)
