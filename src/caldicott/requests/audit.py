"""The ledger entries of the lifecycle: one per step, appended in the step's transaction.

No personal data goes into an entry: the request is named by its id, the
patient only by a keyed hash of their NHS number, the details hold codes and
numbers (a probability is written to six places, never as a long digit run).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy.orm import Session

from caldicott.access.core.principal import Principal
from caldicott.db import utcnow
from caldicott.ledger.core.events import (
    Agent,
    AuditEvent,
    JSONScalar,
    Outcome,
    Pseudonym,
)

__all__ = ["AuditEvent", "utcnow"]
from caldicott.ledger.service import append_many, subject_of
from caldicott.requests.models import TraceRequestRow
from caldicott.settings import Settings

SYSTEM = Agent("system/caldicott", "caldicott", "system")


def agent_of(principal: Principal, role: str) -> Agent:
    """The ledger's view of a person acting in ``role``.

    Example:
        >>> agent_of(principal, "reviewer").who  # doctest: +SKIP
        'user/7'
    """
    return Agent(f"user/{principal.user_id}", principal.organisation_code, role)


def event(settings: Settings, kind: str, row: TraceRequestRow, agent: Agent, *,
          outcome: Outcome = "success", details: Mapping[str, JSONScalar] | None = None,
          action: str = "U") -> AuditEvent:
    """An audit event about ``row``; the matched patient, if any, only as a pseudonym."""
    subjects: tuple[Pseudonym, ...] = ()
    if row.matched_nhs_number:
        subjects = (subject_of(settings, row.matched_nhs_number),)
    return AuditEvent(
        type=kind, action=action, outcome=outcome, recorded=utcnow(),  # type: ignore[arg-type]
        agent=agent, what=f"trace-request/{row.id}", purpose=row.purpose,
        agreement=row.agreement, agreement_version=row.decided_version,
        subjects=subjects, details=dict(details or {}))


_HELD = "caldicott.requests.held_events"


def record(session: Session, settings: Settings, events: Sequence[AuditEvent]) -> None:
    """Append ``events`` in the caller's transaction (they commit with the state change).

    Inside :func:`held` they are kept until the block ends and appended together.
    """
    waiting: list[AuditEvent] | None = session.info.get(_HELD)
    if waiting is None:
        append_many(session, settings, events)
    else:
        waiting.extend(events)


@contextmanager
def held(session: Session, settings: Settings) -> Iterator[list[AuditEvent]]:
    """Hold the events several steps record, then append them in one go, still in the
    caller's transaction.

    The ledger's append lock is then taken once, at the end, and held only until
    the commit that follows, instead of from the first step's entry onwards. A
    caller that rolls a step back (a savepoint) drops that step's events from the
    yielded list. Nothing is appended if the block raises.
    """
    if _HELD in session.info:
        raise RuntimeError("events are already being held on this session")
    waiting: list[AuditEvent] = []
    session.info[_HELD] = waiting
    try:
        yield waiting
    finally:
        del session.info[_HELD]
    if waiting:
        append_many(session, settings, waiting)


def closed(settings: Settings, row: TraceRequestRow, agent: Agent) -> AuditEvent:
    return event(settings, "trace-request-closed", row, agent, details={"status": row.status})


def number(value: float | None) -> str | None:
    """A float as short text for the ledger (which holds no floats)."""
    if value is None:
        return None
    return "inf" if value == float("inf") else f"{value:.6f}"
