"""The command line is one package that commands register into (the import contracts in
pyproject.toml keep everything below it from importing it)."""

from __future__ import annotations

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
