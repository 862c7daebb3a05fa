"""``caldicott signatory``: the register of officers who may sign and countersign requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from caldicott.settings import Settings

app = typer.Typer(name="signatory", no_args_is_help=True,
                  help="Authorised signatories of each requesting organisation.")


@app.command("add")
def add(
    org: str = typer.Option(..., "--org", help="Organisation code (see `caldicott org list`)"),
    name: str = typer.Option(..., "--name", help="The officer's full name"),
    rank: str = typer.Option(..., "--rank", help="Rank or grade on the organisation's ladder, "
                             "e.g. inspector (police), HEO (Home Office)"),
    number: str = typer.Option(..., "--number", help="Staff or warrant number"),
    role: str = typer.Option("", "--role", help="Role or title (default: the rank as given)"),
    countersign: bool = typer.Option(False, "--countersign",
                                     help="The officer may countersign requests"),
    valid_from: str = typer.Option(..., "--from", help="First day they may sign (YYYY-MM-DD)"),
    valid_to: str = typer.Option("", "--to", help="Last day they may sign (YYYY-MM-DD)"),
) -> None:
    """Add an officer to an organisation's register (one ledger entry)."""
    from caldicott.signatories.service import CLI_OPERATOR, add_signatory

    first, last = _date("--from", valid_from), _date("--to", valid_to) if valid_to else None
    with _register() as (session, settings):
        row = add_signatory(session, settings, CLI_OPERATOR, organisation_code=org,
                            full_name=name, rank=rank, staff_number=number, valid_from=first,
                            valid_to=last, role_title=role or None, may_countersign=countersign)
        typer.echo(f"signatory {row.id} added to {row.organisation.code}: {row.staff_number} "
                   f"({row.rank}{', may countersign' if row.may_countersign else ''}), "
                   f"valid {_validity(row.valid_from, row.valid_to)}")


@app.command("list")
def list_(
    org: str = typer.Option("", "--org", help="Only this organisation's register"),
) -> None:
    """List the register of authorised signatories."""
    from caldicott.signatories.service import list_signatories

    with _register() as (session, _):
        rows = list_signatories(session, org or None)
        if not rows:
            typer.echo("no signatories yet; add one with `caldicott signatory add`")
            return
        typer.echo(f"{'ORG':<10} {'NUMBER':<12} {'RANK':<26} {'CS':<3} {'VALID':<25} NAME")
        for row in rows:
            typer.echo(f"{row.organisation.code:<10} {row.staff_number:<12} {row.rank:<26} "
                       f"{'yes' if row.may_countersign else 'no':<3} "
                       f"{_validity(row.valid_from, row.valid_to):<25} {row.full_name}")


@app.command("end")
def end(
    org: str = typer.Option(..., "--org", help="Organisation code"),
    number: str = typer.Option(..., "--number", help="Staff or warrant number"),
    on: str = typer.Option(..., "--on", help="Last day they may sign (YYYY-MM-DD)"),
) -> None:
    """End an officer's authority to sign (one ledger entry)."""
    from caldicott.signatories.service import CLI_OPERATOR, end_signatory

    last = _date("--on", on)
    with _register() as (session, settings):
        row = end_signatory(session, settings, CLI_OPERATOR, organisation_code=org,
                            staff_number=number, on=last)
        typer.echo(f"signatory {row.staff_number} of {row.organisation.code} may sign until "
                   f"{last.isoformat()}")


@contextmanager
def _register() -> Iterator[tuple[Session, Settings]]:
    """The migrated database in one transaction (committed on success), and its settings."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from caldicott.access.cli_support import DatabaseNotReady
    from caldicott.db import unit_of_work
    from caldicott.errors import Conflict
    from caldicott.service.context import open_database

    try:
        settings, engine = open_database()
    except OperationalError as error:
        first = str(error.orig or error).strip().splitlines()[0]
        raise DatabaseNotReady(f"cannot use the database: {first}") from None
    try:
        with unit_of_work(engine) as session:
            yield session, settings
    except IntegrityError:  # lost a race with another command adding the same number
        raise Conflict("that staff number was added to the register meanwhile") from None
    finally:
        engine.dispose()


def _date(option: str, value: str) -> dt.date:
    from caldicott.errors import InvalidInput

    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def _validity(valid_from: dt.date, valid_to: dt.date | None) -> str:
    return f"{valid_from.isoformat()} to {valid_to.isoformat() if valid_to else 'open'}"
