"""People, for admins: invite a user (a one-time set-password link, shown once), change a
role, disable or enable, reset a password (ends their sessions, gives a new link). Anyone with
a live link sets their password on /dashboard/set-password/<token> and is signed in. An admin
changes other users only: their own account is changed on the account page, so that no admin
locks themselves out by a slip."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard.auth import current_user, login_required, start_session
from service.domain.roles import Role
from service.store.sql.admin_audit_repo import AdminAuditRepo
from service.store.sql.password_links_repo import (
    LINK_LIFETIME,
    LinkRefused,
    LinkState,
    PasswordLinkRepo,
)
from service.store.sql.users_repo import InvalidUser, User, UserExists, check_new_password
from service.web import services

_ROLES = [r.value for r in Role]
_REFUSED: dict[LinkState, tuple[int, str]] = {
    "used": (410, "This link was used already. Ask an admin for a new one."),
    "expired": (410, "This link has expired. Ask an admin for a new one."),
    "unknown": (404, "This link is not valid. Ask an admin for a new one."),
}


def _links() -> PasswordLinkRepo:
    return PasswordLinkRepo(services().engine)


def _page(
    errors: dict[str, str],
    status: int = 200,
    *,
    email: str = "",
    role: str = Role.viewer.value,
    link: tuple[str, str] | None = None,
) -> tuple[str, int]:
    svc = services()
    body = render_template(
        "dashboard/users.html",
        people=svc.users.list_all(),
        audit=AdminAuditRepo(svc.engine).recent(),
        roles=_ROLES,
        errors=errors,
        email=email,
        role=role,
        link=link,
        link_hours=int(LINK_LIFETIME.total_seconds() // 3600),
    )
    return body, status


def _link_url(token: str) -> str:
    return services().settings.public_url + url_for("dashboard.set_password", token=token)


def _other_user(user_id: int) -> User:
    user = services().users.get(user_id)
    if user is None:
        abort(404, "There is no such user.")
    me = current_user()
    if me is not None and me.id == user.id:
        abort(400, "You cannot change your own account here; use your account page.")
    return user


def register(bp: Blueprint) -> None:
    @bp.get("/users")
    @login_required(Role.admin)
    def people() -> tuple[str, int]:
        return _page({})

    @bp.post("/users")
    @login_required(Role.admin)
    def invite_user() -> tuple[str, int]:
        email = request.form.get("email", "").strip()
        role = request.form.get("role", "")
        if role not in _ROLES:
            return _page({"role": "Choose viewer, editor or admin."}, 400, email=email)
        svc = services()
        try:
            user, token = _links().invite(email, Role(role), svc.clock(), g.actor)
        except InvalidUser as exc:
            return _page({"email": f"The e-mail {exc}."}, 400, email=email, role=role)
        except UserExists:
            error = "A user with this e-mail exists already."
            return _page({"email": error}, 400, email=email, role=role)
        # The link goes in this answer alone (no redirect, flash or log).
        return _page({}, 200, link=(f"Invitation for {user.email}", _link_url(token)))

    @bp.post("/users/<int(max=2147483647):user_id>/role")
    @login_required(Role.admin)
    def change_role(user_id: int) -> BaseResponse:
        user = _other_user(user_id)
        role = request.form.get("role", "")
        if role not in _ROLES:
            abort(400, "Choose viewer, editor or admin.")
        svc = services()
        svc.users.set_role(user.email, Role(role), (g.actor, svc.clock()))
        flash(f"{user.email} is now {role}; their sessions are signed out.")
        return redirect(url_for("dashboard.people"))

    @bp.post("/users/<int(max=2147483647):user_id>/disable")
    @login_required(Role.admin)
    def disable_user(user_id: int) -> BaseResponse:
        user = _other_user(user_id)
        svc = services()
        svc.users.set_disabled(user.email, True, (g.actor, svc.clock()))
        flash(f"{user.email} is disabled and signed out.")
        return redirect(url_for("dashboard.people"))

    @bp.post("/users/<int(max=2147483647):user_id>/enable")
    @login_required(Role.admin)
    def enable_user(user_id: int) -> BaseResponse:
        user = _other_user(user_id)
        svc = services()
        svc.users.set_disabled(user.email, False, (g.actor, svc.clock()))
        flash(f"{user.email} can sign in again.")
        return redirect(url_for("dashboard.people"))

    @bp.post("/users/<int(max=2147483647):user_id>/reset-password")
    @login_required(Role.admin)
    def reset_password(user_id: int) -> tuple[str, int]:
        user = _other_user(user_id)
        reset = _links().reset(user.id, services().clock(), g.actor)
        if reset is None:
            abort(404, "There is no such user.")
        title = f"Password reset for {user.email}: they are signed out"
        return _page({}, 200, link=(title, _link_url(reset[1])))

    @bp.route("/set-password/<string(maxlength=100):token>", methods=["GET", "POST"])
    def set_password(token: str) -> BaseResponse | tuple[str, int]:
        svc = services()
        checked = _links().check(token, svc.clock())
        if checked.state != "ok":
            code, message = _REFUSED[checked.state]
            return render_template("dashboard/set_password.html", refused=message), code
        errors: dict[str, str] = {}
        if request.method == "POST":
            new = request.form.get("new_password", "")
            try:
                check_new_password(new)
            except InvalidUser as exc:
                errors["new_password"] = f"The new password {exc}."
            if not errors and new != request.form.get("new_password_again", ""):
                errors["new_password_again"] = "The two passwords differ."
            if not errors:
                try:
                    user = _links().use(token, new, svc.clock())
                except LinkRefused as refused:
                    code, message = _REFUSED[refused.state]
                    return render_template("dashboard/set_password.html", refused=message), code
                start_session(user)
                flash("Your password is set and you are signed in.")
                return redirect(url_for("dashboard.experiments"))
        body = render_template(
            "dashboard/set_password.html", refused=None, email=checked.email, errors=errors
        )
        return body, 400 if errors else 200
