"""The simulator's pure parts: option parsing, the page each reader reads, what they do."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from service.domain.experiment import Experiment
from service.jobs.simulate.http_client import Pacer
from service.jobs.simulate.plan import (
    MAX_EVENTS_PER_VISITOR,
    Menu,
    menu_from_banner,
    plan_actions,
    plan_visit,
)
from service.jobs.simulate.spec import (
    SpecError,
    check_against,
    experiment_info,
    parse_amounts,
    parse_rates,
)
from tests.support import experiment_doc

VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}")
USD = Menu("USD")


def info(**targeting: object) -> Experiment:
    # No targeting given: the test document's own (US and GB, mobile and desktop).
    doc = experiment_doc(targeting=targeting) if targeting else experiment_doc()
    return experiment_info({**doc, "status": "running"})


# --rates and --amounts


def test_rates_parse_per_variant() -> None:
    assert parse_rates("control=0.020, five-dollars=0.026") == {
        "control": 0.02,
        "five-dollars": 0.026,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("control=1.5", "--rates: control=1.5 is not a rate between 0 and 1"),
        ("control=-0.1", "--rates: control=-0.1 is not a rate between 0 and 1"),
        ("control=abc", "--rates: control='abc' is not a number"),
        ("control=nan", "--rates: control='nan' is not a number"),
        ("control", "--rates: 'control' is not variant=number"),
        ("=0.2", "--rates: '=0.2' is not variant=number"),
        ("control=0.1,control=0.2", "--rates: control is given twice"),
        (" , ", "--rates is empty"),
    ],
)
def test_bad_rates_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_rates(text)
    assert str(caught.value).startswith(reason)


def test_amounts_are_optional_and_must_be_positive() -> None:
    assert parse_amounts(None) == {}
    assert parse_amounts("control=5,b=12.5") == {"control": 5.0, "b": 12.5}
    with pytest.raises(SpecError, match="--amounts: b=0 must be above 0"):
        parse_amounts("control=5,b=0")


def test_options_must_name_the_experiments_variants() -> None:
    running = info()
    check_against(running, {"control": 0.1, "five-dollars": 0.2}, {"control": 5})
    with pytest.raises(SpecError, match="--rates names b, not a variant of 'monthly-ask'"):
        check_against(running, {"control": 0.1, "five-dollars": 0.2, "b": 0.1}, {})
    with pytest.raises(SpecError, match="--amounts names six, not a variant"):
        check_against(running, {"control": 0.1, "five-dollars": 0.2}, {"six": 6})
    with pytest.raises(SpecError, match="--rates gives no rate for five-dollars"):
        check_against(running, {"control": 0.1}, {})


def test_only_a_running_experiment_can_be_simulated() -> None:
    draft = experiment_info({**experiment_doc(), "status": "draft"})
    with pytest.raises(SpecError, match="'monthly-ask' is draft, not running"):
        check_against(draft, {"control": 0.1, "five-dollars": 0.2}, {})


def test_an_unexpected_document_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match="unexpected experiment document"):
        experiment_info({"key": "x"})


# The page each reader reads


def test_visits_pass_the_experiments_page_rules() -> None:
    target = info(
        countries=["GB", "IE"],
        devices=["mobile"],
        languages=["en", "ga"],
        sections=["world", "obituaries"],
        exclude_sections=["obituaries"],
        tags=["climate"],
        min_article_views=3,
    )
    rng = random.Random(1)
    for _ in range(200):
        visit = plan_visit(rng, target)
        assert VISITOR.fullmatch(visit.visitor)
        assert visit.country in ("GB", "IE")
        assert visit.device == "mobile" and "Mobile" in visit.user_agent
        assert visit.query["placement"] == "article-end"
        assert visit.query["lang"] in ("en", "ga")
        assert visit.query["section"] == "world"
        assert visit.query["tags"] == "climate"
        assert int(visit.query["article_views"]) >= 3
        assert visit.query["supporter"] == "0"


def test_visitors_differ_and_a_seed_replays_them() -> None:
    target = info()
    first = [plan_visit(random.Random(f"7:{i}"), target) for i in range(500)]
    again = [plan_visit(random.Random(f"7:{i}"), target) for i in range(500)]
    assert first == again
    assert len({v.visitor for v in first}) == 500
    assert {v.device for v in first} == {"desktop", "mobile"}  # the doc allows no tablets


def test_a_supporters_only_experiment_gets_supporters() -> None:
    visit = plan_visit(random.Random(3), info(audience="supporters"))
    assert visit.query["supporter"] == "1"


# What readers do with a banner


def test_donations_follow_the_rate_within_sampling_error() -> None:
    rng = random.Random(2026)
    n = 20_000
    for rate in (0.0, 0.02, 0.3, 1.0):
        donors = sum(plan_actions(rng, rate=rate, menu=USD).donation is not None for _ in range(n))
        # 4 standard errors: a correct plan fails this about once in 16,000 seeds.
        tolerance = 4 * (rate * (1 - rate) / n) ** 0.5
        assert abs(donors / n - rate) <= tolerance, (rate, donors)


def test_every_shown_reader_has_an_impression_and_donors_saw_and_clicked() -> None:
    rng = random.Random(5)
    types: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for _ in range(5000):
        actions = plan_actions(rng, rate=0.1, menu=USD)
        kinds = [e.type for e in actions.events]
        assert kinds[0] == "impression" and len(kinds) <= MAX_EVENTS_PER_VISITOR
        assert len({e.id for e in actions.events}) == len(kinds)
        assert all(VISITOR.fullmatch(e.id) for e in actions.events)  # the service's id rule
        if actions.donation is not None:
            assert kinds == ["impression", "view", "click"]
        types.update(kinds)
        reasons.update(e.reason for e in actions.events if e.type == "dismiss")
    assert 0.7 < types["view"] / 5000 < 0.85
    assert set(reasons) == {"remind_later", "close", "already_donated"}


def test_donations_use_the_banners_amounts_and_a_mix_of_frequencies() -> None:
    menu = menu_from_banner(
        {"currency": "EUR", "one_off": [10, 25, 50], "monthly": [2, 5, 10]}, "USD"
    )
    rng = random.Random(9)
    donations = [plan_actions(rng, rate=1.0, menu=menu).donation for _ in range(2000)]
    assert all(d is not None and d.currency == "EUR" for d in donations)
    by_frequency: dict[str, set[float]] = {}
    for d in donations:
        assert d is not None
        by_frequency.setdefault(d.frequency, set()).add(d.amount)
    assert by_frequency == {"monthly": {2, 5, 10}, "one_off": {10, 25, 50}}
    monthly = sum(d is not None and d.frequency == "monthly" for d in donations) / 2000
    assert 0.6 < monthly < 0.7  # the banner opens on monthly: most donors take it
    assert len({d.payment_id for d in donations if d is not None}) == 2000


def test_a_fixed_amount_wins_and_a_banner_without_amounts_gets_defaults() -> None:
    menu = menu_from_banner(None, "GBP")
    assert menu.currency == "GBP" and menu.one_off and menu.monthly
    donation = plan_actions(random.Random(1), rate=1.0, menu=menu, amount=7.5).donation
    assert donation is not None and donation.amount == 7.5 and donation.currency == "GBP"


# Pacing under the service's per-minute limit


def test_the_pacer_keeps_any_60_seconds_under_the_limit() -> None:
    now = [0.0]
    sends: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(5, clock=lambda: now[0], sleep=sleep)
    for _ in range(12):
        pacer.acquire()
        sends.append(now[0])
        now[0] += 1.0
    for t in sends:
        assert sum(t <= s < t + 60 for s in sends) <= 5
    assert sends[5] == 60.0 and sends[10] == 120.0
    assert pacer.held_back == 2


def test_no_limit_means_no_waiting() -> None:
    pacer = Pacer(0, clock=lambda: 0.0, sleep=lambda s: pytest.fail("slept"))
    for _ in range(1000):
        pacer.acquire()
    assert pacer.held_back == 0
