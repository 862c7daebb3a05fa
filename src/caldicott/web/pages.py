"""The service's own pages: the home page (each capability's links, by what the person
may do)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from caldicott.web.deps import Person, page_router
from caldicott.web.home import links_for
from caldicott.web.templating import render

router = page_router()


@router.get("/")
def home(request: Request, person: Person) -> HTMLResponse:
    """What this person can do: the links registered by every capability's pages."""
    return render(request, "home.html", {"links": links_for(person)})
