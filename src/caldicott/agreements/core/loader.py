"""Reading pack files: TOML in, :class:`Agreement` out, or every problem with its line.

One file per agreement, holding its versions (``[[version]]``) and each
version's clauses (``[[version.clause]]``). A file with any problem is refused
whole; the other files still load, so a bad draft never takes the good packs
down with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from caldicott.agreements.core.cedar import check_clause, validate_decision_set
from caldicott.agreements.core.lines import LineMap
from caldicott.agreements.core.lines import Path as KeyPath
from caldicott.agreements.core.model import (
    Agreement,
    AgreementVersion,
    Charges,
    Clause,
    LegalBasis,
    Party,
    Purpose,
)
from caldicott.agreements.core.vocabulary import (
    FIELDS,
    ORGANISATION_KINDS,
    Approval,
    Channel,
    PartyRole,
)

PACKS_DIR = Path(__file__).resolve().parent.parent / "packs"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOP_KEYS = {"id", "title", "channels", "party", "what_if", "source", "version"}
_VERSION_KEYS = {
    "version",
    "effective_from",
    "effective_to",
    "suspended",
    "purpose",
    "purpose_clause",
    "public_interest_test",
    "countersignature",
    "legal_basis",
    "approval",
    "retention_years",
    "returns",
    "source",
    "charges",
    "clause",
}
_CLAUSE_KEYS = {"id", "text", "requires", "forbids", "rule", "release", "source"}
_CHARGE_KEYS = {"per_minute_pence", "per_hour_pence", "note"}
_PARTY_KEYS = {"role", "kind", "code", "name"}
_PURPOSE_KEYS = {"code", "text"}
_LEGAL_KEYS = {
    "lawful_basis",
    "gateway",
    "public_interest_document",
    "public_interest_approver",
    "review_date",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a pack file, where it is and what it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class PackSet:
    """The agreements that loaded, and the problems of the files that did not."""

    agreements: dict[str, Agreement] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Head:
    """What every version of one file shares."""

    id: str
    title: str
    channels: tuple[Channel, ...]
    parties: tuple[Party, ...]
    what_if: bool


class _Reader:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = LineMap(text)
        self.problems: list[Problem] = []

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.file, self.lines.line_of(path), message))

    def keys(self, table: dict[str, Any], allowed: set[str], path: KeyPath) -> None:
        for key in sorted(set(table) - allowed):
            self.problem((*path, key), f"unknown key {key!r}")

    def text(self, table: dict[str, Any], key: str, path: KeyPath, *, required: bool = True) -> str:
        value = table.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem((*path, key), f"{key!r} must be non-empty text")
            return ""
        return value.strip()

    def strings(self, table: dict[str, Any], key: str, path: KeyPath) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem((*path, key), f"{key!r} must be a list of text")
            return ()
        return tuple(value)

    def date(
        self, table: dict[str, Any], key: str, path: KeyPath, *, required: bool
    ) -> dt.date | None:
        value = table.get(key)
        if value is None:
            if required:
                self.problem(path, f"missing {key!r}")
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        self.problem((*path, key), f"{key!r} must be a date like 2017-01-01")
        return None

    def pence(self, table: dict[str, Any], key: str, path: KeyPath) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem((*path, key), f"{key!r} is money: a whole number of pence, e.g. 80")
            return None
        return value

    def channels(self, table: dict[str, Any], path: KeyPath) -> tuple[Channel, ...]:
        names = self.strings(table, "channels", path)
        known = {c.value for c in Channel}
        for bad in [n for n in names if n not in known]:
            self.problem(
                (*path, "channels"), f"unknown channel {bad!r} (known: {', '.join(sorted(known))})"
            )
        if not names:
            self.problem(path, "an agreement names at least one channel")
        return tuple(Channel(n) for n in names if n in known)

    def clause(self, table: dict[str, Any], path: KeyPath) -> Clause | None:
        self.keys(table, _CLAUSE_KEYS, path)
        clause_id = table.get("id")
        if not isinstance(clause_id, str) or not _ID.match(clause_id):
            self.problem((*path, "id"), "a clause needs an id of letters, digits, '.', '-' or '_'")
            return None
        if not isinstance(table.get("text"), str) or not table["text"].strip():
            self.problem(
                (*path, "text") if "text" in table else path, f"clause {clause_id} has no text"
            )
            return None
        if "requires" in table and "forbids" in table:
            self.problem(
                (*path, "forbids"), f"clause {clause_id} both requires and forbids; split it"
            )
        release = None
        if "release" in table:
            release = self.strings(table, "release", path)
            for bad in [f for f in release if f not in FIELDS]:
                self.problem(
                    (*path, "release"), f"unknown field name {bad!r} in clause {clause_id}"
                )
            if not release:
                self.problem(
                    (*path, "release"), f"clause {clause_id} releases no field; drop the key"
                )
        return Clause(
            id=clause_id,
            text=" ".join(table["text"].split()),
            requires=self._expression(table, "requires", path),
            forbids=self._expression(table, "forbids", path),
            rule=table.get("rule") if isinstance(table.get("rule"), str) else None,
            release=release or None,
            source=self.text(table, "source", path, required=False),
        )

    def flag(self, table: dict[str, Any], key: str, path: KeyPath, *, required: bool) -> bool:
        value = table.get(key)
        if value is None and not required:
            return False
        if value is None:
            self.problem(path, f"missing {key!r}: say {key} = true or false")
            return False
        if not isinstance(value, bool):
            self.problem((*path, key) if key in table else path, f"{key!r} must be true or false")
            return False
        return value

    def tables(self, table: dict[str, Any], key: str, path: KeyPath) -> list[dict[str, Any]]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem((*path, key), f"{key!r} must be written as [[{key}]] tables")
            return []
        return value

    def party(self, table: dict[str, Any], path: KeyPath) -> Party | None:
        self.keys(table, _PARTY_KEYS, path)
        role, kind, code = table.get("role"), table.get("kind"), table.get("code")
        roles = {r.value for r in PartyRole}
        if role not in roles:
            self.problem((*path, "role") if "role" in table else path,
                         f"a party's role is one of {', '.join(sorted(roles))}, not {role!r}")
            return None
        if kind not in ORGANISATION_KINDS:
            self.problem((*path, "kind") if "kind" in table else path,
                         f"unknown organisation kind {kind!r} "
                         f"(known: {', '.join(sorted(ORGANISATION_KINDS))})")
            return None
        if code is not None and (not isinstance(code, str) or not _ID.match(code)):
            self.problem((*path, "code"), "a party's code is an organisation code such as HO-IE")
            return None
        name = self.text(table, "name", path, required=False)
        return Party(PartyRole(role), kind, code, name)

    def purpose(self, table: dict[str, Any], path: KeyPath) -> Purpose | None:
        self.keys(table, _PURPOSE_KEYS, path)
        code = table.get("code")
        if not isinstance(code, str) or not _ID.match(code):
            self.problem((*path, "code") if "code" in table else path,
                         "a purpose needs a code of letters, digits, '.', '-' or '_'")
            return None
        text = self.text(table, "text", path)
        return Purpose(code, " ".join(text.split())) if text else None

    def legal_basis(self, table: dict[str, Any], name: str, path: KeyPath) -> LegalBasis:
        """The version's legal basis; every part of it is required."""
        legal = table.get("legal_basis")
        where = (*path, "legal_basis")
        if not isinstance(legal, dict):
            self.problem(path, f"version {name} states no legal basis: add [version.legal_basis] "
                               "with lawful_basis, gateway, public_interest_document, "
                               "public_interest_approver and review_date")
            return LegalBasis()
        self.keys(legal, _LEGAL_KEYS, where)
        lawful = self.strings(legal, "lawful_basis", where)
        if not lawful or not all(b.strip() for b in lawful):
            self.problem((*where, "lawful_basis") if "lawful_basis" in legal else where,
                         f"version {name} states no lawful basis ('lawful_basis')")
        gateway, document, approver = (
            " ".join(self.text(legal, key, where).split())
            for key in ("gateway", "public_interest_document", "public_interest_approver")
        )
        review = self.date(legal, "review_date", where, required=True)
        return LegalBasis(
            tuple(" ".join(b.split()) for b in lawful), gateway, document, approver, review
        )

    def _expression(self, table: dict[str, Any], key: str, path: KeyPath) -> str | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.problem((*path, key), f"{key!r} must be a Cedar condition")
            return None
        return value.strip()


def _read_version(
    reader: _Reader, head: _Head, table: dict[str, Any], path: KeyPath
) -> AgreementVersion | None:
    reader.keys(table, _VERSION_KEYS, path)
    name = table.get("version")
    if not isinstance(name, str) or not _ID.match(name):
        reader.problem((*path, "version"), 'a version needs a name such as "1" or "2018-05"')
        return None
    start = reader.date(table, "effective_from", path, required=True)
    end = reader.date(table, "effective_to", path, required=False)
    if start and end and end <= start:
        reader.problem((*path, "effective_to"), f"version {name} ends before it starts")
    approval = table.get("approval", "none")
    if approval not in {a.value for a in Approval}:
        reader.problem((*path, "approval"), f"unknown approval {approval!r}")
        approval = "none"
    charges_table = table.get("charges", {})
    reader.keys(charges_table, _CHARGE_KEYS, (*path, "charges"))
    charges = Charges(
        reader.pence(charges_table, "per_minute_pence", (*path, "charges")),
        reader.pence(charges_table, "per_hour_pence", (*path, "charges")),
        str(charges_table.get("note", "")),
    )
    clauses = [
        reader.clause(c, (*path, "clause", i)) for i, c in enumerate(table.get("clause", []))
    ]
    purposes = [
        reader.purpose(p, (*path, "purpose", i))
        for i, p in enumerate(reader.tables(table, "purpose", path))
    ]
    countersignature = reader.text(table, "countersignature", path, required=False)
    retention = table.get("retention_years")
    if retention is not None and (isinstance(retention, bool) or not isinstance(retention, int)):
        reader.problem((*path, "retention_years"), "'retention_years' must be a whole number")
        retention = None
    if start is None:
        return None
    version = AgreementVersion(
        agreement=head.id,
        title=head.title,
        channels=head.channels,
        parties=head.parties,
        version=name,
        effective_from=start,
        effective_to=end,
        suspended=reader.flag(table, "suspended", path, required=False),
        purposes=tuple(p for p in purposes if p is not None),
        approval=Approval(approval),
        retention_years=retention,
        charges=charges,
        clauses=tuple(c for c in clauses if c is not None),
        returns=reader.strings(table, "returns", path),
        source=reader.text(table, "source", path, required=False),
        purpose_clause=reader.text(table, "purpose_clause", path, required=False),
        public_interest_test=reader.flag(table, "public_interest_test", path, required=True),
        countersignature=countersignature,
        legal_basis=reader.legal_basis(table, name, path),
        what_if=head.what_if,
    )
    _check_clauses(reader, version, path)
    _check_purposes(reader, version, path)
    return replace(version, content_hash=version.compute_hash())


def _check_purposes(reader: _Reader, version: AgreementVersion, path: KeyPath) -> None:
    codes = [p.code for p in version.purposes]
    for index, code in enumerate(codes):
        if codes.index(code) != index:
            reader.problem((*path, "purpose", index, "code"),
                           f"purpose {code} appears twice in version {version.version}")
    clause_ids = {c.id for c in version.clauses}
    if version.purposes and not version.purpose_clause:
        reader.problem(path, f"version {version.version} lists purposes but names no "
                             "'purpose_clause' to quote when a request's purpose is not one")
    elif version.purpose_clause and version.purpose_clause not in clause_ids:
        reader.problem((*path, "purpose_clause"),
                       f"purpose_clause {version.purpose_clause} is not a clause of version "
                       f"{version.version}")
    elif version.purpose_clause and not version.purposes:
        reader.problem((*path, "purpose_clause"),
                       f"version {version.version} names a purpose_clause but lists no purpose")


def _check_clauses(reader: _Reader, version: AgreementVersion, path: KeyPath) -> None:
    seen: set[str] = set()
    for index, clause in enumerate(version.clauses):
        where = (*path, "clause", index)
        if clause.id in seen:
            reader.problem(
                (*where, "id"), f"clause id {clause.id} appears twice in version {version.version}"
            )
        seen.add(clause.id)
        error = check_clause(version, clause)
        if error:
            key = (
                "forbids"
                if clause.forbids is not None
                else ("requires" if clause.requires else "release")
            )
            reader.problem((*where, key), error)
    for bad in [f for f in version.returns if f not in FIELDS]:
        reader.problem((*path, "returns"), f"unknown field name {bad!r}")
    if not version.rules and not any(c.forbids for c in version.clauses):
        reader.problem(
            path,
            f"version {version.version} permits nothing and says no why: "
            "add a clause with 'forbids' in the agreement's words",
        )
    if not reader.problems:
        for message in validate_decision_set(version):
            reader.problem(path, f"version {version.version}: {message}")


def _check_overlaps(reader: _Reader, versions: list[tuple[int, AgreementVersion]]) -> None:
    ordered = sorted(versions, key=lambda item: item[1].effective_from)
    for (_, earlier), (index, later) in itertools.pairwise(ordered):
        if earlier.effective_to is None or later.effective_from < earlier.effective_to:
            until = earlier.effective_to.isoformat() if earlier.effective_to else "open-ended"
            reader.problem(
                ("version", index, "effective_from"),
                f"version {later.version} (from {later.effective_from.isoformat()}) overlaps "
                f"version {earlier.version} ({earlier.effective_from.isoformat()} to {until})",
            )
    names = [v.version for _, v in versions]
    for index, version in versions:
        if names.count(version.version) > 1:
            reader.problem(
                ("version", index, "version"), f"version name {version.version} is used twice"
            )


def _read_parties(reader: _Reader, document: dict[str, Any]) -> tuple[Party, ...]:
    found = [
        reader.party(p, ("party", i)) for i, p in enumerate(reader.tables(document, "party", ()))
    ]
    parties = tuple(p for p in found if p is not None)
    if not document.get("party"):
        reader.problem((), "an agreement names its parties: add [[party]] tables (role, kind)")
    elif len(parties) == len(found) and not document.get("what_if") and not any(
        p.role is PartyRole.REQUESTER for p in parties
    ):
        reader.problem(("party", 0), "an agreement in force for requests names a party with "
                                     'role = "requester" (or is what_if = true)')
    return parties


def read_agreement(text: str, file: str) -> tuple[Agreement | None, list[Problem]]:
    """Parse one pack file's text; an agreement only if it has no problem at all."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        line = int(found.group(1)) if found else 1
        return None, [Problem(file, line, f"not valid TOML: {error}")]
    reader = _Reader(file, text)
    reader.keys(document, _TOP_KEYS, ())
    agreement_id = document.get("id")
    if not isinstance(agreement_id, str) or not _ID.match(agreement_id):
        reader.problem(("id",), "an agreement needs an id of letters, digits, '.', '-' or '_'")
        return None, reader.problems
    head = _Head(
        agreement_id,
        reader.text(document, "title", ()),
        reader.channels(document, ()),
        _read_parties(reader, document),
        reader.flag(document, "what_if", (), required=False),
    )
    versions = []
    for index, table in enumerate(document.get("version", [])):
        version = _read_version(reader, head, table, ("version", index))
        if version is not None:
            versions.append((index, version))
    if not document.get("version"):
        reader.problem((), "an agreement has at least one [[version]]")
    _check_overlaps(reader, versions)
    if reader.problems:
        return None, sorted(reader.problems, key=lambda problem: problem.line)
    ordered = tuple(v for _, v in sorted(versions, key=lambda item: item[1].effective_from))
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    agreement = Agreement(
        agreement_id, head.title, head.channels, ordered, file, head.parties, head.what_if, sha256
    )
    return agreement, []


def check_file(path: Path | str) -> list[Problem]:
    """Every problem in one pack file, each with the file and line (``caldicott agreement check``).

    Example:
        >>> check_file(PACKS_DIR / "tracing-mou.toml")
        []
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Problem(str(path), 1, f"cannot read: {error}")]
    return read_agreement(text, str(path))[1]


def _read_file(file: Path) -> tuple[Agreement | None, list[Problem]]:
    try:
        text = file.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(str(file), 1, f"cannot read: {error}")]
    return read_agreement(text, str(file))


def load_packs(*directories: Path | str) -> PackSet:
    """Load every ``*.toml`` pack: the shipped ones, then any in ``directories``.

    Files with problems are left out and their problems reported; an agreement
    id seen twice keeps the first and reports the second.

    Example:
        >>> sorted(load_packs().agreements)[:2]
        ['checking-service-mou', 'court-order']
    """
    packs = PackSet()
    for directory in (PACKS_DIR, *map(Path, directories)):
        shipped = Path(directory).resolve() == PACKS_DIR
        for file in sorted(Path(directory).glob("*.toml")):
            agreement, problems = _read_file(file)
            packs.problems.extend(problems)
            if agreement is None:
                continue
            agreement = replace(agreement, shipped=shipped)
            if agreement.id in packs.agreements:
                packs.problems.append(
                    Problem(
                        str(file),
                        1,
                        f"agreement id {agreement.id} is already loaded "
                        f"from {packs.agreements[agreement.id].source_file}",
                    )
                )
                continue
            packs.agreements[agreement.id] = agreement
    return packs
