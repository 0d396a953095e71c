"""Dashboard login: sessions, roles, CSRF tokens and the login throttle.

The session holds the user id, the time of login and a CSRF token; the user is loaded from SQL
on every request, so disabling a user or changing a role takes effect at once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.api.context import services
from service.domain.roles import Role
from service.store.redis.login_throttle import LoginThrottle
from service.store.sql.users_repo import User

P = ParamSpec("P")
R = TypeVar("R")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    """The session's CSRF token, made on first use (anonymous sessions get one for the login
    form too)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Every state-changing request must echo the session's token, in the form or a header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(400, "This form has expired or did not come from this dashboard. Reload and retry.")


def current_user() -> User | None:
    if "user" not in g:
        user = None
        user_id = session.get("uid")
        if isinstance(user_id, int):
            user = services().users.get(user_id)
            if user is not None and user.disabled:
                user = None
        g.user = user
    return g.user  # type: ignore[no-any-return]


def login_required(
    role: Role = Role.viewer,
) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    def decorate(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            user = current_user()
            if user is None:
                return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
            if not user.role.allows(role):
                abort(403, f"This needs the {role} role; you are signed in as {user.role}.")
            g.actor = f"user:{user.email}"
            return view(*args, **kwargs)

        return guarded

    return decorate


def can(role: Role) -> bool:
    user = current_user()
    return user is not None and user.role.allows(role)


def register(bp: Blueprint) -> None:
    @bp.route("/login", methods=["GET", "POST"])
    def login() -> str | BaseResponse | tuple[str, int]:
        target = _safe_next(request.values.get("next"))
        if request.method == "GET":
            if current_user() is not None:
                return redirect(target)
            return render_template("dashboard/login.html", email="", error=None, next=target)
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        svc = services()
        throttle = LoginThrottle(svc.redis, svc.keys)
        address = request.remote_addr or "unknown"
        if throttle.blocked(address, email):
            error = "Too many failed attempts. Wait 15 minutes and try again."
            return render_template(
                "dashboard/login.html", email=email, error=error, next=target
            ), 429
        user = svc.users.verify(email, password, svc.clock()) if email and password else None
        if user is None:
            throttle.failed(address, email)
            error = "That e-mail and password do not match an active account."
            return render_template(
                "dashboard/login.html", email=email, error=error, next=target
            ), 401
        throttle.succeeded(address, email)
        # A fresh session (and CSRF token) at every login.
        session.clear()
        session.permanent = True
        session["uid"] = user.id
        csrf_token()
        return redirect(target)

    @bp.post("/logout")
    def logout() -> BaseResponse:
        session.clear()
        return redirect(url_for("dashboard.login", signed_out=1))


def _safe_next(raw: str | None) -> str:
    """Only a path inside the dashboard: an open redirect would make phishing links look real."""
    default = url_for("dashboard.experiments")
    if not raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard"):
        return default
    if raw.startswith("//") or "\\" in raw:
        return default
    return raw
