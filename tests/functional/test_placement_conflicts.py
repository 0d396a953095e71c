"""Placement conflicts in plain sight (issue 18): made with the form's defaults, a new
experiment ties with the demo on article-end at priority 10 and the demo's key sorts first,
so it would get no readers. The new-experiment form, the list, the Start confirmation and the
dry-run panel all say so, with the share of readers once decisions are sampled."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask.testing import FlaskClient

from service.demo.seed import seed_demo
from service.wiring import Services
from tests.functional.dashboard_support import csrf, form_fields, log_in, make_user, post_form
from tests.functional.test_decision_log import start
from tests.functional.test_dry_run import draft, seed
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]


def _signed_in(client: FlaskClient, services: Services) -> None:
    assert log_in(client, make_user(services, "editor")).status_code == 302


def _text(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, url
    return html.unescape(page.get_data(as_text=True))


def _warning(page: str) -> str:
    """The placement-conflict block's text, '' when there is none."""
    found = re.search(r'<div [^>]*id="placement-conflicts"[^>]*>(.*?)</div>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def _row(page: str, key: str) -> str:
    found = re.search(rf"<tr>\s*<th scope=\"row\">.*?<code>{key}</code>.*?</tr>", page, re.S)
    assert found, key
    return found.group(0)


def test_the_form_defaults_tie_with_the_demo_and_every_page_says_so(
    client: FlaskClient, services: Services, clock: FakeClock
) -> None:
    seed_demo(services)  # running on article-end at priority 10
    _signed_in(client, services)

    new = _text(client, "/dashboard/experiments/new")
    warning = _warning(new)
    assert "demo-monthly-ask (priority 10) is running on article-end" in warning
    assert "unless this experiment's key sorts before “demo-monthly-ask”" in warning
    assert "at equal priority, the experiment whose key sorts first alphabetically wins" in warning

    fields = form_fields(client.get("/dashboard/experiments/new").get_data(as_text=True))
    assert (fields["placement"], fields["priority"]) == ("article-end", "10")
    fields.update({"key": "my-test", "name": "My test", "op": "save"})
    created = post_form(client, "/dashboard/experiments/new", fields)
    assert created.status_code == 302, created.get_data(as_text=True)

    listed = _text(client, "/dashboard/")
    assert '<th scope="col">Placement</th><th scope="col" class="num">Priority</th>' in listed
    mine, demo = _row(listed, "my-test"), _row(listed, "demo-monthly-ask")
    assert "<td>article-end</td>" in mine and '<td class="num">10</td>' in mine
    assert (
        "demo-monthly-ask (priority 10) takes article-end first (equal priority: its key sorts "
        "first)" in mine
    )
    assert '<td class="num">10</td>' in demo and "takes article-end first" not in demo

    # No decisions sampled yet: the warning rests on configuration, with no percentage.
    confirm = _warning(_text(client, "/dashboard/experiments/my-test/start"))
    assert "demo-monthly-ask (priority 10) is running on article-end" in confirm
    assert "“demo-monthly-ask” sorts before “my-test”" in confirm
    assert "no decisions sampled yet" in confirm and "%" not in confirm
    assert "priority above 10" in confirm

    # With sampled decisions, the share: every reader both qualify for goes to the demo.
    seed(services, clock, [(100, {"country": "US"})])
    confirm = _warning(_text(client, "/dashboard/experiments/my-test/start"))
    assert (
        "demo-monthly-ask (priority 10) takes this placement for 100 % of the readers this "
        "experiment would reach (sampled decisions): at equal priority, the experiment whose "
        "key sorts first alphabetically wins, and “demo-monthly-ask” sorts before “my-test”."
    ) in confirm
    editor = _warning(_text(client, "/dashboard/experiments/my-test/edit"))
    assert "takes this placement for 100 %" in editor

    # Above the tie, the warnings go: my-test now takes the placement first.
    fields = form_fields(client.get("/dashboard/experiments/my-test/edit").get_data(as_text=True))
    saved = post_form(client, "/dashboard/experiments/my-test/edit", {**fields, "priority": "11"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert _warning(_text(client, "/dashboard/experiments/my-test/start")) == ""
    assert "takes article-end first" not in _row(_text(client, "/dashboard/"), "my-test")


def test_a_higher_priority_is_named_with_its_share_on_the_start_page(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth, "us-first", priority=20, targeting={"countries": ["US"]}, traffic=0.5)
    start(client, auth, "later", priority=5)  # lower priority: never named
    draft(client, auth, priority=10)
    seed(services, clock, [(60, {"country": "US"}), (40, {"country": "GB"})])
    _signed_in(client, services)
    confirm = _warning(_text(client, "/dashboard/experiments/candidate/start"))
    assert confirm.startswith("1 running experiment takes this placement first.")
    assert (
        "us-first (priority 20) takes this placement for 30 % of the readers this experiment "
        "would reach (sampled decisions): its priority is higher."
    ) in confirm
    assert "later" not in confirm
    # Other actions than Start say nothing of it.
    assert client.get("/dashboard/experiments/us-first/pause").status_code == 200
    assert _warning(_text(client, "/dashboard/experiments/us-first/pause")) == ""


def _dry_run(client: FlaskClient, services: Services) -> str:
    _signed_in(client, services)
    page = client.get("/dashboard/experiments/candidate/edit")
    fields = {**form_fields(page.get_data(as_text=True)), "csrf_token": csrf(page)}
    answer = client.post("/dashboard/experiments/candidate/dry-run", data=fields)
    assert answer.status_code == 200
    return html.unescape(answer.get_data(as_text=True))


def test_the_dry_run_panel_tells_an_equal_priority_from_a_higher_one(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth, "a-demo", priority=10)  # ties with the candidate; "a-demo" sorts first
    draft(client, auth, priority=10)
    seed(services, clock, [(100, {"country": "US"})])
    page = _dry_run(client, services)
    assert "higher-priority" not in page
    assert re.search(
        r"taken first by other experiments on this placement</th>"
        r'<td class="num" id="dry-run-taken">100.0 %',
        page,
    )
    assert '<td class="num" id="dry-run-taken-higher">0.0 %</td>' in page
    assert '<td class="num" id="dry-run-taken-equal">100.0 %</td>' in page
    assert "yes: equal priority, its key sorts first" in page
    assert "At equal priority, the experiment whose key sorts first alphabetically wins" in page
    assert "none of the sampled readers would be exposed to it" in page


def test_the_dry_run_panel_says_what_is_missing_instead_of_a_dash(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    # Revenue per visitor, the form's default metric: no sampled decisions and no baseline.
    draft(client, auth, analysis={"primary_metric": "revenue_per_visitor"})
    page = _dry_run(client, services)
    assert "a 0 % effect" not in page and "—</strong>" not in page
    assert "Days to detect a 10 % effect</th>" in page
    assert (
        '<td id="dry-run-days">not estimated: no decisions on article-end were sampled in the '
        "last 7 days; and revenue_per_visitor needs a baseline and baseline_sd"
    ) in page
    assert (
        '<td id="dry-run-share">not estimated: no decisions on article-end were sampled in the '
        "last 7 days</td>"
    ) in page


def test_a_shipped_winner_takes_the_placement_first_like_a_running_test(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    # A shipped experiment serves its winner to every eligible reader of its placement, so a
    # new test below its priority gets none of them: the list, the Start confirmation and the
    # dry run must say so, as they do for a running one.
    start(client, auth, "winner", priority=20)
    shipped = client.post(
        "/v1/admin/experiments/winner/ship", json={"variant": "control"}, headers=auth("editor")
    )
    assert shipped.status_code == 200 and shipped.json["status"] == "shipped"
    draft(client, auth, priority=10)
    _signed_in(client, services)

    confirm = _warning(_text(client, "/dashboard/experiments/candidate/start"))
    assert "winner (priority 20) has shipped its winner on article-end" in confirm
    assert "its priority is higher" in confirm and "priority above 20" in confirm
    assert "winner (priority 20) takes article-end first" in _row(
        _text(client, "/dashboard/"), "candidate"
    )

    seed(services, clock, [(100, {"country": "US"})])
    edit = client.get("/dashboard/experiments/candidate/edit")
    fields = {**form_fields(edit.get_data(as_text=True)), "csrf_token": csrf(edit)}
    answer = client.post("/dashboard/experiments/candidate/dry-run", data=fields)
    page = html.unescape(answer.get_data(as_text=True))
    assert '<td class="num" id="dry-run-taken-higher">100.0 %</td>' in page
    assert "none of the sampled readers would be exposed to it" in page
