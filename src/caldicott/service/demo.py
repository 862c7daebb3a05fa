"""The demo world: synthetic people and the organisations of the seeds.

Built in the configured database (the embedded SQLite file by default). It
never touches a register that already holds people who are not synthetic:
a demo register is made only when the register is empty.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from sqlalchemy import select

from caldicott.db import unit_of_work
from caldicott.orgs.models import OrganisationRow
from caldicott.register import repository
from caldicott.service.context import open_database
from caldicott.settings import Settings

# The bodies of the seeds. The trusts, local authority and housing association
# are invented names: the demo does not suggest any real one did anything.
SEED_ORGANISATIONS = (
    ("X26", "NHS Digital", "nhs_digital"),
    ("HO-IE", "Home Office Immigration Enforcement", "home_office"),
    ("HO-CAS", "Home Office Checking and Advisory Services", "home_office"),
    ("DHSC", "Department of Health and Social Care", "dhsc"),
    ("RDM01", "Riverside Demo NHS Foundation Trust", "nhs_trust"),
    ("RDM02", "Hillcrest Demo NHS Trust", "nhs_trust"),
    ("LADM1", "Demoshire County Council", "local_authority"),
    ("HADM1", "Demo Homes Housing Association", "housing_association"),
    ("POL-DM", "Demoshire Police", "police"),
    ("CRT-DM", "Demoshire Crown Court", "court"),
)


def _add_organisations(settings: Settings) -> int:
    _, engine = open_database(settings)
    with unit_of_work(engine) as session:
        known = set(session.scalars(select(OrganisationRow.code)))
        new = [OrganisationRow(code=code, name=name, kind=kind)
               for code, name, kind in SEED_ORGANISATIONS if code not in known]
        session.add_all(new)
    engine.dispose()
    return len(new)


def _add_signatories(settings: Settings) -> int:
    """The registers of authorised signatories of the seeds' requesters (a police force's
    among them), so that a request made today can follow the procedure: the live journey
    (a police request for a serious crime, DPA 2018 Sch. 2 para. 2) needs its officers."""
    from caldicott.requests.world import add_signatories

    _, engine = open_database(settings)
    try:
        return add_signatories(engine, settings)
    finally:
        engine.dispose()


def _add_checking_world(settings: Settings) -> None:
    """The checking service's 57 signatories, each with its own memorandum date."""
    from caldicott.checking.world import add_checking_world

    _, engine = open_database(settings)
    with unit_of_work(engine) as session:
        orgs, memos = add_checking_world(session)
    engine.dispose()
    typer.echo(f"checking service: {orgs} organisations and {memos} memoranda added")


def _train_matching_model(settings: Settings, folder: Path, people: int, seed: int) -> None:
    """Train the matcher on the demo register and a set of synthetic look-ups, so
    that tracing works from the first request (training also builds its index)."""
    from caldicott.matching.service import train_model
    from caldicott.synth import generate_people, generate_queries
    from caldicott.synth.files import write_queries_csv

    lookups = folder / "demo-lookups.csv"
    write_queries_csv(generate_queries(generate_people(people, seed), max(people // 2, 50),
                                       seed), lookups)
    _, engine = open_database(settings)
    with unit_of_work(engine) as session:
        trained = train_model(session, lookups, seed=seed)
    engine.dispose()
    typer.echo(f"matching model version {trained.version} trained on the demo register "
               f"and {trained.lookups} synthetic look-ups")


def build_demo_world(settings: Settings, people: int = 3000, seed: int = 2017) -> None:
    """Fill an empty register with synthetic people and add the seeds' organisations and
    their registers of authorised signatories (so a police request made today is workable
    end to end: see :data:`caldicott.requests.world.SIGNATORIES`)."""
    from caldicott.register.csv_io import write_register_csv
    from caldicott.register.importer import run_import
    from caldicott.synth import generate_people

    _, engine = open_database(settings)
    with unit_of_work(engine) as session:
        present = repository.count_patients(session)
    engine.dispose()
    added = _add_organisations(settings)
    typer.echo(f"organisations of the seeds: {added} added")
    typer.echo(f"authorised signatories of the seeds' requesters: {_add_signatories(settings)} "
               "added")
    _add_checking_world(settings)
    if present:
        typer.echo(f"register already holds {present} people; leaving it as it is")
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo-people.csv"
        write_register_csv(generate_people(people, seed), path)
        report = run_import(path, settings=settings)
        typer.echo(f"demo register: {report.summary()}")
        _train_matching_model(settings, Path(folder), people, seed)
    typer.echo(f"database: {settings.resolved_database_url}")
