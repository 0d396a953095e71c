"""The dashboard's error page for failures its blueprint's own handler never sees: an
unexpected exception, a path no route matches, a method a route does not take, an error the
app-wide handlers turn into a response. service/app.py registers it for /dashboard paths, so
people get a page in the dashboard's look while the API keeps its JSON envelope.
"""

from __future__ import annotations

from flask import Response, make_response, render_template, request
from werkzeug.http import HTTP_STATUS_CODES

from service.dashboard import CSP, auth
from service.store.sql.users_repo import User

SERVER_FAULT = (
    "Something went wrong on our side and it has been logged. Try again in a moment; if it "
    "keeps happening, give the reference below to whoever runs this service."
)


def render_error_page(status: int, message: str) -> Response:
    if status >= 500:
        # The cause (perhaps the database itself) and its details stay in the log line that
        # carries this request's id; the page shows neither, and does not look the user up.
        detail, user = SERVER_FAULT, None
    else:
        detail, user = message, _signed_in_user()
    # These pages may render outside the blueprint (no route matched), where its context
    # processors do not run: everything base.html calls is passed here.
    html = render_template(
        "dashboard/error.html",
        code=status,
        title=HTTP_STATUS_CODES.get(status, "Error"),
        detail=detail,
        reference=request.environ.get("smallfavor.request_id"),
        current_user=lambda: user,
        csrf_token=auth.csrf_token,
        messages=lambda: [],
    )
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in_user() -> User | None:
    """The user for the page's navigation, or None if even that cannot be found out."""
    try:
        return auth.current_user()
    except Exception:  # an error page must not fail on the session or the user table
        return None
