"""``caldicott ledger``: verify the log, write a signed checkpoint for an auditor, and
report every entry about one person."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(name="ledger", no_args_is_help=True,
                  help="The verifiable append-only ledger: verify, checkpoint, person.")


@app.command("verify")
def verify(
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint saved earlier: prove the log only grew since"),
) -> None:
    """Recompute the tree from the stored entries and check every signed checkpoint.

    Exits 1 and names the first bad index if anything was edited, deleted,
    reordered or inserted outside caldicott.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from caldicott.db import make_session_factory
    from caldicott.errors import InvalidInput
    from caldicott.ledger.repository import read_head
    from caldicott.ledger.verify import verify as run_verify
    from caldicott.service.context import open_database

    if checkpoint is not None and not checkpoint.is_file():
        raise InvalidInput(f"no such file: {checkpoint}")
    note = checkpoint.read_text(encoding="utf-8") if checkpoint else None
    settings, engine = open_database()
    console = Console(stderr=True)
    # One snapshot for the whole pass, so appends running meanwhile cannot look like tampering.
    # (REPEATABLE READ is a snapshot on PostgreSQL; SQLite's transactions already are one.)
    level = "SERIALIZABLE" if settings.is_sqlite else "REPEATABLE READ"
    snapshot = engine.execution_options(isolation_level=level)
    with make_session_factory(snapshot)() as session, session.begin(), Progress(
            "verifying", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, transient=True) as bar:
        task = bar.add_task("verify", total=read_head(session)[0])
        report = run_verify(session, settings, note,
                            progress=lambda done: bar.update(task, completed=done))
    for problem in report.problems:
        typer.echo(f"FAIL: {problem}", err=True)
    if not report.ok:
        where = "unknown" if report.first_bad_index is None else report.first_bad_index
        typer.echo(f"ledger verify failed; first bad index: {where}", err=True)
        raise typer.Exit(1)
    consistent = ("" if report.consistent_with is None
                  else f"; consistent with the saved checkpoint at size {report.consistent_with}")
    queued = ("" if not report.queued else
              f"; {report.queued} committed entries queued for the next integration round")
    typer.echo(f"ok: {report.tree_size} entries, root {report.root.hex()}, "
               f"{report.checkpoints_checked} signed checkpoints checked{consistent}{queued}")


@app.command("checkpoint")
def checkpoint(
    out: Path | None = typer.Option(None, "--out", help="Write the signed note here "
                                    "(default: standard output)"),
) -> None:
    """Sign the current tree size and root (C2SP signed note) for an auditor to keep."""
    from caldicott.db import unit_of_work
    from caldicott.ledger.service import checkpoint as sign
    from caldicott.service.context import open_database

    settings, engine = open_database()
    with unit_of_work(engine) as session:
        signed = sign(session, settings)
    if out is None:
        typer.echo(signed.note, nl=False)
    else:
        out.write_text(signed.note, encoding="utf-8")
        typer.echo(f"checkpoint at size {signed.tree_size} written to {out}", err=True)


@app.command("person")
def person_report(
    nhs_number: str = typer.Argument(..., help="The patient's NHS number, or - to read it "
                                     "from standard input (kept out of the process list)"),
) -> None:
    """Every ledger entry about one person, by channel, through the private keyed index.

    Lists each entry's date, type, agreement and version, the organisation that
    asked (where known) and the request it belongs to. The lookup is itself
    recorded in the ledger.
    """
    import sys

    from caldicott.db import unit_of_work
    from caldicott.ledger.person import person_report as report_of
    from caldicott.service.context import open_database

    number = sys.stdin.readline().strip() if nhs_number == "-" else nhs_number
    settings, engine = open_database()
    with unit_of_work(engine) as session:
        report = report_of(session, settings, None, number)
    if not report.total:
        typer.echo("no ledger entries about this person")
        return
    for channel, entries in sorted(report.channels.items()):
        typer.echo(f"{channel}: {len(entries)} entries, "
                   f"{report.disclosures(channel)} disclosures")
        for e in entries:
            agreement = f"{e.agreement or '-'} v{e.agreement_version or '-'}"
            typer.echo(f"  #{e.index:<6} {e.recorded}  {e.type:<24} {e.outcome:<8} "
                       f"{agreement:<18} to {e.recipient_organisation or '-':<8} {e.request}")
