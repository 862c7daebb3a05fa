"""``caldicott trace`` (one request, a batch file, rebuild the index) and
``caldicott model`` (train, show)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(name="trace", help="Trace people on the register: one request or a file.",
                  no_args_is_help=True)
model_app = typer.Typer(name="model", help="The matching model: train it, show it.",
                        no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(model_app)


@model_app.command("train")
def train(
    lookups: Path | None = typer.Option(
        None, "--lookups", help="CSV of unlabelled look-ups (the batch query columns)"),
    seed: int = typer.Option(42, "--seed", help="Seed of u's random sampling"),
    max_pairs: float = typer.Option(5e6, "--max-pairs", help="Random pairs for u"),
) -> None:
    """Train on the register with Splink, store the model as a new version, print it."""
    from caldicott.db import unit_of_work
    from caldicott.errors import InvalidInput
    from caldicott.matching.service import train_model
    from caldicott.service.context import open_database

    if lookups is not None and not lookups.is_file():
        raise InvalidInput(f"no such file: {lookups}")
    _, engine = open_database()
    with unit_of_work(engine) as session:
        report = train_model(session, lookups, seed=seed, max_pairs=max_pairs)
    typer.echo(f"model version {report.version} sha256 {report.sha256}")
    typer.echo(f"trained ({report.link_type}) on {report.register_rows} register rows"
               f" and {report.lookups} look-ups; prior weight {report.prior_weight:.3f}")
    _print_parameters(report.parameters)
    for pin in report.pins:
        typer.echo(f"pinned {pin['comparison']}/{pin['level']} {pin['parameter']}: "
                   f"trained {pin['trained']} -> {pin['pinned']}")


def _print_parameters(parameters: list[dict[str, object]]) -> None:
    typer.echo(f"{'comparison':<12} {'level':<26} {'m':>10} {'u':>10} {'weight':>8}")
    for p in parameters:
        m, u, w = p["m"], p["u"], p["weight"]
        typer.echo(f"{p['comparison']!s:<12} {p['level']!s:<26} "
                   f"{'' if m is None else format(m, '.4g'):>10} "
                   f"{'' if u is None else format(u, '.4g'):>10} {w:>8.2f}")


@model_app.command("show")
def show(version: int | None = typer.Option(None, "--version", help="Default: the active one"),
         json_out: bool = typer.Option(False, "--json", help="Print the Splink model JSON")
         ) -> None:
    """Print a stored model's parameters (or its JSON)."""
    from caldicott.db import unit_of_work
    from caldicott.matching import repository
    from caldicott.matching.service import scorer_for
    from caldicott.service.context import open_database

    _, engine = open_database()
    with unit_of_work(engine) as session:
        number, scorer = scorer_for(session, version)
        row = repository.model_by_version(session, number)
        assert row is not None
        typer.echo(row.model_json if json_out else
                   f"model version {row.version} sha256 {row.sha256} ({row.trained_on})")
    if not json_out:
        _print_parameters(scorer.parameters())


@app.command("one")
def one(
    given: str | None = typer.Option(None, "--given", help="Given name"),
    family: str | None = typer.Option(None, "--family", help="Family name"),
    birth_date: str | None = typer.Option(None, "--birth-date", help="YYYY-MM-DD"),
    postcode: str | None = typer.Option(None, "--postcode"),
    sex: str | None = typer.Option(None, "--sex", help="male, female, other or unknown"),
    threshold: float = typer.Option(0.99, "--threshold", help="Release threshold (for a "
                                    "complete request; raised for each missing field)"),
) -> None:
    """Trace one request; print the outcome and the weight of each comparison.

    Any field may be left out; a name and a date of birth or a postcode are needed.
    """
    from caldicott.db import unit_of_work
    from caldicott.matching.core.release import ReleaseRule
    from caldicott.matching.service import check_request, trace_request
    from caldicott.service.context import open_database

    request = check_request(given, family, birth_date, postcode, sex)
    _, engine = open_database()
    with unit_of_work(engine) as session:
        result = trace_request(session, request, ReleaseRule(threshold=threshold))
    typer.echo(f"outcome: {result.outcome.value}")
    typer.echo(f"nhs_number: {result.nhs_number or '-'}")
    typer.echo(f"model version: {result.model_version}")
    typer.echo(f"candidates: {len(result.candidates)}; margin over next: {result.margin:.2f} bits")
    typer.echo(f"release bar: {result.explain()}")
    if result.best is None:
        return
    score = result.best.score
    typer.echo(f"best candidate: p = {score.match_probability:.6f}, "
               f"match weight {score.match_weight:.2f} bits")
    typer.echo(f"  {'prior':<12} {'':<26} {score.prior_weight:>8.2f}")
    for part in score.parts:
        tf = f" (tf {part.tf_adjustment:+.2f})" if part.tf_adjustment else ""
        typer.echo(f"  {part.comparison:<12} {part.level:<26} {part.total:>8.2f}{tf}")


@app.command("batch")
def batch(
    queries: Path = typer.Argument(..., help="CSV: query_id, given_name, family_name, "
                                   "birth_date[, postcode][, sex]; values may be empty"),
    out: Path = typer.Option(..., "--out", help="Results CSV"),
    threshold: float = typer.Option(0.99, "--threshold", help="Release threshold"),
) -> None:
    """Trace a file of queries through Splink (DuckDB)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from caldicott.db import unit_of_work
    from caldicott.errors import InvalidInput
    from caldicott.matching.batch import trace_file
    from caldicott.matching.core.release import ReleaseRule
    from caldicott.service.context import open_database

    if not queries.is_file():
        raise InvalidInput(f"no such file: {queries}")
    total = max(sum(1 for _ in queries.open(encoding="utf-8")) - 1, 0)
    _, engine = open_database()
    with unit_of_work(engine) as session, Progress(
            "tracing", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("trace", total=total)
        report = trace_file(session, queries, out, ReleaseRule(threshold=threshold),
                            progress=lambda n: bar.advance(task, n))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items()))
    typer.echo(f"{report.queries} queries with model version {report.model_version}: "
               f"{counts}; results in {out}")


@app.command("reindex")
def reindex() -> None:
    """Rebuild the blocking index from the register (after an import)."""
    import time

    from caldicott.db import unit_of_work
    from caldicott.matching.service import rebuild_index
    from caldicott.service.context import open_database

    _, engine = open_database()
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        rows = rebuild_index(session)
    typer.echo(f"indexed {rows} rows in {time.perf_counter() - started:.1f} s")
