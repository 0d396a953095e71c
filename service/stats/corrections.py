"""Multiple-comparison correction across treatment arms: Holm-Bonferroni.

With several treatments each compared with control, the chance that at least one shows a
false "win" grows with the number of arms. Holm's step-down procedure controls that
family-wise error rate at alpha under any dependence between the tests, and is uniformly
more powerful than plain Bonferroni (S. Holm, "A Simple Sequentially Rejective Multiple Test
Procedure", Scandinavian Journal of Statistics 6(2), 1979). It applies unchanged to the
always-valid p-values of the sequential test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given.

    Sorted ascending p_(1) ≤ … ≤ p_(m), the adjusted value of p_(i) is
    max_{j ≤ i} min(1, (m - j + 1)·p_(j)); rejecting where adjusted < alpha is Holm's
    procedure at level alpha. One p-value comes back unchanged.

    Pass only the comparisons that produced a p-value: an unavailable comparison makes no
    claim, so it spends no error rate. A value outside [0, 1] or NaN is a caller's bug and
    raises ValueError.
    """
    for p in p_values:
        if math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1], got {p!r}")
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running_max = 0.0
    for rank, index in enumerate(order):
        running_max = max(running_max, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running_max
    return adjusted
