"""The `smallfavor` command line. Every command exits non-zero with a one-line reason.

Each module here holds one command or group and registers it (service/cli/registry.py); this
package imports them all and builds the group. Nothing outside the command line imports it.
"""

from __future__ import annotations

import sys

import click

# Importing a command module registers its commands.
from service.cli import demo, exports, flush, migrate, serve, simulate, tokens, users  # noqa: F401
from service.cli.registry import COMMANDS


@click.group()
def cli() -> None:
    """Small Favor: A/B tests for donation and paywall prompts."""


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a one-line reason instead of a traceback
        click.echo(f"smallfavor: error: {type(exc).__name__}: {exc}".splitlines()[0], err=True)
        sys.exit(1)
