"""Use cases of the patient register: import and export.

Import streams a file in batches: each batch's NHS numbers are looked up, each
observation is merged into its patient (:mod:`caldicott.register.merge`), and
only what changed is written. Invalid rows go to a rejects file with their row
number and reason; valid rows go in. Under ``strict`` one bad row refuses the
whole file and the register is left as it was (the caller rolls back).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from caldicott.db import utcnow
from caldicott.register import repository
from caldicott.register.merge import merge_record
from caldicott.register.records import NewPatient, PatientRecord, RecordError
from caldicott.register.sources import CompactObservation

BATCH_SIZE = 5000


@dataclass
class ImportReport:
    """What an import did, for the summary line and the rejects file."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    refused: bool = False  # strict mode refused the whole file

    @property
    def accepted(self) -> int:
        return self.rows - len(self.rejects)

    def summary(self) -> str:
        if self.refused:
            return (f"refused the whole file (--strict): {len(self.rejects)} of {self.rows} "
                    "rows are invalid; the register is unchanged")
        line = (f"imported {self.accepted} of {self.rows} rows: {self.created} new patients, "
                f"{self.updated} updated, {self.unchanged} unchanged")
        return line + (f"; rejected {len(self.rejects)} rows" if self.rejects else "")


def _batches(observations: Iterable[CompactObservation], size: int
             ) -> Iterator[list[CompactObservation]]:
    iterator = iter(observations)
    while batch := list(islice(iterator, size)):
        yield batch


class _Written:
    """The NHS numbers an import has written, as a bitmap of their hashes (8 MB
    however many): it may say yes for a number it has not written (a lookup then
    finds nothing), never no for one it has. A set of a million numbers would
    take ten times the memory."""

    def __init__(self, bits: int = 1 << 26) -> None:
        self._bits = bytearray(bits >> 3)
        self._mask = bits - 1

    def add(self, number: str) -> None:
        spot = hash(number) & self._mask
        self._bits[spot >> 3] |= 1 << (spot & 7)

    def __contains__(self, number: str) -> bool:
        spot = hash(number) & self._mask
        return bool(self._bits[spot >> 3] & (1 << (spot & 7)))


def _merge_batch(session: Session, batch: Sequence[CompactObservation], report: ImportReport,
                 today: dt.date, written: _Written | None
                 ) -> tuple[list[PatientRecord | NewPatient], list[PatientRecord]]:
    numbers = {r.nhs_number for _, r in batch if not isinstance(r, RecordError)}
    existing = repository.load_records(
        session, numbers if written is None else [n for n in numbers if n in written])
    state: dict[str, PatientRecord | NewPatient] = dict(existing)
    for rows, item in batch:
        report.rows += len(rows)
        if isinstance(item, RecordError):
            report.rejects.extend((number, "", str(item)) for number in rows)
            continue
        before = state.get(item.nhs_number)
        if isinstance(item, NewPatient):
            if before is None:  # new to the register: nothing to merge
                state[item.nhs_number] = item
                continue
            item = item.record()
        if isinstance(before, NewPatient):
            before = state[item.nhs_number] = before.record()
        try:
            merged = merge_record(before, item, today)
        except RecordError as error:
            report.rejects.extend((number, item.nhs_number, str(error)) for number in rows)
            continue
        if merged == before:
            report.unchanged += len(rows)
        state[item.nhs_number] = merged
    created = [r for n, r in state.items() if n not in existing]
    changed = [r for n, r in state.items()
               if n in existing and r != existing[n] and isinstance(r, PatientRecord)]
    return created, changed


def import_observations(session: Session, observations: Iterable[CompactObservation], *,
                        strict: bool = False, today: dt.date | None = None,
                        into_empty: bool = False) -> ImportReport:
    """Merge a stream of observations into the register (the caller owns the transaction).

    ``into_empty`` says the register held no patients when the transaction began
    and no one else can write to it meanwhile (the bulk load holds its tables):
    then only NHS numbers this import has already written are looked up.

    Example:
        >>> report = import_observations(session, csv_observations(open(path, "rb")))
        ... # doctest: +SKIP
    """
    report = ImportReport()
    today = today or dt.date.today()
    now = utcnow()
    written = _Written() if into_empty else None
    for batch in _batches(observations, BATCH_SIZE):
        created, changed = _merge_batch(session, batch, report, today, written)
        if written is not None:
            for record in created:
                written.add(record.nhs_number)
        report.created += len(created)
        report.updated += len(changed)
        if not (strict and report.rejects):
            repository.save_records(session, created, changed, now)
    report.refused = strict and bool(report.rejects)
    return report


def write_rejects(report: ImportReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "nhs_number", "reason"])
        writer.writerows(sorted(report.rejects))


def export_records(session: Session) -> Iterator[PatientRecord]:
    """Every patient in the register, in NHS-number order."""
    return repository.iter_records(session)


def write_export(session: Session, fmt: str, out: IO[str]) -> int:
    """Write the register as CSV or FHIR NDJSON; returns how many patients."""
    records = export_records(session)
    if fmt == "csv":
        from caldicott.register.csv_io import write_register_csv

        return write_register_csv(records, out)
    from caldicott.register.fhir import write_ndjson

    return write_ndjson(records, out)
