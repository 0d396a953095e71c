"""The country header parser on arbitrary text: a known ISO 3166-1 alpha-2 code or None."""

from __future__ import annotations

import pycountry
from hypothesis import given
from hypothesis import strategies as st

from service.api.public.geo import normalise_country

_KNOWN = {c.alpha_2 for c in pycountry.countries} | {"XK"}


@given(st.one_of(st.none(), st.text(), st.text(alphabet=st.characters(), max_size=3)))
def test_any_text_is_a_known_code_or_no_country(raw: str | None) -> None:
    code = normalise_country(raw)
    assert code is None or (code in _KNOWN and code not in {"XX", "T1", "ZZ", "EU"})
    if code is not None:
        # Only the case and ASCII blanks around it may differ from what was sent.
        assert raw is not None and raw.strip(" \t").upper() == code and raw.isascii()


@given(st.sampled_from(sorted(_KNOWN)), st.booleans())
def test_every_known_code_is_accepted_in_either_case(code: str, lower: bool) -> None:
    assert normalise_country(code.lower() if lower else code) == code
