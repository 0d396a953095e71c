"""Targeting as rule objects: built once with the experiment, checked in order, named."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from service.domain.experiment import Device, Placement, Targeting
from service.domain.page_context import PageContext
from service.domain.targeting import first_failed_rule
from service.domain.targeting_rules import PAGE_RULES
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc


def test_rules_are_built_with_the_targeting_for_the_fields_it_sets_only() -> None:
    experiment = parse_experiment(
        experiment_doc(targeting={"min_article_views": 2, "countries": ["US"], "tags": ["a"]})
    )
    rules = experiment.targeting.page_rules
    assert [rule.name for rule in rules] == ["countries", "tags", "min_article_views"]
    assert experiment.targeting.page_rules is rules  # not rebuilt on each read
    assert Targeting().page_rules == ()


def test_the_rules_are_not_part_of_the_document_or_of_equality() -> None:
    experiment = parse_experiment(experiment_doc(targeting={"sections": ["world"]}))
    assert "page_rules" not in experiment.to_document()["targeting"]
    assert parse_experiment(experiment.to_document()) == experiment
    assert Targeting(sections=("world",)) == experiment.targeting


def test_every_rule_is_named_after_a_targeting_field() -> None:
    fields = {f.name for f in dataclasses.fields(Targeting) if f.init}
    names = [kind.name for kind in PAGE_RULES]
    assert len(names) == len(set(names)) and set(names) <= fields
    assert fields - set(names) == {"audience"}  # the visitor rule, checked after the ledger


def _reference(t: Targeting, ctx: PageContext) -> str | None:
    """The field-by-field checks the rule objects replaced."""
    if t.countries and ctx.country not in t.countries:
        return "countries"
    if t.devices and ctx.device not in t.devices:
        return "devices"
    if t.languages and ctx.language not in t.languages:
        return "languages"
    if t.sections and ctx.section not in t.sections:
        return "sections"
    if ctx.section is not None and ctx.section in t.exclude_sections:
        return "exclude_sections"
    if t.tags and not ctx.tags.intersection(t.tags):
        return "tags"
    if ctx.article_views < t.min_article_views:
        return "min_article_views"
    return None


def test_the_first_failing_rule_is_the_one_the_field_checks_named() -> None:
    rng = random.Random(16)

    def some(values: list[Any]) -> list[Any]:
        return rng.sample(values, rng.randrange(len(values) + 1))

    base = parse_experiment(experiment_doc())
    countries, languages = ["US", "GB", "DE"], ["en", "de", "fr"]
    sections, tags = ["world", "politics", "sport"], ["a", "b", "c"]
    for _ in range(3000):
        targeting = Targeting(
            countries=tuple(some(countries)),
            devices=tuple(some(list(Device))),
            languages=tuple(some(languages)),
            sections=tuple(some(sections)),
            exclude_sections=tuple(some(sections)),
            tags=tuple(some(tags)),
            min_article_views=rng.randrange(4),
        )
        experiment = dataclasses.replace(base, targeting=targeting)
        ctx = PageContext(
            visitor="reader-000001",
            placement=Placement.article_end,
            device=rng.choice(list(Device)),
            country=rng.choice([*countries, None]),
            language=rng.choice([*languages, None]),
            section=rng.choice([*sections, None]),
            tags=frozenset(some(tags)),
            article_views=rng.randrange(4),
        )
        expected = _reference(targeting, ctx)
        assert first_failed_rule(experiment, ctx) == expected, (targeting, ctx)
