"""Routes an auditor uses to check the ledger without trusting us: checkpoint, proofs, entries.

The log holds no personal data in the clear, so these are readable without a
patient's-data role; a bad parameter is a 400/422 OperationOutcome, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from caldicott.ledger import service
from caldicott.ledger.schemas import (
    ConsistencyProofOut,
    EntriesOut,
    EntryOut,
    InclusionProofOut,
    b64,
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


router = APIRouter(prefix="/ledger", tags=["ledger"], lifespan=_sequence_the_queue)

Size = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP signed note, text/plain)."""
    with session.begin():
        signed = service.checkpoint(session, settings)
    return PlainTextResponse(signed.note, media_type="text/plain; charset=utf-8")


@router.get("/proof/inclusion")
def get_inclusion_proof(session: SessionDep, index: Size,
                        tree_size: Size | None = None) -> InclusionProofOut:
    """The RFC 9162 inclusion proof of leaf ``index`` (default: in the current tree)."""
    with session.begin():
        proof = service.inclusion_proof(session, index, tree_size)
    return InclusionProofOut(leaf_index=proof.index, tree_size=proof.tree_size,
                             leaf_hash=b64(proof.leaf_hash), root=b64(proof.root),
                             inclusion_path=[b64(h) for h in proof.proof])


@router.get("/proof/consistency")
def get_consistency_proof(session: SessionDep, first: Size,
                          second: Size | None = None) -> ConsistencyProofOut:
    """The RFC 9162 consistency proof from tree size ``first`` to ``second`` (default: current)."""
    with session.begin():
        proof = service.consistency_proof(session, first, second)
    return ConsistencyProofOut(first=proof.first, second=proof.second,
                               first_root=b64(proof.first_root),
                               second_root=b64(proof.second_root),
                               consistency_path=[b64(h) for h in proof.proof])


@router.get("/entries")
def get_entries(session: SessionDep, start: Size, end: Size) -> EntriesOut:
    """Leaf entries ``start <= index < end`` (at most 1,000 per page)."""
    with session.begin():
        size, _ = service.tree_head(session)
        rows = service.entries(session, start, end)
    return EntriesOut(tree_size=size, entries=[
        EntryOut(index=i, leaf_hash=b64(h), entry=e.decode("utf-8")) for i, e, h in rows])
