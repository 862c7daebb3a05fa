"""``caldicott trace-request``: finish interrupted or queued requests; count them by status."""

from __future__ import annotations

import datetime as dt

import typer

app = typer.Typer(name="trace-request", no_args_is_help=True,
                  help="Trace requests: finish interrupted or queued ones, count by status.")


@app.command("process")
def process(
    as_of: str = typer.Option("", "--as-of", help="Decide queued requests as of this date "
                              "(YYYY-MM-DD; default today)"),
) -> None:
    """Check and decide every request left received, trace those approved for tracing (after
    a crash), and decide queued ones whose agreement has resumed or been withdrawn."""
    from caldicott.db import make_session_factory
    from caldicott.errors import InvalidInput
    from caldicott.requests.worker import process_pending
    from caldicott.service.context import open_database

    try:
        today = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InvalidInput(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    settings, engine = open_database()
    counts = process_pending(make_session_factory(engine), settings, today=today)
    _print(counts)


@app.command("status")
def status() -> None:
    """How many trace requests are in each status, and how many releases told the
    requester something new (an address different from the one they supplied)."""
    from caldicott.db import make_session_factory
    from caldicott.requests.repository import count_by_status, count_new_information
    from caldicott.service.context import open_database

    _, engine = open_database()
    with make_session_factory(engine)() as session:
        _print(count_by_status(session))
        new, released = count_new_information(session)
    if released:
        typer.echo(f"releases that gave the requester an address they did not have: "
                   f"{new} of {released}")


@app.command("guardian-report")
def guardian_report(
    as_of: str = typer.Option("2018-05-09", "--as-of", help="Decide again as of this date "
                              "(YYYY-MM-DD)"),
    reading: str = typer.Option("tracing-mou-narrowed", "--reading",
                                help="The agreement to decide again under"),
) -> None:
    """Disclosures already made to the Home Office, by channel, and how many were about people
    whose tracing would now be refused (counted, never named)."""
    from caldicott.db import make_session_factory
    from caldicott.errors import InvalidInput
    from caldicott.requests.reports import guardian_report as report_of
    from caldicott.service.context import open_database

    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise InvalidInput(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    _, engine = open_database()
    with make_session_factory(engine)() as session:
        for line in report_of(session, day, reading).lines():
            typer.echo(line)


def _print(counts: dict[str, int]) -> None:
    if not counts:
        typer.echo("no trace requests")
    for name, number in sorted(counts.items()):
        typer.echo(f"{name:<17} {number:>8}")
