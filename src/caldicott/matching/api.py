"""``GET /fhir/Patient``: PDS-style patient search (tracers only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from caldicott.access.core.roles import Role
from caldicott.access.deps import require_role
from caldicott.matching.core.pds_search import parse_search
from caldicott.matching.search import bundle, search_patients
from caldicott.service.deps import SessionDep

router = APIRouter(prefix="/fhir", tags=["fhir"])
Tracer = Annotated[Any, Depends(require_role(Role.TRACER))]


@router.get("/Patient", response_class=JSONResponse)
def search_patient(request: Request, session: SessionDep, _principal: Tracer) -> JSONResponse:
    """Search the register as PDS does (family, given, birthdate, gender,
    address-postalcode, _fuzzy-match, _exact-match, _max-results)."""
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    search = parse_search(params)
    with session.begin():
        result = search_patients(session, search)
        body = bundle(session, result, str(request.base_url).rstrip("/") + "/fhir")
    headers = {"X-Caldicott-Model-Version": str(result.model_version)} if result.model_version \
        else {}
    return JSONResponse(body, media_type="application/fhir+json", headers=headers)
