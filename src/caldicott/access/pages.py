"""Sign-in pages: e-mail and password, then a TOTP code where one is needed; sign-out.

Failed attempts are slowed, then refused, per address and per account, by the same
limiter as API tokens (``CALDICOTT_AUTH_FAILURE_LIMIT``); each is logged with the
address, the reason and a hash of the account, never the e-mail or the password.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caldicott.access import admin_pages, sign_in
from caldicott.access.deps import access_state
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.web.cookies import clear_session_cookie, session_id, set_session_cookie
from caldicott.web.deps import page_router
from caldicott.web.templating import render

log = logging.getLogger("caldicott.access")
router = page_router()
# The administrator's pages of users and tokens live beside: one router for the app.
router.include_router(admin_pages.router)
FormText = Annotated[str, Form(max_length=1024)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _account_key(email: str) -> str:
    """An account as the limiter and the log know it: a hash, never the address itself."""
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]


def _sign_in_page(request: Request, status: int = 200, errors: dict[str, str] | None = None,
                  email: str = "", notice: str | None = None) -> HTMLResponse:
    return render(request, "access/sign_in.html", {
        "errors": errors or {}, "email": email, "notice": notice}, status_code=status)


def _too_many(request: Request, key: str) -> int | None:
    return access_state(request.app).auth.retry_after(_address(request), key)


def _failed(request: Request, key: str, refusal: sign_in.SignInRefused) -> None:
    failures = access_state(request.app).auth.failed(_address(request), key, refusal.reason)
    log.warning("sign-in failed from %s (%s; account %s; %d from this address in 10 min)",
                _address(request), refusal.reason, key, failures)


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, ended: int = 0, out: int = 0) -> HTMLResponse:
    notice = ("You have been signed out because you did nothing for a while, or signed out "
              "elsewhere. Sign in again." if ended else
              "You have signed out." if out else None)
    return _sign_in_page(request, notice=notice)


@router.post("/sign-in")
def sign_in_submit(request: Request, session: SessionDep, email: FormText = "",
                   password: FormText = "") -> Response:
    errors = {name: message for name, value, message in (
        ("email", email, "Enter your email address"),
        ("password", password, "Enter your password")) if not value.strip()}
    if errors:
        return _sign_in_page(request, 400, errors, email)
    key = _account_key(email)
    wait = _too_many(request, key)
    if wait is not None:
        return _sign_in_page(request, 429, {"email": f"Too many failed sign-ins. Try again "
                                                     f"in {wait} seconds."}, email)
    try:
        with session.begin():
            started = sign_in.sign_in_with_password(session, email, password)
    except sign_in.SignInRefused as refusal:
        _failed(request, key, refusal)
        return _sign_in_page(request, 400, {"email": refusal.diagnostics}, email)
    response = _to("/sign-in/code" if started.needs_code else "/")
    set_session_cookie(response, request, started.session_id)
    return response


def _code_page(request: Request, status: int = 200,
               errors: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "access/code.html", {"errors": errors or {}}, status_code=status)


@router.get("/sign-in/code")
def code_form(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    with session.begin():
        pending = sign_in.pending_user_id(session, settings, session_id(request))
    return _code_page(request) if pending is not None else _to("/sign-in")


@router.post("/sign-in/code")
def code_submit(request: Request, session: SessionDep, settings: SettingsDep,
                code: FormText = "") -> Response:
    if not code.strip():
        return _code_page(request, 400, {"code": "Enter the 6-digit security code"})
    with session.begin():
        user_id = sign_in.pending_user_id(session, settings, session_id(request))
    if user_id is None:
        return _to("/sign-in?ended=1")
    key = f"user:{user_id}"  # codes are limited per account, however many sessions try
    wait = _too_many(request, key)
    if wait is not None:
        return _code_page(request, 429, {"code": f"Too many wrong codes. Try again in {wait} "
                                                 "seconds."})
    try:
        with session.begin():
            new_id = sign_in.give_code(session, settings, session_id(request) or "", code)
    except sign_in.SignInRefused as refusal:
        if refusal.reason == "expired":
            return _to("/sign-in?ended=1")
        _failed(request, key, refusal)
        return _code_page(request, 400, {"code": refusal.diagnostics})
    response = _to("/")
    set_session_cookie(response, request, new_id)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep) -> Response:
    with session.begin():
        sign_in.sign_out(session, session_id(request))
    response = _to("/sign-in?out=1")
    clear_session_cookie(response, request)
    return response
