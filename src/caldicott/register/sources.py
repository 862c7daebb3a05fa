"""Reading import files as numbered observations of patients.

A source yields ``(row number, record or reason)``: the importer never sees a
file format. CSV rows are read here; FHIR Bundles and NDJSON through
:mod:`caldicott.register.fhir`. Text that is not UTF-8 is refused row by row;
a file that is not CSV or JSON at all is refused as a whole (one clear line).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from caldicott.errors import NotAFile
from caldicott.register.csv_io import RowReader, address_fields, new_patient, read_register_csv
from caldicott.register.records import (
    Address,
    NewPatient,
    PatientRecord,
    RecordError,
    check_record,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

# (the file's row numbers it came from, the record or why it was refused)
Observation = tuple[tuple[int, ...], PatientRecord | RecordError]
# The same, where a clean patient may come as table rows (see csv_observations).
CompactObservation = tuple[tuple[int, ...], PatientRecord | NewPatient | RecordError]
FORMATS = ("csv", "json", "ndjson")


class CountingReader(io.RawIOBase):
    """A binary reader that counts the bytes it has handed on (for progress bars)."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._on_read(len(data))
        return len(data)


def detect_format(path: Path) -> str:
    """The file's format, by its name and its first bytes.

    Raises:
        NotAFile: if the file is binary or neither CSV nor JSON.
    """
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise NotAFile(f"{path.name} is a binary file, not CSV, JSON or NDJSON")
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("ndjson", "jsonl"):
        return "ndjson"
    if suffix in FORMATS:
        return suffix
    stripped = head.lstrip()
    if stripped.startswith(b"{") and b"\n{" in stripped:
        return "ndjson"
    if stripped.startswith((b"{", b"[")):
        return "json"
    return "csv"


def _row_problem(values: list[str], width: int) -> str | None:
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return "row contains text that is not UTF-8"
    if len(values) > width:
        return "row has more fields than the header"
    return None


def csv_observations(binary: IO[bytes]) -> Generator[Observation, None, None]:
    """Observations from a register CSV.

    Consecutive rows of one patient (the same patient fields, another address)
    are one observation, so the patient's fields are parsed and merged once.
    """
    compact = compact_csv_observations(binary)
    try:
        for rows, item in compact:
            yield rows, item.record() if isinstance(item, NewPatient) else item
    finally:
        compact.close()


def compact_csv_observations(binary: IO[bytes], *, fast: bool = True
                             ) -> Generator[CompactObservation, None, None]:
    """:func:`csv_observations`, but a patient whose rows are clean and already in
    canonical form comes as a :class:`NewPatient` (table rows, no objects per
    field): the fast path of a bulk load. Every other patient, and every reason
    a row is refused, is exactly what the row-by-row reading gives (which
    ``fast=False`` forces, for comparison)."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        reader, rows = read_register_csv(text)
        yield from _compact(reader, rows, fast)
    except RecordError as error:
        raise NotAFile(str(error)) from None
    except csv.Error as error:
        raise NotAFile(f"not a readable CSV file: {error}") from None
    finally:
        text.detach()  # the caller owns (and closes) the underlying file


def csv_observations_in_child(path: Path, on_read: Callable[[int], None] | None = None,
                              batch: int = 2000) -> Generator[CompactObservation, None, None]:
    """:func:`compact_csv_observations` of ``path``, read and checked in a child
    process while this one writes: a bulk load uses both cores.

    The child sends batches of observations through a pipe (bounded, so memory
    stays flat); an error it meets (a file that is not CSV) is raised here.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_read_in_child, args=(str(path), sender, batch),
                            name="caldicott-csv-reader", daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload, read = receiver.recv()
            except EOFError:
                child.join()
                raise RuntimeError(f"the CSV reader process stopped unexpectedly "
                                   f"(exit code {child.exitcode})") from None
            if on_read is not None and read:
                on_read(read)
            if kind == "error":
                raise payload
            if kind == "done":
                return
            yield from payload
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _read_in_child(path: str, sender: Connection, batch: int) -> None:
    import signal

    # Ctrl-C is the parent's to handle: it rolls back, then stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    read = 0

    def count(size: int) -> None:
        nonlocal read
        read += size

    def send(kind: str, payload: object) -> None:
        nonlocal read
        sender.send((kind, payload, read))
        read = 0

    try:
        with open(path, "rb") as raw:
            observations: list[CompactObservation] = []
            for observation in compact_csv_observations(CountingReader(raw, count)):  # type: ignore[arg-type]
                observations.append(observation)
                if len(observations) >= batch:
                    send("batch", observations)
                    observations = []
            send("batch", observations)
        send("done", None)
    except Exception as error:  # handed to the parent, which raises it
        send("error", error)
    finally:
        sender.close()


def _compact(reader: RowReader, rows: Iterator[tuple[int, list[str]]], fast: bool
             ) -> Iterator[CompactObservation]:
    today = dt.date.today().isoformat()
    width, complete = reader.width, reader.complete
    person_fields, address_raw = reader._person, reader._address
    group: list[int] = []
    key: tuple[str, ...] = ()
    addresses: list[tuple[object, ...]] = []
    last_raw: tuple[str, ...] | None = None
    last_key: tuple[str, ...] = ()
    for number, values in rows:
        if not (complete and len(values) == width and "".join(values).isascii()):
            problem = _row_problem(values, width)
            if problem:
                yield (number,), RecordError(problem)
                continue
            # Missing columns point one past the header, at an empty string.
            values = values + [""] * (width + 1 - len(values))
        raw = person_fields(values)
        if raw != last_raw:
            last_raw, last_key = raw, tuple(map(str.strip, raw))
        try:
            address = address_fields(address_raw(values))
        except RecordError as error:
            yield (number,), error
            continue
        if last_key != key:
            if group:
                yield _finish(reader, tuple(group), key, addresses, today if fast else None)
            group, key, addresses = [], last_key, []
        group.append(number)
        if address is not None:
            addresses.append((key[0], len(addresses), *address))
    if group:
        yield _finish(reader, tuple(group), key, addresses, today if fast else None)


def _finish(reader: RowReader, rows: tuple[int, ...], key: tuple[str, ...],
            addresses: list[tuple[object, ...]], today: str | None) -> CompactObservation:
    patient = new_patient(key, addresses, today) if today else None
    if patient is not None:
        return rows, patient
    history = tuple(Address(a[2], a[3], a[4], a[5], _date(a[6]), _date(a[7]))  # type: ignore[arg-type]
                    for a in addresses)
    return _observation(reader, rows, key, history)


def _date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)  # type: ignore[arg-type]


def _observation(reader: RowReader, rows: tuple[int, ...], key: tuple[str, ...],
                 addresses: tuple[Address, ...]) -> Observation:
    try:
        return rows, check_record(reader.person(key, addresses))
    except RecordError as error:
        return rows, error


def fhir_observations(path: Path, fmt: str | None = None,
                      on_read: Callable[[int], None] | None = None) -> Iterator[Observation]:
    from caldicott.register.fhir import fhir_to_record, iter_fhir_patients

    def wrap(handle: IO[bytes]) -> IO[bytes]:
        if on_read is None:
            return handle
        return io.BufferedReader(CountingReader(handle, on_read))  # type: ignore[type-var]

    for number, resource in iter_fhir_patients(path, fmt, wrap):
        if isinstance(resource, Exception):
            yield (number,), RecordError(str(resource))
            continue
        try:
            yield (number,), check_record(fhir_to_record(resource))
        except RecordError as error:
            yield (number,), error
