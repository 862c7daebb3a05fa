"""What a ledger leaf says: an audit event shaped after FHIR AuditEvent, in canonical JSON.

Privacy by construction: a patient appears in an event only as a
:class:`Pseudonym`, an HMAC-SHA-256 of the identifier under a key kept in the
data folder. A ``Pseudonym`` cannot hold anything but 64 hex digits, and the
event refuses free text that looks like an NHS number or a postcode, so the log
can be handed to an auditor without handing over patients. Extra details sit
beside the log (not in the leaf); the leaf carries their SHA-256, binding them.

Not even the pseudonym is in the leaf. The same pseudonym in two public
entries would link them (every disclosure about one person, in order), so the
leaf holds a per-entry *commitment* to each subject instead: SHA-256 over a
tag, the kind, the pseudonym and a fresh random nonce (:class:`SubjectOpening`).
Two entries about one person share no value; the opening (pseudonym and nonce)
is kept privately beside the log, where ``verify`` recomputes the commitment
and the keyed index finds a person's entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from caldicott.postcodes import IN_TEXT as _POSTCODE_LIKE

JSONScalar = str | int | bool | None
Outcome = Literal["success", "refused", "failure"]
# FHIR AuditEvent.action: create, read, update, delete, execute
Action = Literal["C", "R", "U", "D", "E"]

IDENTIFIER_KINDS = ("nhs_number", "name", "birth_date", "postcode", "address", "other")
_HEX64 = re.compile(r"[0-9a-f]{64}")
COMMITMENT_TAG = b"caldicott-subject-commitment\x00"
NONCE_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,199}")
# A ten-digit run (spaced or not) or a UK postcode, anywhere in a free string.
_NHS_LIKE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")


class IdentifierInTheClear(ValueError):
    """An event field that would put a personal identifier into the log in the clear."""


def canonical_json(value: object) -> bytes:
    """Canonical JSON: sorted keys, compact separators, UTF-8, no floats.

    Example:
        >>> canonical_json({"b": 1, "a": ["x", None]})
        b'{"a":["x",null],"b":1}'
    """
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


_ACTIONS = ("C", "R", "U", "D", "E")
# Canonical JSON spells the key exactly so; no other field can hold a quote.
_COMMITMENT_MARK = b'{"commitment_sha256":"'
_OUTCOMES = ("success", "refused", "failure")
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False)


def _dumps(value: object) -> bytes:
    """canonical_json for values already known to hold no floats."""
    return _ENCODER.encode(value).encode("utf-8")


def _refuse_floats(value: object) -> None:
    if isinstance(value, float):
        raise ValueError("canonical JSON holds no floats (their text form is not unique)")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("canonical JSON keys are strings")
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def _normalise(kind: str, value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if kind in ("nhs_number", "postcode"):
        return re.sub(r"[\s-]", "", text).upper()
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Pseudonym:
    """A keyed hash standing in for one personal identifier.

    Build one with :func:`pseudonymise`; the constructor accepts only a digest.
    """

    kind: str
    digest: str

    def __post_init__(self) -> None:
        if self.kind not in IDENTIFIER_KINDS:
            raise ValueError(f"unknown identifier kind {self.kind!r}")
        if not _HEX64.fullmatch(self.digest):
            raise IdentifierInTheClear("a pseudonym is 64 lowercase hex digits, never a raw value")

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "hmac_sha256": self.digest}


def pseudonymise(secret: str | bytes, kind: str, value: str) -> Pseudonym:
    """HMAC-SHA-256 of a normalised identifier under the operator's secret.

    The kind is part of the message, so an NHS number and a phone number with
    the same digits do not collide, and formatting (spaces, case) does not matter.

    Example:
        >>> a = pseudonymise("s3cret", "nhs_number", "943 476 5919")
        >>> a == pseudonymise("s3cret", "nhs_number", "9434765919"), len(a.digest)
        (True, 64)
    """
    if kind not in IDENTIFIER_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = f"caldicott-pseudonym\x00{kind}\x00{_normalise(kind, value)}".encode()
    return Pseudonym(kind, hmac.new(key, message, hashlib.sha256).hexdigest())


@dataclass(frozen=True, slots=True)
class SubjectOpening:
    """The private half of one subject of one entry: its pseudonym and the entry's nonce.

    The public leaf holds only :meth:`commitment`; this stays beside the log.

    Example:
        >>> o = SubjectOpening("nhs_number", bytes(32), bytes(16))
        >>> len(o.commitment()), o.commitment() == SubjectOpening.fresh(
        ...     pseudonymise(b"k", "nhs_number", "9434765919")).commitment()
        (32, False)
    """

    kind: str
    pseudonym: bytes  # the HMAC digest, 32 bytes
    nonce: bytes  # NONCE_BYTES random bytes, fresh for each entry and subject

    @classmethod
    def fresh(cls, subject: Pseudonym) -> SubjectOpening:
        return cls(subject.kind, bytes.fromhex(subject.digest), secrets.token_bytes(NONCE_BYTES))

    def commitment(self) -> bytes:
        return hashlib.sha256(COMMITMENT_TAG + self.kind.encode() + b"\x00" + self.pseudonym
                              + self.nonce).digest()


def encode_openings(openings: Sequence[SubjectOpening]) -> bytes | None:
    """Openings as compact JSON (for the queue), or None when there are none."""
    if not openings:
        return None
    return _dumps([[o.kind, o.pseudonym.hex(), o.nonce.hex()] for o in openings])


def decode_openings(blob: bytes | None) -> tuple[SubjectOpening, ...]:
    """The openings :func:`encode_openings` wrote; ValueError if the blob is damaged."""
    if blob is None:
        return ()
    try:
        rows = json.loads(blob)
        return tuple(SubjectOpening(str(kind), bytes.fromhex(digest), bytes.fromhex(nonce))
                     for kind, digest, nonce in rows)
    except (TypeError, ValueError) as error:
        raise ValueError(f"damaged subject openings: {error}") from None


def claimed_commitments(entry: bytes) -> list[bytes]:
    """The subject commitments a leaf entry holds, in order (from its canonical JSON)."""
    found, at = [], entry.find(_COMMITMENT_MARK)
    while at >= 0:
        start = at + len(_COMMITMENT_MARK)
        text = entry[start:start + 64]
        # Not hex (a damaged entry): kept as it is, so it matches no opening's commitment.
        found.append(bytes.fromhex(text.decode()) if _HEX64.fullmatch(text.decode(
            "ascii", "replace")) else text)
        at = entry.find(_COMMITMENT_MARK, start + 64)
    return found


def digest_text(hex_digest: str) -> str:
    """A SHA-256 as event details hold it: hex in groups of eight, dot-separated.

    Details refuse a run of ten digits (it could be an NHS number); a hex digest
    can hold one, groups of eight cannot (nor can a group spell a postcode).

    Example:
        >>> digest_text("0123456789abcdef" * 4)[:26]
        'sha256:01234567.89abcdef.0'
    """
    groups = [hex_digest[i : i + 8] for i in range(0, len(hex_digest), 8)]
    return "sha256:" + ".".join(groups)


def refuse_identifiers(where: str, text: str) -> None:
    """Raise if ``text`` looks like it carries an NHS number or a postcode."""
    if _NHS_LIKE.search(text) or _POSTCODE_LIKE.search(text):
        raise IdentifierInTheClear(
            f"{where} looks like it holds an NHS number or postcode; pseudonymise it first")


def _token(where: str, value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"{where} must be a short code (letters, digits, . _ : / # -)")
    refuse_identifiers(where, value)
    return value


@dataclass(frozen=True, slots=True)
class Agent:
    """Who acted: a staff member or system, by reference (never a patient)."""

    who: str  # e.g. "user/17" or "system/matcher"
    organisation: str  # organisation code
    role: str | None = None

    def __post_init__(self) -> None:
        _token("agent.who", self.who)
        _token("agent.organisation", self.organisation)
        if self.role is not None:
            _token("agent.role", self.role)

    def as_json(self) -> dict[str, JSONScalar]:
        return {"who": self.who, "organisation": self.organisation, "role": self.role}


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened, as a ledger leaf records it (FHIR AuditEvent's shape).

    Example:
        >>> e = AuditEvent(type="disclosure", action="R", outcome="success",
        ...     recorded=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC),
        ...     agent=Agent("user/7", "X26", "tracer"), what="trace-request/42",
        ...     purpose="immigration-enforcement", agreement="HO-NHSD-MoU", agreement_version="3",
        ...     subjects=(pseudonymise("k", "nhs_number", "9434765919"),))
        >>> e.entry(None, [o.commitment() for o in e.openings()])[:30]
        b'{"action":"R","agent":{"organi'
    """

    type: str  # what kind of step: "trace-request", "decision", "disclosure", ...
    action: Action
    outcome: Outcome
    recorded: dt.datetime  # when
    agent: Agent  # who
    what: str  # the object acted on, by reference: "trace-request/42"
    purpose: str | None = None  # why: the purpose of use code
    agreement: str | None = None  # the data-sharing agreement relied on
    agreement_version: str | None = None
    subjects: tuple[Pseudonym, ...] = ()  # the patients concerned, pseudonymised only
    details: Mapping[str, JSONScalar] = field(default_factory=dict)  # beside the log

    def __post_init__(self) -> None:
        _token("type", self.type)
        _token("what", self.what)
        if self.recorded.tzinfo is None:
            raise ValueError("recorded must be timezone-aware")
        for name in ("purpose", "agreement", "agreement_version"):
            value = getattr(self, name)
            if value is not None:
                _token(name, value)
        for subject in self.subjects:
            if not isinstance(subject, Pseudonym):
                raise IdentifierInTheClear("subjects must be Pseudonym values from pseudonymise()")
        if self.action not in _ACTIONS:
            raise ValueError(f"action must be one of {', '.join(_ACTIONS)}")
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(_OUTCOMES)}")
        for key, value in self.details.items():
            _token("details key", key)
            if isinstance(value, float):
                raise ValueError("details hold no floats; use an integer or a string")
            if not isinstance(value, str | int | None):  # bool is an int
                raise ValueError(f"details[{key!r}] must be a string, integer, boolean or null")
            if isinstance(value, str):
                refuse_identifiers(f"details[{key!r}]", value)

    # entry() and details_json() are on every append's path: the fields were checked
    # in __post_init__ (strings, scalars, no floats), so they skip canonical_json's walk.

    def details_json(self) -> bytes | None:
        """The canonical JSON of the details kept beside the log, or None."""
        return _dumps(dict(self.details)) if self.details else None

    def openings(self) -> tuple[SubjectOpening, ...]:
        """A fresh opening (new nonce) for each subject: call once per entry."""
        return tuple(SubjectOpening.fresh(subject) for subject in self.subjects)

    def entry(self, details_sha256: str | None,
              commitments: Sequence[bytes] = ()) -> bytes:
        """The leaf entry: canonical JSON of the event, binding the details by hash and
        each subject by its commitment (from :meth:`openings`), never its pseudonym."""
        if len(commitments) != len(self.subjects):
            raise ValueError("the leaf needs one commitment per subject")
        recorded = self.recorded.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return _dumps({
            "resourceType": "AuditEvent",
            "type": self.type,
            "action": self.action,
            "outcome": self.outcome,
            "recorded": recorded,
            "agent": self.agent.as_json(),
            "entity": {"what": self.what,
                       "subjects": [{"commitment_sha256": c.hex()} for c in commitments]},
            "purposeOfEvent": self.purpose,
            "agreement": {"id": self.agreement, "version": self.agreement_version},
            "details_sha256": details_sha256,
        })


def entry_facets(entry: bytes) -> tuple[str | None, int | None, str | None]:
    """What the explorer filters a leaf entry by: ``(type, recorded, agreement)``, the
    time as whole seconds since 1970 (UTC); Nones for an entry that does not parse.

    Example:
        >>> entry_facets(b'{"agreement":{"id":"tracing-mou","version":"3"},'
        ...              b'"recorded":"2026-11-23T09:00:00.5Z","type":"disclosure"}')
        ('disclosure', 1795424400, 'tracing-mou')
    """
    try:
        value = json.loads(entry)
        recorded = dt.datetime.fromisoformat(value["recorded"])
        agreement = (value.get("agreement") or {}).get("id")
        return str(value["type"]), int(recorded.timestamp()), agreement
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None, None

