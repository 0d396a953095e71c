"""The signed-in user's own account: change password, see and end sessions, sign out
everywhere. Every change here ends sessions at once (see auth.py for why they can)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.dashboard.auth import (
    current_session_row,
    current_user,
    end_session,
    login_required,
    sessions,
    start_session,
)
from service.store.redis.login_throttle import LoginThrottle
from service.store.sql.users_repo import InvalidUser, User, check_new_password
from service.web import services


def _user() -> User:
    user = current_user()
    assert user is not None  # login_required ran first
    return user


def _page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    user = _user()
    listed = sessions().list_for_user(user.id, services().clock())
    body = render_template(
        "dashboard/account.html",
        user=user,
        sessions=listed,
        current=current_session_row(),
        errors=errors,
    )
    return body, status


def register(bp: Blueprint) -> None:
    @bp.get("/account")
    @login_required()
    def account() -> tuple[str, int]:
        return _page({})

    @bp.post("/account/password")
    @login_required()
    def change_password() -> BaseResponse | tuple[str, int]:
        user = _user()
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        again = request.form.get("new_password_again", "")
        errors: dict[str, str] = {}
        try:
            check_new_password(new)
        except InvalidUser as exc:
            errors["new_password"] = f"The new password {exc}."
        if not errors and new != again:
            errors["new_password_again"] = "The two new passwords differ."
        if errors:
            return _page(errors, 400)
        # The current password is guessable by whoever holds a stolen session: the login
        # throttle counts these checks against the same e-mail.
        svc = services()
        throttle = LoginThrottle(svc.redis, svc.keys)
        address = request.remote_addr or "unknown"
        if not throttle.admit(address, user.email):
            errors["current_password"] = "Too many failed attempts. Wait 15 minutes."
            return _page(errors, 429)
        if not current or not svc.users.check_password(user.id, current):
            errors["current_password"] = "That is not your current password."
            return _page(errors, 400)
        throttle.succeeded(address, user.email)
        changed = svc.users.set_password(user.email, new)  # ends every session of the user
        if changed is None or changed.disabled:
            end_session()
            return redirect(url_for("dashboard.login"))
        start_session(changed)  # this browser stays signed in, with a new session id
        flash("Password changed. Every other session of yours is signed out.")
        return redirect(url_for("dashboard.account"))

    @bp.post("/account/sessions/<int(max=2147483647):row_id>/end")
    @login_required()
    def end_other_session(row_id: int) -> BaseResponse:
        if not sessions().end_one(_user().id, row_id):
            abort(404, "You have no such session; it may have ended already.")
        if row_id == current_session_row():
            end_session()
            return redirect(url_for("dashboard.login", signed_out=1))
        flash("That session is signed out.")
        return redirect(url_for("dashboard.account"))

    @bp.post("/account/sign-out-everywhere")
    @login_required()
    def sign_out_everywhere() -> BaseResponse:
        services().users.end_sessions(_user().id)
        end_session()
        return redirect(url_for("dashboard.login", signed_out=1))
