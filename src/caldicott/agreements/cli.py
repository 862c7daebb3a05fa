"""``caldicott agreement``: list, show and check agreement packs; replay decisions.

Top-level imports are Typer and the standard library only (``caldicott --help`` stays fast).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

_T = TypeVar("_T")

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
    """List every agreement version with its status today; a bad pack file is reported and
    the rest still listed.

    Status: in force, suspended, withdrawn, expired, not yet in force, draft (a local
    draft not activated), what-if (never in force for live requests).
    """
    import datetime as dt

    from caldicott.agreements.service import statuses
    from caldicott.settings import Settings

    settings = Settings()
    rows = _with_activations(lambda session: statuses(
        session, settings, dt.date.today(), *packs_dir))
    typer.echo(
        f"{'AGREEMENT':<22} {'VERSION':<12} {'FROM':<10}  {'TO':<10}  {'STATUS':<19} "
        f"{'CHANNELS':<26} HASH"
    )
    for agreement, v, status in rows:
        until = v.effective_to.isoformat() if v.effective_to else "-"
        channels = ",".join(c.value for c in v.channels)
        typer.echo(
            f"{agreement.id:<22} {v.version:<12} {v.effective_from.isoformat():<10}  "
            f"{until:<10}  {status:<19} {channels:<26} {v.content_hash[:12]}"
        )
    from caldicott.agreements.service import all_packs

    _problems_to_stderr(list(all_packs(settings, *packs_dir).problems))


def _with_activations(work: Callable[[Any], _T]) -> _T:
    """``work(session)``; without a usable database, ``work(None)`` and a warning.

    A SQLite database that does not exist yet is not created just to list packs.
    """
    from sqlalchemy.engine import make_url

    from caldicott.access.cli_support import DatabaseNotReady, command_session
    from caldicott.settings import Settings

    url = make_url(Settings().resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return work(None)
    try:
        with command_session() as session:
            return work(session)
    except DatabaseNotReady as error:
        typer.echo(f"warning: no activations read ({error.diagnostics}); "
                   "every draft shows as draft", err=True)
        return work(None)


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
        typer.echo(f"  parties: {'; '.join(p.describe() for p in v.parties)}")
        purposes = "; ".join(f"{p.code} ({p.text})" for p in v.purposes) or "-"
        typer.echo(f"  purposes: {purposes}" + (
            f"  [clause {v.purpose_clause}]" if v.purpose_clause else ""))
        typer.echo(
            f"  approval: {v.approval.value}   public interest test: "
            f"{'yes' if v.public_interest_test else 'no'}   countersignature: "
            f"{v.countersignature or '-'}   retention: "
            f"{f'{v.retention_years} years' if v.retention_years else '-'}"
        )
        _show_legal_basis(v)
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
            if clause.source:
                typer.echo(f"        source: {clause.source}")
        if cedar:
            typer.echo("\n" + decision_policies(v))


def _show_legal_basis(v: Any) -> None:
    legal = v.legal_basis
    for basis in legal.lawful_basis:
        typer.echo(f"  lawful basis: {basis}")
    typer.echo(f"  gateway: {legal.gateway}")
    typer.echo(f"  public interest test document: {legal.public_interest_document}")
    typer.echo(f"  approved by: {legal.public_interest_approver}")
    review = legal.review_date.isoformat() if legal.review_date else "-"
    typer.echo(f"  review date: {review}")


@app.command("activate")
def activate(
    agreement: str = typer.Argument(..., help="Draft agreement id (in <data_dir>/agreements)"),
    version: str = typer.Option(..., "--version", help="The version to put in force"),
    by: str = typer.Option(..., "--by", help="Email of the administrator activating it"),
) -> None:
    """Put one version of a draft agreement in force, exactly as its file now is (recorded
    in the ledger with the version's content hash and the file's SHA-256)."""
    from caldicott.access.cli_support import command_session
    from caldicott.agreements.service import activate as activate_version
    from caldicott.settings import Settings

    with command_session() as session:
        row, new = activate_version(session, Settings(), agreement, version, by)
        typer.echo(
            f"{'activated' if new else 'already active'}: {row.agreement} version {row.version} "
            f"(content {row.content_hash[:12]}, file sha256 {row.file_sha256[:12]})"
        )


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
    version: str | None = typer.Option(
        None, "--version",
        help="Version to re-decide every request under (default: each request under the "
        "version in force on its date, e.g. to compare two readings)"),
    decisions_of: str | None = typer.Option(
        None,
        "--decisions-of",
        help="Whose past requests: an agreement id, or 'all' on the agreement's channels "
        "(default: the same agreement's)",
    ),
    show: int = typer.Option(20, "--show", help="How many flips to list"),
    packs_dir: list[Path] = typer.Option([], "--packs-dir", help=_PACKS_DIR_HELP),
) -> None:
    """Re-decide every stored request under another version or reading: which would flip,
    and how many releases and people that touches. Each request counts once."""
    from caldicott.agreements.service import replay as replay_requests
    from caldicott.db import make_engine, unit_of_work
    from caldicott.settings import Settings

    scope = "" if decisions_of is None else (None if decisions_of == "all" else decisions_of)
    engine = make_engine(Settings())
    try:
        with unit_of_work(engine) as session:
            report = replay_requests(
                session, agreement, version, decisions_of=scope,
                extra_dirs=tuple(_pack_dirs(packs_dir)),
            )
    finally:
        engine.dispose()
    _print_replay(report, show)


def _print_replay(report: Any, show: int) -> None:
    under = (f"version {report.version} ({report.content_hash[:12]})" if report.version
             else "the version in force on each request's date")
    typer.echo(
        f"replayed {report.requests} requests ({report.decisions_read} decisions) under "
        f"{report.agreement} {under}: {report.flipped} would change"
    )
    for change, count in sorted(report.changes.items()):
        typer.echo(f"  {change}: {count}")
    typer.echo(f"releases: {report.releases} made, {report.releases_refused} of them would "
               "not be allowed")
    typer.echo(f"people: {report.people} had data released, {report.people_spared} of them "
               "would have had none")
    if report.outside:
        typer.echo(f"  {report.outside} requests dated where no version of "
                   f"{report.agreement} is in force were left out")
    if report.unreadable:
        typer.echo(f"  {report.unreadable} stored decisions could not be read", err=True)
    for flip in report.flips[:show]:
        what = flip.request_ref or f"decision {flip.decision_id}"
        typer.echo(
            f"  {what} ({flip.as_of.isoformat()}, {flip.channel}, was {flip.was_agreement} "
            f"v{flip.was_version}): {flip.was} -> {flip.now} (v{flip.now_version})"
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
