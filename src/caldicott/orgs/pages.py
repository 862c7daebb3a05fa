"""The administrator's pages of organisations: the list, and adding one.

The handlers call :mod:`caldicott.orgs.service`, as ``caldicott org`` does; only an
administrator (``manage_organisations``) sees them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.errors import Conflict, InvalidInput
from caldicott.orgs import service
from caldicott.orgs.kinds import ORGANISATION_KINDS
from caldicott.service.deps import SessionDep
from caldicott.web.deps import Person, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/admin/organisations")
FormText = Annotated[str, Form(max_length=300)]

#: What each kind is, in words (the codes are what ``caldicott org add --kind`` takes).
KIND_WORDS = {
    "nhs_trust": "NHS trust", "nhs_digital": "NHS Digital (the custodian)",
    "home_office": "Home Office", "dhsc": "Department of Health and Social Care",
    "local_authority": "Local authority", "housing_association": "Housing association",
    "police": "Police force", "nca": "National Crime Agency", "court": "Court",
    "coroner": "Coroner", "ccrc": "Criminal Cases Review Commission",
    "regulator": "Regulator or oversight committee",
}

register_link(HomeLink("Organisations", "/admin/organisations",
                       "The organisations caldicott knows, and adding one",
                       Action.MANAGE_ORGANISATIONS, 80))


def _allowed(person: Principal) -> None:
    ensure(can(person, Action.MANAGE_ORGANISATIONS))


def _page(request: Request, session: SessionDep, values: dict[str, str],
          errors: dict[str, str], status: int = 200, added: str | None = None) -> HTMLResponse:
    with session.begin():
        rows = [(row.code, row.name, KIND_WORDS.get(row.kind, row.kind), row.created_at)
                for row in service.list_organisations(session)]
    shown = added if any(code == added for code, *_ in rows) else None
    return render(request, "orgs/list.html", {
        "organisations": rows, "values": values, "errors": errors, "added": shown,
        "kinds": [(kind, KIND_WORDS.get(kind, kind)) for kind in ORGANISATION_KINDS]},
        status_code=status)


@router.get("")
def organisations(request: Request, person: Person, session: SessionDep,
                  added: str | None = None) -> HTMLResponse:
    """Every organisation, by code, and the form to add one."""
    _allowed(person)
    return _page(request, session, {}, {}, added=added)


@router.post("")
def add_organisation(request: Request, person: Person, session: SessionDep,
                     code: FormText = "", name: FormText = "", kind: FormText = "") -> Response:
    """Add an organisation; a refusal (a bad code, a code taken) is shown on the form."""
    _allowed(person)
    values = {"code": code, "name": name, "kind": kind}
    errors = {field: message for field, value, message in (
        ("code", code, "Enter the organisation's code, for example its ODS code"),
        ("name", name, "Enter the organisation's name"),
        ("kind", kind, "Select what kind of organisation it is")) if not value.strip()}
    if not errors:
        try:
            with session.begin():
                added = service.add_organisation(session, code, name, kind).code
            return RedirectResponse(f"/admin/organisations?added={added}", status_code=303)
        except (InvalidInput, Conflict) as refusal:
            message = refusal.diagnostics
            errors["name" if "name" in message else "kind" if "kind" in message
                   else "code"] = message[:1].upper() + message[1:]
    return _page(request, session, values, errors, status=400)
