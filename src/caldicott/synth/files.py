"""Reading a register CSV back as whole people, and writing query files (pure)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from caldicott.errors import NotAFile
from caldicott.register.records import PatientRecord, RecordError
from caldicott.register.sources import Observation, csv_observations, fhir_observations
from caldicott.synth.queries import QUERY_COLUMNS, Query


def read_people(path: Path) -> Iterator[PatientRecord]:
    """Stream the people of a register file: CSV, or FHIR (.json Bundle / .ndjson).

    The register's own readers do the parsing; the generator's files have no
    bad rows, so the first one stops the read, naming its row.

    Example:
        >>> import tempfile
        >>> from caldicott.register.csv_io import write_register_csv
        >>> from caldicott.synth.people import generate_people
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = write_register_csv(generate_people(3, seed=1), f)
        >>> len(list(read_people(Path(f.name))))
        3
    """
    path = Path(path)
    if path.suffix.lower() in (".json", ".ndjson"):
        yield from _checked(path, fhir_observations(path))
        return
    with path.open("rb") as binary:
        observations = csv_observations(binary)
        try:
            yield from _checked(path, observations)
        finally:
            observations.close()  # let the reader finish while the file is still open


def _checked(path: Path, observations: Iterator[Observation]) -> Iterator[PatientRecord]:
    for rows, record in observations:
        if isinstance(record, RecordError):
            raise NotAFile(f"{path.name}: row {rows[0]}: {record}")
        yield record


def write_queries_csv(queries: Iterable[Query], out: Path | IO[str]) -> int:
    """Write queries as CSV (columns :data:`QUERY_COLUMNS`); returns how many."""
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="") as handle:
            return write_queries_csv(queries, handle)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(QUERY_COLUMNS)
    count = 0
    for query in queries:
        writer.writerow([getattr(query, c) for c in QUERY_COLUMNS])
        count += 1
    return count


def read_queries_csv(path: Path) -> Iterator[Query]:
    """Read a query file written by :func:`write_queries_csv`."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield Query(**{c: row[c] for c in QUERY_COLUMNS})
