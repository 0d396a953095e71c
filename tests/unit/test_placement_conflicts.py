"""Which running experiments take a placement first, and how the warning says it."""

from __future__ import annotations

from typing import Any

from service.domain.dry_run import reach
from service.domain.experiment import Placement
from service.domain.placement_conflicts import Contender, conflicts, could_overlap
from tests.unit.test_dry_run import experiment, population, running

ARTICLE_END = Placement.article_end


def contender(key: str = "my-test", priority: int = 10, **overrides: Any) -> Contender:
    made = experiment(key or "stand-in", priority=priority, **overrides)
    return Contender(key, made.placement, priority, made)


def texts(found: Any, key: str = "my-test") -> list[str]:
    return [c.text(ARTICLE_END, key) for c in found]


def test_an_equal_priority_whose_key_sorts_first_is_said_from_configuration() -> None:
    demo = running("demo-monthly-ask", priority=10)
    (found,) = conflicts(contender(), [demo], None)
    assert (found.experiment, found.relation, found.share) == ("demo-monthly-ask", "equal", None)
    (text,) = texts([found])
    assert text.startswith("demo-monthly-ask (priority 10) is running on article-end")
    assert "at equal priority, the experiment whose key sorts first alphabetically wins" in text
    assert "“demo-monthly-ask” sorts before “my-test”" in text
    assert "%" not in text and "no decisions sampled yet" in text
    assert "priority above 10" in text


def test_who_does_not_take_the_placement_first_is_not_named() -> None:
    others = [
        running("demo-monthly-ask", priority=10),  # a-test sorts before it: a-test wins
        running("lower", priority=5),
        running("elsewhere", placement="header", priority=99),
    ]
    assert conflicts(contender("a-test"), others, None) == ()


def test_targeting_that_cannot_meet_is_no_conflict() -> None:
    mine = experiment("my-test", targeting={"countries": ["US"], "audience": "supporters"})
    assert not could_overlap(mine, running("gb", targeting={"countries": ["GB"]}))
    assert not could_overlap(
        mine, running("givers", targeting={"audience": "non_supporters", "countries": ["US"]})
    )
    news_only = experiment("my-test", targeting={"sections": ["news"]})
    assert not could_overlap(
        news_only, running("no-news", targeting={"exclude_sections": ["news"]})
    )
    assert could_overlap(news_only, running("everyone", targeting={}))
    later = experiment("my-test", start_at="2026-12-10T00:00:00Z")
    ended = running("ended", end_at="2026-12-01T00:00:00Z")
    assert not could_overlap(later, ended)


def test_sampled_decisions_give_the_share_taken() -> None:
    higher = running("us-first", priority=20, targeting={"countries": ["US"]}, traffic=0.8)
    candidate = experiment("my-test", priority=10)
    found = reach(candidate, population(50, 50), [higher])
    (conflict,) = conflicts(contender(), [higher], found)
    assert (conflict.relation, conflict.share) == ("higher", 0.4)
    (text,) = texts([conflict])
    assert text.startswith(
        "us-first (priority 20) takes this placement for 40 % of the readers this experiment "
        "would reach (sampled decisions): its priority is higher."
    )
    # Sampled readers never shared: no warning, whatever the configuration says.
    gb_only = reach(experiment("my-test", targeting={"countries": ["GB"]}), population(50, 50), [])
    assert conflicts(contender(targeting={"countries": ["GB"]}), [higher], gb_only) == ()


def test_a_new_form_without_a_key_says_the_tie_break_as_a_condition() -> None:
    demo = running("demo-monthly-ask", priority=10)
    for unparsed in (None, experiment("stand-in")):
        (found,) = conflicts(Contender("", ARTICLE_END, 10, unparsed), [demo], None)
        assert found.relation == "equal-undecided"
        (text,) = texts([found], "")
        assert "unless this experiment's key sorts before “demo-monthly-ask”" in text
