"""Signed-cookie sessions for the dashboard only.

The cookie holds a random session id and the CSRF token, nothing else: the session itself
lives in SQL (service/dashboard/auth.py loads it), so ending it there ends every copy of the
cookie. The signature only keeps forged or altered cookies from reaching the database.

The rest of the service has no use for a session, and opening one costs a signing serializer on
every request, so every path outside /dashboard gets Flask's null session without touching
the key. The cookie is scoped to /dashboard, HttpOnly, SameSite=Lax, Secure behind TLS, and
signed with a key derived from SECRET_KEY (so the same secret never signs two kinds of thing).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

PREFIX = "/dashboard"
COOKIE = "sf_session"
LIFETIME = timedelta(hours=12)


class DashboardSessionInterface(SecureCookieSessionInterface):
    def __init__(self, secret_key: str, *, secure: bool) -> None:
        self._key = hmac.new(secret_key.encode(), b"dashboard-session", hashlib.sha256).digest()
        self._secure = secure

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self._key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": hashlib.sha256},
        )

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not _is_dashboard(request.path):
            return None  # Flask substitutes its null session: nothing is read or signed
        serializer = self.get_signing_serializer(app)
        raw = request.cookies.get(COOKIE)
        if not raw:
            return self.session_class()
        try:
            data = serializer.loads(raw, max_age=int(LIFETIME.total_seconds()))
        except Exception:  # tampered, expired or signed with an old key: start afresh
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if self.is_null_session(session):
            return
        if not session:
            if session.modified:
                response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="Lax")
            return
        if not session.modified:
            return
        response.vary.add("Cookie")
        response.set_cookie(
            COOKIE,
            self.get_signing_serializer(app).dumps(dict(session)),
            max_age=int(LIFETIME.total_seconds()),
            path=PREFIX,
            httponly=True,
            secure=self._secure or request.is_secure,
            samesite="Lax",
        )


def _is_dashboard(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")
