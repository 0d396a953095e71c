"""The report's JSON schema (report_json_schema) describes exactly what report_json emits, for
every shape a report takes; and the report modules import each other without a cycle."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import jsonschema
import pytest

from service.domain.arm_totals import ArmTotals, DayTotals
from service.domain.bandit_report import bandit_view
from service.domain.report import Segment, build_report, report_json_schema
from service.domain.report_model import Report, report_json
from service.schemas.experiment import parse_experiment
from tests.support import banner, experiment_doc
from tests.unit.test_bandit_stratified import HISTORY, NOW, SWITCH, bandit, simulate

DAY = date(2026, 11, 26)


def arm(variant: str, n: int, converters: int, segment: str | None = None) -> ArmTotals:
    revenue = converters * 12.5
    return ArmTotals(
        variant,
        segment,
        visitors=n,
        converters=converters,
        revenue=revenue,
        revenue_capped=revenue,
        revenue_capped_squares=converters * 12.5**2 * 1.2,
        annualised=revenue * 12,
        annualised_capped=revenue * 12,
        annualised_capped_squares=converters * 150.0**2 * 1.2,
        impressions=n * 2,
        clicks=n // 10,
        conversions=converters,
    )


def fixed_report(
    rows: list[ArmTotals],
    segment: Segment | None = None,
    arms: int = 2,
    engine: str = "frequentist",
) -> Report:
    variants = [
        {"key": key, "weight": 100 / arms, "banner": banner()}
        for key in ("control", "five-dollars", "ten-dollars")[:arms]
    ]
    experiment = parse_experiment(experiment_doc(variants=variants, analysis={"engine": engine}))
    days = [DayTotals(DAY, row) for row in rows if row.segment is None]
    return build_report(
        experiment, rows, days, generated_at=NOW, start=DAY, end=DAY, segment=segment
    )


def bandit_report() -> Report:
    rows, strata = simulate(random.Random(2), {"control": (0.04, 0.02), "treatment": (0.05, 0.02)})
    experiment = bandit()
    view = bandit_view(experiment, HISTORY, [SWITCH], strata)
    days = [DayTotals(DAY, s.totals) for s in strata]
    return build_report(
        experiment, rows, days, generated_at=NOW, start=None, end=None, segment=None, bandit=view
    )


REPORTS = {
    "no data": lambda: fixed_report([]),
    "two arms": lambda: fixed_report([arm("control", 1000, 40), arm("five-dollars", 1000, 55)]),
    "three arms, Holm": lambda: fixed_report(
        [arm("control", 900, 30), arm("five-dollars", 900, 45), arm("ten-dollars", 900, 1)],
        arms=3,
    ),
    "two arms, Bayesian": lambda: fixed_report(
        [arm("control", 1000, 40), arm("five-dollars", 1000, 55)], engine="bayesian"
    ),
    "bandit": bandit_report,
    "segmented": lambda: fixed_report(
        [
            arm("control", 500, 20, "US"),
            arm("five-dollars", 500, 30, "US"),
            arm("control", 1, 0, None),
            arm("five-dollars", 300, 9, "GB"),
        ],
        segment="country",
    ),
}


@pytest.mark.parametrize("name", list(REPORTS))
def test_serialized_reports_validate_against_the_schema(name: str) -> None:
    body = json.loads(json.dumps(report_json(REPORTS[name]())))
    jsonschema.validate(body, report_json_schema(), cls=jsonschema.Draft202012Validator)


def test_the_schema_is_strict_where_it_matters() -> None:
    """A key the serializer renamed, dropped or added would not validate."""
    body: dict[str, Any] = report_json(REPORTS["two arms"]())
    schema = report_json_schema()
    assert {"from", "to"} <= set(schema["properties"]) and "start" not in schema["properties"]
    assert set(schema["required"]) == set(body)
    for broken in (
        {k: v for k, v in body.items() if k != "from"},
        {**body, "variants": [{**body["variants"][0], "visitors": "many"}]},
        {**body, "srm": {"mismatch": "no"}},
        {**body, "extra": 1},
        {**body, "srm": {**body["srm"], "extra": 1}},
        {**body, "analysis": "fixed"},
        _with_vs(body, {"chance_to_beat_control": 0.9}),
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_the_schema_can_refer_to_openapi_components() -> None:
    schema = report_json_schema("#/components/schemas/{model}")
    text = json.dumps(schema)
    assert '"#/components/schemas/VariantRow"' in text and '"#/$defs/' not in text
    assert set(schema["$defs"]) >= {
        "VariantRow",
        "MetricValue",
        "VsFrequentist",
        "VsBayesian",
        "AnalysisSettings",
        "Srm",
        "Verdict",
    }


def test_optional_parts_are_absent_not_null() -> None:
    plain = report_json(REPORTS["two arms"]())
    assert not {"bandit", "weight_history", "segments"} & set(plain)
    assert "reason" not in plain["srm"]
    assert "reason" in report_json(REPORTS["no data"]())["srm"]
    assert {"bandit", "weight_history"} <= set(report_json(REPORTS["bandit"]()))
    assert "segments" in report_json(REPORTS["segmented"]())


def _with_vs(body: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The report with `extra` added to the treatment's conversion-rate comparison."""
    treatment = body["variants"][1]
    metric = treatment["metrics"]["conversion_rate"]
    vs = {**metric["vs_control"], **extra}
    metrics = {**treatment["metrics"], "conversion_rate": {**metric, "vs_control": vs}}
    return {**body, "variants": [body["variants"][0], {**treatment, "metrics": metrics}]}


def test_a_comparison_carries_one_engine_s_figures_never_both() -> None:
    """Each engine's comparison validates; mixing the two engines' figures does not."""
    schema = report_json_schema()
    frequentist: dict[str, Any] = report_json(REPORTS["two arms"]())
    bayesian: dict[str, Any] = report_json(REPORTS["two arms, Bayesian"]())
    assert bayesian["analysis"]["engine"] == "bayesian"
    for body in (frequentist, bayesian):
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
    for broken in (
        _with_vs(frequentist, {"chance_to_beat_control": 0.9, "risk": 0.01}),
        _with_vs(bayesian, {"p_value": 0.04}),
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
