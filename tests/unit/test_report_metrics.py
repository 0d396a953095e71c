"""The metric registry: each metric reads only the sums it declares, and its "which way is
good" decides what the verdict calls ahead."""

from __future__ import annotations

import dataclasses
import random

import pytest

from service.domain import verdicts as verdicts_module
from service.domain.arm_totals import ArmTotals
from service.domain.report_metrics import METRICS, Metric, metric
from service.domain.verdicts import verdicts
from service.schemas.experiment import parse_experiment
from service.stats.compare import compare
from service.stats.summaries import SampleStats
from tests.support import experiment_doc


@pytest.mark.parametrize("entry", METRICS, ids=lambda m: m.name)
def test_each_metric_reads_only_its_declared_sums(entry: Metric) -> None:
    rng = random.Random(entry.name)
    names = [f.name for f in dataclasses.fields(ArmTotals)][3:]  # after variant, segment, visitors
    # Every visitor count above every other count, so that any proportion is valid.
    full = ArmTotals("a", **{n: rng.randint(50, 100) for n in names}, visitors=1000)
    only = ArmTotals("a", **{n: getattr(full, n) for n in entry.sums})
    assert set(entry.sums) <= {"visitors", *names}
    assert entry.stats(full) == entry.stats(only)


def test_names_are_unique_and_primary_metrics_are_per_visitor() -> None:
    assert len({m.name for m in METRICS}) == len(METRICS)
    for name in ("conversion_rate", "revenue_per_visitor", "annualised_value_per_visitor"):
        assert metric(name).per_visitor


def test_a_rise_in_a_lower_is_better_metric_is_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    experiment = parse_experiment(experiment_doc(analysis={"primary_metric": "conversion_rate"}))
    rise = compare(
        SampleStats.proportion(20_000, 400),
        SampleStats.proportion(20_000, 520),
        alpha=0.05,
        sequential=False,
    )
    said = verdicts(experiment, {"conversion_rate": [rise]}, srm_mismatch=False)
    assert said[0].status == "ahead"
    lower_is_good = dataclasses.replace(metric("conversion_rate"), higher_is_better=False)
    monkeypatch.setattr(verdicts_module, "report_metric", lambda name: lower_is_good)
    said = verdicts(experiment, {"conversion_rate": [rise]}, srm_mismatch=False)
    assert said[0].status == "behind" and said[0].text.startswith("behind: +30 %")
