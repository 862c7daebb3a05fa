"""The agreement document model and the decision it yields.

An :class:`Agreement` is one document (one pack file) with its versions; an
:class:`AgreementVersion` is what a decision is made under. A clause is the unit
a reader quotes: it has an id, its own words, and optionally one Cedar
condition — ``requires`` (must hold for a permit) or ``forbids`` (denies when it
holds; forbid wins). ``release`` lists the fields that clause allows out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from caldicott.agreements.core.vocabulary import Approval, Channel, Outcome, PartyRole


@dataclass(frozen=True, slots=True)
class Clause:
    """One numbered clause of an agreement version, in its own words.

    ``rule`` names the alternative permit it belongs to (e.g. the £500 rule
    and the £1,000 rule of debt referral); a ``requires`` clause without one
    applies to every alternative.
    """

    id: str
    text: str
    requires: str | None = None
    forbids: str | None = None
    rule: str | None = None
    release: tuple[str, ...] | None = None
    source: str = ""  # whose words the clause uses (the minister, NHS Digital, ...)

    @property
    def is_condition(self) -> bool:
        return self.requires is not None or self.release is not None


@dataclass(frozen=True, slots=True)
class Party:
    """A party to an agreement: what it does, what kind of body, and which one.

    ``code`` None means any organisation of that kind (every NHS trust that signs).

    Example:
        >>> Party(PartyRole.REQUESTER, "home_office", "HO-IE").admits("home_office", "ho-ie")
        True
    """

    role: PartyRole
    kind: str
    code: str | None = None
    name: str = ""

    def admits(self, kind: str, code: str) -> bool:
        """Whether an organisation of ``kind`` with ``code`` is this party."""
        if kind != self.kind:
            return False
        return self.code is None or self.code.casefold() == code.strip().casefold()

    def describe(self) -> str:
        who = f"{self.kind} {self.code}" if self.code else f"any {self.kind}"
        return f"{self.role.value}: {who}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True, slots=True)
class Purpose:
    """One purpose a version allows, as the code a request names and the agreement's words."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class LegalBasis:
    """Why a version's disclosures are lawful, as it states them (every version must)."""

    lawful_basis: tuple[str, ...] = ()  # UK GDPR Art 6 (and 9/10), or the DPA 1998 condition
    gateway: str = ""  # the statutory gateway, quoted
    public_interest_document: str = ""  # the public interest test relied on
    public_interest_approver: str = ""  # who approved it
    review_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Charges:
    """What the receiving side pays, in integer pence."""

    per_minute_pence: int | None = None
    per_hour_pence: int | None = None  # e.g. an on-site officer
    note: str = ""


@dataclass(frozen=True, slots=True)
class AgreementVersion:
    """One version of an agreement: in force from ``effective_from`` (inclusive)
    until ``effective_to`` (exclusive: the first day it no longer applies).
    """

    agreement: str
    title: str
    channels: tuple[Channel, ...]
    parties: tuple[Party, ...]
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    suspended: bool
    purposes: tuple[Purpose, ...]
    approval: Approval
    retention_years: int | None
    charges: Charges
    clauses: tuple[Clause, ...]
    returns: tuple[str, ...] = ()
    source: str = ""
    purpose_clause: str = ""  # the clause quoted when a request's purpose is not one of these
    public_interest_test: bool = False  # a public interest test decides each request
    countersignature: str = ""  # the rank or grade that must countersign ("" none)
    legal_basis: LegalBasis = LegalBasis()
    what_if: bool = False  # never in force for live requests: replay only
    content_hash: str = field(default="", compare=False)

    def in_force_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    @property
    def allowed_fields(self) -> frozenset[str]:
        """Every field any clause of this version allows out."""
        return frozenset(f for c in self.clauses if c.release for f in c.release)

    @property
    def rules(self) -> tuple[str, ...]:
        """The alternative permits, by name; ``()`` when the version permits nothing."""
        conditions = [c for c in self.clauses if c.is_condition]
        named = sorted({c.rule for c in conditions if c.rule})
        return tuple(named) if named else (("main",) if conditions else ())

    def conditions_of(self, rule: str) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if c.is_condition and c.rule in (None, rule))

    def clause(self, clause_id: str) -> Clause:
        return next(c for c in self.clauses if c.id == clause_id)

    @property
    def purpose_codes(self) -> frozenset[str]:
        return frozenset(p.code for p in self.purposes)

    @property
    def withdrawn(self) -> bool:
        """A version that permits nothing and forbids everything: the agreement's end."""
        return not self.rules and any(
            c.forbids is not None and c.forbids.strip() == "true" for c in self.clauses
        )

    def requester_admitted(self, kind: str, code: str) -> bool:
        """Whether an organisation of ``kind``/``code`` is a requester under this version."""
        return any(p.role is PartyRole.REQUESTER and p.admits(kind, code) for p in self.parties)

    def canonical(self) -> dict[str, Any]:
        """The content the hash covers: everything a decision depends on or quotes."""
        return {
            "agreement": self.agreement,
            "title": self.title,
            "channels": [str(c) for c in self.channels],
            "parties": [[str(p.role), p.kind, p.code, p.name] for p in self.parties],
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "suspended": self.suspended,
            "what_if": self.what_if,
            "purposes": [[p.code, p.text] for p in self.purposes],
            "purpose_clause": self.purpose_clause,
            "public_interest_test": self.public_interest_test,
            "countersignature": self.countersignature,
            "legal_basis": [
                list(self.legal_basis.lawful_basis),
                self.legal_basis.gateway,
                self.legal_basis.public_interest_document,
                self.legal_basis.public_interest_approver,
                self.legal_basis.review_date.isoformat() if self.legal_basis.review_date else None,
            ],
            "approval": str(self.approval),
            "retention_years": self.retention_years,
            "charges": [
                self.charges.per_minute_pence,
                self.charges.per_hour_pence,
                self.charges.note,
            ],
            "returns": list(self.returns),
            "clauses": [
                [
                    c.id,
                    c.text,
                    c.requires,
                    c.forbids,
                    c.rule,
                    list(c.release) if c.release is not None else None,
                    c.source,
                ]
                for c in self.clauses
            ],
        }

    def compute_hash(self) -> str:
        data = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Agreement:
    """One agreement document and its versions, oldest first."""

    id: str
    title: str
    channels: tuple[Channel, ...]
    versions: tuple[AgreementVersion, ...]
    source_file: str = ""
    parties: tuple[Party, ...] = ()
    what_if: bool = False  # never in force for live requests (the firewall, a reading)
    file_sha256: str = ""  # of the file's bytes, as read (what an activation names)
    shipped: bool = False  # from the packs reviewed as code, not a local draft

    def version_on(self, day: dt.date) -> AgreementVersion | None:
        return next((v for v in self.versions if v.in_force_on(day)), None)

    def version_named(self, name: str) -> AgreementVersion | None:
        return next((v for v in self.versions if v.version == name), None)


@dataclass(frozen=True, slots=True)
class UnmetCondition:
    """A condition of the agreement that the request did not meet, in the clause's words."""

    clause_id: str
    text: str
    rule: str | None = None  # which alternative permit it belongs to, if there are several


@dataclass(frozen=True, slots=True)
class Decision:
    """What was decided, under which version (and its hash), and why.

    Example:
        >>> Decision("tracing-mou", None, None, Outcome.DENY, dt.date(2016, 12, 31)).permitted
        False
    """

    agreement: str
    version: str | None
    content_hash: str | None
    outcome: Outcome
    as_of: dt.date
    released_fields: frozenset[str] = frozenset()
    withheld_fields: frozenset[str] = frozenset()  # restricted patient: never released
    refused_fields: frozenset[str] = frozenset()  # asked for but not allowed by the version
    unmet: tuple[UnmetCondition, ...] = ()
    applied_clauses: tuple[str, ...] = ()  # the clause ids Cedar says determined the outcome
    approval: Approval = Approval.NONE
    purpose: str | None = None  # the purpose code the request named (not its category)

    @property
    def permitted(self) -> bool:
        return self.outcome is Outcome.PERMIT

    def explain(self) -> str:
        """The decision in plain words, for a Guardian, an officer or a judge."""
        head = f"{self.outcome.value.upper()} under {self.agreement}"
        head += (
            f" version {self.version} ({(self.content_hash or '')[:12]})" if self.version else ""
        )
        head += f" as of {self.as_of.isoformat()}"
        lines = [head]
        if self.purpose is not None:
            lines.append(f"Purpose: {self.purpose}")
        if self.released_fields:
            lines.append("May be released: " + ", ".join(sorted(self.released_fields)))
        if self.withheld_fields:
            lines.append(
                "Withheld (restricted patient): " + ", ".join(sorted(self.withheld_fields))
            )
        if self.refused_fields:
            lines.append("Not allowed by the agreement: " + ", ".join(sorted(self.refused_fields)))
        for unmet in self.unmet:
            rule = f" [{unmet.rule}]" if unmet.rule else ""
            lines.append(f"Unmet{rule} — clause {unmet.clause_id}: {unmet.text}")
        return "\n".join(lines)


def version_status(
    version: AgreementVersion, today: dt.date, *, draft: bool = False, activated: bool = False
) -> str:
    """A version's status on ``today``, from its dates and flags.

    ``what-if`` (never in force for live requests), ``draft`` (a local draft not
    activated), ``withdrawn`` (its clauses forbid everything, from its first day),
    ``expired``, ``not yet in force``, ``suspended`` (requests queue) or ``in force``.
    A version that was suspended and has since ended reads ``expired (suspended)``.

    Example:
        >>> from caldicott.agreements.core import load_packs
        >>> mou = load_packs().agreements["tracing-mou"]
        >>> [version_status(v, dt.date(2018, 6, 1)) for v in mou.versions]
        ['expired', 'expired', 'expired (suspended)', 'suspended', 'not yet in force']
    """
    if version.what_if:
        return "what-if"
    if draft and not activated:
        return "draft"
    if version.withdrawn and version.effective_from <= today:
        return "withdrawn"
    if version.effective_to is not None and version.effective_to <= today:
        return "expired (suspended)" if version.suspended else "expired"
    if version.effective_from > today:
        return "not yet in force"
    return "suspended" if version.suspended else "in force"
