"""The page session's cookie and the CSRF token every form carries.

Cookies are HttpOnly and SameSite=Lax, and Secure unless
``CALDICOTT_ENVIRONMENT=development``. A form's CSRF token is an HMAC of the
session cookie (signed in) or of an anonymous form cookie (the sign-in form);
:func:`verify_csrf` runs before every page route (see :func:`caldicott.web.deps.page_router`)
and refuses an unsafe method without the right token with a 403 page.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import Request, Response

from caldicott.access.core.sign_in import csrf_matches, csrf_token, new_session_id
from caldicott.errors import Forbidden
from caldicott.settings import Settings

SESSION_COOKIE = "caldicott_session"
FORM_COOKIE = "caldicott_form"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger("caldicott.access")


class CsrfRefused(Forbidden):
    """A form posted without its CSRF token, or with another's."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def session_id(request: Request) -> str | None:
    """The page session id the browser sent, if any (not yet checked)."""
    return request.cookies.get(SESSION_COOKIE) or None


def _set(response: Response, settings: Settings, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", path="/",
                        secure=settings.environment != "development")


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    _set(response, _settings(request), SESSION_COOKIE, value)


def clear_session_cookie(response: Response, request: Request) -> None:
    settings = _settings(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=settings.environment != "development")


def _binding(request: Request) -> str | None:
    return session_id(request) or request.cookies.get(FORM_COOKIE) or getattr(
        request.state, "new_form_cookie", None)


def csrf_for(request: Request) -> str:
    """The CSRF token for forms on the page being rendered (makes a form cookie if the
    browser has neither cookie yet; :func:`remember_form_cookie` sets it)."""
    binding = _binding(request)
    if binding is None:
        binding = request.state.new_form_cookie = new_session_id()
    return csrf_token(_settings(request).secret_key, binding)


def remember_form_cookie(request: Request, response: Response) -> None:
    """Set the anonymous form cookie :func:`csrf_for` made for this page, if it made one."""
    value = getattr(request.state, "new_form_cookie", None)
    if value:
        _set(response, _settings(request), FORM_COOKIE, value)


async def verify_csrf(request: Request) -> AsyncIterator[None]:
    """Refuse (403) a POST/PUT/PATCH/DELETE whose form lacks the right CSRF token.

    Marks the request as a page's, so its errors are pages whatever it accepts. The form
    it parses (uploaded files spooled to disk too) is closed when the request is done."""
    request.state.page = True
    if request.method in _SAFE_METHODS:
        yield
        return
    form = await request.form()
    try:
        presented = form.get(CSRF_FIELD)
        binding = session_id(request) or request.cookies.get(FORM_COOKIE)
        if not csrf_matches(_settings(request).secret_key, binding,
                            presented if isinstance(presented, str) else None):
            client = request.client.host if request.client else "unknown"
            log.warning("form refused from %s: %s %s without its CSRF token", client,
                        request.method, request.url.path)
            raise CsrfRefused("This form has expired or did not come from this service. "
                              "Go back, reload the page and try again.")
        yield
    finally:
        await form.close()
