"""Each treatment's verdict in plain words: ahead or behind only when the interval of the
primary metric's lift excludes no change, and never while the sample ratio is off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.domain.experiment import Experiment
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import Verdict, VerdictStatus
from service.stats.compare import Comparison, Unavailable


def verdicts(
    experiment: Experiment,
    comparisons: Mapping[str, Sequence[Comparison | Unavailable]],
    *,
    srm_mismatch: bool,
) -> list[Verdict]:
    metric = str(experiment.analysis.primary_metric)
    label = metric.replace("_", " ")
    good_up = report_metric(metric).higher_is_better
    level = f"{_num((1 - experiment.analysis.alpha) * 100)} %"
    kind = "always-valid CI" if experiment.analysis.sequential else "CI"
    verdicts = []
    for variant, result in zip(experiment.variants[1:], comparisons[metric], strict=True):
        status: VerdictStatus
        if srm_mismatch:
            status, text = "srm", "sample ratio mismatch: do not trust these numbers"
        elif isinstance(result, Unavailable):
            status, text = "inconclusive", f"keep running: not enough data yet ({result.reason})"
        else:
            low, high = result.ci
            figures = f"{_pct(result.lift)} {label}, {level} {kind} {_pct(low)} to {_pct(high)}"
            # Ahead means better: a higher value, or a lower one for a metric where lower is good.
            up: VerdictStatus = "ahead" if good_up else "behind"
            down: VerdictStatus = "behind" if good_up else "ahead"
            if low > 0:
                status, text = up, f"{up}: {figures}"
            elif high < 0:
                status, text = down, f"{down}: {figures}"
            else:
                status = "inconclusive"
                text = f"inconclusive: {figures}; the interval includes no change, keep running"
        verdicts.append(Verdict(variant.key, status, text))
    return verdicts


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _pct(fraction: float) -> str:
    percent = fraction * 100
    return f"{percent:+.1f} %" if abs(percent) < 10 else f"{percent:+.0f} %"
