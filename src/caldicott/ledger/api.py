"""The ledger's routes.

Public (no token): the signed checkpoint and the inclusion and consistency
proofs, which carry only hashes. With them an outside auditor checks that the
log only grows and that an entry they were given is in it, without trusting us.

Signed in: the entries themselves (``read_ledger``: reviewers and auditors),
and the report of every entry about one person (``/api/ledger/person``), the
only route that reads the private keyed index. A bad parameter is a 400/422
OperationOutcome, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caldicott.access.core.policy import can
from caldicott.access.core.roles import Action
from caldicott.access.deps import CurrentUser, ensure
from caldicott.ledger import person, service
from caldicott.ledger.schemas import (
    ConsistencyProofOut,
    EntriesOut,
    EntryOut,
    InclusionProofOut,
    PersonReportOut,
    b64,
    person_report_out,
)
from caldicott.service.deps import SessionDep, SettingsDep

log = logging.getLogger(__name__)


@asynccontextmanager
async def _sequence_the_queue(app: FastAPI) -> AsyncIterator[None]:
    """At start-up, integrate whatever a crash left queued (PostgreSQL); at shutdown,
    run the round still owed for this process's last commits."""
    engine, settings = getattr(app.state, "engine", None), getattr(app.state, "settings", None)
    if engine is not None and settings is not None:
        try:
            await run_in_threadpool(service.integrate, engine, settings)
        except Exception:  # a fresh database without tables must not stop the service
            log.exception("could not integrate the ledger queue at start-up")
    yield
    if engine is not None:
        await run_in_threadpool(service.finish_rounds, engine)


router = APIRouter(tags=["ledger"], lifespan=_sequence_the_queue)

Size = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/ledger/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP signed note, text/plain)."""
    with session.begin():
        signed = service.checkpoint(session, settings)
    return PlainTextResponse(signed.note, media_type="text/plain; charset=utf-8")


@router.get("/ledger/proof/inclusion")
def get_inclusion_proof(session: SessionDep, index: Size,
                        tree_size: Size | None = None) -> InclusionProofOut:
    """The RFC 9162 inclusion proof of leaf ``index`` (default: in the current tree)."""
    with session.begin():
        proof = service.inclusion_proof(session, index, tree_size)
    return InclusionProofOut(leaf_index=proof.index, tree_size=proof.tree_size,
                             leaf_hash=b64(proof.leaf_hash), root=b64(proof.root),
                             inclusion_path=[b64(h) for h in proof.proof])


@router.get("/ledger/proof/consistency")
def get_consistency_proof(session: SessionDep, first: Size,
                          second: Size | None = None) -> ConsistencyProofOut:
    """The RFC 9162 consistency proof from tree size ``first`` to ``second`` (default: current)."""
    with session.begin():
        proof = service.consistency_proof(session, first, second)
    return ConsistencyProofOut(first=proof.first, second=proof.second,
                               first_root=b64(proof.first_root),
                               second_root=b64(proof.second_root),
                               consistency_path=[b64(h) for h in proof.proof])


@router.get("/ledger/entries")
def get_entries(principal: CurrentUser, session: SessionDep, settings: SettingsDep,
                start: Size, end: Size) -> EntriesOut:
    """Leaf entries ``start <= index < end`` (at most 1,000 per page); signed in with
    ``read_ledger``. The read is itself an entry (who read which range)."""
    from caldicott.access.reads import audit_read

    # The entries span every organisation's requests (and say how each trace came out):
    # only a reader whose reach is every organisation may page through them; an auditor of
    # a requesting body would otherwise learn outcomes no release gave it.
    ensure(can(principal, Action.READ_LEDGER))
    ensure(can(principal, Action.READ_LEDGER, organisation_id=-1))
    with session.begin():
        size, _ = service.tree_head(session)
        rows = service.entries(session, start, end)
        audit_read(session, settings, principal, "ledger/entries",
                   details={"start": start, "end": min(end, size), "read": len(rows)})
    return EntriesOut(tree_size=size, entries=[
        EntryOut(index=i, leaf_hash=b64(h), entry=e.decode("utf-8")) for i, e, h in rows])


NhsNumber = Annotated[str, Query(min_length=10, max_length=12, pattern=r"^[0-9 ]+$",
                                 description="The patient's NHS number")]


class PersonQuery(BaseModel):
    nhs_number: str = Field(min_length=10, max_length=12, pattern=r"^[0-9 ]+$")


@router.get("/api/ledger/person")
def get_person_report(principal: CurrentUser, session: SessionDep, settings: SettingsDep,
                      nhs_number: NhsNumber) -> PersonReportOut:
    """Every ledger entry about one person, by channel: reviewers and auditors only.

    Prefer ``POST`` with the number in the body, which proxies do not log.
    """
    with session.begin():
        report = person.person_report(session, settings, principal, nhs_number)
    return person_report_out(report)


@router.post("/api/ledger/person")
def post_person_report(principal: CurrentUser, session: SessionDep, settings: SettingsDep,
                       body: PersonQuery) -> PersonReportOut:
    """As ``GET``, with the NHS number in the body instead of the address."""
    with session.begin():
        report = person.person_report(session, settings, principal, body.nhs_number)
    return person_report_out(report)
