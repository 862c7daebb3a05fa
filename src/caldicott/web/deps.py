"""Dependencies of page routes: the router every capability's pages use, and the person.

    from caldicott.web.deps import Person, page_router

    router = page_router()

    @router.get("/requests")
    def my_requests(request: Request, person: Person, session: SessionDep) -> HTMLResponse:
        ensure(can(person, Action.READ_REQUEST))
        ...
        return render(request, "requests/list.html", {...})

:func:`page_router` checks the CSRF token of every form posted to it, keeps pages out
of the OpenAPI document, and makes every error on them an HTML page. ``Person`` is the
signed-in person (a :class:`~caldicott.access.core.principal.Principal`, the same the
API's policy checks take); without a live session the browser is sent to ``/sign-in``.
A page session never works as an API token, nor an API token as a page session.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from caldicott.access import sign_in
from caldicott.access.core.principal import Principal
from caldicott.service.deps import SessionDep
from caldicott.web.cookies import session_id, verify_csrf


class NeedsSignIn(Exception):
    """No live page session: the browser goes to ``location`` (303), the sign-in page (or
    the code page, when a password was given and the code is still owed)."""

    def __init__(self, location: str = "/sign-in") -> None:
        super().__init__("sign in first")
        self.location = location


def page_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` for pages: CSRF checked on every form, HTML errors, not in OpenAPI."""
    dependencies = [Depends(verify_csrf), *options.pop("dependencies", [])]
    return APIRouter(dependencies=dependencies, include_in_schema=False,
                     default_response_class=HTMLResponse, **options)


def signed_in_person(request: Request, session: SessionDep) -> Principal:
    """The person signed in to this browser; :class:`NeedsSignIn` if nobody is."""
    presented = session_id(request)
    settings = request.app.state.settings
    with session.begin():
        person = sign_in.signed_in(session, settings, presented)
        owed = person is None and sign_in.pending_user_id(session, settings, presented)
    if person is None:
        raise NeedsSignIn("/sign-in/code" if owed else
                          "/sign-in?ended=1" if presented else "/sign-in")
    request.state.person = person
    return person


Person = Annotated[Principal, Depends(signed_in_person)]


async def posted_form(request: Request) -> FormData:
    """The posted form's fields (parsed once; the CSRF check has read it already)."""
    return await request.form()


#: A page handler's posted form, for forms with more fields than ``Form()`` parameters suit.
PostedForm = Annotated[FormData, Depends(posted_form)]
