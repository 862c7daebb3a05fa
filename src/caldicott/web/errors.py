"""NHS.UK-style error pages (403, 404, 500 and the rest) for people; machines keep their
FHIR ``OperationOutcome`` (``caldicott.service.app``). Rendering one needs no database:
a page about a failing database must still render."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.types import Scope

from caldicott.web.templating import render

_HEADINGS = {
    400: "There is a problem with what was sent",
    401: "You need to sign in",
    403: "You cannot do this",
    404: "Page not found",
    409: "This has changed since you looked",
    413: "What you sent is too large",
    422: "There is a problem with what was sent",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


def wants_page(request: Request) -> bool:
    """A page route, or a browser asking for HTML (and not JSON)."""
    accept = request.headers.get("accept", "")
    return bool(getattr(request.state, "page", False)) or (
        "text/html" in accept and "json" not in accept)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The error page for ``status``, saying ``message`` (never internals for a 500)."""
    if status >= 500:
        message = ("The service could not do this. It has been logged. Try again later; if "
                   "it keeps happening, contact your service desk.") if status == 500 else message
    heading = _HEADINGS.get(status, "Sorry, that did not work")
    return render(request, "error.html", {"status": status, "heading": heading,
                                          "message": message}, status_code=status)


def server_error_page(scope: Scope) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
    """The 500 page for a bug that escaped every handler (for the outer layer that contains
    it), or None when the client is a machine (it gets an ``OperationOutcome``)."""
    request = Request(scope)
    if not wants_page(request):
        return None
    response = error_page(request, 500, "")
    return bytes(response.body), list(response.raw_headers)


def refusal_page(scope: Scope, status: int, message: str) -> tuple[
        bytes, list[tuple[bytes, bytes]]] | None:
    """The error page of a refusal made outside the app (a body too large: 413) for a person,
    or None for a machine (it gets an ``OperationOutcome``)."""
    request = Request(scope)
    if not wants_page(request):
        return None
    response = error_page(request, status, message)
    return bytes(response.body), list(response.raw_headers)
