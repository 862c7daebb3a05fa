"""``caldicott synth``: synthetic UK people and noisy look-ups of them.

Top-level imports are Typer and the standard library only, so ``caldicott
--help`` stays fast; the generator loads inside each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="synth",
    help="Make synthetic UK people and noisy look-ups of them (for demos, tests, benchmarks).",
    no_args_is_help=True,
)

Seed = Annotated[int, typer.Option("--seed", help="The same seed always gives the same output.")]


def _progress(total: int, what: str):  # type: ignore[no-untyped-def]
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), transient=True)


def _counted(items, progress, task, every: int = 2000):  # type: ignore[no-untyped-def]
    # Advancing the bar on every item would cost more than making the item.
    for count, item in enumerate(items, start=1):
        yield item
        if count % every == 0:
            progress.advance(task, every)


@app.command("people")
def people(
    n: Annotated[int, typer.Argument(min=1, help="How many people.")],
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv, or .ndjson for FHIR).")],
    seed: Seed = 0,
) -> None:
    """Write N synthetic people as a register CSV (or FHIR NDJSON if OUT ends .ndjson)."""
    from caldicott.synth.people import generate_people

    with _progress(n, "people") as progress:
        task = progress.add_task("people", total=n)
        stream = _counted(generate_people(n, seed), progress, task)
        if out.suffix.lower() == ".ndjson":
            from caldicott.register.fhir import write_ndjson

            written = write_ndjson(stream, out)
        else:
            from caldicott.register.csv_io import write_register_csv

            written = write_register_csv(stream, out)
    typer.echo(f"wrote {written:,} people to {out} (seed {seed})")


@app.command("queries")
def queries(
    people_file: Annotated[Path, typer.Option(
        "--people", exists=True, dir_okay=False,
        help="A register file (CSV, or FHIR .json/.ndjson), e.g. from 'synth people'.")],
    out: Annotated[Path, typer.Option("--out", help="Query CSV to write.")],
    n: Annotated[int, typer.Option("--n", min=1, help="How many look-ups.")] = 1000,
    seed: Seed = 0,
) -> None:
    """Write N noisy look-ups of the people in a register CSV, each with its true answer.

    Columns: query_id, given_name, family_name, birth_date, postcode, sex,
    true_nhs_number (empty: the person is not in the register), noise (what
    was done to the look-up, ';'-separated).
    """
    from caldicott.synth.files import read_people, write_queries_csv
    from caldicott.synth.queries import generate_queries

    with _progress(n, "queries") as progress:
        task = progress.add_task("queries", total=n)
        stream = generate_queries(read_people(people_file), n, seed)
        written = write_queries_csv(_counted(stream, progress, task, every=500), out)
    typer.echo(f"wrote {written:,} queries to {out} (seed {seed})")
