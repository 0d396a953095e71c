"""/metrics stays the same size whatever clients send: no label value comes from a request
unless it was first mapped into a fixed set (made-up methods, paths, event types, currencies,
reasons, countries, request ids and status-like strings all land in a bounded set of series)."""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.functional.events_support import HEADERS, banner_for, event, start_experiment

Auth = Callable[[str], dict[str, str]]

_SERIES = re.compile(r"^(smallfavor_[a-z_]+)(\{[^}]*\})? ", re.M)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
_STATUS = re.compile(r"[1-5][0-9][0-9]")


def _series(text: str) -> set[str]:
    """Every (metric, label set) in the exposition text."""
    return {name + (labels or "") for name, labels in _SERIES.findall(text)}


def _label_values(text: str, label: str, metric: str = r"\w+") -> set[str]:
    """The values of a label, on the lines of the metrics whose names match `metric`."""
    return {
        value
        for line in text.splitlines()
        if re.match(rf"(?:{metric}){{", line)
        for value in re.findall(rf'\b{label}="((?:[^"\\]|\\.)*)"', line)
    }


def _junk(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:@%é€\u2028"
    return "".join(rng.choice(alphabet) for _ in range(length))


def test_made_up_request_values_never_grow_the_metrics(client: FlaskClient, auth: Auth) -> None:
    start_experiment(client, auth("editor"), targeting={})
    token = banner_for(client, "cardinality-reader")["token"]
    rng = random.Random(15)
    before = client.get("/metrics").get_data(as_text=True)
    paths = ["/v1/decision", "/v1/events", "/healthz", "/dashboard/", "/v1/admin/experiments"]
    for i in range(1000):
        method = _junk(rng, rng.randint(1, 12)).upper().replace("%", "X").replace("\u2028", "Y")
        method = "".join(c for c in method if c.isascii() and c.isalnum()) or "X"
        kind = i % 4
        if kind == 0:  # a made-up method on a real route or a made-up path
            path = rng.choice([*paths, "/" + _junk(rng, 20).replace("%", "")])
            client.open(path, method=method, headers={"X-Request-ID": _junk(rng, 30)})
        elif kind == 1:  # events with made-up types, currencies, reasons, frequencies
            client.post(
                "/v1/events",
                json={
                    "events": [
                        event(
                            token,
                            _junk(rng, 8),
                            currency=_junk(rng, 3),
                            reason=_junk(rng, 10),
                            frequency=_junk(rng, 6),
                            amount=rng.random() * 100,
                        ),
                        {"id": str(uuid.uuid4()), "type": ["click"], "token": token},
                    ]
                },
                headers={**HEADERS, "CF-IPCountry": _junk(rng, 2)},
            )
        elif kind == 2:  # decisions for made-up placements, forces, countries and devices
            client.get(
                "/v1/decision",
                query_string={
                    "visitor": "v" + uuid.uuid4().hex,
                    "placement": rng.choice(["article-end", _junk(rng, 9)]),
                    "force": f"{_junk(rng, 5)}:{_junk(rng, 5)}",
                    "device": _junk(rng, 6),
                },
                headers={"CF-IPCountry": _junk(rng, 2), "User-Agent": _junk(rng, 40)},
            )
        else:  # the payment webhook with made-up bodies and signatures
            client.post(
                "/v1/conversions",
                data=_junk(rng, 50).encode(),
                content_type=rng.choice(["application/json", _junk(rng, 10)]),
                headers={"X-SmallFavor-Signature": _junk(rng, 30)},
            )
    text = client.get("/metrics").get_data(as_text=True)

    assert _label_values(text, "method") <= _METHODS
    # HTTP statuses only: the export runs' "status" (succeeded, failed) is another label that
    # earlier tests in this process may have set.
    http_statuses = _label_values(text, "status", metric="smallfavor_http_requests_total")
    assert http_statuses and all(_STATUS.fullmatch(s) or s == "other" for s in http_statuses)
    assert _label_values(text, "type") <= {
        "impression",
        "view",
        "click",
        "dismiss",
        "conversion",
        "any",
        "invalid",
    }
    routes = _label_values(text, "route")
    assert all(r == "unmatched" or r.startswith("/") for r in routes)
    assert not any(c in r for r in routes for c in "%é€\u2028"), routes
    # A bounded few new series (the known methods and statuses on the routes used), where
    # one per made-up method grew the text by about 1.5 KB each before.
    grown = _series(text) - _series(before)
    assert len(grown) < 200, len(grown)
    assert len(text) - len(before) < 30_000, len(text) - len(before)
