"""Bearer-token authentication and role checks for the admin API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import g, request

from service.api.http import ApiError
from service.domain.roles import Role
from service.store.sql.tokens_repo import ApiToken
from service.web import services

P = ParamSpec("P")
R = TypeVar("R")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="smallfavor"'}


def require_role(role: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            token = _authenticate()
            if not token.role.allows(role):
                raise ApiError(403, f"this needs the {role} role; the token has {token.role}")
            g.actor = f"token:{token.name}"
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]  # for the OpenAPI document
        return guarded

    return decorate


def _authenticate() -> ApiToken:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        message = "send Authorization: Bearer <token>"
        raise ApiError(401, message, {"Authorization": message}, _CHALLENGE)
    svc = services()
    token = svc.tokens.authenticate(value.strip(), svc.clock())
    if token is None:
        message = "unknown or revoked token"
        raise ApiError(401, message, {"Authorization": message}, _CHALLENGE)
    return token


def current_actor() -> str:
    return str(g.get("actor", "anonymous"))
