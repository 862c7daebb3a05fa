"""Records the ledger binds but does not hold: the public-interest decisions.

A public-interest record sits in its own table; its SHA-256 is written into the
ledger with the decision (and again with the release). ``caldicott ledger
verify`` calls :func:`public_interest_problems`, so the reason given at the
time cannot be changed afterwards: an edited record no longer hashes to the
digest beside it, and a digest rewritten to match is found nowhere in the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy.orm import Session

from caldicott.requests import repository

KEY = "public_interest_sha256"


def digests_in(details: Iterable[bytes]) -> set[str]:
    """Every public-interest digest the ledger's event details carry.

    Example:
        >>> sorted(digests_in([b'{"public_interest_sha256":"sha256:0123abcd.ef"}', b'{"x":1}',
        ...                    b"not json"]))
        ['0123abcdef']
    """
    found = set()
    for body in details:
        if KEY.encode() not in body:
            continue
        try:
            value = json.loads(body).get(KEY)
        except (ValueError, AttributeError):
            continue
        if isinstance(value, str):  # "sha256:01234567.89abcdef..." as the details hold it
            found.add(value.removeprefix("sha256:").replace(".", ""))
    return found


def public_interest_problems(session: Session, ledger_details: Iterable[bytes]) -> list[str]:
    """What is wrong with the stored public-interest records, given the ledger's details."""
    records = repository.public_interest_records(session)
    if not records:
        return []
    in_ledger = digests_in(ledger_details)
    problems = []
    for record in records:
        actual = hashlib.sha256(record.record.encode("utf-8")).hexdigest()
        if actual != record.sha256:
            problems.append(f"public-interest record of trace request {record.request_id} was "
                            "changed after it was decided (it no longer matches its digest)")
        elif record.sha256 not in in_ledger:
            problems.append(f"public-interest record of trace request {record.request_id} is "
                            "not the one the ledger recorded")
    return problems
