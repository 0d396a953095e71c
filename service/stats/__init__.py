"""Pure statistics over per-arm sufficient statistics (n, sum, sum of squares), as gbstats 0.8.0.

Entry points: `compare.compare` / `compare.compare_arms` (lift, interval, p-value, chance to
beat control, risk), `srm.srm_p_value`, `corrections.holm_adjust`.
"""
