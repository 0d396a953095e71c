"""Bayesian chance to beat control, risk and credible interval: Gaussian effect, flat (improper)
prior.

gbstats 0.8.0, gbstats/bayesian/tests.py `EffectBayesianABTest` with GaussianPrior(proper=False):
the posterior of the lift Δ is N(point, Var(point)), the same point estimate and delta-method
variance as the frequentist test (relative or absolute alike), because an improper prior adds
zero precision. Hence the chance to beat control is Φ(point/se): numerically the one-sided
fixed-horizon z-test, read as a posterior probability, and the credible interval is the
normal (not Student t) interval point ± z(1 - alpha/2)·se.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.stats.distributions import norm_cdf, norm_pdf, norm_ppf
from service.stats.frequentist import EffectEstimate


@dataclass(frozen=True, slots=True)
class BayesianResult:
    """chance_to_beat_control: P(Δ > 0 | data).

    risk: the expected loss of shipping the treatment, E[max(0, -Δ)], i.e. how much of the
    metric we expect to give up if the treatment is in fact worse, averaged over the posterior.
    It is in the units of the lift: a share of the control mean for relative lifts (0.002 =
    0.2 % of control), metric units per visitor for absolute ones. gbstats reports it as
    `risk[1]` (risk_type "relative" or "absolute").

    risk_control: the expected loss of keeping control, E[max(0, Δ)] (gbstats `risk[0]`).
    risk_control - risk = point estimate, always.

    credible_interval: the central 1 - alpha posterior interval of Δ, in the units of the lift
    (relative or absolute, as the effect is: gbstats computes it on the same posterior).
    """

    chance_to_beat_control: float
    risk: float
    risk_control: float
    credible_interval: tuple[float, float]


def flat_prior_posterior(effect: EffectEstimate, *, alpha: float) -> BayesianResult:
    """Chance to win, risks and the 1 - alpha credible interval for Δ ~ N(μ, s²), μ = point,
    s = se.

    gbstats: chance_to_win = norm.sf(0, μ, s) = Φ(μ/s); `get_risk` multiplies truncated-normal
    means by tail probabilities. The same quantities in closed form, with the unit normal loss
    function L(z) = E[max(0, Z - z)] = φ(z) - z·(1 - Φ(z)) (Raiffa & Schlaifer, "Applied
    Statistical Decision Theory", 1961, the normal linear loss integral):
      risk         = E[max(0, -Δ)] = s·L(μ/s)  = s·φ(μ/s) - μ·Φ(-μ/s)
      risk_control = E[max(0,  Δ)] = s·L(-μ/s) = s·φ(μ/s) + μ·Φ(μ/s)
    No division by a tail probability, so far tails underflow to 0 instead of 0/0.
    gbstats `credible_interval`: norm.ppf([alpha/2, 1 - alpha/2], μ, s) = μ ∓ z(1 - alpha/2)·s.
    """
    mu = effect.point
    sigma = effect.standard_error
    z = mu / sigma
    density_term = sigma * norm_pdf(z)
    risk = max(0.0, density_term - mu * norm_cdf(-z))
    risk_control = max(0.0, density_term + mu * norm_cdf(z))
    half = norm_ppf(1.0 - alpha / 2.0) * sigma
    return BayesianResult(
        chance_to_beat_control=norm_cdf(z),
        risk=risk,
        risk_control=risk_control,
        credible_interval=(mu - half, mu + half),
    )
