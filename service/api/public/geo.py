"""The reader's country from the CDN's header, and its name for the %%COUNTRY_NAME%% placeholder."""

from __future__ import annotations

from functools import cache, lru_cache

import pycountry

# Codes CDNs send when they do not know: Cloudflare's XX (unknown) and T1 (Tor).
UNKNOWN_COUNTRIES = frozenset({"XX", "T1", "ZZ", "A1", "A2", "O1", "EU", "AP"})
# Kosovo: user-assigned in ISO 3166, but what CDNs send for it and what targeting accepts.
_KOSOVO = "XK"
# Only ASCII blanks are trimmed: str.strip() would also eat U+2028 and other separators.
_BLANKS = " \t"


def normalise_country(raw: str | None) -> str | None:
    """An assigned ISO 3166-1 alpha-2 code, upper-cased, or None for anything else.

    The header is client-controlled wherever no CDN overwrites it. The check runs before
    upper-casing and on ASCII alone: str.upper() maps "ß" to "SS" and a dotless i + "n" to
    "IN", and str.isalpha() accepts any script, so either would turn junk into a country.
    """
    if not raw:
        return None
    code = raw.strip(_BLANKS)
    if len(code) != 2 or not (code.isascii() and code.isalpha()):
        return None
    code = code.upper()
    return code if code in _assigned_codes() else None


@cache
def _assigned_codes() -> frozenset[str]:
    # Built on first use, not at import: pycountry loads its database lazily.
    assigned = {country.alpha_2 for country in pycountry.countries}
    return frozenset(assigned | {_KOSOVO}) - UNKNOWN_COUNTRIES


@lru_cache(maxsize=512)
def country_name(code: str) -> str | None:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    # Prefer the common name ("Bolivia" over "Bolivia, Plurinational State of").
    return str(getattr(country, "common_name", None) or country.name)
