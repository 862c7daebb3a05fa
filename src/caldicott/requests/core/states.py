"""The lifecycle of a trace request as a state machine (pure).

::

    received ─┬─> refused                      (the agreement says no, with reasons)
              ├─> queued ──> refused | permitted  (suspended; decided on resumption/withdrawal)
              └─> permitted ─┬─> no_trace | too_many_matches   (nothing leaves)
                             ├─> refused       (the patient's record is restricted and only
                             │                  address or GP was asked for)
                             ├─> awaiting_review ─┬─> released   (a reviewer approves)
                             │                    └─> refused    (a reviewer refuses)
                             └─> released      (an agreement that needs no sign-off)

``refused``, ``no_trace``, ``too_many_matches`` and ``released`` are closed: a
request reaching one of them gets its ``closed_at`` and never moves again.
Every arrow is a conditional update on the current status, so replaying a step
after a crash either finds the work done or does it once.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    PERMITTED = "permitted"
    AWAITING_REVIEW = "awaiting_review"
    RELEASED = "released"
    REFUSED = "refused"
    NO_TRACE = "no_trace"
    TOO_MANY_MATCHES = "too_many_matches"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)

CLOSED: frozenset[Status] = frozenset(
    {Status.RELEASED, Status.REFUSED, Status.NO_TRACE, Status.TOO_MANY_MATCHES})

#: Statuses a worker still has to move on without a person (after a crash too).
PENDING: frozenset[Status] = frozenset({Status.RECEIVED, Status.PERMITTED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.REFUSED, Status.QUEUED, Status.PERMITTED}),
    Status.QUEUED: frozenset({Status.REFUSED, Status.PERMITTED, Status.QUEUED}),
    Status.PERMITTED: frozenset({Status.NO_TRACE, Status.TOO_MANY_MATCHES, Status.REFUSED,
                                 Status.AWAITING_REVIEW, Status.RELEASED}),
    Status.AWAITING_REVIEW: frozenset({Status.RELEASED, Status.REFUSED, Status.NO_TRACE,
                                       Status.TOO_MANY_MATCHES, Status.AWAITING_REVIEW}),
}


def sources_of(target: Status) -> tuple[str, ...]:
    """The statuses a request may move to ``target`` from.

    Example:
        >>> sources_of(Status.RELEASED)
        ('awaiting_review', 'permitted')
    """
    return tuple(sorted(s.value for s, targets in TRANSITIONS.items() if target in targets))


def is_closed(status: str) -> bool:
    """True when a request in ``status`` will never move again.

    Example:
        >>> is_closed("released"), is_closed("queued")
        (True, False)
    """
    return Status(status) in CLOSED
