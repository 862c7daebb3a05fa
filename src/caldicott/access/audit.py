"""Ledger entries of people and access: account changes and reads of personal data.

Each account change (a user disabled or enabled, a role removed, tokens created
or revoked) is one entry naming the account by reference (``user/<id>``) and the
operator who made it; never an e-mail address, a name or a token.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping

from sqlalchemy.orm import Session

from caldicott.db import utcnow
from caldicott.ledger.core.events import Agent, AuditEvent, JSONScalar
from caldicott.ledger.service import append_many
from caldicott.settings import Settings

#: Who changes accounts from the command line: the operator at the server's console.
CLI_OPERATOR = Agent("system/cli", "caldicott", "operator")


def _os_user() -> str:
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # no name for this uid (a container): the change still counts
        return "unknown"


def record_account_change(session: Session, settings: Settings, kind: str, user_id: int,
                          details: Mapping[str, JSONScalar] | None = None, *,
                          action: str = "U", agent: Agent = CLI_OPERATOR) -> None:
    """Append one ledger entry for a change to account ``user_id``, in the caller's
    transaction (it commits with the change, or neither does).

    Example:
        >>> record_account_change(session, settings, "user-disabled", 7)  # doctest: +SKIP
    """
    event = AuditEvent(type=kind, action=action, outcome="success",  # type: ignore[arg-type]
                       recorded=utcnow(), agent=agent, what=f"user/{user_id}",
                       details={"os_user": _os_user(), **(details or {})})
    append_many(session, settings, [event])
