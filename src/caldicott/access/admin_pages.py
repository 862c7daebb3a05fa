"""The administrator's pages of people and access: users (add, roles, disable and enable,
reset sign-in) and API tokens (issue, list, revoke).

The handlers call the same services as ``caldicott user`` and ``caldicott token``, each
change recorded in the ledger with the administrator as its agent (``user/<id>``).
Users are named in URLs by id only. Every destructive change (a role removed, an account
disabled, sign-in reset, a token revoked) is asked for on a page of its own and done by
that page's form. A new token is shown once: the form's answer sends the browser to
``/admin/tokens/new``, carrying the token in a short-lived, encrypted, HttpOnly cookie
scoped to that path, which the page reads and clears; reloading shows nothing.

Included by :mod:`caldicott.access.pages` (its ``router``), which checks every form's
CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caldicott.access import service, sign_in
from caldicott.access.audit import administrator
from caldicott.access.core.policy import can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role, TokenScope
from caldicott.access.core.tokens import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from caldicott.access.models import UserRow
from caldicott.db import utcnow
from caldicott.errors import CaldicottError, NotFound
from caldicott.orgs.service import list_organisations
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.settings import Settings
from caldicott.web.deps import Person, PostedForm, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/admin")
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=300)]
NEW_TOKEN_COOKIE = "caldicott_new_token"
NEW_TOKEN_PATH = "/admin/tokens/new"
NEW_TOKEN_SECONDS = 120

register_link(HomeLink("Users", "/admin/users", "User accounts: add one, give or take away "
                       "roles, disable, reset sign-in, issue API tokens",
                       Action.MANAGE_USERS, 81))
register_link(HomeLink("API tokens", "/admin/tokens", "Every API token, its state and "
                       "last use; revoke one", Action.MANAGE_USERS, 82))


def _allowed(person: Principal) -> None:
    ensure(can(person, Action.MANAGE_USERS))


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _message(refusal: CaldicottError) -> str:
    text = refusal.diagnostics
    return text[:1].upper() + text[1:]


# --- users --------------------------------------------------------------------------------


@router.get("/users")
def users(request: Request, person: Person, session: SessionDep) -> HTMLResponse:
    """Every user account, by e-mail, with organisation, roles and state."""
    _allowed(person)
    with session.begin():
        shown = [_summary(user) for user in service.list_users(session)]
    return render(request, "access/users.html", {"users": shown})


def _summary(user: UserRow) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name,
            "organisation": user.organisation.code, "roles": [r.role for r in user.roles],
            "disabled": user.disabled_at is not None, "can_sign_in": user.password_hash
            is not None}


def _new_user_page(request: Request, session: SessionDep, values: dict[str, Any],
                   errors: dict[str, str], status: int = 200) -> HTMLResponse:
    with session.begin():
        organisations = [(o.code, o.name) for o in list_organisations(session)]
    return render(request, "access/user_new.html", {
        "values": values, "errors": errors, "organisations": organisations,
        "roles": [role.value for role in Role]}, status_code=status)


@router.get("/users/new")
def new_user(request: Request, person: Person, session: SessionDep) -> HTMLResponse:
    _allowed(person)
    return _new_user_page(request, session, {"roles": []}, {})


def _field_of(message: str) -> str:
    """Which field of the new-user form a refusal is about."""
    lowered = message.lower()
    for word, field in (("e-mail", "email"), ("user ", "email"), ("role", "roles"),
                        ("must belong", "roles"), ("organisation", "organisation"),
                        ("name", "name")):
        if word in lowered:
            return field
    return "email"


@router.post("/users/new")
def add_user(request: Request, person: Person, session: SessionDep, settings: SettingsDep,
             form: PostedForm) -> Response:
    """Add a user; a refusal (a role pair, a kind that may not hold a role) is shown."""
    _allowed(person)
    values: dict[str, Any] = {name: str(form.get(name) or "").strip()
                              for name in ("email", "name", "organisation")}
    values["roles"] = [str(role) for role in form.getlist("roles")]
    errors = {field: message for field, missing, message in (
        ("email", not values["email"], "Enter the person's email address"),
        ("organisation", not values["organisation"], "Select their organisation"),
        ("roles", not values["roles"], "Select at least one role")) if missing}
    if not errors:
        try:
            with session.begin():
                user = service.register_user(session, settings, values["email"],
                                             values["organisation"], values["roles"],
                                             name=values["name"] or None,
                                             agent=administrator(person))
                return _to(f"/admin/users/{user.id}")
        except CaldicottError as refusal:
            if refusal.status_code not in (400, 404, 409):
                raise
            errors[_field_of(refusal.diagnostics)] = _message(refusal)
    return _new_user_page(request, session, values, errors, status=400)


def _user_page(request: Request, session: SessionDep, user_id: int,
               errors: dict[str, str] | None = None, status: int = 200,
               done: str | None = None) -> HTMLResponse:
    with session.begin():
        user = service.user_by_id(session, user_id)
        tokens = [_token(row) for row in service.list_tokens(session, user.email)]
        shown = _summary(user)
    return render(request, "access/user.html", {
        "user": shown, "tokens": tokens, "errors": errors or {}, "done": done,
        "other_roles": [r.value for r in Role if r.value not in shown["roles"]],
        "scopes": [s.value for s in TokenScope], "default_days": DEFAULT_TOKEN_DAYS,
        "max_days": MAX_TOKEN_DAYS}, status_code=status)


_DONE = {"added": "Role added.", "removed": "Role removed.", "disabled":
         "Account disabled: their API tokens stopped working and they cannot sign in.",
         "enabled": "Account enabled: their unexpired, unrevoked tokens work again.",
         "reset": "Sign-in reset: their password and security code app are cleared and "
                  "their page sessions ended."}


@router.get("/users/{user_id}")
def user(request: Request, user_id: UserId, person: Person, session: SessionDep,
         done: str | None = None) -> HTMLResponse:
    """One account: roles, state, tokens, and what an administrator may do to it."""
    _allowed(person)
    return _user_page(request, session, user_id, done=_DONE.get(done or ""))


@router.post("/users/{user_id}/roles")
def add_role(request: Request, user_id: UserId, person: Person, session: SessionDep,
             settings: SettingsDep, role: FormText = "") -> Response:
    """Give a role; the separation-of-duties rules are the service's."""
    _allowed(person)
    if not role:
        return _user_page(request, session, user_id, {"role": "Select a role to add"}, 400)
    try:
        with session.begin():
            email = service.user_by_id(session, user_id).email
            service.add_role(session, settings, email, role, agent=administrator(person))
    except CaldicottError as refusal:
        if refusal.status_code != 400:
            raise
        return _user_page(request, session, user_id, {"role": _message(refusal)}, 400)
    return _to(f"/admin/users/{user_id}?done=added")


@router.post("/users/{user_id}/enable")
def enable(user_id: UserId, person: Person, session: SessionDep,
           settings: SettingsDep) -> Response:
    _allowed(person)
    with session.begin():
        email = service.user_by_id(session, user_id).email
        service.set_disabled(session, settings, email, False, agent=administrator(person))
    return _to(f"/admin/users/{user_id}?done=enabled")


#: The destructive changes to an account, each confirmed on a page of its own:
#: action -> (question, what happens, button).
_CONFIRM = {
    "disable": ("Disable {email}?", "Every API token of theirs stops working at once and "
                "they cannot sign in, until the account is enabled again.",
                "Disable the account"),
    "reset": ("Reset the sign-in of {email}?", "Their password and security code app are "
              "cleared and their page sessions end. They cannot sign in until a new password "
              "is set (caldicott user set-password). Their API tokens are not touched.",
              "Reset sign-in"),
    "remove-role": ("Take the role {role} from {email}?", "They lose it on their next "
                    "request, pages and API tokens alike.", "Remove the role"),
}


@router.get("/users/{user_id}/change/{change}")
def confirm_change(request: Request, user_id: UserId, change: str, person: Person,
                   session: SessionDep, role: str = "") -> HTMLResponse:
    """Ask before a destructive change; the page's form makes it."""
    _allowed(person)
    if change not in _CONFIRM or (change == "remove-role") != bool(role):
        raise NotFound("no such change to an account")
    with session.begin():
        email = service.user_by_id(session, user_id).email
    question, effect, button = _CONFIRM[change]
    return render(request, "access/confirm.html", {
        "question": question.format(email=email, role=role), "effect": effect,
        "button_text": button, "action": f"/admin/users/{user_id}/change/{change}",
        "fields": {"role": role} if role else {}, "back": f"/admin/users/{user_id}"})


@router.post("/users/{user_id}/change/{change}")
def make_change(request: Request, user_id: UserId, change: str, person: Person,
                session: SessionDep, settings: SettingsDep, role: FormText = "") -> Response:
    """Make a confirmed destructive change (the service's refusal is shown on the page)."""
    _allowed(person)
    if change not in _CONFIRM:
        raise NotFound("no such change to an account")
    agent = administrator(person)
    try:
        with session.begin():
            email = service.user_by_id(session, user_id).email
            if change == "disable":
                service.set_disabled(session, settings, email, True, agent=agent)
            elif change == "reset":
                sign_in.reset_sign_in(session, settings, email, agent=agent)
            else:
                service.remove_role(session, settings, email, role, agent=agent)
    except CaldicottError as refusal:
        if refusal.status_code != 400:
            raise
        return _user_page(request, session, user_id, {"roles": _message(refusal)}, 400)
    done = {"disable": "disabled", "reset": "reset", "remove-role": "removed"}[change]
    return _to(f"/admin/users/{user_id}?done={done}")


# --- API tokens ----------------------------------------------------------------------------


def _token(row: Any) -> dict[str, Any]:
    return {"id": row.id, "prefix": row.display_prefix, "label": row.label,
            "scope": row.scope, "expires": row.expires_at, "last_used": row.last_used_at,
            "status": row.status(utcnow(), user_disabled=row.user.disabled_at is not None),
            "user": row.user.email, "user_id": row.user_id}


def _sealer(settings: Settings) -> Fernet:
    """The key that seals a new token for its one trip through the browser."""
    digest = hashlib.sha256(b"caldicott new API token\0" + settings.secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


@router.post("/users/{user_id}/tokens")
def issue_token(request: Request, user_id: UserId, person: Person, session: SessionDep,
                settings: SettingsDep, form: PostedForm) -> Response:
    """Issue a token and send the browser to the one page that shows it."""
    _allowed(person)
    days_text = str(form.get("days") or "").strip()
    days = int(days_text) if days_text.isdigit() and len(days_text) < 6 else None
    if days_text and days is None:
        return _user_page(request, session, user_id, {"days": f"Enter a whole number of "
                                                      f"days, 1 to {MAX_TOKEN_DAYS}"}, 400)
    try:
        with session.begin():
            email = service.user_by_id(session, user_id).email
            issued = service.issue_token(
                session, settings, email, days=days, label=str(form.get("label") or ""),
                scope=str(form.get("scope") or "full"), agent=administrator(person))
    except CaldicottError as refusal:
        if refusal.status_code not in (400, 409):
            raise
        field = "days" if "days" in refusal.diagnostics else "scope"
        return _user_page(request, session, user_id, {field: _message(refusal)}, 400)
    sealed = _sealer(settings).encrypt(f"{issued.id}:{issued.token}".encode()).decode()
    response = _to(NEW_TOKEN_PATH)
    response.set_cookie(NEW_TOKEN_COOKIE, sealed, max_age=NEW_TOKEN_SECONDS, path=NEW_TOKEN_PATH,
                        httponly=True, samesite="strict",
                        secure=settings.environment != "development")
    return response


@router.get("/tokens/new")
def new_token(request: Request, person: Person, session: SessionDep,
              settings: SettingsDep) -> HTMLResponse:
    """The new token, once: the cookie that carried it is cleared by this very answer."""
    _allowed(person)
    issued = None
    try:
        token_id, token = _sealer(settings).decrypt(
            request.cookies.get(NEW_TOKEN_COOKIE, "").encode(), ttl=NEW_TOKEN_SECONDS
        ).decode().split(":", 1)
        with session.begin():
            issued = _token(service.find_token(session, token_id)) | {"token": token}
    except (InvalidToken, ValueError):
        issued = None
    response = render(request, "access/token_new.html", {"issued": issued})
    response.delete_cookie(NEW_TOKEN_COOKIE, path=NEW_TOKEN_PATH, httponly=True,
                           samesite="strict", secure=settings.environment != "development")
    return response


@router.get("/tokens")
def tokens(request: Request, person: Person, session: SessionDep,
           revoked: int | None = None) -> HTMLResponse:
    """Every API token (never the token itself): its user, scope, state and last use."""
    _allowed(person)
    with session.begin():
        shown = [_token(row) for row in service.list_tokens(session)]
    return render(request, "access/tokens.html", {
        "tokens": shown, "revoked": revoked if any(t["id"] == revoked for t in shown)
        else None})


@router.get("/tokens/{token_id}/revoke")
def confirm_revoke(request: Request, token_id: TokenId, person: Person,
                   session: SessionDep) -> HTMLResponse:
    _allowed(person)
    with session.begin():
        shown = _token(service.find_token(session, str(token_id)))
    return render(request, "access/confirm.html", {
        "question": f"Revoke token {shown['id']} ({shown['prefix']}…) of {shown['user']}?",
        "effect": "It stops working at once, for good. Whatever uses it needs a new token.",
        "button_text": "Revoke the token", "action": f"/admin/tokens/{token_id}/revoke",
        "fields": {}, "back": "/admin/tokens"})


@router.post("/tokens/{token_id}/revoke")
def revoke(token_id: TokenId, person: Person, session: SessionDep,
           settings: SettingsDep) -> Response:
    _allowed(person)
    with session.begin():
        service.revoke_token_recorded(session, settings, str(token_id),
                                      agent=administrator(person))
    return _to(f"/admin/tokens?revoked={token_id}")
