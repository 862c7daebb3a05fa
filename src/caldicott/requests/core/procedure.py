"""The procedure a request must follow before anyone looks for the person (pure).

The National Back Office rejects a request that does not follow the procedure
before it traces anybody: a police request without a sufficiently senior
countersignature is its own example. These are the reasons, each with a code
(what the register of rejections counts) and words (what the requester reads).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from caldicott.matching.core.identifiers import why_untraceable
from caldicott.signatories.core.procedure import ProcedureReason

REASON_TEXTS: dict[str, str] = {
    "missing_countersignature": "The request is not countersigned by an authorised officer.",
    "unauthorised_signatory": "The requesting officer is not in the requesting organisation's "
                              "register of authorised signatories on the request's date.",
    "unauthorised_countersignatory": "The countersigning officer is not authorised to "
                                     "countersign for the requesting organisation on the "
                                     "request's date.",
    "countersignatory_rank_too_low": "The countersigning officer's rank or grade is below the "
                                     "level the agreement requires.",
    "self_countersigned": "The requesting officer countersigned their own request.",
    "subject_under_identified": "The subject is not identified well enough to trace: a name "
                                "and, besides it, a full date of birth or a postcode are "
                                "needed.",
    "no_offence_given": "The request names no offence (statute and section) and no conviction.",
    "no_court_order": "The request under a court order does not give the order (court, "
                      "reference and date).",
    "procedure_not_followed": "The request does not follow the agreed procedure.",
}


def reason(code: str, detail: str = "") -> ProcedureReason:
    """A reason in its standard words, with any detail after them.

    Example:
        >>> reason("no_offence_given").text[:24]
        'The request names no off'
    """
    return ProcedureReason(code, f"{REASON_TEXTS[code]} {detail}".strip())


def as_json(found: ProcedureReason) -> dict[str, str]:
    """How a request stores a reason (the shape of a decision's unmet clause)."""
    return {"clause": found.code, "text": found.text}


@dataclass(frozen=True, slots=True)
class Subject:
    """What a request says about whom it is looking for (enough to judge identification)."""

    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None
    postcode: str | None
    partial_birth_date: bool = False


def identification_problems(subject: Subject) -> list[ProcedureReason]:
    """Whether the subject can be traced at all: a name (given or family) and, besides it,
    a full date of birth or a postcode (the matcher's own rule,
    :func:`~caldicott.matching.core.identifiers.why_untraceable`). Any other field may be
    missing: the trace then needs more evidence to release. A partial date or a range is
    recorded and shown, but is not compared.

    Example:
        >>> identification_problems(Subject(None, "Lee", None, "LS1 1AA"))
        []
        >>> [r.code for r in identification_problems(Subject("Ann", "Lee", None, None, True))]
        ['subject_under_identified']
    """
    present = {f for f, value in (("given_name", subject.given_name),
                                  ("family_name", subject.family_name),
                                  ("postcode", subject.postcode)) if (value or "").strip()}
    if subject.birth_date is not None:
        present.add("birth_date")
    why = why_untraceable(present)
    if why is None:
        return []
    if subject.partial_birth_date:
        why += "; only a partial date of birth or a range was given, which is not compared"
    return [reason("subject_under_identified", f"This request has {why}.")]


def basis_problems(needs_court_order: bool, has_court_order: bool, has_offence: bool,
                   has_conviction: bool) -> list[ProcedureReason]:
    """A court-order request needs the order; every other request needs an offence or a
    conviction.

    Example:
        >>> [r.code for r in basis_problems(False, False, False, False)]
        ['no_offence_given']
        >>> basis_problems(True, True, False, False)
        []
    """
    if needs_court_order:
        return [] if has_court_order else [reason("no_court_order")]
    return [] if (has_offence or has_conviction) else [reason("no_offence_given")]


def is_child(birth_date: dt.date | None, on: dt.date) -> bool:
    """Whether someone born on ``birth_date`` is under 18 on ``on``.

    Example:
        >>> is_child(dt.date(2010, 5, 1), dt.date(2028, 4, 30)), is_child(dt.date(2010, 5, 1),
        ...     dt.date(2028, 5, 1))
        (True, False)
    """
    if birth_date is None:
        return False
    eighteenth = _add_years(birth_date, 18)
    return on < eighteenth


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
