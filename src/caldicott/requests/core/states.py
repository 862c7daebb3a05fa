"""The lifecycle of a trace request as a state machine, in the National Back Office's order (pure).

The NBO validates the procedure, applies the public-interest test, then
traces, then releases. No patient data is touched before the trace, so every
refusal before it may be told to the requester with its reasons; after it,
only a release is told, and every other ending reads the same ("closed,
nothing released").

::

    received ─┬─> rejected_procedure        (countersignature, signatory, identity, offence)
              ├─> refused_agreement          (the agreement in force says no, with its clauses)
              ├─> queued ──> refused_agreement | awaiting_validation   (suspended; decided later)
              └─> awaiting_validation ─┬─> rejected_procedure          (a tracer rejects it)
                                       ├─> awaiting_public_interest    (a tracer accepts it)
                                       └─> approved_for_trace          (accepted; no test needed)
    awaiting_public_interest ─┬─> refused_public_interest   (a reviewer's structured record)
                              └─> approved_for_trace
    approved_for_trace ─┬─> awaiting_review    (traced: every outcome waits for a person)
                        └─> released           (a clean single match under approval "none")
    awaiting_review ─┬─> released | deceased_confirmed            (a reviewer, or two)
                     ├─> no_trace | too_many_matches               (a reviewer confirms)
                     ├─> refused_after_review                      (a reviewer refuses)
                     └─> awaiting_review                           (a re-trace)

Every arrow is a conditional update on the current status, so replaying a step
after a crash either finds the work done or does it once.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"
    REJECTED_PROCEDURE = "rejected_procedure"
    REFUSED_AGREEMENT = "refused_agreement"
    QUEUED = "queued"
    AWAITING_VALIDATION = "awaiting_validation"
    AWAITING_PUBLIC_INTEREST = "awaiting_public_interest"
    REFUSED_PUBLIC_INTEREST = "refused_public_interest"
    APPROVED_FOR_TRACE = "approved_for_trace"
    AWAITING_REVIEW = "awaiting_review"
    RELEASED = "released"
    DECEASED_CONFIRMED = "deceased_confirmed"
    NO_TRACE = "no_trace"
    TOO_MANY_MATCHES = "too_many_matches"
    REFUSED_AFTER_REVIEW = "refused_after_review"


class RequesterStatus(StrEnum):
    """What a requester may see: nothing that tells a no-trace from a refusal after review."""

    RECEIVED = "received"
    UNDER_CONSIDERATION = "under_consideration"
    REFUSED = "refused"  # before any patient data was touched; with the reasons
    RELEASED = "released"  # the allowed fields, or a less intrusive outcome
    PERSON_DECEASED = "person_deceased"  # the Guardian chose to tell it; no address
    CLOSED = "closed"  # nothing released: no trace, too many matches, refused after review


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
REQUESTER_STATUSES: tuple[str, ...] = tuple(s.value for s in RequesterStatus)

_S, _R = Status, RequesterStatus
REQUESTER_VIEW: dict[Status, RequesterStatus] = {
    _S.RECEIVED: _R.RECEIVED,
    _S.REJECTED_PROCEDURE: _R.REFUSED,
    _S.REFUSED_AGREEMENT: _R.REFUSED,
    _S.REFUSED_PUBLIC_INTEREST: _R.REFUSED,
    _S.QUEUED: _R.UNDER_CONSIDERATION,
    _S.AWAITING_VALIDATION: _R.UNDER_CONSIDERATION,
    _S.AWAITING_PUBLIC_INTEREST: _R.UNDER_CONSIDERATION,
    _S.APPROVED_FOR_TRACE: _R.UNDER_CONSIDERATION,
    _S.AWAITING_REVIEW: _R.UNDER_CONSIDERATION,
    _S.RELEASED: _R.RELEASED,
    _S.DECEASED_CONFIRMED: _R.PERSON_DECEASED,
    _S.NO_TRACE: _R.CLOSED,
    _S.TOO_MANY_MATCHES: _R.CLOSED,
    _S.REFUSED_AFTER_REVIEW: _R.CLOSED,
}

#: The columns of the NBO's Data Release Register each status is counted in.
NBO_COLUMN: dict[Status, str] = {
    _S.REJECTED_PROCEDURE: "Rejected",
    _S.REFUSED_AGREEMENT: "Rejected",
    _S.REFUSED_PUBLIC_INTEREST: "Rejected",
    _S.REFUSED_AFTER_REVIEW: "Rejected",
    _S.RELEASED: "Approved - Trace",
    _S.DECEASED_CONFIRMED: "Approved - Trace",
    _S.NO_TRACE: "Approved - No Trace",
    _S.TOO_MANY_MATCHES: "Approved - No Trace",
}

CLOSED: frozenset[Status] = frozenset(NBO_COLUMN)

#: Statuses a worker moves on without a person (after a crash too).
PENDING: frozenset[Status] = frozenset({_S.RECEIVED, _S.QUEUED, _S.APPROVED_FOR_TRACE})

#: Refusals told to the requester with their reasons (no patient data was touched).
REFUSED_BEFORE_TRACE: frozenset[Status] = frozenset(
    {_S.REJECTED_PROCEDURE, _S.REFUSED_AGREEMENT, _S.REFUSED_PUBLIC_INTEREST})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.RECEIVED: frozenset({_S.REJECTED_PROCEDURE, _S.REFUSED_AGREEMENT, _S.QUEUED,
                            _S.AWAITING_VALIDATION}),
    _S.QUEUED: frozenset({_S.REFUSED_AGREEMENT, _S.AWAITING_VALIDATION, _S.QUEUED}),
    _S.AWAITING_VALIDATION: frozenset({_S.REJECTED_PROCEDURE, _S.AWAITING_PUBLIC_INTEREST,
                                       _S.APPROVED_FOR_TRACE}),
    _S.AWAITING_PUBLIC_INTEREST: frozenset({_S.REFUSED_PUBLIC_INTEREST, _S.APPROVED_FOR_TRACE}),
    _S.APPROVED_FOR_TRACE: frozenset({_S.AWAITING_REVIEW, _S.RELEASED}),
    _S.AWAITING_REVIEW: frozenset({_S.RELEASED, _S.DECEASED_CONFIRMED, _S.NO_TRACE,
                                   _S.TOO_MANY_MATCHES, _S.REFUSED_AFTER_REVIEW,
                                   _S.AWAITING_REVIEW}),
}


def sources_of(target: Status) -> tuple[str, ...]:
    """The statuses a request may move to ``target`` from.

    Example:
        >>> sources_of(Status.RELEASED)
        ('approved_for_trace', 'awaiting_review')
    """
    return tuple(sorted(s.value for s, targets in TRANSITIONS.items() if target in targets))


def is_closed(status: str) -> bool:
    """True when a request in ``status`` will never move again.

    Example:
        >>> is_closed("released"), is_closed("queued")
        (True, False)
    """
    return Status(status) in CLOSED


def requester_status(status: str) -> RequesterStatus:
    """What the requester is shown for an internal ``status``.

    Example:
        >>> requester_status("no_trace") is requester_status("refused_after_review")
        True
        >>> requester_status("refused_agreement").value
        'refused'
    """
    return REQUESTER_VIEW[Status(status)]


def internal_statuses(shown: RequesterStatus) -> tuple[str, ...]:
    """The internal statuses a requester's filter stands for.

    Example:
        >>> internal_statuses(RequesterStatus.CLOSED)
        ('no_trace', 'refused_after_review', 'too_many_matches')
    """
    return tuple(sorted(s.value for s, r in REQUESTER_VIEW.items() if r is shown))
