"""Sample-ratio mismatch: do exposed visitors split across arms as the weights say?

A mismatch means assignment or exposure logging is broken (bots, redirects, a variant that
fails to render), and then every comparison in the experiment is suspect. Pearson's χ²
goodness-of-fit test of the visitor counts against the configured weights, as gbstats 0.8.0
gbstats/utils.py `check_srm` (GrowthBook also warns below 0.001). Causes and practice:
Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.stats.distributions import chi2_sf

SRM_THRESHOLD = 0.001
# Below this many visitors in an arm the χ² approximation is poor and early noise would
# raise false alarms, so no mismatch is declared (the p-value is still reported).
MIN_VISITORS_PER_ARM = 8


@dataclass(frozen=True, slots=True)
class SrmResult:
    """p_value: P(a split at least this uneven | assignment works), or None with a reason.

    mismatch: p_value < 0.001 and every tested arm has at least 8 visitors; show a warning.
    """

    p_value: float | None
    mismatch: bool
    reason: str | None = None


def srm_p_value(
    observed: Sequence[int],
    weights: Sequence[float],
    *,
    threshold: float = SRM_THRESHOLD,
    min_visitors: int = MIN_VISITORS_PER_ARM,
) -> SrmResult:
    """χ² = Σ (o_i - e_i)² / e_i with e_i = N·w_i/Σw over k arms, p = P(χ²_{k-1} > χ²).

    Arms of weight 0 are left out of the test entirely (statistic, N, and degrees of freedom):
    no visitor is expected there, so they carry no information about the split of the others.
    gbstats skips them in the statistic but keeps them in N and in k - 1, which would bias the
    expected counts; with positive weights only, the two agree.
    """
    if len(observed) != len(weights):
        return _unavailable("observed counts and weights differ in length")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        return _unavailable("weights must be finite and non-negative")
    if any(o < 0 for o in observed):
        return _unavailable("visitor counts cannot be negative")
    tested = [(o, w) for o, w in zip(observed, weights, strict=True) if w > 0]
    if len(tested) < 2:
        return _unavailable("a sample-ratio check needs at least two arms with positive weight")
    total_observed = sum(o for o, _ in tested)
    if total_observed == 0:
        return _unavailable("no exposed visitors yet")
    total_weight = sum(w for _, w in tested)
    statistic = 0.0
    for count, weight in tested:
        expected = weight / total_weight * total_observed
        statistic += (count - expected) ** 2 / expected
    p_value = chi2_sf(statistic, len(tested) - 1)
    enough = all(count >= min_visitors for count, _ in tested)
    return SrmResult(p_value=p_value, mismatch=enough and p_value < threshold)


def _unavailable(reason: str) -> SrmResult:
    return SrmResult(p_value=None, mismatch=False, reason=reason)
