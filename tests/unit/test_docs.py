"""The docs a first user and a contributor read: they point only inside the repository, their
links resolve, and what they say about commands and settings matches the code."""

from __future__ import annotations

import re
import subprocess
from dataclasses import fields
from pathlib import Path

import click

from service.cli import cli
from service.settings import _VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OUTSIDE = "../" + "shared"  # spelled apart, so that this file does not mention it


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def section(text: str, heading: str) -> str:
    """A `## heading` section's text, up to the next heading of the same level."""
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = tracked_files()
    assert ROOT / "README.md" in files
    offending = []
    for path in files:
        try:
            if OUTSIDE in path.read_text(errors="ignore"):
                offending.append(str(path.relative_to(ROOT)))
        except (IsADirectoryError, FileNotFoundError):  # a submodule, a file deleted meanwhile
            continue
    assert offending == []


def test_design_sections_cited_in_the_code_exist() -> None:
    design = (ROOT / "docs/DESIGN.md").read_text()
    headings = set(re.findall(r"^## (\d+[a-z]?)\. ", design, re.M))
    cited = {}
    for path in tracked_files():
        if path.suffix in (".py", ".md", ".html", ".js", ".toml"):
            for number in re.findall(r"DESIGN(?:\.md)? §(\d+[a-z]?)", path.read_text()):
                cited.setdefault(number, str(path.relative_to(ROOT)))
    assert cited, "no code cites DESIGN: this test would prove nothing"
    assert {n: where for n, where in cited.items() if n not in headings} == {}


def test_every_relative_link_in_the_docs_resolves() -> None:
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (doc.parent / target.split("#")[0]).exists():
                broken.append(f"{doc.name}: {target}")
    assert broken == []


def test_the_readme_links_the_design_notes_and_says_what_works_today() -> None:
    intro = README[: README.index("\n## ")]
    assert "(docs/DESIGN.md)" in intro
    assert "next issue" not in README  # the dashboard and exports were, and both exist
    works_today = " ".join(intro.split("What works today")[1].split())
    for feature in ("dashboard", "scheduled report exports", "verdict alerts", "bandit"):
        assert feature in works_today, feature


def test_the_quick_start_shows_the_api_reference_and_the_exports_api() -> None:
    quick_start = section(README, "Set-up")
    for address in ("/docs", "/openapi.json", "/v1/admin/exports", "/v1/admin/experiments"):
        assert f"127.0.0.1:8000{address}" in quick_start, address
    # A command a first user can paste as it is: the token from where seed-demo keeps it.
    assert "sf_…" not in quick_start
    assert "$(cat var/demo_admin_token)" in quick_start


def test_every_command_the_readme_names_exists() -> None:
    named = re.findall(r"smallfavor ((?:[a-z][a-z-]*)(?: (?:[a-z][a-z-]*))?)", README)
    assert len(named) > 10
    unknown = []
    for words in set(named):
        group, _, sub = words.partition(" ")
        command = cli.commands.get(group)
        in_group = not isinstance(command, click.Group) or not sub or sub in command.commands
        if command is None or not in_group:
            unknown.append(words)
    assert unknown == []


def test_the_configuration_table_lists_exactly_the_settings() -> None:
    table = section(README, "Configuration")
    documented = set()
    for cell in re.findall(r"^\| `([A-Z_]+)`(?: / `([A-Z_]+)`)? \|", table, re.M):
        documented.update(name for name in cell if name)
    settings = {_VARIABLES.get(f.name, f.name.upper()) for f in fields(Settings)}
    # Read by gunicorn's config and prometheus_client rather than by Settings.
    elsewhere = {"WEB_THREADS", "PROMETHEUS_MULTIPROC_DIR"}
    assert documented - elsewhere == settings
