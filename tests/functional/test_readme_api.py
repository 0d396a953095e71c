"""The README's Admin API table lists every admin route the app has, with the role it needs,
and nothing the app does not have."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
_IMPLICIT = {"HEAD", "OPTIONS"}


def _expand(path: str) -> list[str]:
    """`report[.csv]?from=` and `{start,pause}` written out: one path per route."""
    path = re.sub(r"\[?\?.*$", "", path)
    parts = re.split(r"(\[[^\]]+\]|\{[^}]+\})", path)
    choices = []
    for part in parts:
        if part.startswith("["):
            choices.append(["", part[1:-1]])
        elif part.startswith("{"):
            choices.append(part[1:-1].split(","))
        else:
            choices.append([part])
    return ["".join(combo) for combo in itertools.product(*choices)]


def documented() -> dict[tuple[str, str], str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Admin API")
    table = readme[start : readme.index("\n## ", start + 1)]
    rows = re.findall(r"^\| `(GET|POST|PUT|DELETE) ([^`]+)` \| (\w+) \|", table, re.M)
    return {(method, path): role for method, raw, role in rows for path in _expand(raw)}


def routes(app: Flask) -> dict[tuple[str, str], str]:
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/admin/"):
            continue
        role = str(app.view_functions[rule.endpoint].required_role)
        paths = [rule.rule]
        any_of = re.search(r"<any\(([^)]*)\):\w+>", rule.rule)
        if any_of:
            paths = [rule.rule.replace(any_of.group(0), a.strip()) for a in any_of[1].split(",")]
        for path in paths:
            # <experiment_key:key> -> <key>, <sql_id:schedule_id> -> <id>, as the README writes
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", path).replace("<schedule_id>", "<id>")
            for method in sorted((rule.methods or set()) - _IMPLICIT):
                found[(method, path)] = role
    return found


def test_the_admin_api_table_matches_the_app(app: Flask) -> None:
    actual, written = routes(app), documented()
    assert len(actual) > 15
    assert sorted(set(actual) - set(written)) == []  # in the app, missing from the README
    assert sorted(set(written) - set(actual)) == []  # in the README, not in the app
    assert {k: v for k, v in written.items() if actual[k] != v} == {}
