"""Small Favor: A/B tests donation and paywall prompts on news sites.

`service:create_app()` is the WSGI application factory for gunicorn. It is resolved lazily so
that importing the pure core (service.domain, service.stats) never loads Flask or drivers.
"""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from service.app import create_app

        return create_app
    raise AttributeError(name)
