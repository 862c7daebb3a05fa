"""A small world for the seeds' story: organisations, staff with tokens, a register, a model.

Used by the scenario (``caldicott demo --scenario seeds``) and by the tests.
Only synthetic people: the register comes from :mod:`caldicott.synth`, and the
story's people are picked from it (one is marked restricted, one gets a
namesake with the same date of birth so that a trace is ambiguous).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import nhs_number
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from caldicott.access import service as access
from caldicott.db import unit_of_work, utcnow
from caldicott.errors import NotFound
from caldicott.matching import repository as matching_repository
from caldicott.matching import service as matching
from caldicott.matching.core.scorer import model_hash
from caldicott.orgs import repository as orgs_repository
from caldicott.orgs import service as orgs
from caldicott.register import repository as register
from caldicott.register.records import Address, PatientRecord
from caldicott.requests.audit import SYSTEM as SYSTEM_AGENT
from caldicott.settings import Settings

ORGANISATIONS = (("X26", "NHS Digital", "nhs_digital"),
                 ("HO-IE", "Home Office Immigration Enforcement", "home_office"),
                 ("HO-CAS", "Home Office Checking and Advisory Services", "home_office"),
                 ("POL-DM", "Demoshire Police", "police"),
                 ("CRT-DM", "Demoshire Crown Court", "court"))
#: name -> (organisation, roles)
STAFF = {
    "officer": ("HO-IE", "requesting_officer"),
    "other_officer": ("HO-CAS", "requesting_officer"),
    "police_officer": ("POL-DM", "requesting_officer"),
    "court_officer": ("CRT-DM", "requesting_officer"),
    "tracer": ("X26", "tracer"),
    "guardian": ("X26", "reviewer"),
    "second_guardian": ("X26", "reviewer"),
    "tracing_guardian": ("X26", "tracer,reviewer"),
    "auditor": ("X26", "auditor"),
    "admin": ("X26", "administrator"),
}
#: The registers of authorised signatories: (organisation, staff number, name, rank,
#: may countersign). Invented officers; valid from 2016.
SIGNATORIES = (
    ("HO-IE", "HO-1001", "Officer Example", "EO", False),
    ("HO-IE", "HO-2001", "Chief Officer Example", "HEO", True),
    ("HO-CAS", "HO-3001", "Checking Officer Example", "EO", False),
    ("HO-CAS", "HO-3002", "Checking Chief Example", "HEO", True),
    ("POL-DM", "PC-4521", "Constable Example", "constable", False),
    ("POL-DM", "PS-0777", "Sergeant Example", "sergeant", True),
    ("POL-DM", "DI-1234", "Inspector Example", "inspector", True),
    ("CRT-DM", "CRT-0011", "Court Officer Example", "authorised officer", False),
    ("CRT-DM", "CRT-0012", "Listing Officer Example", "authorised officer", True),
)
SIGNATORIES_FROM = dt.date(2016, 1, 1)
_MODELS: dict[tuple[int, int], str] = {}  # trained once per process per register


def staff_email(name: str) -> str:
    """The e-mail address of one of the story's :data:`STAFF` (``guardian`` ->
    ``guardian@x26.example``)."""
    return f"{name.replace('_', '.')}@{STAFF[name][0].lower()}.example"


@dataclass(frozen=True)
class StoryPeople:
    overstayer: PatientRecord
    offender: PatientRecord
    restricted: PatientRecord
    namesake: PatientRecord
    namesake_twin: PatientRecord
    deceased: PatientRecord
    child: PatientRecord


@dataclass(frozen=True)
class World:
    tokens: dict[str, str]
    user_ids: dict[str, int]
    people: StoryPeople


def _spare_nhs_number(taken: set[str]) -> str:
    for serial in range(900_000, 999_999):
        stem = f"999{serial:06d}"
        check = nhs_number.calculate_checksum(stem)  # type: ignore[attr-defined]
        if check is not None and check < 10 and f"{stem}{check}" not in taken:
            return f"{stem}{check}"
    raise RuntimeError("no spare test NHS number")


def story_people(everyone: list[PatientRecord]) -> tuple[StoryPeople, list[PatientRecord]]:
    """Pick the story's people from a synthetic register; return them and the new register."""
    families: set[str] = set()
    picked: list[int] = []
    for i, person in enumerate(everyone):
        fits = (person.birth_date < dt.date(1990, 1, 1) and len(person.addresses) >= 2
                and person.gp is not None and not person.restricted and person.death_date is None
                and person.family_name not in families
                and sum(p.family_name == person.family_name for p in everyone) == 1)
        if fits:
            picked.append(i)
            families.add(person.family_name)
        if len(picked) == 4:
            break
    register_people = list(everyone)
    register_people[picked[2]] = replace(everyone[picked[2]], restricted=True)
    twin = replace(everyone[picked[3]],
                   nhs_number=_spare_nhs_number({p.nhs_number for p in everyone}),
                   addresses=(Address("3 Example Close", "", "Testtown", "ZZ9 9ZZ",
                                      dt.date(2010, 1, 1)),), previous_names=())
    register_people.append(twin)
    over, offender, restricted, namesake = (register_people[i] for i in picked)
    story = StoryPeople(over, offender, restricted, namesake, namesake_twin=twin,
                        deceased=_one(everyone, families, lambda p: p.death_date is not None),
                        child=_one(everyone, families,
                                   lambda p: dt.date(2002, 1, 1) < p.birth_date
                                   < dt.date(2012, 1, 1)))
    return story, register_people


def _one(everyone: list[PatientRecord], families: set[str], fits: Any) -> PatientRecord:
    """The first person who fits, alone with their family name and date of birth."""
    for person in everyone:
        unique = sum(p.family_name == person.family_name for p in everyone) == 1
        if fits(person) and unique and person.family_name not in families and not (
                person.restricted) and person.addresses and person.given_name:
            families.add(person.family_name)
            return person
    raise RuntimeError("the synthetic register has nobody who fits the story")


def build_world(engine: Engine, settings: Settings, people: int = 300, seed: int = 2017
                ) -> World:
    """Organisations, staff and tokens, a register of ``people`` and a trained model."""
    from caldicott.synth import generate_people

    story, everyone = story_people(list(generate_people(people, seed)))
    with unit_of_work(engine) as session:
        for code, name, kind in ORGANISATIONS:
            if orgs_repository.get_by_code(session, code) is None:
                orgs.add_organisation(session, code, name, kind)
    add_signatories(engine, settings)
    tokens, user_ids = {}, {}
    with unit_of_work(engine) as session:
        for name, (org, roles) in STAFF.items():
            email = staff_email(name)
            try:
                user = access.get_user(session, email)
            except NotFound:
                user = access.add_user(session, email, org, [roles], name=name.title())
            user_ids[name] = user.id
            tokens[name] = access.create_token(session, email, days=30).token
    with unit_of_work(engine) as session:
        present = register.load_records(session, [p.nhs_number for p in everyone])
        missing = [p for p in everyone if p.nhs_number not in present]
        # A register that already held the story's people (the demo world) must still
        # mark the restricted one restricted, or the story would release their address.
        changed = [p for p in (story.restricted, story.namesake_twin)
                   if p.nhs_number in present and present[p.nhs_number] != p]
        if missing or changed:
            register.save_records(session, missing, changed, utcnow())
    _ensure_model(engine, (people, seed), reindex=bool(missing or changed))
    return World(tokens, user_ids, story)


def add_signatories(engine: Engine, settings: Settings) -> int:
    """Add the story's :data:`SIGNATORIES` not yet registered (their organisations must
    exist); returns how many were added. The plain demo world needs them too: without a
    police force's register, a live police request is rejected on procedure."""
    from caldicott.signatories import service as signatories
    from caldicott.signatories.repository import get_by_number

    added = 0
    with unit_of_work(engine) as session:
        for org, number, name, rank, countersigns in SIGNATORIES:
            organisation = orgs_repository.get_by_code(session, org)
            assert organisation is not None
            if get_by_number(session, organisation.id, number) is None:
                signatories.add_signatory(
                    session, settings, SYSTEM_AGENT, organisation_code=org, full_name=name,
                    rank=rank, staff_number=number, valid_from=SIGNATORIES_FROM,
                    may_countersign=countersigns)
                added += 1
    return added


def _ensure_model(engine: Engine, key: tuple[int, int], reindex: bool) -> None:
    with unit_of_work(engine) as session:
        if matching_repository.active_model_version(session) is not None:
            if reindex:
                matching.rebuild_index(session)
            return
        cached = _MODELS.get(key)
        if cached is None:
            matching.train_model(session)
            _MODELS[key] = _model_json(session)
            return
        matching_repository.save_model(session, model_json=cached, sha256=model_hash(cached),
                                       pins=[], link_type="dedupe_only",
                                       trained_on="the story's register (cached)")
        matching.rebuild_index(session)


def _model_json(session: Session) -> str:
    version = matching_repository.active_model_version(session)
    assert version is not None
    row = matching_repository.model_by_version(session, version[0])
    assert row is not None
    return row.model_json
