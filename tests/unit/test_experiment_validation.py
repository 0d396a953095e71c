"""parse_experiment: the document rules, the defaults, and the round trip through to_document."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.errors import ValidationFailed
from service.domain.experiment import (
    Allocation,
    Amounts,
    Analysis,
    Audience,
    Caps,
    Device,
    DismissReason,
    Frequency,
    PaymentMethod,
    Placement,
    PrimaryMetric,
    SnoozeHours,
    Status,
    Targeting,
    Template,
)
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

DELETE = object()


def appeal(monthly: list[float], highlight: str) -> dict[str, Any]:
    return {
        "template": "epic",
        "heading": "…we have a small favor to ask",
        "paragraphs": [
            "More people are reading our independent journalism than ever, in %%COUNTRY_NAME%% "
            "and around the world. Unlike many others, we have chosen to keep it open to all.",
            "You have read %%ARTICLE_COUNT%% articles this month. Reporting like this takes "
            "time, money and hard work, and readers now pay for most of it.",
        ],
        "highlight": highlight,
        "cta": {"label": "Support us", "url": "https://news.example.org/donate?src=epic"},
        "amounts": {
            "currency": "USD",
            "one_off": [5, 10, 25],
            "monthly": monthly,
            "annual": [60, 120],
            "default_frequency": "monthly",
        },
        "payment_methods": ["card", "paypal", "apple_pay"],
        "remind_later_label": "Not ready to support today? Remind me later.",
    }


def full_document() -> dict[str, Any]:
    return {
        "key": "monthly-ask-2026-11",
        "name": "Monthly ask: $2 vs $5",
        "placement": "article-end",
        "priority": 10,
        "status": "draft",
        "start_at": "2026-11-01T09:00:00+01:00",
        "end_at": "2026-12-01T00:00:00Z",
        "traffic": 0.8,
        "holdout": 0.05,
        "targeting": {
            "countries": ["US", "gb"],
            "devices": ["mobile", "desktop", "tablet"],
            "languages": ["EN"],
            "sections": ["world", "Politics"],
            "exclude_sections": ["obituaries"],
            "tags": ["us-election_2026"],
            "min_article_views": 3,
            "audience": "non_supporters",
        },
        "caps": {"max_impressions": 4, "per_days": 30, "min_hours_between": 12},
        "snooze_hours": {"remind_later": 72, "close": 336, "already_donated": 8760},
        "attribution_days": 7,
        "allocation": "fixed",
        "analysis": {
            "primary_metric": "revenue_per_visitor",
            "alpha": 0.05,
            "sequential": True,
            "revenue_cap": 500,
            "currency": "USD",
        },
        "variants": [
            {
                "key": "control",
                "weight": 50,
                "banner": appeal([2, 5, 10], "Support us monthly from just %%AMOUNT%%."),
            },
            {
                "key": "five-dollars",
                "weight": 50,
                "banner": appeal(
                    [5, 10, 20], "Give %%CURRENCY_SYMBOL%%5 a month and keep our reporting open."
                ),
            },
        ],
        "seed": "monthly-ask-2026-11-v1",
        "trust_client_conversions": False,
    }


def minimal_document() -> dict[str, Any]:
    return {
        "key": "sticky-banner",
        "name": "Sticky banner",
        "placement": "bottom-banner",
        "variants": [
            {
                "key": "a",
                "weight": 1,
                "banner": {
                    "template": "bottom-banner",
                    "cta": {"label": "Give", "url": "http://example.org/give"},
                },
            }
        ],
    }


def edit(doc: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of doc with the field at `path` (validation notation) set, or removed if DELETE."""
    doc = copy.deepcopy(doc)
    steps: list[str | int] = [
        int(index) if index else name for name, index in re.findall(r"(\w+)|\[(\d+)\]", path)
    ]
    parent: Any = doc
    for step in steps[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[steps[-1]]
    else:
        parent[steps[-1]] = value
    return doc


def errors(doc: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_experiment(doc)
    return caught.value.fields


def test_a_full_document_parses() -> None:
    experiment = parse_experiment(full_document())

    assert experiment.key == "monthly-ask-2026-11"
    assert experiment.placement is Placement.article_end
    assert experiment.status is Status.draft
    assert experiment.start_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert experiment.start_at.tzinfo is UTC
    assert experiment.end_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert (experiment.traffic, experiment.holdout) == (0.8, 0.05)
    assert experiment.targeting == Targeting(
        countries=("US", "GB"),
        devices=(Device.mobile, Device.desktop, Device.tablet),
        languages=("en",),
        sections=("world", "politics"),
        exclude_sections=("obituaries",),
        tags=("us-election_2026",),
        min_article_views=3,
        audience=Audience.non_supporters,
    )
    assert experiment.caps == Caps(max_impressions=4, per_days=30, min_hours_between=12)
    assert experiment.snooze_hours.hours_for(DismissReason.remind_later) == 72
    assert experiment.snooze_hours.hours_for(DismissReason.already_donated) == 8760
    assert experiment.analysis == Analysis(
        PrimaryMetric.revenue_per_visitor, 0.05, True, 500, "USD"
    )
    assert experiment.seed == "monthly-ask-2026-11-v1"
    assert [v.key for v in experiment.variants] == ["control", "five-dollars"]
    assert experiment.control.key == "control"
    five = experiment.variant("five-dollars")
    assert five is not None and five.weight == 50
    assert five.banner.template is Template.epic
    assert five.banner.cta.url == "https://news.example.org/donate?src=epic"
    assert five.banner.amounts == Amounts(
        "USD", (5, 10, 25), (5, 10, 20), (60, 120), Frequency.monthly
    )
    assert five.banner.payment_methods == (
        PaymentMethod.card,
        PaymentMethod.paypal,
        PaymentMethod.apple_pay,
    )
    assert experiment.variant("missing") is None


def test_with_status_changes_only_the_status() -> None:
    experiment = parse_experiment(full_document())
    running = experiment.with_status(Status.running)
    assert running.status is Status.running
    assert running.with_status(Status.draft) == experiment


def test_to_document_round_trips_through_json() -> None:
    experiment = parse_experiment(full_document())
    document = experiment.to_document()

    assert parse_experiment(document) == experiment
    assert parse_experiment(json.loads(json.dumps(document))) == experiment
    assert document["start_at"] == "2026-11-01T08:00:00Z"
    assert document["end_at"] == "2026-12-01T00:00:00Z"
    assert type(document["placement"]) is str and document["placement"] == "article-end"
    assert document["targeting"]["countries"] == ["US", "GB"]
    assert document["variants"][0]["banner"]["amounts"]["monthly"] == [2, 5, 10]
    assert document["variants"][1]["banner"]["payment_methods"] == ["card", "paypal", "apple_pay"]


def test_to_document_fills_every_default() -> None:
    document = parse_experiment(minimal_document()).to_document()

    assert {k: v for k, v in document.items() if k != "variants"} == {
        "key": "sticky-banner",
        "name": "Sticky banner",
        "placement": "bottom-banner",
        "priority": 0,
        "status": "draft",
        "start_at": None,
        "end_at": None,
        "traffic": 1.0,
        "holdout": 0.0,
        "targeting": {
            "countries": [],
            "devices": [],
            "languages": [],
            "sections": [],
            "exclude_sections": [],
            "tags": [],
            "min_article_views": 0,
            "audience": "everyone",
        },
        "caps": {"max_impressions": None, "per_days": 30, "min_hours_between": 0.0},
        "snooze_hours": {"remind_later": 168, "close": 336, "already_donated": 8760},
        "attribution_days": 7,
        "allocation": "fixed",
        "bandit": {"floor": 0.1, "min_visitors": 100, "min_conversions": 20, "cadence_minutes": 60},
        "analysis": {
            "primary_metric": "revenue_per_visitor",
            "alpha": 0.05,
            "sequential": False,
            "revenue_cap": None,
            "currency": "USD",
            "engine": "frequentist",
            "cuped": False,
            "guardrails": [],
        },
        "seed": "sticky-banner",
        "trust_client_conversions": False,
        "alerts": {"emails": [], "webhooks": []},
        "reminder_message": {
            "subject": "Your reminder to support our journalism",
            "body": "You asked us to remind you about supporting our journalism. "
            "Every contribution, however big or small, keeps it open to everyone.",
        },
    }
    assert document["variants"] == [
        {
            "key": "a",
            "weight": 1.0,
            "banner": {
                "template": "bottom-banner",
                "heading": "",
                "paragraphs": [],
                "highlight": None,
                "cta": {"label": "Give", "url": "http://example.org/give"},
                "amounts": None,
                "payment_methods": [],
                "remind_later_label": None,
                "reminder": None,
            },
        }
    ]


def test_defaults_match_the_model_defaults() -> None:
    experiment = parse_experiment(minimal_document())
    assert experiment.targeting == Targeting()
    assert experiment.caps == Caps()
    assert experiment.snooze_hours == SnoozeHours()
    assert experiment.analysis == Analysis()
    assert experiment.allocation is Allocation.fixed


def test_amounts_default_to_a_monthly_ask() -> None:
    doc = edit(
        minimal_document(), "variants[0].banner.amounts", {"currency": "EUR", "monthly": [3]}
    )
    amounts = parse_experiment(doc).control.banner.amounts
    assert amounts == Amounts("EUR", (), (3,), (), Frequency.monthly)


def test_variant_weight_defaults_to_an_equal_share() -> None:
    doc = edit(minimal_document(), "variants[0].weight", DELETE)
    assert parse_experiment(doc).control.weight == 1.0


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("start_at", None),
        ("end_at", None),
        ("caps.max_impressions", None),
        ("analysis.revenue_cap", None),
        ("variants[0].banner.highlight", None),
        ("variants[0].banner.amounts", None),
        ("variants[0].banner.remind_later_label", None),
        ("priority", 1000),
        ("traffic", 1),
        ("holdout", 0),
        ("analysis.alpha", 0.5),
        ("caps.per_days", 365),
        ("snooze_hours.close", 87_600),
        ("snooze_hours.remind_later", 0),
        ("attribution_days", 90),
        ("variants[1].weight", 1_000_000),
        ("variants[1].weight", 0.001),
        ("variants[1].key", "b"),
        ("key", "ab"),
        ("key", "a" * 40),
        ("variants[1].key", "v" * 24),
        ("seed", "s" * 64),
        ("status", "archived"),
        ("targeting.countries", ["XK"]),
        ("variants[0].banner.amounts.monthly", [2, 5, 10, 20, 50, 100]),
    ],
)
def test_edge_values_are_accepted(path: str, value: object) -> None:
    doc = edit(full_document(), path, value)
    if path == "variants[0].banner.amounts":
        doc = edit(doc, "variants[0].banner.highlight", "Support us monthly.")
    parse_experiment(doc)


def test_ten_variants_are_accepted() -> None:
    doc = full_document()
    doc["variants"] = [{**doc["variants"][0], "key": f"v{i}"} for i in range(10)]
    assert len(parse_experiment(doc).variants) == 10


LONG = "x" * 2001
B = "variants[0].banner."
RULES = [
    # (path of the field to set and of the error expected, value, words in the message)
    ("key", DELETE, "required"),
    ("key", "Monthly-Ask", "lower-case"),
    ("key", "a", "2 to 40"),
    ("key", "-ask", "lower-case"),
    ("key", "a" * 41, "2 to 40"),
    ("variants[1].key", "v" * 25, "1 to 24"),
    ("name", DELETE, "required"),
    ("name", " ", "must not be empty"),
    ("name", "n" * 201, "at most 200"),
    ("placement", DELETE, "required"),
    ("placement", "sidebar", "one of: article-end, bottom-banner, header"),
    ("priority", 1001, "between 0 and 1000"),
    ("priority", -1, "between 0 and 1000"),
    ("priority", 2.5, "whole number"),
    ("priority", True, "whole number"),
    ("priority", None, "whole number"),
    ("status", "live", "one of"),
    ("start_at", "2026-11-01T09:00:00", "needs a time zone"),
    ("start_at", "2026-11-01", "needs a time zone"),
    ("start_at", "next tuesday", "ISO 8601"),
    ("start_at", 1_790_000_000, "ISO 8601"),
    ("end_at", "2026-10-31T00:00:00Z", "after start_at"),
    ("end_at", "2026-11-01T08:00:00Z", "after start_at"),
    ("traffic", 0, "greater than 0 and at most 1"),
    ("traffic", 1.01, "greater than 0 and at most 1"),
    ("traffic", "1", "must be a number"),
    ("traffic", True, "must be a number"),
    ("traffic", float("nan"), "must be a number"),
    ("holdout", 1, "of at least 0 and less than 1"),
    ("holdout", -0.1, "of at least 0 and less than 1"),
    ("targeting", None, "must be an object"),
    ("targeting.country", ["US"], "unknown field"),
    ("targeting.countries", "US", "must be a list"),
    ("targeting.countries[0]", "USA", "ISO 3166"),
    ("targeting.countries[0]", "ZZ", "ISO 3166"),
    ("targeting.countries[1]", "UK", "GB"),
    ("targeting.countries[1]", "us", "duplicate"),
    ("targeting.devices[0]", "watch", "mobile, desktop, tablet"),
    ("targeting.devices[2]", "mobile", "duplicate"),
    ("targeting.languages[0]", "english", "ISO 639"),
    ("targeting.sections[0]", "-world", "slug"),
    ("targeting.sections[1]", "WORLD", "duplicate"),
    ("targeting.tags[0]", "us election", "slug"),
    ("targeting.exclude_sections[0]", "World", "also in sections"),
    ("targeting.min_article_views", -1, "at least 0"),
    ("targeting.audience", "subscribers", "one of"),
    ("caps.max_impressions", 0, "at least 1"),
    ("caps.per_days", 0, "between 1 and 365"),
    ("caps.per_days", 366, "between 1 and 365"),
    ("caps.min_hours_between", -1, "at least 0"),
    ("caps.per_week", 3, "unknown field"),
    ("snooze_hours.remind_later", -1, "between 0 and 87600"),
    ("snooze_hours.close", 87_601, "between 0 and 87600"),
    ("snooze_hours.already_donated", "forever", "a number"),
    ("attribution_days", 0, "between 1 and 90"),
    ("attribution_days", 91, "between 1 and 90"),
    ("allocation", "thompson", "fixed, bandit"),
    ("seed", "", "must not be empty"),
    ("seed", "s" * 65, "at most 64"),
    ("trust_client_conversions", "yes", "true or false"),
    ("analysis.primary_metric", "clicks", "conversion_rate"),
    ("analysis.alpha", 0, "greater than 0 and at most 0.5"),
    ("analysis.alpha", 0.6, "greater than 0 and at most 0.5"),
    ("analysis.sequential", 1, "true or false"),
    ("analysis.engine", "bootstrap", "frequentist, bayesian"),
    ("analysis.revenue_cap", 0, "greater than 0"),
    ("analysis.currency", "usd", "ISO 4217"),
    ("analysis.power", 0.8, "unknown field"),
    ("colour", "red", "unknown field"),
    ("variants", DELETE, "required"),
    ("variants", [], "1 to 10"),
    ("variants", {"control": {}}, "must be a list"),
    ("variants[0]", "control", "must be an object"),
    ("variants[0].key", DELETE, "required"),
    ("variants[0].key", "Control", "lower-case"),
    ("variants[1].key", "control", "duplicate"),
    ("variants[1].weight", 0, "greater than 0 and at most 1000000"),
    ("variants[1].weight", -3, "greater than 0"),
    ("variants[1].weight", 1_000_001, "at most 1000000"),
    ("variants[1].weight", "50", "must be a number"),
    ("variants[1].weight", True, "must be a number"),
    ("variants[1].wieght", 50, "unknown field"),
    ("variants[0].banner", DELETE, "required"),
    (B + "template", DELETE, "required"),
    (B + "template", "modal", "epic, bottom-banner"),
    (B + "heading", DELETE, "required"),
    (B + "heading", "", "must not be empty"),
    (B + "heading", "h" * 201, "at most 200"),
    (B + "paragraphs", ["p"] * 11, "0 to 10"),
    (B + "paragraphs[1]", LONG, "2000"),
    (B + "paragraphs[0]", 5, "a string"),
    (B + "highlight", "h" * 501, "at most 500"),
    (B + "cta", DELETE, "required"),
    (B + "cta.label", "", "must not be empty"),
    (B + "cta.label", "l" * 61, "at most 60"),
    (B + "cta.url", DELETE, "required"),
    (B + "cta.url", "javascript:alert(1)", "http"),
    (B + "cta.url", "/donate", "absolute"),
    (B + "cta.url", "https://", "absolute"),
    (B + "cta.url", "https://[::1/x", "absolute"),
    (B + "cta.url", "https://e.org/a b", "spaces"),
    (B + "cta.url", "https://e.org/" + LONG, "2000"),
    (B + "cta.target", "_blank", "unknown field"),
    (B + "amounts", [2, 5], "must be an object"),
    (B + "amounts.currency", DELETE, "required"),
    (B + "amounts.currency", "$", "4217"),
    (B + "amounts.monthly[2]", 5, "duplicate"),
    (B + "amounts.monthly[0]", 0, "greater than 0"),
    (B + "amounts.annual[0]", -60, "greater than 0"),
    (B + "amounts.one_off", [1] * 7, "0 to 6"),
    (B + "amounts.one_off[0]", 2_000_000, "at most 1000000"),
    (B + "amounts.default_frequency", "weekly", "one_off, monthly, annual"),
    (B + "amounts.default_amount", 0, "greater than 0"),
    (B + "amounts.default_amount", "ten", "number"),
    (B + "amounts.default_amount", 7, "must be one of the monthly amounts: 2, 5, 10"),
    (B + "amounts.weekly", [1], "unknown field"),
    (B + "payment_methods[1]", "cheque", "card"),
    (B + "payment_methods[1]", "card", "duplicate"),
    (B + "remind_later_label", LONG, "120"),
    (B + "heading", "Hi %%NAME%%", "%%NAME%%"),
    (B + "paragraphs[1]", "%%amount%%", "unknown"),
    (B + "cta.label", "Give %%SUM%%", "%%SUM%%"),
    ("variants[1].banner.highlight", "%%AMOUNT_2%%", "unknown"),
    (B + "remind_later_label", "%%X%%", "%%X%%"),
]


@pytest.mark.parametrize(("path", "value", "words"), RULES)
def test_each_rule_reports_the_right_field(path: str, value: object, words: str) -> None:
    found = errors(edit(full_document(), path, value))
    assert path in found, found
    assert words in found[path]


@pytest.mark.parametrize("doc", [None, [], "experiment", 3])
def test_a_body_that_is_not_an_object(doc: object) -> None:
    assert errors(doc) == {"$": "must be an object"}


def test_every_error_is_reported_at_once() -> None:
    doc = edit(full_document(), "placement", "sidebar")
    doc = edit(doc, "traffic", 1.5)
    doc = edit(doc, "targeting.countries[0]", "USA")
    doc = edit(doc, "variants[1].weight", -3)
    doc = edit(doc, "variants[0].banner.cta.url", "javascript:alert(1)")
    doc = edit(doc, "analysis.alpha", 0.9)
    doc = edit(doc, "typo", 1)

    with pytest.raises(ValidationFailed) as caught:
        parse_experiment(doc)

    failure = caught.value
    assert set(failure.fields) == {
        "placement",
        "traffic",
        "targeting.countries[0]",
        "variants[1].weight",
        "variants[0].banner.cta.url",
        "analysis.alpha",
        "typo",
    }
    assert failure.message == "the experiment document is invalid"


def test_a_missing_banner_still_reports_the_other_variants() -> None:
    doc = edit(full_document(), "variants[0].banner", DELETE)
    doc = edit(doc, "variants[1].banner.cta.label", "")
    assert set(errors(doc)) == {"variants[0].banner", "variants[1].banner.cta.label"}


@pytest.mark.parametrize(
    "placeholder", ["%%AMOUNT%%", "%%SELECTED_AMOUNT%%", "%%CURRENCY_SYMBOL%%"]
)
def test_amount_placeholders_need_amounts(placeholder: str) -> None:
    doc = edit(minimal_document(), "variants[0].banner.highlight", f"From just {placeholder}.")
    assert errors(doc) == {
        "variants[0].banner.highlight": f"{placeholder} needs amounts on the banner"
    }


def test_other_placeholders_need_no_amounts() -> None:
    text = "You have read %%ARTICLE_COUNT%% articles from %%COUNTRY_NAME%%."
    doc = edit(minimal_document(), "variants[0].banner.paragraphs", [text])
    assert parse_experiment(doc).control.banner.paragraphs == (text,)


def test_the_default_frequency_needs_amounts_of_its_own() -> None:
    doc = edit(full_document(), "variants[0].banner.amounts.default_frequency", "one_off")
    doc = edit(doc, "variants[0].banner.amounts.one_off", [])
    assert errors(doc) == {
        "variants[0].banner.amounts.default_frequency": "needs at least one one_off amount"
    }


def test_the_amount_selected_first_is_one_of_the_default_frequencys_amounts() -> None:
    doc = edit(full_document(), "variants[0].banner.amounts.default_frequency", "one_off")
    # 2 is a monthly amount, not a one-off one: the rule follows the frequency shown first.
    assert errors(edit(doc, "variants[0].banner.amounts.default_amount", 2)) == {
        "variants[0].banner.amounts.default_amount": (
            "must be one of the one_off amounts: 5, 10, 25"
        )
    }
    chosen = parse_experiment(edit(doc, "variants[0].banner.amounts.default_amount", 25.0))
    amounts = chosen.control.banner.amounts
    assert amounts is not None and amounts.default_amount == 25
    assert parse_experiment(chosen.to_document()) == chosen


def test_documents_without_an_amount_selected_first_open_on_the_second_amount() -> None:
    amounts = parse_experiment(full_document()).control.banner.amounts
    assert amounts is not None and amounts.default_amount is None
    assert amounts.preselected(Frequency.monthly) == 5
    single = Amounts("USD", monthly=(3.0,))
    assert (
        single.preselected(Frequency.monthly) == 3 and single.preselected(Frequency.annual) is None
    )


def test_a_bottom_banner_needs_no_heading_but_an_epic_does() -> None:
    assert parse_experiment(minimal_document()).control.banner.heading == ""
    doc = edit(minimal_document(), "variants[0].banner.template", "epic")
    assert errors(doc) == {"variants[0].banner.heading": "required"}


def test_eleven_variants_are_too_many() -> None:
    doc = full_document()
    doc["variants"] = [{**doc["variants"][0], "key": f"v{i}"} for i in range(11)]
    assert errors(doc) == {"variants": "must be a list of 1 to 10 items"}


def test_the_engine_defaults_to_frequentist_and_bayesian_is_accepted() -> None:
    assert parse_experiment(experiment_doc()).analysis.engine == "frequentist"
    bayesian = parse_experiment(experiment_doc(analysis={"engine": "bayesian"}))
    assert bayesian.analysis.engine == "bayesian" and bayesian.analysis.sequential is False
    assert bayesian.to_document()["analysis"]["engine"] == "bayesian"
    assert parse_experiment(bayesian.to_document()) == bayesian


def test_always_valid_intervals_are_refused_with_the_bayesian_engine() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_experiment(experiment_doc(analysis={"engine": "bayesian", "sequential": True}))
    assert caught.value.fields == {"analysis.sequential": "applies only to the frequentist engine"}


def _with_reminder(offer: object) -> dict[str, object]:
    return edit(minimal_document(), "variants[0].banner.reminder", offer)


def test_a_reminder_offer_parses_with_its_defaults() -> None:
    offer = {
        "choices": [
            {"label": "In 2 weeks", "in_days": 14},
            {"label": "Next month", "next_month": True},
            {"label": "On 1 February", "on": "2027-02-01"},
        ],
        "consent": "We will e-mail you once, then delete your address.",
        "privacy_url": "https://news.example.org/privacy",
    }
    reminder = parse_experiment(_with_reminder(offer)).control.banner.reminder
    assert reminder is not None
    assert [c.in_days for c in reminder.choices] == [14, None, None]
    assert reminder.choices[1].next_month and reminder.choices[2].on == "2027-02-01"
    assert reminder.submit_label == "Remind me"


def test_a_reminder_offer_names_each_bad_field() -> None:
    offer = {
        "choices": [{"label": "Soon", "in_days": 14, "next_month": True}, {"label": "Soon"}],
        "consent": "We will e-mail you once.",
        "privacy_url": "https://news.example.org/privacy",
    }
    with pytest.raises(ValidationFailed) as failed:
        parse_experiment(_with_reminder(offer))
    path = "variants[0].banner.reminder.choices"
    # Both choices break the one-of rule; the second is also a duplicate, which is said last.
    assert failed.value.fields == {
        f"{path}[0]": "needs exactly one of in_days, next_month and on",
        f"{path}[1]": "is a duplicate",
    }

    offer = {"choices": [], "consent": " ", "privacy_url": "javascript:alert(1)"}
    with pytest.raises(ValidationFailed) as failed:
        parse_experiment(_with_reminder(offer))
    assert set(failed.value.fields) == {
        "variants[0].banner.reminder.choices",
        "variants[0].banner.reminder.consent",
        "variants[0].banner.reminder.privacy_url",
    }
