"""Roles, actions and the access matrix of SPEC section 2 (pure).

Default deny: an action is allowed only where a row of :data:`GRANTS` says so,
and only within that row's scope (any organisation, the principal's own
organisation, or the patient's own record). "Cannot do" statements of the spec
that are not already implied by a missing grant are held in
:data:`INCOMPATIBLE_ROLES` (so nobody holds two roles that together would undo
a "cannot") and :data:`ROLE_ORGANISATION_KINDS` (so, for example, a Home Office
account can never be made a reviewer of NHS releases).

Patient and public are not roles a user account can hold. The public is
whoever calls without a token; a patient is identified per request by the
subject-access route (later), scoped to their own record. They appear here as
:class:`Audience` so the matrix is complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum

from caldicott.orgs.kinds import ORGANISATION_KINDS


class Role(StrEnum):
    """A role a user account holds (one or more per user)."""

    REQUESTING_OFFICER = "requesting_officer"
    TRACER = "tracer"
    REVIEWER = "reviewer"  # Caldicott Guardian / information-governance reviewer
    OVERSEAS_VISITORS_MANAGER = "overseas_visitors_manager"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


class Audience(StrEnum):
    """Callers without a user account."""

    PATIENT = "patient"  # self-service, about their own record only
    PUBLIC = "public"  # anyone, no credentials


class Action(StrEnum):
    """Everything the spec's role table says someone can (or cannot) do."""

    SUBMIT_REQUEST = "submit_request"
    READ_REQUEST = "read_request"
    READ_DISCLOSURE = "read_disclosure"
    SEARCH_REGISTER = "search_register"
    VALIDATE_REQUEST = "validate_request"
    RUN_TRACE = "run_trace"
    REVIEW_RELEASE = "review_release"
    APPLY_EXEMPTION = "apply_exemption"
    UPHOLD_COMPLAINT = "uphold_complaint"
    RUN_STATUS_CHECK = "run_status_check"
    RAISE_INVOICE = "raise_invoice"
    READ_REFERRALS = "read_referrals"
    READ_LEDGER = "read_ledger"
    REPLAY_DECISION = "replay_decision"
    READ_REPORTS = "read_reports"
    READ_OWN_DISCLOSURES = "read_own_disclosures"
    READ_STATISTICS = "read_statistics"
    READ_CHECKPOINTS = "read_checkpoints"
    MANAGE_ORGANISATIONS = "manage_organisations"
    MANAGE_USERS = "manage_users"
    MANAGE_AGREEMENTS = "manage_agreements"


class Scope(IntEnum):
    """How far a grant reaches; a larger value reaches further."""

    SELF = 1  # the patient's own record
    OWN_ORG = 2  # the principal's own organisation's data
    ANY = 3  # every organisation's data


_R, _A, _S = Role, Action, Scope

GRANTS: dict[Role | Audience, dict[Action, Scope]] = {
    _R.REQUESTING_OFFICER: {
        _A.SUBMIT_REQUEST: _S.OWN_ORG,
        _A.READ_REQUEST: _S.OWN_ORG,
        _A.READ_DISCLOSURE: _S.OWN_ORG,
    },
    _R.TRACER: {
        _A.READ_REQUEST: _S.ANY,
        _A.VALIDATE_REQUEST: _S.ANY,
        _A.RUN_TRACE: _S.ANY,
        _A.SEARCH_REGISTER: _S.ANY,
    },
    _R.REVIEWER: {
        _A.READ_REQUEST: _S.ANY,
        _A.READ_DISCLOSURE: _S.ANY,
        _A.REVIEW_RELEASE: _S.ANY,  # and never their own request or trace: see separation
        _A.APPLY_EXEMPTION: _S.ANY,
        _A.UPHOLD_COMPLAINT: _S.ANY,
        _A.READ_LEDGER: _S.ANY,
    },
    _R.OVERSEAS_VISITORS_MANAGER: {
        _A.RUN_STATUS_CHECK: _S.OWN_ORG,
        _A.RAISE_INVOICE: _S.OWN_ORG,
        _A.READ_REFERRALS: _S.OWN_ORG,
    },
    _R.AUDITOR: {  # reads everything, changes nothing
        _A.READ_REQUEST: _S.ANY,
        _A.READ_DISCLOSURE: _S.ANY,
        _A.READ_REFERRALS: _S.ANY,
        _A.READ_LEDGER: _S.ANY,
        _A.REPLAY_DECISION: _S.ANY,
        _A.READ_REPORTS: _S.ANY,
    },
    _R.ADMINISTRATOR: {
        _A.MANAGE_ORGANISATIONS: _S.ANY,
        _A.MANAGE_USERS: _S.ANY,
        _A.MANAGE_AGREEMENTS: _S.ANY,
    },
    Audience.PATIENT: {_A.READ_OWN_DISCLOSURES: _S.SELF},
    Audience.PUBLIC: {_A.READ_STATISTICS: _S.ANY, _A.READ_CHECKPOINTS: _S.ANY},
}

#: Actions that change something. An auditor holds none of them.
CHANGING_ACTIONS = frozenset({
    _A.SUBMIT_REQUEST, _A.VALIDATE_REQUEST, _A.RUN_TRACE, _A.REVIEW_RELEASE,
    _A.APPLY_EXEMPTION, _A.UPHOLD_COMPLAINT, _A.RUN_STATUS_CHECK, _A.RAISE_INVOICE,
    _A.MANAGE_ORGANISATIONS, _A.MANAGE_USERS, _A.MANAGE_AGREEMENTS,
})

class TokenScope(StrEnum):
    """What an API token may be used for, whatever its holder's roles allow.

    A token for a dashboard or a reporting job needs only ``read``; a case system
    that files requests, ``submit``; a reviewer's tool, ``review``. A leaked
    narrow token then cannot be used to do what it was never for.
    """

    READ = "read"  # reading only (GET): no action that changes anything
    SUBMIT = "submit"  # read, and submit requests (tracing, status checks, referrals)
    REVIEW = "review"  # read, and validate, trace, review and release
    FULL = "full"  # whatever the holder's roles allow (tokens made before scopes)


#: The changing actions each token scope allows (every scope may read).
TOKEN_SCOPE_ACTIONS: dict[TokenScope, frozenset[Action]] = {
    TokenScope.READ: frozenset(),
    TokenScope.SUBMIT: frozenset({_A.SUBMIT_REQUEST, _A.RUN_STATUS_CHECK, _A.RAISE_INVOICE}),
    TokenScope.REVIEW: frozenset({_A.VALIDATE_REQUEST, _A.RUN_TRACE, _A.REVIEW_RELEASE,
                                  _A.APPLY_EXEMPTION, _A.UPHOLD_COMPLAINT}),
    TokenScope.FULL: CHANGING_ACTIONS,
}


def token_allows(scope: TokenScope, action: Action) -> bool:
    """May a token of ``scope`` be used for ``action``? Reading is open to every scope.

    Example:
        >>> token_allows(TokenScope.READ, Action.READ_REQUEST)
        True
        >>> token_allows(TokenScope.SUBMIT, Action.REVIEW_RELEASE)
        False
    """
    return action not in CHANGING_ACTIONS or action in TOKEN_SCOPE_ACTIONS[scope]


def parse_token_scope(value: str) -> TokenScope:
    """The :class:`TokenScope` named ``value``, or ``ValueError`` naming the choices.

    Example:
        >>> parse_token_scope(" Read ")
        <TokenScope.READ: 'read'>
    """
    try:
        return TokenScope(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown token scope {value!r}; choose from "
                         f"{', '.join(s.value for s in TokenScope)}") from None


#: Pairs no one account may hold together, and why.
INCOMPATIBLE_ROLES: dict[frozenset[Role], str] = {
    frozenset({_R.ADMINISTRATOR, _R.REVIEWER}): "an administrator may not approve releases",
    frozenset({_R.REQUESTING_OFFICER, _R.REVIEWER}): "a requester may not approve releases",
    frozenset({_R.REQUESTING_OFFICER, _R.TRACER}): "a requester may not trace",
    **{
        frozenset({_R.AUDITOR, other}): "an auditor reads everything and changes nothing"
        for other in Role if other is not _R.AUDITOR
    },
}

_ANY_KIND = frozenset(ORGANISATION_KINDS)

#: The bodies that ask the NHS to trace someone (the NBO's requesters). Local
#: authorities and housing associations use the Home Office's checking service
#: instead, and DHSC is the intermediary for debt referrals: none of them asks.
REQUESTER_KINDS = frozenset({"home_office", "police", "nca", "court", "coroner", "ccrc"})

#: The organisation kinds each role may belong to: the custodian's staff trace and
#: review; the bodies that ask never do.
ROLE_ORGANISATION_KINDS: dict[Role, frozenset[str]] = {
    _R.REQUESTING_OFFICER: REQUESTER_KINDS,
    _R.TRACER: frozenset({"nhs_digital"}),
    _R.REVIEWER: frozenset({"nhs_digital", "nhs_trust"}),
    _R.OVERSEAS_VISITORS_MANAGER: frozenset({"nhs_trust"}),
    _R.AUDITOR: _ANY_KIND,
    _R.ADMINISTRATOR: frozenset({"nhs_digital"}),
}

#: Where a role's every-organisation grants really reach every organisation. A
#: holder of the role in an organisation of another kind keeps the same actions,
#: narrowed to their own organisation's data: an auditor of the Home Office audits
#: the Home Office (not trusts' releases, nor the police's requests); a reviewer at
#: a trust reviews that trust's work, while NHS Digital's reviewers (the National
#: Back Office's Caldicott function) review the tracing requests of every requester.
#: Roles not listed reach as :data:`GRANTS` says.
ROLE_WIDE_REACH_KINDS: dict[Role, frozenset[str]] = {
    _R.AUDITOR: frozenset({"regulator", "nhs_digital"}),
    _R.REVIEWER: frozenset({"nhs_digital"}),
}


def parse_role(value: str) -> Role:
    """The :class:`Role` named ``value``, or ``ValueError`` saying what is allowed.

    Example:
        >>> parse_role("Tracer")
        <Role.TRACER: 'tracer'>
    """
    cleaned = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(cleaned)
    except ValueError:
        pass
    if cleaned in {a.value for a in Audience}:
        raise ValueError(
            f"{cleaned!r} is not an account role: the public needs no account, and a patient "
            "is identified per request on the subject-access route"
        )
    raise ValueError(f"unknown role {value!r}; choose from {', '.join(r.value for r in Role)}")


def scope_of(holders: Iterable[Role | Audience], action: Action,
             organisation_kind: str | None = None) -> Scope | None:
    """The widest scope in which any of ``holders`` may perform ``action``.

    Everyone is also the public, so public grants apply to every holder. Given
    the kind of the holder's organisation, a role's every-organisation grant is
    narrowed to their own organisation's data unless the role reaches wide from
    that kind (:data:`ROLE_WIDE_REACH_KINDS`); without it, the matrix as written.

    Example:
        >>> scope_of([Role.REQUESTING_OFFICER], Action.READ_REQUEST)
        <Scope.OWN_ORG: 2>
        >>> scope_of([Role.ADMINISTRATOR], Action.REVIEW_RELEASE) is None
        True
        >>> scope_of([Role.AUDITOR], Action.READ_REQUEST, "home_office")
        <Scope.OWN_ORG: 2>
    """
    granted = []
    for holder in (*holders, Audience.PUBLIC):
        scope = GRANTS[holder].get(action)
        if scope is None:
            continue
        wide_from = ROLE_WIDE_REACH_KINDS.get(holder) if isinstance(holder, Role) else None
        if (scope is Scope.ANY and organisation_kind is not None and wide_from is not None
                and organisation_kind not in wide_from):
            scope = Scope.OWN_ORG
        granted.append(scope)
    return max(granted) if granted else None


def role_conflicts(roles: Iterable[Role]) -> list[str]:
    """Why this set of roles may not be held by one account (empty if it may).

    Example:
        >>> role_conflicts([Role.ADMINISTRATOR, Role.REVIEWER])
        ['administrator + reviewer: an administrator may not approve releases']
    """
    held = sorted(set(roles))
    problems = []
    for i, first in enumerate(held):
        for second in held[i + 1:]:
            reason = INCOMPATIBLE_ROLES.get(frozenset({first, second}))
            if reason:
                problems.append(f"{first.value} + {second.value}: {reason}")
    return problems


def organisation_kind_problems(roles: Iterable[Role], organisation_kind: str) -> list[str]:
    """Why a member of an organisation of ``organisation_kind`` may not hold ``roles``.

    Example:
        >>> organisation_kind_problems([Role.REVIEWER], "home_office")
        ['reviewer must belong to nhs_digital or nhs_trust, not home_office']
    """
    return [
        f"{role.value} must belong to {' or '.join(sorted(ROLE_ORGANISATION_KINDS[role]))}, "
        f"not {organisation_kind}"
        for role in sorted(set(roles))
        if organisation_kind not in ROLE_ORGANISATION_KINDS[role]
    ]
