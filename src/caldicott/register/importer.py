"""The import job: a file in, a report out, with a progress bar.

The edge of the import use case: it opens the file, owns the transaction (one
for the whole file, so a crash or a ``--strict`` refusal leaves the register as
it was) and draws progress by bytes read.

A register load (millions of rows) takes the fast way through, with the same
result as row by row: clean new patients go straight to table rows
(:func:`caldicott.register.sources.compact_csv_observations`); a large CSV is
read and checked in a second process while this one writes; into an empty
register the indexes (and PostgreSQL's foreign keys) are rebuilt once at the end
(:func:`caldicott.register.repository.indexes_built_after`), inside the same
transaction, so a failed load still leaves the register as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy import Engine, text

from caldicott.db import make_session_factory
from caldicott.register import repository
from caldicott.register.service import ImportReport, import_observations, write_rejects
from caldicott.register.sources import (
    CompactObservation,
    CountingReader,
    compact_csv_observations,
    csv_observations_in_child,
    detect_format,
    fhir_observations,
)
from caldicott.service.context import open_database
from caldicott.settings import Settings


def _progress(show: bool) -> Progress:
    return Progress(TextColumn("importing"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), disable=not show,
                    transient=True)


# From this size a CSV is read and checked in a second process while this one
# writes (starting one costs a fraction of a second; a register load saves minutes).
PARALLEL_FROM_BYTES = 16 * 2**20


def run_import(path: Path, *, strict: bool = False, rejects_path: Path | None = None,
               settings: Settings | None = None, show_progress: bool = True,
               parallel: bool | None = None) -> ImportReport:
    """Import ``path`` into the register and write the rejects file.

    ``parallel`` reads a CSV in a second process (default: when it is large).
    """
    fmt = detect_format(path)
    if parallel is None:
        parallel = path.stat().st_size >= PARALLEL_FROM_BYTES
    _, engine = open_database(settings)
    # Millions of small objects live briefly and form no cycles: the cyclic
    # garbage collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = _import(engine, path, fmt, strict, show_progress, parallel)
    finally:
        if collecting:
            gc.enable()
        engine.dispose()
    if rejects_path is not None and report.rejects:
        write_rejects(report, rejects_path)
    return report


def _import(engine: Engine, path: Path, fmt: str, strict: bool,
            show_progress: bool, parallel: bool) -> ImportReport:
    with _progress(show_progress) as progress, path.open("rb") as raw:
        task = progress.add_task("import", total=path.stat().st_size)

        def advance(size: int) -> None:
            progress.advance(task, size)

        observations: Iterator[CompactObservation]
        if fmt != "csv":
            observations = fhir_observations(path, fmt, advance)
        elif parallel:
            observations = csv_observations_in_child(path, advance)
        else:
            observations = compact_csv_observations(CountingReader(raw, advance))  # type: ignore[arg-type]
        with make_session_factory(engine)() as session:
            transaction = session.begin()
            try:
                with repository.indexes_built_after(session) as into_empty:
                    if engine.dialect.name == "sqlite":
                        # A bigger page cache for this connection: pages of a large
                        # register stay in memory while it loads (bounded: 200 MB;
                        # at 1M people a 64 MB cache saved 140 MB but cost a third
                        # more time, spilling pages).
                        session.execute(text("PRAGMA cache_size=-200000"))
                    report = import_observations(session, observations, strict=strict,
                                                 into_empty=into_empty)
            except BaseException:
                transaction.rollback()
                raise
            finally:
                getattr(observations, "close", lambda: None)()  # stops a reader process
            if report.refused:
                transaction.rollback()
            else:
                transaction.commit()
    return report
