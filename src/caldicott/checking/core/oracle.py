"""The synthetic Home Office's records (pure): a deterministic status for any person, so
the in-memory fake and the counterparty process answer alike and tests can predict them.
No real record is consulted; the answer follows from a hash of what was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from caldicott.checking.core.answers import STATUSES, StatusAnswer

_ORDER = sorted(STATUSES)
_EVIDENCE = {
    "british_citizen": "passport record",
    "settled": "indefinite leave to remain on record",
    "leave_with_surcharge_paid": "leave to remain; immigration health charge paid",
    "refugee": "refugee status granted",
    "asylum_seeker": "asylum claim lodged and undecided",
    "refused_asylum_seeker_supported": "asylum refused; section 4 support in payment",
    "visitor": "visit visa on record",
    "no_valid_leave": "leave expired; no application pending",
    "no_record": "no record matched the details given",
}


def answer_for(person: Mapping[str, str]) -> StatusAnswer:
    """The synthetic record's answer for the details sent.

    Example:
        >>> answer_for({"given_name": "Ada", "family_name": "Testperson",
        ...             "date_of_birth": "1990-01-02", "nationality": "Ruritanian"}) == \\
        ...     answer_for({"nationality": "Ruritanian", "given_name": "Ada",
        ...                 "family_name": "Testperson", "date_of_birth": "1990-01-02"})
        True
    """
    text = "\x00".join(f"{k}={person[k]}" for k in sorted(person))
    index = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % len(_ORDER)
    status = _ORDER[index]
    return StatusAnswer(status, _EVIDENCE[status])
