"""Country code to name, for the %%COUNTRY_NAME%% placeholder."""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Codes CDNs send when they do not know: Cloudflare's XX (unknown) and T1 (Tor).
UNKNOWN_COUNTRIES = frozenset({"XX", "T1", "ZZ", "A1", "A2", "O1", "EU", "AP"})


def normalise_country(raw: str | None) -> str | None:
    if not raw:
        return None
    code = raw.strip().upper()
    if len(code) != 2 or not code.isalpha() or code in UNKNOWN_COUNTRIES:
        return None
    return code


@lru_cache(maxsize=512)
def country_name(code: str) -> str | None:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    # Prefer the common name ("Bolivia" over "Bolivia, Plurinational State of").
    return str(getattr(country, "common_name", None) or country.name)
