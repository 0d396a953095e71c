"""What the hostile-input tests of the JSON API share: values an attacker tries first, strategies
for arbitrary text, bytes and JSON, and the check every answer must pass."""

# Other scripts' digits are the point here.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Values that broke a parser somewhere: the edges of dates, times and integers, digits that
# str.isdigit(), \d or int() accept but ASCII does not have, NUL (PostgreSQL refuses it in
# text), numbers past a BIGINT or a double, control characters, other scripts.
EXTREME_TEXT = (
    "",
    " ",
    "0",
    "-1",
    "²",
    "١٢٣",
    "𝟙𝟚",
    "1_000",
    "9" * 19,
    "9" * 400,
    "9" * 5000,
    "1e400",
    "nan",
    "\x00",
    "a\x00b",
    "\r\n",
    "é",
    "%ff%00",
    "0001-01-01",
    "9999-12-31",
    "١٢٣٤-٠١-٠١",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-23:59",
    "2026-11-28T12:00:00+99:99",
    "d.reader-000001.monthly-ask.control.tp7o00.é" + "a" * 15,
    "t=١٢٣,v1=" + "a" * 64,
    "t=1,v1=" + "é" * 64,
    "x" * 3000,
)

# JSON numbers past what Python, a BIGINT or a double can hold, written as raw JSON text.
EXTREME_NUMBERS = (
    "0",
    "-0",
    "-1",
    "1e400",
    "-1e400",
    "1e-400",
    "9223372036854775808",
    "18446744073709551616",
    "100000000000000000000",
    "9" * 5000,
    "1.5",
    "92233720368547758.07",
    "NaN",
    "Infinity",
    "-Infinity",
)

# Mostly the known extremes, which random text rarely hits, and some random text besides.
hostile_text = st.one_of(
    st.sampled_from(EXTREME_TEXT), st.sampled_from(EXTREME_TEXT), st.text(max_size=60)
)
# Header values arrive as latin-1 text in WSGI: any byte but CR and LF.
header_text = st.one_of(
    st.sampled_from([t for t in EXTREME_TEXT if t.isascii() and "\r" not in t and "\x00" not in t]),
    st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
).map(lambda v: v if isinstance(v, str) else v.decode("latin-1"))
# Query strings as a WSGI server hands them over: any bytes, decoded as latin-1.
raw_query = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.lists(st.tuples(st.text(max_size=12), hostile_text), max_size=6).map(
        lambda pairs: (
            "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "replace").decode("latin-1")
        )
    ),
)


class Raw:
    """JSON text written as is (a number no encoder would write, NaN)."""

    def __init__(self, text: str) -> None:
        self.text = text


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
    st.sampled_from(EXTREME_NUMBERS).map(Raw),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    """value as JSON bytes, Raw numbers as written and lone surrogates as the invalid UTF-8
    they become on the wire."""
    if isinstance(value, Raw):
        return value.text.encode()
    if isinstance(value, dict):
        items = (dumps(str(k)) + b":" + dumps(v) for k, v in value.items())
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(dumps(v) for v in value) + b"]"
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def with_hostile_values(doc: dict[str, Any], draw: Any) -> dict[str, Any]:
    """doc with a few of its fields (at any depth) replaced by hostile values, or added."""
    out = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = out
        while isinstance(target, dict) and target and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(target)))
            if isinstance(target[key], dict):
                target = target[key]
            elif isinstance(target[key], list) and target[key] and isinstance(target[key][0], dict):
                target = target[key][0]
            else:
                break
        if isinstance(target, dict):
            key = draw(st.one_of(st.sampled_from(sorted(target) or ["x"]), st.text(max_size=8)))
            target[key] = draw(json_values)
    return out


def assert_no_server_error(response: Any) -> None:
    """Below 500, and a 4xx answers the error envelope naming what was wrong."""
    status = response.status_code
    assert status < 500, response.get_data()[:500]
    if status >= 400:
        assert response.mimetype == "application/json", response.get_data()[:200]
        error = response.get_json()["error"]
        assert error["code"] and error["message"]
        if status in NAMES_A_FIELD:
            assert error.get("fields"), error


# Statuses that answer for a value the client sent (404, 409, 412 answer for the state of
# things; 403 for the role; 429 for the rate).
NAMES_A_FIELD = frozenset({400, 401, 413, 415, 422})
