"""``caldicott register``: import and export the patient register."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

app = typer.Typer(name="register", help="The patient register: import and export.",
                  no_args_is_help=True)


@contextmanager
def _private_files() -> Iterator[None]:
    """Every file and folder made inside is its owner's alone (0600, 0700), whatever
    the umask: rejects and exports hold patients' names, dates of birth, addresses."""
    saved = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(saved)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV, FHIR Bundle (.json) or FHIR NDJSON (.ndjson)"),
    strict: bool = typer.Option(False, "--strict", help="Refuse the whole file if any row is bad"),
    rejects: Path | None = typer.Option(
        None, help="Where to write refused rows (default: FILE's name + .rejects.csv)"),
) -> None:
    """Import patients, upserting by NHS number and keeping address history."""
    from caldicott.db import private_file
    from caldicott.errors import InvalidInput
    from caldicott.register.importer import run_import

    if not file.is_file():
        raise InvalidInput(f"no such file: {file}")
    rejects = rejects or file.with_name(file.name + ".rejects.csv")
    if rejects.exists():
        private_file(rejects)  # an old one is rewritten in place: take others' access away
    with _private_files():
        report = run_import(file, strict=strict, rejects_path=rejects)
    typer.echo(report.summary())
    if report.rejects:
        typer.echo(f"rejected rows and reasons: {rejects}")
    if report.refused:
        raise typer.Exit(1)


@app.command("export")
def export(
    format: str = typer.Option("csv", "--format", help="csv or ndjson (FHIR Patient per line)"),
    out: Path | None = typer.Option(None, help="Output file (default: standard output)"),
) -> None:
    """Write the whole register out as CSV or FHIR NDJSON."""
    import sys

    from caldicott.db import make_session_factory, private_file
    from caldicott.errors import InvalidInput
    from caldicott.register.service import write_export
    from caldicott.service.context import open_database

    if format not in ("csv", "ndjson"):
        raise InvalidInput(f"--format must be csv or ndjson, not {format!r}")
    with _private_files():
        _, engine = open_database()
        if out is not None:
            private_file(out)  # 0600 before a single patient is written to it
    with make_session_factory(engine)() as session:
        if out is None:
            count = write_export(session, format, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = write_export(session, format, handle)
    typer.echo(f"exported {count} patients", err=True)
