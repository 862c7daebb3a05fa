"""``caldicott checking``: memoranda, one check from the command line, the stand-in service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

app = typer.Typer(name="checking", no_args_is_help=True,
                  help="The Home Office immigration-status checking service (IECAS).")


@app.command("sign")
def sign(organisation: str = typer.Argument(..., help="Organisation code"),
         on: dt.datetime = typer.Option(..., "--on", formats=["%Y-%m-%d"],
                                        help="The day it signed its memorandum"),
         reference: str = typer.Option("", help="The memorandum's reference")) -> None:
    """Record that an organisation signed its memorandum with the Home Office."""
    from caldicott.access.cli_support import command_session
    from caldicott.checking.service import sign_memorandum

    with command_session() as session:
        row = sign_memorandum(session, organisation, on.date(), reference)
        typer.echo(f"{organisation.upper()} signed memorandum {row.reference} on "
                   f"{row.signed_on.isoformat()}")


@app.command("memoranda")
def memoranda() -> None:
    """List the organisations that signed, and when."""
    from caldicott.access.cli_support import command_session
    from caldicott.checking.service import memoranda as signed

    with command_session() as session:
        rows = signed(session)
        typer.echo(f"{'SIGNED':<11} {'CODE':<8} {'KIND':<20} NAME")
        for org, memo in rows:
            typer.echo(f"{memo.signed_on.isoformat():<11} {org.code:<8} {org.kind:<20} "
                       f"{org.name}")
        typer.echo(f"{len(rows)} organisations")


@app.command("check")
def check(organisation: str = typer.Option(..., "--org", help="Asking organisation's code"),
          given: str = typer.Option(..., help="Given name"),
          family: str = typer.Option(..., help="Family name"),
          birth_date: dt.datetime = typer.Option(..., formats=["%Y-%m-%d"]),
          nationality: str = typer.Option(...),
          nhs_number: str | None = typer.Option(None, help="Kept here, never sent"),
          purpose: str = typer.Option("entitlement_to_free_care")) -> None:
    """Run one status check now (through CALDICOTT_CHECKING_URL) and print the answer."""
    from caldicott.checking.connector import connector_for
    from caldicott.checking.core.answers import Person
    from caldicott.checking.flow import run_check
    from caldicott.checking.service import CheckForm, Requester
    from caldicott.db import make_engine, unit_of_work
    from caldicott.settings import Settings

    settings = Settings()
    engine = make_engine(settings)
    try:
        row, _ = run_check(lambda: unit_of_work(engine), settings, connector_for(settings),
                           Requester(organisation.upper(), "system/cli", "operator"),
                           CheckForm(Person(given, family, birth_date.date(), nationality),
                                     purpose, nhs_number), as_of=dt.date.today())
    finally:
        engine.dispose()
    typer.echo(f"check #{row.id}: {row.immigration_status} ({row.evidence}); "
               f"{row.consequence}: {row.ground}")
    typer.echo(f"sent: {', '.join(row.fields_sent)}; the Home Office also learnt that "
               f"{organisation.upper()} asked, at {row.disclosed_at}")


@app.command("counterparty")
def counterparty(port: int = typer.Option(8700, help="Port on 127.0.0.1"),
                 latency_ms: int = typer.Option(0, help="Delay before each answer"),
                 error_rate: float = typer.Option(0.0, help="Share of checks answered 500"),
                 outage: bool = typer.Option(False, help="Answer every check 503"),
                 call_minutes: float = typer.Option(8.0, min=0, max=600,
                                                    help="Each call's length, as the "
                                                    "service reports it (no real wait)"),
                 record: Path | None = typer.Option(None, help="Append each body received "
                                                    "to this JSONL file")) -> None:
    """Run the stand-in Home Office checking service on loopback (for tests and demos)."""
    from caldicott.checking.counterparty import Behaviour, run

    run(port, Behaviour(latency_ms, error_rate, outage, call_minutes=call_minutes),
        record)
