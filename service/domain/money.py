"""Money: integer minor units per ISO 4217, and conversion into a reporting currency.

Amounts are kept exactly as integer minor units of their own currency (cents, pence, yen) so
that sums never drift; a float in the experiment's reporting currency is derived once, at
ingest, from a configured rate table, so every report uses the same conversion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that are not 2 (every other listed currency has 2).
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    "CLF": 4,
    "UYW": 4,
}
_CODE = re.compile(r"[A-Z]{3}")
# The largest amount taken, in minor units: far beyond any donation, well inside a SQL BIGINT
# (2**63 - 1), and below 2**53, so it is also exact as a float in reports and JSON.
MAX_MINOR_UNITS = 10**15


class MoneyError(ValueError):
    """The amount or currency cannot be accepted; the message says why."""


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def to_minor(amount: float | int | str, currency: str, known: Mapping[str, float]) -> int:
    """Exact minor units of a major-unit amount; refuses unknown currencies, sub-minor
    fractions (12.345 USD) and non-positive amounts."""
    if not _CODE.fullmatch(currency) or currency not in known:
        raise MoneyError(f"unknown currency {currency!r}")
    if isinstance(amount, bool):
        raise MoneyError("amount must be a number")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):  # ValueError: an int past str()'s digit limit
        raise MoneyError("amount must be a number") from None
    if not value.is_finite() or value <= 0:
        raise MoneyError("amount must be a positive number")
    # Compared before scaling, so a huge exponent (1e999999999) is never expanded.
    if value > MAX_MINOR_UNITS:
        raise MoneyError(f"amount must be at most {MAX_MINOR_UNITS} {currency} minor units")
    minor = value.scaleb(exponent(currency))
    if minor > MAX_MINOR_UNITS:
        raise MoneyError(f"amount must be at most {MAX_MINOR_UNITS} {currency} minor units")
    # A tiny exponent (1e-999999999) underflows to zero when scaled: a fraction all the same.
    if minor != minor.to_integral_value() or minor == 0:
        raise MoneyError(f"{currency} has {exponent(currency)} decimal places")
    return int(minor)


def convert(
    amount_minor: int, currency: str, target: str, usd_per_unit: Mapping[str, float]
) -> float:
    """amount_minor of `currency` in major units of `target`, through the rate table
    (US dollars per one major unit of each currency)."""
    major: float = amount_minor / 10 ** exponent(currency)
    if currency == target:
        return major
    return major * usd_per_unit[currency] / usd_per_unit[target]
