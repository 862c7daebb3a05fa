"""Operating commands: database migrations, the service, the demo world."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from caldicott.settings import Settings

db_app = typer.Typer(name="db", help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (SQLite or PostgreSQL)."""
    from caldicott.migrations import upgrade
    from caldicott.settings import Settings

    settings = Settings()
    upgrade(settings)
    typer.echo(f"database at head: {settings.resolved_database_url.split('@')[-1]}")


def serve(
    host: str | None = typer.Option(None, help="Listen address (default CALDICOTT_HOST)"),
    port: int | None = typer.Option(None, help="Port (default CALDICOTT_PORT)"),
) -> None:
    """Start the HTTP service on an existing database."""
    from caldicott.service.runner import run_service
    from caldicott.settings import Settings

    run_service(Settings(), host=host, port=port)


def demo(
    people: int = typer.Option(3000, help="How many synthetic people the demo register holds"),
    seed: int = typer.Option(2017, help="Random seed of the demo world"),
    no_serve: bool = typer.Option(False, "--no-serve", help="Build the world, do not serve"),
    scenario: str | None = typer.Option(
        None, help="Replay a story first: 'seeds' (tracing, 2017-2018, through the real "
        "API) or 'checking' (the checking service's calls 2016-2018, through the channel)"),
    host: str | None = typer.Option(None, help="Listen address (default CALDICOTT_HOST)"),
    port: int | None = typer.Option(None, help="Port (default CALDICOTT_PORT)"),
) -> None:
    """Build a demo world in the embedded database and start the service."""
    from caldicott.service.demo import build_demo_world
    from caldicott.service.runner import run_service
    from caldicott.settings import Settings

    settings = Settings()
    build_demo_world(settings, people=people, seed=seed)
    if scenario is not None:
        _replay_scenario(settings, scenario)
    _print_sign_ins(settings, host or settings.host, port or settings.port)
    if not no_serve:
        run_service(settings, host=host, port=port)


def _print_sign_ins(settings: Settings, host: str, port: int) -> None:
    from caldicott.db import make_engine
    from caldicott.service.demo_sign_ins import give_demo_sign_ins

    engine = make_engine(settings)
    try:
        given = give_demo_sign_ins(engine, settings)
    finally:
        engine.dispose()
    typer.echo(f"pages: http://{host}:{port}/sign-in  (demo sign-ins, new each run:)")
    for person in given:
        code = (f"  TOTP secret {person.totp_secret} (a code: python -c \"import pyotp; "
                f"print(pyotp.TOTP('{person.totp_secret}').now())\")"
                if person.totp_secret else "")
        typer.echo(f"  {person.role:<20} {person.email:<32} {person.password}{code}")
    typer.echo("  a live police request (DPA 2018 Sch. 2 para. 2): category serious crime, "
               "warrant number PC-4521, countersigned by DI-1234 (an inspector)")


def _replay_scenario(settings: object, name: str) -> None:
    from caldicott.errors import InvalidInput
    from caldicott.requests.scenario import run_seeds_scenario

    if name == "checking":
        _replay_checking(settings)
        return
    if name != "seeds":
        raise InvalidInput(f"unknown scenario {name!r}; the ones there are: seeds, checking")
    typer.echo("replaying the seeds' history through the API:")
    for step in run_seeds_scenario(settings):  # type: ignore[arg-type]
        typer.echo(f"  {step.line()}")


def _replay_checking(settings: object) -> None:
    from caldicott.checking.scenario import HEADER, run_checking_scenario
    from caldicott.settings import Settings

    assert isinstance(settings, Settings)
    typer.echo("replaying the checking service's call log (Sep 2016 - 20 Nov 2018):")
    lines = run_checking_scenario(settings, typer.echo)
    typer.echo(HEADER)
    for line in lines:
        typer.echo(line.line())
    typer.echo("The seeds say calls take 'around eight minutes'; at 80p a minute the published "
               "totals imply " + ", ".join(f"{y.implied_minutes:.1f}" for y in lines)
               + " minutes per call. The call log follows the totals, to the penny.")


def register(root: typer.Typer) -> None:
    root.add_typer(db_app)
    root.command()(serve)
    root.command()(demo)
