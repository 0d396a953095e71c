"""CUPED end to end: an experiment with `analysis.cuped`, decisions that send article_views,
impressions that carry it back, signed donations, the flusher, and the report and results
page adjusted by it. Readers who read more give more here, so the adjustment must narrow the
intervals; the figures must be exactly the regression-adjusted comparison of the readers'
own values, computed here from what the test sent."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from service.jobs.flusher import open_flusher
from service.settings import Settings
from service.stats.compare import Comparison, compare
from service.stats.cuped import Covariate
from service.stats.summaries import SampleStats
from service.store.sql.event_tables import events, visitor_outcomes
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.functional.events_support import banner_for, donate, event, post_events, start_experiment
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
REPORT = "/v1/admin/experiments/monthly-ask/report"
READERS = 240


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MIN_DONORS_PER_ARM": "0"}


def run_traffic(
    client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock, *, cuped: bool
) -> dict[str, tuple[str, int, bool]]:
    """Readers with 0..29 articles read; the more they read, the likelier they give. Returns
    each reader's variant, article count and whether they gave."""
    start_experiment(client, auth("editor"), targeting={}, analysis={"cuped": cuped})
    rng = random.Random(17)
    readers: dict[str, tuple[str, int, bool]] = {}
    for i in range(READERS):
        visitor = f"reader-{i:05d}"
        views = rng.randint(0, 29)
        banner = banner_for(client, visitor, article_views=str(views))
        answer = post_events(client, [event(banner["token"], article_views=views)])
        assert answer.json["accepted"] == 1, answer.json
        gave = rng.random() < 0.05 + 0.8 * views / 29
        if gave:
            donate(
                client, settings.webhook_secret, clock(), visitor, f"pay_{i}", frequency="monthly"
            )
        readers[visitor] = (banner["variant"], views, gave)
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()
    return readers


def expected(readers: dict[str, tuple[str, int, bool]], adjusted: bool) -> Comparison:
    """Conversion rate of five-dollars against control, from the readers' own values."""
    arms = {}
    for key in ("control", "five-dollars"):
        rows = [(views, gave) for variant, views, gave in readers.values() if variant == key]
        covariate = Covariate(
            float(sum(v for v, _ in rows)),
            float(sum(v * v for v, _ in rows)),
            float(sum(v for v, gave in rows if gave)),
        )
        arms[key] = (SampleStats.proportion(len(rows), sum(g for _, g in rows)), covariate)
    (control, control_x), (treatment, treatment_x) = arms["control"], arms["five-dollars"]
    result = compare(
        control,
        treatment,
        alpha=0.05,
        sequential=False,
        covariates=(control_x, treatment_x) if adjusted else None,
    )
    assert isinstance(result, Comparison)
    return result


def test_the_report_adjusts_by_articles_read(
    client: FlaskClient, auth: Auth, services: Services, settings: Settings, clock: FakeClock
) -> None:
    readers = run_traffic(client, auth, settings, clock, cuped=True)
    body = client.get(REPORT, headers=auth("viewer")).json
    assert body["analysis"]["cuped"] is True
    vs = body["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    want, plain = expected(readers, adjusted=True), expected(readers, adjusted=False)
    assert vs["relative_lift"] == pytest.approx(want.lift, rel=1e-9)
    assert vs["ci"] == pytest.approx(list(want.ci), rel=1e-9)
    assert vs["p_value"] == pytest.approx(want.p_value, rel=1e-9)
    # Reading predicts giving strongly here: the adjustment removes much of the noise.
    assert vs["variance_reduction"] == pytest.approx(want.variance_reduction, rel=1e-9)
    assert vs["variance_reduction"] > 0.15
    width, plain_width = vs["ci"][1] - vs["ci"][0], plain.ci[1] - plain.ci[0]
    assert width < 0.93 * plain_width
    revenue = body["variants"][1]["metrics"]["revenue_per_visitor"]["vs_control"]
    assert revenue["variance_reduction"] > 0.1
    # The donor-based metric has no per-visitor covariate: not adjusted, so not claimed.
    gift = body["variants"][1]["metrics"]["average_gift_per_donor"]["vs_control"]
    assert "variance_reduction" not in gift

    log_in(client, make_user(services, "viewer"))
    html = client.get("/dashboard/experiments/monthly-ask").get_data(as_text=True)
    share = round(body["variants"][1]["metrics"]["revenue_per_visitor"]["vs_control"]
                  ["variance_reduction"] * 100)  # fmt: skip
    assert f"five-dollars: CUPED removed {share} % of the variance" in html


def test_without_cuped_the_report_is_unadjusted(
    client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock
) -> None:
    readers = run_traffic(client, auth, settings, clock, cuped=False)
    body = client.get(REPORT, headers=auth("viewer")).json
    assert body["analysis"]["cuped"] is False
    vs = body["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert "variance_reduction" not in vs
    assert vs["ci"] == pytest.approx(list(expected(readers, adjusted=False).ci), rel=1e-9)


def test_the_first_impression_sets_the_covariate_and_a_bad_count_is_refused_alone(
    client: FlaskClient, auth: Auth, services: Services, settings: Settings
) -> None:
    start_experiment(client, auth("editor"), targeting={}, analysis={"cuped": True})
    token = banner_for(client, "reader-00001", article_views="7")["token"]
    first = post_events(client, [event(token, article_views=7)])
    assert first.json["accepted"] == 1
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()
    # A later impression (more articles read by then) and a bad one in the same batch.
    later = post_events(
        client,
        [
            event(token, article_views=9),
            event(token, article_views=-1),
            event(token, "view", article_views=3),
        ],
    )
    assert later.status_code == 202
    assert later.json["accepted"] == 1
    rejected = {r["index"]: r["error"]["fields"] for r in later.json["rejected"]}
    assert set(rejected) == {1, 2}
    assert "article_views" in rejected[1]
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()
    with services.engine.connect() as conn:
        row = conn.execute(select(visitor_outcomes)).mappings().one()
        sent = conn.execute(select(events.c.article_views).order_by(events.c.ts)).scalars()
        assert sorted(sent) == [7, 9]
    assert (row["impressions"], row["pre_article_views"]) == (2, 7)
