"""API tokens, for admins: create one (its secret shown on this one answer only), list them
with when each was last used, revoke one (refused by the admin API from the next request on),
and the admin audit of who did which when. Viewers and editors get 403."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard.auth import login_required
from service.domain.roles import Role
from service.store.sql.admin_audit_repo import AdminAuditRepo
from service.web import services

NAME_LENGTH = 100
_ROLES = [r.value for r in Role]


def _page(
    errors: dict[str, str],
    status: int = 200,
    *,
    name: str = "",
    role: str = Role.viewer.value,
    secret: str | None = None,
) -> tuple[str, int]:
    svc = services()
    body = render_template(
        "dashboard/tokens.html",
        tokens=svc.tokens.list_all(),
        audit=AdminAuditRepo(svc.engine).recent(),
        roles=_ROLES,
        errors=errors,
        name=name,
        role=role,
        secret=secret,
    )
    return body, status


def register(bp: Blueprint) -> None:
    @bp.get("/tokens")
    @login_required(Role.admin)
    def tokens() -> tuple[str, int]:
        return _page({})

    @bp.post("/tokens")
    @login_required(Role.admin)
    def create_token() -> tuple[str, int]:
        name = request.form.get("name", "").strip()
        role = request.form.get("role", "")
        errors: dict[str, str] = {}
        if not 1 <= len(name) <= NAME_LENGTH or not name.isprintable():
            errors["name"] = f"Say who or what the token is for, in 1 to {NAME_LENGTH} characters."
        if role not in _ROLES:
            errors["role"] = "Choose viewer, editor or admin."
        if errors:
            return _page(errors, 400, name=name, role=role if role in _ROLES else "viewer")
        svc = services()
        _, plain = svc.tokens.create(name, Role(role), svc.clock(), g.actor)
        # The secret goes in this answer alone: not in a redirect, flash or log, so reloading
        # or going back never shows it again.
        return _page({}, 200, secret=plain)

    @bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
    @login_required(Role.admin)
    def revoke_token(token_id: int) -> BaseResponse:
        svc = services()
        revoked = svc.tokens.revoke(token_id, svc.clock(), g.actor)
        if revoked is None:
            abort(404, "There is no live token with that id; it may be revoked already.")
        flash(f"Token {revoked.name!r} is revoked: the admin API refuses it from now on.")
        return redirect(url_for("dashboard.tokens"))
