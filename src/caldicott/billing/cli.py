"""``caldicott billing``: bills per NHS financial year, statements, credit notes."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(name="billing", no_args_is_help=True,
                  help="Bills for the checking service, per organisation and financial year.")


@app.command("report")
def report(year: str = typer.Option(..., help="NHS financial year, e.g. 2017/18"),
           organisation: str | None = typer.Option(None, "--org", help="One organisation"),
           by_month: bool = typer.Option(False, "--by-month", help="One line per month")) -> None:
    """Print the bills of a financial year, and its total."""
    from rich.console import Console
    from rich.table import Table

    from caldicott.access.cli_support import command_session
    from caldicott.billing.core.bills import pounds
    from caldicott.billing.service import bills

    with command_session() as session:
        rows = bills(session, year, organisation, by_month=by_month)
    table = Table(title=f"Checking service bills, {year}")
    for name in ("organisation", "period", "calls", "call minutes", "calls £", "officer hours",
                 "officer £", "credited £", "total £"):
        table.add_column(name, justify="left" if name in ("organisation", "period") else "right")
    for b in rows:
        table.add_row(b.organisation, b.period, f"{b.calls:,}", f"{b.call_seconds / 60:,.1f}",
                      pounds(b.call_pence), f"{b.officer_seconds / 3600:,.2f}",
                      pounds(b.officer_pence), pounds(b.credited_pence), pounds(b.total_pence))
    calls, total = sum(b.calls for b in rows), sum(b.total_pence for b in rows)
    table.add_row("ALL", year, f"{calls:,}", "", "", "", "", "", pounds(total))
    Console(width=140).print(table)


@app.command("statement")
def statement(organisation: str = typer.Option(..., "--org"),
              year: str = typer.Option(..., help="e.g. 2017/18"),
              out: Path | None = typer.Option(None, help="Write the CSV here (default: print)")
              ) -> None:
    """An organisation's statement for a year as CSV."""
    from caldicott.access.cli_support import command_session
    from caldicott.billing.service import statement_csv

    with command_session() as session:
        text = statement_csv(session, organisation, year)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"statement written to {out}")


@app.command("credit")
def credit(event_id: str = typer.Argument(..., help="The usage event, e.g. call/<key>"),
           reason: str = typer.Option(..., help="Why (a wrong answer, a disputed call)"),
           by: str = typer.Option("system/cli", help="Who issues it")) -> None:
    """Issue a credit note for a disputed call (credited in full)."""
    from caldicott.access.cli_support import command_session
    from caldicott.billing.core.bills import pounds
    from caldicott.billing.service import issue_credit_note

    with command_session() as session:
        row = issue_credit_note(session, event_id, reason, by)
        typer.echo(f"credit note #{row.id}: {pounds(row.amount_pence)} for {event_id}")
