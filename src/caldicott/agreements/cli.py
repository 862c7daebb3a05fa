"""``caldicott agreement``: list, show and check agreement packs; replay decisions.

Top-level imports are Typer and the standard library only (``caldicott --help`` stays fast).
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="agreement",
    no_args_is_help=True,
    help="Data-sharing agreements: versioned packs decided by Cedar policies.",
)

_PACKS_DIR_HELP = (
    "Extra directory of pack files (*.toml), loaded after the shipped packs and "
    "<data_dir>/agreements"
)


def _pack_dirs(extra: list[Path]) -> list[Path]:
    """The service's pack folders (<data_dir>/agreements, if any) and the ones given."""
    from caldicott.settings import Settings

    local = Path(Settings().data_dir) / "agreements"
    return ([local] if local.is_dir() else []) + list(extra)


def _pence(amount: int | None) -> str:
    if amount is None:
        return "-"
    return f"{amount}p" if amount < 100 else f"£{amount // 100:,}.{amount % 100:02d}"


def _problems_to_stderr(problems: list[object]) -> None:
    for problem in problems:
        typer.echo(f"problem: {problem}", err=True)


@app.command("list")
def list_(packs_dir: list[Path] = typer.Option([], "--packs-dir", help=_PACKS_DIR_HELP)) -> None:
    """List every agreement version; a bad pack file is reported and the rest still listed."""
    from caldicott.agreements.core import load_packs

    packs = load_packs(*_pack_dirs(packs_dir))
    typer.echo(
        f"{'AGREEMENT':<22} {'VERSION':<12} {'FROM':<10}  {'TO':<10}  {'STATUS':<9} "
        f"{'CHANNELS':<34} HASH"
    )
    for agreement in packs.agreements.values():
        for v in agreement.versions:
            status = "suspended" if v.suspended else "active"
            until = v.effective_to.isoformat() if v.effective_to else "-"
            channels = ",".join(c.value for c in v.channels)
            typer.echo(
                f"{agreement.id:<22} {v.version:<12} {v.effective_from.isoformat():<10}  "
                f"{until:<10}  {status:<9} {channels:<34} {v.content_hash[:12]}"
            )
    _problems_to_stderr(list(packs.problems))


@app.command("show")
def show(
    agreement: str = typer.Argument(..., help="Agreement id, e.g. tracing-mou"),
    version: str | None = typer.Option(None, "--version", help="Only this version"),
    cedar: bool = typer.Option(False, "--cedar", help="Also print the Cedar policies"),
    packs_dir: list[Path] = typer.Option([], "--packs-dir", help=_PACKS_DIR_HELP),
) -> None:
    """Show an agreement's versions, clause by clause, in its own words."""
    from caldicott.agreements.core import load_packs
    from caldicott.agreements.core.cedar import decision_policies
    from caldicott.agreements.service import find_version

    packs = load_packs(*_pack_dirs(packs_dir))
    if agreement not in packs.agreements:
        find_version(packs, agreement, version or "")  # raises NotFound with the known ids
    found = packs.agreements[agreement]
    typer.echo(f"{found.id}: {found.title}")
    typer.echo(f"  channels: {', '.join(c.value for c in found.channels)}")
    typer.echo(f"  file: {found.source_file}")
    versions = [find_version(packs, agreement, version)] if version else list(found.versions)
    for v in versions:
        until = v.effective_to.isoformat() if v.effective_to else "open-ended"
        typer.echo(
            f"\nversion {v.version}  {v.effective_from.isoformat()} to {until} (exclusive)"
            f"{'  SUSPENDED' if v.suspended else ''}"
        )
        typer.echo(f"  hash: {v.content_hash}")
        typer.echo(f"  parties: {'; '.join(v.parties)}")
        typer.echo(f"  purposes: {'; '.join(v.purposes) or '-'}")
        typer.echo(
            f"  approval: {v.approval.value}   retention: "
            f"{f'{v.retention_years} years' if v.retention_years else '-'}"
        )
        typer.echo(
            f"  charges: per minute {_pence(v.charges.per_minute_pence)}, per hour "
            f"{_pence(v.charges.per_hour_pence)}"
        )
        typer.echo(f"  releases: {', '.join(sorted(v.allowed_fields)) or 'nothing'}")
        if v.returns:
            typer.echo(f"  returns: {', '.join(v.returns)}")
        if v.source:
            typer.echo(f"  source: {v.source}")
        for clause in v.clauses:
            rule = f" [{clause.rule}]" if clause.rule else ""
            typer.echo(f"  {clause.id}{rule}  {clause.text}")
            if clause.requires:
                typer.echo(f"        requires: {' '.join(clause.requires.split())}")
            if clause.forbids:
                typer.echo(f"        forbids: {' '.join(clause.forbids.split())}")
            if clause.release:
                typer.echo(f"        releases: {', '.join(clause.release)}")
        if cedar:
            typer.echo("\n" + decision_policies(v))


@app.command("check")
def check(files: list[Path] = typer.Argument(..., help="Pack files to check")) -> None:
    """Check draft pack files: every problem with its file and line; exit 1 if any."""
    from caldicott.agreements.core import check_file

    failed = False
    for file in files:
        problems = check_file(file)
        for problem in problems:
            typer.echo(str(problem))
        if problems:
            failed = True
        else:
            typer.echo(f"{file}: ok")
    if failed:
        raise typer.Exit(1)


@app.command("replay")
def replay(
    agreement: str = typer.Option(..., "--agreement", help="Agreement id"),
    version: str = typer.Option(..., "--version", help="Version to re-decide under"),
    decisions_of: str | None = typer.Option(
        None,
        "--decisions-of",
        help="Whose past decisions: an agreement id, or 'all' on the version's channels "
        "(default: the same agreement's)",
    ),
    show: int = typer.Option(20, "--show", help="How many flips to list"),
    packs_dir: list[Path] = typer.Option([], "--packs-dir", help=_PACKS_DIR_HELP),
) -> None:
    """Re-decide every past decision under another version: which would flip, and how many."""
    from caldicott.agreements.service import replay as replay_decisions
    from caldicott.db import make_engine, unit_of_work
    from caldicott.settings import Settings

    scope = "" if decisions_of is None else (None if decisions_of == "all" else decisions_of)
    engine = make_engine(Settings())
    try:
        with unit_of_work(engine) as session:
            report = replay_decisions(
                session,
                agreement,
                version,
                decisions_of=scope,
                extra_dirs=tuple(_pack_dirs(packs_dir)),
            )
    finally:
        engine.dispose()
    typer.echo(
        f"replayed {report.replayed} decisions under {agreement} version {version} "
        f"({report.content_hash[:12]}): {report.flipped} would flip"
    )
    for change, count in sorted(report.changes.items()):
        typer.echo(f"  {change}: {count}")
    if report.unreadable:
        typer.echo(f"  {report.unreadable} stored decisions could not be read", err=True)
    for flip in report.flips[:show]:
        typer.echo(
            f"  decision {flip.decision_id} ({flip.as_of.isoformat()}, {flip.channel}, "
            f"was {flip.was_agreement} v{flip.was_version}): {flip.was} -> {flip.now}"
        )
    if report.flipped > show:
        typer.echo(f"  ... and {report.flipped - show} more")


@app.command("decide")
def decide_(
    agreement: str = typer.Option(..., "--agreement", help="Agreement id"),
    as_of: str = typer.Option(..., "--as-of", help="The request's date, YYYY-MM-DD"),
    request: str = typer.Option(
        ...,
        "--request",
        help='The request\'s facts as JSON, e.g. {"channel": "trace", "requester": '
        '"home-office", "requested_fields": ["name"], "category": "overstayer"}',
    ),
    packs_dir: list[Path] = typer.Option([], "--packs-dir", help=_PACKS_DIR_HELP),
) -> None:
    """Decide one request (nothing is stored) and explain it in the clauses' words."""
    import datetime as dt
    import json

    from caldicott.agreements.core import RequestError, decide, load_packs, request_from_facts
    from caldicott.agreements.service import find_version

    packs = load_packs(*_pack_dirs(packs_dir))
    if agreement not in packs.agreements:
        find_version(packs, agreement, "")  # raises NotFound naming the known agreements
    try:
        day = dt.date.fromisoformat(as_of)
        facts = json.loads(request)
    except ValueError as error:
        raise RequestError(f"bad --as-of or --request: {error}") from error
    if not isinstance(facts, dict):
        raise RequestError("--request must be a JSON object")
    decision = decide(request_from_facts(facts), day, packs.agreements[agreement])
    typer.echo(decision.explain())
