"""What every command shares: the one-line failure, settings and services from the environment.

Jobs and repositories raise their own errors; only the commands turn them into a Failure, so
nothing below the command line imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from service.domain.roles import Role
from service.settings import Settings, SettingsError
from service.wiring import Services

ROLE = click.Choice([r.value for r in Role])


class Failure(click.ClickException):
    """A one-line reason on stderr, exit status 1."""

    def show(self, file: object = None) -> None:
        click.echo(f"smallfavor: error: {self.message}", err=True)


def settings_from_env() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except SettingsError as exc:
        raise Failure(str(exc)) from None


@contextmanager
def services() -> Iterator[Services]:
    svc = Services.build(settings_from_env())
    try:
        yield svc
    finally:
        svc.close()
