"""The pure-Python distribution functions against closed forms (scipy is no dependency)."""

from __future__ import annotations

import math

import pytest

from service.stats.distributions import chi2_sf, norm_cdf, norm_ppf, norm_sf, t_isf, t_pdf, t_sf


def close(expected: float) -> object:
    return pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("t", [-30.0, -2.0, -0.1, 0.0, 0.5, 1.96, 12.0, 1e4])
def test_t_with_one_and_two_dof_match_their_closed_forms(t: float) -> None:
    # Cauchy: ½ - atan(t)/π, written without cancellation in the upper tail
    assert t_sf(t, 1) == close(math.atan2(1.0, t) / math.pi)
    # 2 dof: ½(1 - t/√(t²+2)) = 1/(√(t²+2)(√(t²+2) + t)) for t ≥ 0
    root = math.sqrt(t * t + 2)
    upper = 1 / (root * (root + abs(t)))
    assert t_sf(t, 2) == close(upper if t >= 0 else 1 - upper)
    assert t_pdf(t, 1) == close(1 / (math.pi * (1 + t * t)))


@pytest.mark.parametrize("q", [0.4, 0.05, 0.025, 0.005, 1e-6])
def test_t_quantile_of_cauchy(q: float) -> None:
    assert t_isf(q, 1) == close(1 / math.tan(math.pi * q))


@pytest.mark.parametrize("dof", [1.0, 2.5, 7.0, 33.3, 480.0, 2.4e4, 3e6])
@pytest.mark.parametrize("q", [0.3, 0.05, 0.025, 0.005, 1e-9])
def test_t_quantile_inverts_the_tail(dof: float, q: float) -> None:
    t = t_isf(q, dof)
    assert t_sf(t, dof) == pytest.approx(q, rel=1e-10)
    upper = 1 - q  # rounded: compare with the quantile of exactly its complement
    assert t_isf(upper, dof) == pytest.approx(-t_isf(1 - upper, dof), rel=1e-12)


def test_t_approaches_the_normal_for_large_dof() -> None:
    assert t_sf(1.96, 1e9) == pytest.approx(norm_sf(1.96), rel=1e-8)
    assert t_isf(0.025, 1e9) == pytest.approx(norm_ppf(0.975), rel=1e-8)
    # with few dof the tail is heavier and the quantile larger (textbook t tables)
    assert t_isf(0.025, 10) == pytest.approx(2.228138851986274, rel=1e-12)


def test_far_tails_keep_their_digits() -> None:
    assert norm_cdf(-30) == pytest.approx(4.906713927148187e-198, rel=1e-12)
    assert t_sf(40, 3) == pytest.approx(1.7190340394579253e-05, rel=1e-12)  # scipy 1.17
    assert t_sf(12, 5) == pytest.approx(3.544746258580761e-05, rel=1e-12)
    assert 0.0 <= t_sf(60, 2e4) < 1e-300  # underflows quietly, as scipy does


@pytest.mark.parametrize("x", [0.0, 1e-3, 0.7, 3.84, 10.0, 80.0, 500.0])
def test_chi2_matches_closed_forms(x: float) -> None:
    assert chi2_sf(x, 1) == close(math.erfc(math.sqrt(x / 2)))
    assert chi2_sf(x, 2) == close(math.exp(-x / 2))
    assert chi2_sf(x, 4) == close(math.exp(-x / 2) * (1 + x / 2))


def test_normal_quantile() -> None:
    assert norm_ppf(0.975) == pytest.approx(1.959963984540054, rel=1e-14)
    assert norm_cdf(1.959963984540054) == pytest.approx(0.975, rel=1e-14)
