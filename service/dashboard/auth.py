"""Dashboard login: server-side sessions, roles, CSRF tokens and the login throttle.

The signed cookie holds a random session id and the CSRF token; the session and its user are
loaded from SQL in one query on every dashboard request, so logging out, "sign out
everywhere" and any change to a user's password, role or disabled flag end sessions at once,
copies of the cookie included (service/store/sql/dashboard_sessions_repo.py).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard.session import LIFETIME
from service.domain.roles import Role
from service.store.redis.login_throttle import LoginThrottle
from service.store.sql.dashboard_sessions_repo import DashboardSessionRepo
from service.store.sql.users_repo import User
from service.web import services

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
    if not isinstance(expected, str) or not same_secret(sent, expected):
        abort(400, "This form has expired or did not come from this dashboard. Reload and retry.")


def same_secret(sent: str, expected: str) -> bool:
    """Constant-time comparison of untrusted text: compare_digest raises TypeError on str
    with non-ASCII characters, so both sides are compared as UTF-8 bytes."""
    return hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def sessions() -> DashboardSessionRepo:
    return DashboardSessionRepo(services().engine)


def current_user() -> User | None:
    if "user" not in g:
        g.user = g.session_row = None
        session_id = session.get("sid")
        if isinstance(session_id, str):
            active = sessions().load(session_id, services().clock())
            if active is None:
                session.pop("sid")  # ended, expired or its user disabled: drop it from the cookie
            else:
                g.user, g.session_row = active.user, active.id
    return g.user  # type: ignore[no-any-return]


def current_session_row() -> int | None:
    """The id the account page lists the current session under."""
    current_user()
    return g.session_row  # type: ignore[no-any-return]


def start_session(user: User) -> None:
    """A fresh session (and CSRF token) for this browser; any session it had is ended."""
    end_session()
    session["sid"] = sessions().start(
        user.id, services().clock(), LIFETIME, request.user_agent.string
    )
    csrf_token()
    g.pop("user", None)


def end_session() -> None:
    session_id = session.get("sid")
    if isinstance(session_id, str):
        sessions().end(session_id)
    session.clear()
    g.pop("user", None)


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
    def login() -> BaseResponse | tuple[str, int]:
        target = _safe_next(request.values.get("next"))
        email = request.form.get("email", "").strip() if request.method == "POST" else ""

        def page(error: str | None, status: int) -> tuple[str, int]:
            html = render_template("dashboard/login.html", email=email, error=error, next=target)
            return html, status

        if request.method == "GET":
            return redirect(target) if current_user() is not None else page(None, 200)
        password = request.form.get("password", "")
        svc = services()
        throttle = LoginThrottle(svc.redis, svc.keys)
        address = request.remote_addr or "unknown"
        # Counted before the password is checked, so parallel guesses cannot all pass a
        # check of the count made before any of them was counted.
        if not throttle.admit(address, email):
            return page("Too many failed attempts. Wait 15 minutes and try again.", 429)
        user = svc.users.verify(email, password, svc.clock()) if email and password else None
        if user is None:
            return page("That e-mail and password do not match an active account.", 401)
        throttle.succeeded(address, email)
        start_session(user)
        return redirect(target)

    @bp.post("/logout")
    def logout() -> BaseResponse:
        end_session()
        return redirect(url_for("dashboard.login", signed_out=1))


def _safe_next(raw: str | None) -> str:
    """Only a path inside the dashboard: an open redirect would make phishing links look real,
    and a control character (raw or percent-encoded) could split the Location header."""
    default: str = url_for("dashboard.experiments")
    if not raw or len(raw) > 2000 or not raw.isascii() or not raw.isprintable():
        return default
    if raw.startswith("//") or "\\" in raw:
        return default
    decoded = raw
    for _ in range(3):  # percent-encoding nested a few levels deep is still caught
        decoded = unquote(decoded)
    if not decoded.isprintable() or "\\" in decoded:
        return default
    try:
        parts = urlsplit(raw)
    except ValueError:  # e.g. an unbalanced "[" where a host would be
        return default
    if parts.scheme or parts.netloc:
        return default
    if parts.path != "/dashboard" and not parts.path.startswith("/dashboard/"):
        return default
    if ".." in unquote(parts.path).split("/"):
        return default
    return raw
