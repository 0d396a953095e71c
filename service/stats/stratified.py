"""Post-stratified arm means, for experiments whose split between arms changed over time.

When a bandit moves the weights while the base rate drifts (weekdays, news cycles), pooling
each arm's visitors weighs every arm by its own traffic over time: the arm that got more
traffic in a good hour looks better for it. Within one stratum (a stretch of time with fixed
weights) assignment is a plain randomised split, so each arm's stratum mean is unbiased; the
stratified mean re-weighs them by the stratum's share of all exposed visitors, the same for
every arm (Cochran, "Sampling Techniques", 3rd ed., 1977, §5.2-5.3):

    M_a = Σ_s w_s · m_{a,s},   w_s = N_s / N,   Var(M_a) = Σ_s w_s² · s²_{a,s} / n_{a,s}

where N_s counts the stratum's visitors in all arms, m and s² are the arm's mean and
per-visitor variance in the stratum (as SampleStats defines them). The result is handed back
as an equivalent SampleStats of kind "mean" with the arm's n visitors, whose mean is M_a and
whose variance / n is Var(M_a), so the existing comparison (delta-method lift, Welch or
sequential interval, Bayesian chance to beat control) runs on it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.stats.summaries import SampleStats

# A stratum needs two visitors per arm for a per-visitor variance.
MIN_PER_ARM = 2


def stratified(strata: Sequence[Sequence[SampleStats]]) -> list[SampleStats]:
    """Per arm, the stratified mean and its variance as an equivalent SampleStats.

    `strata[s][a]` is arm a in stratum s; every stratum lists the arms in the same order and
    every cell has at least MIN_PER_ARM visitors (merge sparse strata first, see
    `collapse_sparse`). With a single stratum the answer equals the pooled figures."""
    return stratified_prefixes(strata, [len(strata)])[0]


def stratified_prefixes(
    strata: Sequence[Sequence[SampleStats]], ends: Sequence[int]
) -> list[list[SampleStats]]:
    """`stratified(strata[:end])` for each of the ascending `ends`, in one pass over the
    strata (a cumulative series over time costs no more than the final figure)."""
    if not strata or not ends or ends[0] < 1 or list(ends) != sorted(ends):
        raise ValueError("need strata and ascending prefix lengths of at least 1")
    arms = len(strata[0])
    if any(len(stratum) != arms for stratum in strata):
        raise ValueError("every stratum must list the same arms")
    if any(cell.n < MIN_PER_ARM for stratum in strata for cell in stratum):
        raise ValueError(f"every arm needs {MIN_PER_ARM} visitors in every stratum")
    # Running sums: everyone = Σ N_s, and per arm n = Σ n_s, Σ N_s·m_s and Σ N_s²·s²_s/n_s;
    # then M = Σ N_s·m_s / everyone and Var(M) = Σ N_s²·s²_s/n_s / everyone².
    everyone = 0
    n = [0] * arms
    weighted_means = [0.0] * arms
    weighted_variances = [0.0] * arms
    out: list[list[SampleStats]] = []
    wanted = iter(ends)
    end = next(wanted)
    for index, stratum in enumerate(strata, start=1):
        size = sum(cell.n for cell in stratum)
        everyone += size
        for a, cell in enumerate(stratum):
            n[a] += cell.n
            weighted_means[a] += size * cell.mean
            weighted_variances[a] += size * size * cell.variance / cell.n
        while index == end:
            out.append(
                [
                    _equivalent(
                        n[a], weighted_means[a] / everyone, weighted_variances[a] / everyone**2
                    )
                    for a in range(arms)
                ]
            )
            end = next(wanted, 0)
    if len(out) != len(ends):
        raise ValueError("a prefix length is beyond the strata")
    return out


def _equivalent(n: int, mean: float, variance_of_mean: float) -> SampleStats:
    """n visitors with Σx = n·M and Σx² chosen so that (Σx² - (Σx)²/n) / (n - 1) = n·Var(M):
    the mean is M and variance / n is Var(M), which is all a comparison reads."""
    per_visitor_variance = n * variance_of_mean
    return SampleStats(n, n * mean, per_visitor_variance * (n - 1) + n * mean * mean)


def collapse_sparse(counts: Sequence[Sequence[int]]) -> list[list[int]]:
    """Groups of consecutive strata (indexes, in time order) such that every arm has at least
    MIN_PER_ARM visitors in each group: a sparse stratum is merged into the next one, and a
    sparse tail into the group before it. Merging neighbours in time is the usual collapsing
    of strata: it costs a little of the adjustment only where data is too thin to use anyway.
    Empty when even all strata together are too sparse."""
    groups: list[list[int]] = []
    pending: list[int] = []
    totals = [0] * (len(counts[0]) if counts else 0)
    for index, row in enumerate(counts):
        pending.append(index)
        totals = [t + n for t, n in zip(totals, row, strict=True)]
        if min(totals) >= MIN_PER_ARM:
            groups.append(pending)
            pending, totals = [], [0] * len(totals)
    if pending and groups:
        groups[-1].extend(pending)
    return groups
