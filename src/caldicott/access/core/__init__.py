"""The pure access policy: roles, the access matrix, separation of duties, tokens."""

from caldicott.access.core.policy import Verdict, can, may_review
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import (
    GRANTS,
    Action,
    Audience,
    Role,
    Scope,
    TokenScope,
    organisation_kind_problems,
    parse_role,
    role_conflicts,
    scope_of,
)

__all__ = [
    "GRANTS", "Action", "Audience", "Principal", "Role", "Scope", "TokenScope", "Verdict",
    "can", "may_review", "organisation_kind_problems", "parse_role", "role_conflicts",
    "scope_of",
]
