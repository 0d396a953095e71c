"""The one list the command modules add their commands to; service.cli builds the group from it.

A new command (or group) is a module in service/cli/ whose command carries `@register`, and
that module's name in service/cli/__init__.py's import line.
"""

from __future__ import annotations

from typing import TypeVar

import click

C = TypeVar("C", bound=click.Command)

COMMANDS: list[click.Command] = []


def register(command: C) -> C:
    """Add a top-level command or group to `smallfavor`."""
    COMMANDS.append(command)
    return command
