"""Audit events: canonical JSON leaves, keyed pseudonyms, details bound by hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from caldicott.ledger.core.events import (
    Agent,
    AuditEvent,
    canonical_json,
    claimed_commitments,
    decode_openings,
    encode_openings,
    pseudonymise,
)

WHEN = dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.UTC)


def _event(**overrides: object) -> AuditEvent:
    fields: dict[str, object] = {
        "type": "disclosure", "action": "R", "outcome": "success", "recorded": WHEN,
        "agent": Agent("user/7", "X26", "tracer"), "what": "trace-request/42",
        "purpose": "immigration-enforcement", "agreement": "HO-NHSD-MoU",
        "agreement_version": "3", "details": {"candidates": 1}}
    fields.update(overrides)
    return AuditEvent(**fields)  # type: ignore[arg-type]


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"é": 1, "a": {"z": True, "b": None}}) == \
        '{"a":{"b":null,"z":true},"é":1}'.encode()


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(ValueError, match="floats"):
        canonical_json({"score": 0.93})


def test_entry_is_the_same_bytes_for_the_same_event() -> None:
    assert _event().entry("ab" * 32) == _event().entry("ab" * 32)
    entry = json.loads(_event().entry("ab" * 32))
    assert entry["recorded"] == "2026-11-23T10:30:00Z"
    assert entry["agreement"] == {"id": "HO-NHSD-MoU", "version": "3"}
    assert entry["details_sha256"] == "ab" * 32


def test_details_sit_beside_the_leaf_bound_by_hash() -> None:
    event = _event()
    body = event.details_json()
    assert body == b'{"candidates":1}'
    assert b"candidates" not in event.entry(hashlib.sha256(body).hexdigest())


def test_pseudonyms_depend_on_the_secret_and_the_kind_not_the_formatting() -> None:
    a = pseudonymise("one", "postcode", "LS6 2AB")
    assert a == pseudonymise("one", "postcode", "ls62ab")
    assert a != pseudonymise("two", "postcode", "LS6 2AB")
    assert a.digest != pseudonymise("one", "other", "LS6 2AB").digest


def test_two_entries_about_one_subject_share_no_commitment() -> None:
    subject = pseudonymise(bytes(32), "nhs_number", "9990001234")
    event = _event(subjects=(subject,))
    first, second = event.openings()[0], event.openings()[0]
    assert first.pseudonym == second.pseudonym and first.nonce != second.nonce
    entries = [event.entry(None, [o.commitment()]) for o in (first, second)]
    assert entries[0] != entries[1]
    assert all(subject.digest.encode() not in entry for entry in entries)
    assert claimed_commitments(entries[0]) == [first.commitment()]


def test_an_entry_needs_one_commitment_per_subject() -> None:
    event = _event(subjects=(pseudonymise(bytes(32), "nhs_number", "9990001234"),))
    with pytest.raises(ValueError, match="one commitment per subject"):
        event.entry(None)


def test_openings_survive_the_queue_encoding_and_damage_is_refused() -> None:
    event = _event(subjects=(pseudonymise(bytes(32), "nhs_number", "9990001234"),
                             pseudonymise(bytes(32), "postcode", "LS6 2AB")))
    openings = event.openings()
    assert decode_openings(encode_openings(openings)) == openings
    with pytest.raises(ValueError, match="damaged"):
        decode_openings(b'[["nhs_number","zz"]]')


def test_refuses_a_naive_time_and_a_float_detail() -> None:
    with pytest.raises(ValueError):
        _event(recorded=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        _event(details={"score": 0.5})
