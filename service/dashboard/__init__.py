"""The staff dashboard: server-rendered pages under /dashboard behind a login.

Pages work without JavaScript; scripts add the charts (uPlot, vendored under static/vendor)
and the live banner preview, which the snippet itself draws.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, get_flashed_messages, render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard import (
    auth,
    formatting,
    views_account,
    views_decisions,
    views_editor,
    views_experiments,
    views_exports,
    views_people,
    views_results,
    views_tokens,
)
from service.dashboard.session import DashboardSessionInterface
from service.domain.lifecycle import allowed_actions
from service.domain.roles import Role
from service.settings import Settings
from service.snippet import SnippetAsset

# Scripts only from this origin; inline styles are allowed because the snippet's shadow root
# carries its own <style> (as it does on article pages) and uPlot sizes elements inline.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def install(app: Flask, settings: Settings, snippet: SnippetAsset) -> None:
    app.session_interface = DashboardSessionInterface(
        settings.secret_key, secure=settings.public_url.startswith("https://")
    )
    app.register_blueprint(blueprint(snippet))


def blueprint(snippet: SnippetAsset) -> Blueprint:
    bp = Blueprint(
        "dashboard",
        __name__,
        url_prefix="/dashboard",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    bp.before_request(auth.check_csrf)
    formatting.register(bp)
    auth.register(bp)
    views_experiments.register(bp)
    views_editor.register(bp)
    views_results.register(bp)
    views_exports.register(bp)
    views_decisions.register(bp)
    views_account.register(bp)
    views_tokens.register(bp)
    views_people.register(bp)

    @bp.context_processor
    def helpers() -> dict[str, Any]:
        return {
            "csrf_token": auth.csrf_token,
            "current_user": auth.current_user,
            "can_edit": lambda: auth.can(Role.editor),
            "snippet_src": snippet.versioned_path,
            "messages": get_flashed_messages,
            "allowed_actions": allowed_actions,
        }

    @bp.after_request
    def headers(response: BaseResponse) -> BaseResponse:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response

    @bp.errorhandler(HTTPException)
    def page_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        body = render_template(
            "dashboard/error.html", code=code, title=exc.name, detail=exc.description
        )
        return body, code

    return bp
