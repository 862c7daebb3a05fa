"""Rendering pages: one Jinja2 environment with the NHS.UK frontend's macros.

Template names:

- ``layout.html`` (this folder's ``templates/``): the base layout every page extends;
- ``<capability>/<file>.html``: a capability's own templates, in the ``templates``
  folder beside its ``pages.py`` (``caldicott/requests/templates/list.html`` is
  ``requests/list.html``);
- ``nhsuk/components/<name>/macro.jinja``: the NHS.UK components
  (``nhsuk-frontend-jinja``), e.g. ``{% from "nhsuk/components/button/macro.jinja"
  import button %}``.

:func:`render` gives every template ``person`` (the signed-in
:class:`~caldicott.access.core.principal.Principal`, or None), ``csrf_field()`` (the
hidden input every form needs), ``csp_nonce`` and ``service_name``.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    pass_context,
)
from jinja2.runtime import Context
from markupsafe import Markup, escape

from caldicott.service.security import CSP
from caldicott.web.cookies import CSRF_FIELD, csrf_for, remember_form_cookie

SERVICE_NAME = "caldicott"
PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def environment() -> Environment:
    """The one Jinja2 environment (autoescaping on; built on first use)."""
    capabilities = {folder.parent.name: FileSystemLoader(folder)
                    for folder in sorted(PACKAGE_DIR.glob("*/templates"))
                    if folder.parent.name != "web"}
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(Path(__file__).parent / "templates"),
                             PrefixLoader(capabilities),
                             PackageLoader("nhsuk_frontend_jinja")]),
        undefined=ChainableUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals["csrf_field"] = csrf_field
    env.globals["service_name"] = SERVICE_NAME
    env.filters["when"] = _when
    return env


@pass_context
def csrf_field(context: Context) -> Markup:
    """``{{ csrf_field() }}``: the hidden CSRF input, inside every ``<form method="post">``."""
    token = escape(context.get("csrf_token", ""))
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">')


def _when(value: Any) -> str:
    """A date or timestamp as people read it: ``28 November 2026`` (``, 05:06 UTC``)."""
    if value is None:
        return ""
    if hasattr(value, "hour"):
        return f"{value:%-d %B %Y, %H:%M} UTC"
    return f"{value:%-d %B %Y}"


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """Render ``template`` as a page for ``request``.

    Example:
        >>> return render(request, "requests/list.html", {"requests": shown})  # doctest: +SKIP
    """
    nonce = secrets.token_urlsafe(16)
    values = {"request": request, "person": getattr(request.state, "person", None),
              "csrf_token": csrf_for(request), "csp_nonce": nonce, "cspNonce": nonce,
              **(context or {})}
    body = environment().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code)
    # The NHS.UK template marks <body> as JavaScript-enabled with one inline script; only
    # that script, carrying this response's nonce, may run inline.
    response.headers["Content-Security-Policy"] = CSP.replace(
        "script-src 'self'", f"script-src 'self' 'nonce-{nonce}'")
    remember_form_cookie(request, response)
    return response
