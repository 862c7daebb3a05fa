"""Who is acting: the authenticated principal, a plain value (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from caldicott.access.core.roles import Role, TokenScope


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user as every later check sees them.

    Built from the database when a token is accepted, then detached from it:
    policy code needs only these facts, never a session.

    Example:
        >>> p = Principal(user_id=7, email="a.tracer@nhsd.example", name="A Tracer",
        ...               organisation_id=1, organisation_code="X26",
        ...               organisation_kind="nhs_digital", roles=frozenset({Role.TRACER}))
        >>> p.has_role(Role.TRACER, Role.REVIEWER)
        True
    """

    user_id: int
    email: str
    name: str
    organisation_id: int
    organisation_code: str
    organisation_kind: str
    roles: frozenset[Role]
    token_id: int | None = None
    organisation_name: str = ""
    token_scope: TokenScope = TokenScope.FULL  # what the token presented may be used for

    def has_role(self, *roles: Role) -> bool:
        """True if the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)
