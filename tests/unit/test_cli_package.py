"""The command line is one package that commands register into, and nothing below it imports it."""

from __future__ import annotations

import grimp

from service.cli import cli
from service.cli.registry import COMMANDS


def test_every_registered_command_is_on_the_group_once() -> None:
    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names))
    assert sorted(cli.commands) == sorted(names)
    assert set(cli.commands) == {
        "migrate", "flush", "tokens", "users", "seed-demo", "remove-demo",
        "simulate", "schedule", "export", "serve",
    }  # fmt: skip


def test_no_job_imports_the_command_line_and_it_has_no_cycle() -> None:
    graph = grimp.build_graph("service")
    for package in ("service.jobs", "service.domain", "service.store", "service.stats"):
        chains = graph.find_shortest_chains(importer=package, imported="service.cli")
        assert not chains, f"{package} reaches the command line: {chains}"
    modules = sorted(m for m in graph.modules if m.startswith(("service.cli", "service.jobs")))
    cycles = [
        (module, imported)
        for module in modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert not cycles
