"""Ledger entries of people and access: account changes and reads of personal data.

Each account change (a user added, disabled or enabled, a role added or removed,
tokens created or revoked) is one entry naming the account by reference
(``user/<id>``) and who made it (the console's operator, or an administrator's
``user/<id>`` from the pages); never an e-mail address, a name or a token.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping

from sqlalchemy.orm import Session

from caldicott.access.core.principal import Principal
from caldicott.db import utcnow
from caldicott.ledger.core.events import Agent, AuditEvent, JSONScalar
from caldicott.ledger.service import append_many
from caldicott.settings import Settings

#: Who changes accounts from the command line: the operator at the server's console.
CLI_OPERATOR = Agent("system/cli", "caldicott", "operator")


def administrator(principal: Principal) -> Agent:
    """Who changes accounts from the administrator's pages: the signed-in person, by
    reference (``user/<id>``), never by name or e-mail."""
    return Agent(f"user/{principal.user_id}", principal.organisation_code, "administrator")


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
    # The console's operator is named by their OS account; a page's administrator by the
    # agent itself.
    console = {"os_user": _os_user()} if agent == CLI_OPERATOR else {}
    event = AuditEvent(type=kind, action=action, outcome="success",  # type: ignore[arg-type]
                       recorded=utcnow(), agent=agent, what=f"user/{user_id}",
                       details={**console, **(details or {})})
    append_many(session, settings, [event])
