"""``caldicott org``: register and list organisations."""

from __future__ import annotations

import typer

app = typer.Typer(name="org", help="Organisations (parties to agreements, senders of requests).",
                  no_args_is_help=True)

_KINDS = ("nhs_trust, nhs_digital, home_office, police, nca (National Crime Agency), court, "
          "coroner, ccrc (Criminal Cases Review Commission), regulator (ICO, oversight "
          "committees), dhsc, local_authority, housing_association")


@app.command("add")
def add(
    code: str = typer.Argument(..., help="Short code, e.g. the ODS code (X26 for NHS Digital)"),
    name: str = typer.Option(..., "--name", help="Full name"),
    kind: str = typer.Option(..., "--kind", help=_KINDS),
) -> None:
    """Register an organisation."""
    from caldicott.access.cli_support import command_session
    from caldicott.orgs.service import add_organisation

    with command_session() as session:
        row = add_organisation(session, code, name, kind)
        typer.echo(f"organisation {row.code} added: {row.name} ({row.kind})")


@app.command("list")
def list_() -> None:
    """List organisations."""
    from caldicott.access.cli_support import command_session
    from caldicott.orgs.service import list_organisations

    with command_session() as session:
        rows = list_organisations(session)
        if not rows:
            typer.echo("no organisations yet; add one with `caldicott org add`")
            return
        typer.echo(f"{'CODE':<16} {'KIND':<20} NAME")
        for row in rows:
            typer.echo(f"{row.code:<16} {row.kind:<20} {row.name}")
