"""Who may activate a draft agreement, and the ledger entry an activation writes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from caldicott.access.models import UserRow
from caldicott.agreements.core import Agreement, AgreementVersion
from caldicott.db import utcnow
from caldicott.errors import Unprocessable
from caldicott.ledger.core.events import Agent, AuditEvent, digest_text


def the_administrator(session: Session, email: str) -> tuple[UserRow, Agent]:
    """The user named by ``email``, who must be allowed to manage agreements (else 403)."""
    from caldicott.access.core.policy import can
    from caldicott.access.core.roles import Action
    from caldicott.access.deps import ensure
    from caldicott.access.service import get_user, principal_of

    user = get_user(session, email)
    principal = principal_of(user)
    ensure(can(principal, Action.MANAGE_AGREEMENTS))
    try:
        agent = Agent(f"user/{user.id}", principal.organisation_code, "administrator")
    except ValueError as error:  # e.g. an organisation code shaped like a postcode
        raise Unprocessable(
            f"the administrator's organisation code cannot be written to the ledger ({error})"
        ) from None
    return user, agent


def ledger_hash(hex_digest: str) -> str:
    """A SHA-256 as the ledger's details hold it (see :func:`digest_text`).

    Example:
        >>> ledger_hash("0123456789abcdef" * 4)[:26]
        'sha256:01234567.89abcdef.0'
    """
    return digest_text(hex_digest)


def ledger_event(agent: Agent, draft: Agreement, version: AgreementVersion) -> AuditEvent:
    """The ledger entry of one activation: which version, its content and the file's bytes."""
    return AuditEvent(
        type="agreement-activated",
        action="U",
        outcome="success",
        recorded=utcnow(),
        agent=agent,
        what=f"agreement/{draft.id}",
        agreement=draft.id,
        agreement_version=version.version,
        details={
            "content_hash": ledger_hash(version.content_hash),
            "file_sha256": ledger_hash(draft.file_sha256),
            "effective_from": version.effective_from.isoformat(),
        },
    )
