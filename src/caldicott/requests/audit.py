"""The ledger entries of the lifecycle: one per step, appended in the step's transaction.

No personal data goes into an entry: the request is named by its id, the
patient only by a keyed hash of their NHS number, the details hold codes and
numbers (a probability is written to six places, never as a long digit run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from caldicott.access.core.principal import Principal
from caldicott.db import utcnow
from caldicott.ledger.core.events import (
    Agent,
    AuditEvent,
    JSONScalar,
    Outcome,
    Pseudonym,
    pseudonymise,
)

__all__ = ["AuditEvent", "utcnow"]
from caldicott.ledger.service import append_many
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
        subjects = (pseudonymise(settings.secret_key, "nhs_number", row.matched_nhs_number),)
    return AuditEvent(
        type=kind, action=action, outcome=outcome, recorded=utcnow(),  # type: ignore[arg-type]
        agent=agent, what=f"trace-request/{row.id}", purpose=row.category,
        agreement=row.agreement, agreement_version=row.decided_version,
        subjects=subjects, details=dict(details or {}))


def record(session: Session, settings: Settings, events: Sequence[AuditEvent]) -> None:
    """Append ``events`` in the caller's transaction (they commit with the state change)."""
    append_many(session, settings, events)


def closed(settings: Settings, row: TraceRequestRow, agent: Agent) -> AuditEvent:
    return event(settings, "trace-request-closed", row, agent, details={"status": row.status})


def number(value: float | None) -> str | None:
    """A float as short text for the ledger (which holds no floats)."""
    if value is None:
        return None
    return "inf" if value == float("inf") else f"{value:.6f}"
