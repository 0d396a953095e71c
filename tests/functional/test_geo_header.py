"""The CDN's country header: an ISO 3166-1 alpha-2 code (any case) is the reader's country;
anything else (unknown or Tor markers, other letters that upper-case into a code, junk) counts
as no country, so country targeting never matches it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.api.public.geo import normalise_country
from tests.functional.events_support import MOBILE_UA, start_experiment

Auth = Callable[[str], dict[str, str]]


def _decide(client: FlaskClient, country: str) -> dict[str, object]:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": "geo-reader-01", "placement": "article-end", "debug": "1"},
        headers={"User-Agent": MOBILE_UA, "CF-IPCountry": country},
    )
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("header", "targeted"),
    [
        ("SS", ["SS"]),  # South Sudan itself
        ("ss", ["SS"]),  # lower case is upper-cased
        (" in ", ["IN"]),  # surrounding blanks are trimmed
        ("XK", ["XK"]),  # Kosovo: user-assigned, but what CDNs send and targeting allows
    ],
)
def test_a_valid_code_in_any_case_is_the_readers_country(
    client: FlaskClient, auth: Auth, header: str, targeted: list[str]
) -> None:
    start_experiment(client, auth("editor"), targeting={"countries": targeted})
    body = _decide(client, header)
    assert body["banner"] is not None, body


@pytest.mark.parametrize(
    ("header", "targeted"),
    [
        ("ß", ["SS"]),  # one Latin-1 byte whose upper case is "SS"
        ("\u0131n", ["IN"]),  # dotless i + n upper-cases to "IN"
        ("ﬁ", ["FI"]),  # a ligature that upper-cases to "FI"
        ("\u200bUS", ["US"]),  # a zero-width space is not a blank to trim
        ("U\x00S", ["US"]),
        ("US\u2028", ["US"]),
        ("ÄÖ", ["US"]),  # letters, but not ASCII
        ("U1", ["US"]),
        ("USA", ["US"]),
        ("QQ", ["US"]),  # two letters but no country
    ],
)
def test_anything_else_is_no_country(
    client: FlaskClient, auth: Auth, header: str, targeted: list[str]
) -> None:
    start_experiment(client, auth("editor"), targeting={"countries": targeted})
    body = _decide(client, header)
    assert body["banner"] is None and body["reason"] == "not_targeted", body


@pytest.mark.parametrize("marker", ["XX", "xx", "T1", "t1", "ZZ", "EU", "A1"])
def test_unknown_and_tor_markers_are_no_country(
    client: FlaskClient, auth: Auth, marker: str
) -> None:
    # An experiment for readers outside any country list would still need a country to match.
    start_experiment(client, auth("editor"), targeting={"countries": ["US"]})
    assert _decide(client, marker)["reason"] == "not_targeted"
    # And no country is never mistaken for one: the banner's country name falls back.
    assert normalise_country(marker) is None


def test_the_normalised_code_is_what_events_record() -> None:
    assert normalise_country("gb") == "GB"
    assert normalise_country("ß") is None
    assert normalise_country("\u0131n") is None
    assert normalise_country("") is None and normalise_country(None) is None
