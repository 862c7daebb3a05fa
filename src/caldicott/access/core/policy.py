"""Decisions about one principal: may they do this, here? (pure)

Separation of duties is enforced, not advised: nobody approves a release they
requested or traced (:func:`may_review`). :func:`ensure` turns a refusal into
:class:`~caldicott.errors.Forbidden` (a 403 with the verdict's reason), so use
cases check permissions without importing the web edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role, Scope, scope_of, token_allows
from caldicott.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Verdict:
    """An allow or a deny, with the reason a person would be shown."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def can(principal: Principal | None, action: Action,
        organisation_id: int | None = None) -> Verdict:
    """May ``principal`` (``None``: the public) do ``action`` on data of ``organisation_id``?

    Leave ``organisation_id`` out to ask whether the action is open to them at
    all; give it to check an own-organisation grant against the data's owner.
    How far a grant reaches depends on the role and on the kind of the
    principal's organisation (an auditor at the Home Office reads only the Home
    Office's data; see :data:`~caldicott.access.core.roles.ROLE_WIDE_REACH_KINDS`),
    and what the API token presented was scoped for (a ``read`` token changes nothing).

    Example:
        >>> officer = Principal(1, "o@ho.example", "O", 10, "HO", "home_office",
        ...                     frozenset({Role.REQUESTING_OFFICER}))
        >>> can(officer, Action.READ_REQUEST, organisation_id=10).allowed
        True
        >>> can(officer, Action.READ_REQUEST, organisation_id=11).reason
        "read_request is limited to your own organisation's data (HO)"
    """
    holders = principal.roles if principal is not None else ()
    kind = principal.organisation_kind if principal is not None else None
    scope = scope_of(holders, action, kind)
    if scope is None:
        who = ", ".join(sorted(holders)) if holders else "the public"
        return Verdict(False, f"{action.value} is not allowed for {who}")
    if principal is not None and not token_allows(principal.token_scope, action):
        return Verdict(False, f"this API token's scope is {principal.token_scope.value}, "
                              f"which does not allow {action.value}")
    if scope is Scope.ANY or organisation_id is None or principal is None:
        return Verdict(True, f"{action.value} allowed")
    if scope is Scope.OWN_ORG and organisation_id == principal.organisation_id:
        return Verdict(True, f"{action.value} allowed for your own organisation")
    return Verdict(False, f"{action.value} is limited to your own organisation's data "
                          f"({principal.organisation_code})")


def may_review(principal: Principal, requested_by: int | None,
               traced_by: int | None) -> Verdict:
    """May ``principal`` approve or refuse the release of a trace?

    Only a reviewer may, and never one who requested the trace or ran it
    (``requested_by`` / ``traced_by`` are user ids; ``None`` when no person did,
    for example an automatic trace).

    Example:
        >>> guardian = Principal(5, "g@nhsd.example", "G", 1, "X26", "nhs_digital",
        ...                      frozenset({Role.REVIEWER, Role.TRACER}))
        >>> may_review(guardian, requested_by=9, traced_by=6).allowed
        True
        >>> may_review(guardian, requested_by=9, traced_by=5).reason
        'you traced this request; another reviewer must approve its release'
    """
    if Role.REVIEWER not in principal.roles:
        return Verdict(False, "only a reviewer (Caldicott Guardian) may approve a release")
    if principal.user_id == requested_by:
        return Verdict(False, "you requested this trace; another reviewer must approve its "
                              "release")
    if principal.user_id == traced_by:
        return Verdict(False, "you traced this request; another reviewer must approve its "
                              "release")
    return Verdict(True, "reviewer independent of the request and the trace")


def ensure(verdict: Verdict) -> None:
    """Turn a refusing :class:`Verdict` (from ``can`` or ``may_review``) into a 403.

    Example:
        >>> ensure(Verdict(True, "allowed"))
        >>> ensure(Verdict(False, "no"))
        Traceback (most recent call last):
        ...
        caldicott.errors.Forbidden: no
    """
    if not verdict.allowed:
        raise Forbidden(verdict.reason)
