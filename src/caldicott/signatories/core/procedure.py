"""Was a request signed as procedure requires? (pure)

Every request names its requesting officer and its countersigning officer by
staff or warrant number. Each must be in the register of authorised
signatories of the requesting organisation, valid on the request's date; the
countersignatory must be allowed to countersign, be someone else, and hold at
least the rank the agreement asks for (for police, an inspector or above:
domain.md §6.3). The NBO rejects a request that fails any of these before any
patient data is touched.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from caldicott.signatories.core.ranks import canonical_rank, ladder

MISSING_COUNTERSIGNATURE = "missing_countersignature"
UNAUTHORISED_SIGNATORY = "unauthorised_signatory"
UNAUTHORISED_COUNTERSIGNATORY = "unauthorised_countersignatory"
COUNTERSIGNATORY_RANK_TOO_LOW = "countersignatory_rank_too_low"
SELF_COUNTERSIGNED = "self_countersigned"

REASON_CODES = (MISSING_COUNTERSIGNATURE, UNAUTHORISED_SIGNATORY, UNAUTHORISED_COUNTERSIGNATORY,
                COUNTERSIGNATORY_RANK_TOO_LOW, SELF_COUNTERSIGNED)


@dataclass(frozen=True, slots=True)
class ProcedureReason:
    """Why a request did not follow procedure: a stable code and plain words.

    Example:
        >>> ProcedureReason(SELF_COUNTERSIGNED, "the requesting officer countersigned "
        ...                 "their own request").code
        'self_countersigned'
    """

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class SignatoryEntry:
    """One entry of an organisation's register, as the check needs it.

    ``valid_to`` is the last day the entry may sign (inclusive); ``None`` is open.
    """

    signatory_id: int
    organisation_id: int
    staff_number: str
    rank: str
    valid_from: dt.date
    valid_to: dt.date | None
    may_countersign: bool

    def valid_on(self, day: dt.date) -> bool:
        """Was this entry in force on ``day``?

        Example:
            >>> e = SignatoryEntry(1, 1, "W1", "inspector", dt.date(2018, 1, 1),
            ...                    dt.date(2018, 5, 8), True)
            >>> e.valid_on(dt.date(2018, 5, 8)), e.valid_on(dt.date(2018, 5, 9))
            (True, False)
        """
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def normalise_number(number: str) -> str:
    """Staff and warrant numbers compare without case or spaces.

    Example:
        >>> normalise_number(" wm 4417 ")
        'WM4417'
    """
    return re.sub(r"\s+", "", number).upper()


def procedure_reasons(
    kind: str,
    requesting_ref: str | None,
    requesting: SignatoryEntry | None,
    countersigning_ref: str | None,
    countersigning: SignatoryEntry | None,
    on: dt.date,
    required_rank: str | None,
    *,
    countersignature_required: bool = True,
) -> list[ProcedureReason]:
    """Every way the signatures of one request fall short; empty when they do not.

    ``requesting`` and ``countersigning`` are the register entries the two
    references found in the requesting organisation's register (``None``: not
    there). ``required_rank`` is the lowest rank a countersignatory may hold
    (``None``: any who may countersign); it must be on ``kind``'s ladder
    (:class:`~caldicott.signatories.core.ranks.UnknownRank` names the ladder).

    Example:
        >>> day = dt.date(2018, 3, 1)
        >>> officer = SignatoryEntry(1, 7, "PC101", "constable", dt.date(2017, 1, 1), None, False)
        >>> sergeant = SignatoryEntry(2, 7, "PS202", "sergeant", dt.date(2017, 1, 1), None, True)
        >>> [r.code for r in procedure_reasons("police", "PC101", officer, "PS202", sergeant,
        ...                                    day, "inspector")]
        ['countersignatory_rank_too_low']
    """
    if required_rank is not None:
        required_rank = canonical_rank(kind, required_rank)
    reasons = _requesting_reasons(requesting_ref, requesting, on)
    if not (countersigning_ref or "").strip():
        if countersignature_required:
            reasons.append(ProcedureReason(
                MISSING_COUNTERSIGNATURE, "the request names no countersigning officer"))
        return reasons
    if _same_person(requesting_ref, requesting, countersigning_ref, countersigning):
        reasons.append(ProcedureReason(
            SELF_COUNTERSIGNED, "the requesting officer countersigned their own request; "
                                "another authorised officer must countersign"))
        return reasons
    reasons.extend(_countersigning_reasons(kind, countersigning, on, required_rank))
    return reasons


def _requesting_reasons(ref: str | None, entry: SignatoryEntry | None,
                        on: dt.date) -> list[ProcedureReason]:
    if not (ref or "").strip():
        return [ProcedureReason(UNAUTHORISED_SIGNATORY,
                                "the request names no requesting officer")]
    if entry is None:
        return [ProcedureReason(UNAUTHORISED_SIGNATORY,
                                "the requesting officer is not in the organisation's register "
                                "of authorised signatories")]
    if not entry.valid_on(on):
        return [ProcedureReason(UNAUTHORISED_SIGNATORY,
                                f"the requesting officer was not an authorised signatory on "
                                f"{on.isoformat()} ({_validity(entry)})")]
    return []


def _countersigning_reasons(kind: str, entry: SignatoryEntry | None, on: dt.date,
                            required_rank: str | None) -> list[ProcedureReason]:
    if entry is None:
        return [ProcedureReason(UNAUTHORISED_COUNTERSIGNATORY,
                                "the countersigning officer is not in the organisation's "
                                "register of authorised signatories")]
    if not entry.valid_on(on):
        return [ProcedureReason(UNAUTHORISED_COUNTERSIGNATORY,
                                f"the countersigning officer was not an authorised signatory on "
                                f"{on.isoformat()} ({_validity(entry)})")]
    reasons = []
    if not entry.may_countersign:
        reasons.append(ProcedureReason(UNAUTHORISED_COUNTERSIGNATORY,
                                       "the countersigning officer is not authorised to "
                                       "countersign"))
    if required_rank is not None and _below(kind, entry.rank, required_rank):
        reasons.append(ProcedureReason(
            COUNTERSIGNATORY_RANK_TOO_LOW,
            f"the countersigning officer's rank ({entry.rank}) is below the {required_rank} "
            f"or above this request needs"))
    return reasons


def _below(kind: str, rank: str, required_rank: str) -> bool:
    rungs = ladder(kind)
    return rungs.index(canonical_rank(kind, rank)) < rungs.index(required_rank)


def _same_person(requesting_ref: str | None, requesting: SignatoryEntry | None,
                 countersigning_ref: str | None, countersigning: SignatoryEntry | None) -> bool:
    if requesting is not None and countersigning is not None:
        return requesting.signatory_id == countersigning.signatory_id
    return normalise_number(requesting_ref or "") == normalise_number(countersigning_ref or "")


def _validity(entry: SignatoryEntry) -> str:
    until = entry.valid_to.isoformat() if entry.valid_to else "open-ended"
    return f"valid {entry.valid_from.isoformat()} to {until}"
