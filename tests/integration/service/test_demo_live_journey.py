"""The plain demo world (no scenario) shows a live journey: a police request for a serious
crime made today, under the DPA 2018 Sch. 2 para. 2 pack, follows the procedure and waits
for a tracer."""

from __future__ import annotations

import datetime as dt

from caldicott.access.service import get_user, principal_of
from caldicott.db import unit_of_work
from caldicott.requests import service
from caldicott.requests.schemas import TraceRequestIn
from caldicott.requests.validation import validation_queue
from caldicott.requests.world import staff_email
from caldicott.service.context import open_database
from caldicott.service.demo import build_demo_world
from caldicott.service.demo_sign_ins import give_demo_sign_ins
from caldicott.settings import Settings
from caldicott.synth import generate_people


def _police_request() -> TraceRequestIn:
    person = next(p for p in generate_people(300, 2017) if p.given_name)
    return TraceRequestIn.model_validate({
        "given_name": person.given_name, "family_name": person.family_name,
        "birth_date": person.birth_date.isoformat(),
        "purpose": "prevention_or_detection_of_crime", "category": "serious_crime",
        "case_reference": "DEMO-LIVE-1",
        "justification": "Wanted for questioning about a serious assault.",
        "suspected_offence": {"statute": "Offences against the Person Act 1861",
                              "section": "18"},
        "alternatives_exhausted": True, "requested_fields": ["name", "address"],
        "requesting_officer": "PC-4521", "countersigning_officer": "DI-1234"})


def test_a_police_request_made_today_in_the_plain_demo_world_waits_for_a_tracer(
        fresh_settings: Settings) -> None:
    build_demo_world(fresh_settings, people=300)
    _, engine = open_database(fresh_settings)
    try:
        give_demo_sign_ins(engine, fresh_settings)
        with unit_of_work(engine) as session:
            officer = principal_of(get_user(session, staff_email("police_officer")))
            tracer = principal_of(get_user(session, staff_email("tracer")))
            row, created = service.submit(session, fresh_settings, officer, _police_request())
            service.process_received(session, fresh_settings, row.id)
        assert created and row.request_date == dt.date.today()
        with unit_of_work(engine) as session:
            queue = validation_queue(session, fresh_settings, tracer, limit=100)
        waiting = {item.request.id: item.request for item in queue.items}
        assert row.id in waiting, f"not in the tracer's queue: {row.status} {row.procedure_reasons}"
        assert waiting[row.id].agreement == "police-crime-exemption"
        assert waiting[row.id].decision is not None
        assert waiting[row.id].decision.version == "2"  # DPA 2018, the version in force today
        assert waiting[row.id].refusal is None
    finally:
        engine.dispose()
