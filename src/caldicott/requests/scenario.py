"""The seeds' history replayed through the real HTTP API, in the National Back Office's order
(``caldicott demo --scenario seeds``).

Each request is received, its procedure and agreement checked, validated by a
tracer, weighed by a Caldicott Guardian (the public-interest test), traced,
and only then reviewed for release. 2017 under the memorandum: an overstayer
released; a request without a countersignature rejected before any trace; a
restricted patient and namesakes closed with nothing released. From 9 May
2018 the memorandum is suspended: requests wait in the queue until the
withdrawal of 9 November 2018 reaches it and refuses them under W.1. Then a
police request under Schedule 2 paragraph 2 (and one countersigned by a
sergeant, rejected), and a court order. Every step says who acted.

This is a replay of history: the service is started with ``replay_history``,
the only way a request may carry a date other than the day it arrives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from caldicott.register.records import PatientRecord
from caldicott.requests.world import World, build_world
from caldicott.settings import Settings

#: The worker moving the queue on as of a day (the scenario's clock for queued requests).
Advance = Callable[[dt.date], object]


@dataclass
class ScenarioStep:
    """What happened to one request of the story (or one check at the end)."""

    label: str
    request_date: dt.date | None
    request_id: int | None
    status: str
    detail: str = ""
    response: dict[str, Any] = field(default_factory=dict, repr=False)
    actions: list[str] = field(default_factory=list)

    def line(self) -> str:
        when = self.request_date.isoformat() if self.request_date else "          "
        ident = f"#{self.request_id}" if self.request_id else ""
        head = f"{when}  {self.label:<56} {ident:>6}  {self.status:<24} {self.detail}"
        return "\n".join([head, *(f"{'':18}{action}" for action in self.actions)])


HOME_OFFICE = {"requesting_officer": "HO-1001", "countersigning_officer": "HO-2001"}
IMMIGRATION_OFFENCE = {"statute": "Immigration Act 1971", "section": "24(1)(b)",
                       "description": "overstaying leave"}


def trace_request_body(person: PatientRecord, day: dt.date | str | None, *, category: str,
                       postcode: str | None, purpose: str, case_reference: str,
                       justification: str, **facts: Any) -> dict[str, Any]:
    """The JSON body of ``POST /api/trace-requests`` asking for ``person``, as the Home
    Office's officer HO-1001 countersigned by HO-2001 would send it. ``day`` is given only
    in a replay of history.

    Shared by the scenario, the crash test and the load benchmark.

    Example:
        >>> from caldicott.synth import generate_people
        >>> person = next(generate_people(1, seed=1))
        >>> trace_request_body(person, "2017-06-01", category="overstayer", postcode=None,
        ...     purpose="trace_immigration_offender", case_reference="X-1",
        ...     justification="test")["request_date"]
        '2017-06-01'
    """
    body = {"given_name": person.given_name, "family_name": person.family_name,
            "birth_date": person.birth_date.isoformat(), "sex": person.sex,
            "postcode": postcode, "purpose": purpose, "category": category,
            "case_reference": case_reference, "justification": justification,
            "suspected_offence": IMMIGRATION_OFFENCE, "alternatives_exhausted": True,
            "alternatives_tried": ["last known address visited", "reporting centre records"],
            **HOME_OFFICE, **facts}
    if day is not None:
        body["request_date"] = day if isinstance(day, str) else day.isoformat()
    return body


def last_postcode(person: PatientRecord) -> str | None:
    address = person.last_known_address
    return address.postcode if address else None


def _ask(person: PatientRecord, day: dt.date | None, category: str, postcode: str | None,
         **facts: Any) -> dict[str, Any]:
    return trace_request_body(
        person, day, category=category, postcode=postcode,
        purpose="trace_immigration_offender",
        case_reference=f"HO-{day.year if day else 'X'}-{person.family_name[:3]}",
        justification="Previously in contact with Immigration Enforcement; cannot now "
                      "be located; alternatives exhausted.",
        requested_fields=["name", "date_of_birth", "address", "gp_practice"]) | facts


def public_interest(decision: str = "disclose", gateway: str = "Health and Social Care Act "
                    "2012 s.261(5)(d): disclosure in connection with the investigation of a "
                    "criminal offence") -> dict[str, str]:
    """A public-interest record as a Caldicott Guardian would write it (the story's words)."""
    return {"decision": decision, "gateway": gateway,
            "seriousness": "An offence named with statute and section; the requester says "
                           "why the person is sought.",
            "necessity": "The requester has tried the alternatives they list; without the "
                         "address the person cannot be found.",
            "proportionality": "Only demographic details; no clinical information.",
            "harm_to_trust": "Weighed: disclosure for enforcement can deter people from care.",
            "vulnerability": "Nothing in the request suggests the subject is vulnerable.",
            "patient_told": "deferred",
            "patient_told_reason": "Telling the patient now would prejudice the investigation.",
            "decider_name": "Guardian Example", "decider_grade": "Caldicott Guardian"}


class _Story:
    def __init__(self, client: Any, world: World, advance: Advance | None) -> None:
        self.client, self.world, self.advance = client, world, advance
        self.steps: list[ScenarioStep] = []

    def _auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.tokens[who]}"}

    def _read(self, request_id: int, who: str = "auditor") -> dict[str, Any]:
        return dict(self.client.get(f"/api/trace-requests/{request_id}",
                                    headers=self._auth(who)).json())

    def _act(self, step: ScenarioStep, who: str, path: str, body: dict[str, Any]) -> None:
        reply = self.client.post(f"/api/trace-requests/{step.request_id}/{path}", json=body,
                                 headers=self._auth(who))
        data = reply.json()
        status = data.get("internal_status") if reply.status_code < 400 else (
            f"http {reply.status_code}")
        said = data.get("issue", [{}])[0].get("diagnostics", "") if reply.status_code >= 400 \
            else ""
        step.actions.append(f"{who:<16} {path:<16} -> {status} {said}".rstrip())

    def submit(self, label: str, body: dict[str, Any], officer: str = "officer",
               review: str | None = "approve", disclosure: str = "fields",
               pit: dict[str, str] | None = None) -> ScenarioStep:
        reply = self.client.post("/api/trace-requests", json=body, headers=self._auth(officer))
        data = reply.json()
        day = dt.date.fromisoformat(body["request_date"]) if body.get("request_date") else None
        if reply.status_code >= 400:
            step = ScenarioStep(label, day, None, f"http {reply.status_code}",
                                data.get("issue", [{}])[0].get("diagnostics", ""), data)
            self.steps.append(step)
            return step
        step = ScenarioStep(label, day, data["id"], data["status"])
        step.actions.append(f"{officer:<16} {'submit':<16} -> "
                            f"{self._read(data['id'])['internal_status']}")
        self._work(step, review, disclosure, pit)
        self.steps.append(step)
        return step

    def _work(self, step: ScenarioStep, review: str | None, disclosure: str,
              pit: dict[str, str] | None) -> None:
        assert step.request_id is not None
        if self._read(step.request_id)["internal_status"] == "awaiting_validation":
            self._act(step, "tracer", "validate", {"decision": "accept", "reasons": [],
                                                   "note": "procedure followed"})
        if self._read(step.request_id)["internal_status"] == "awaiting_public_interest":
            self._act(step, "guardian", "public-interest", pit or public_interest())
        staff = self._read(step.request_id)
        if staff["internal_status"] == "awaiting_review" and review:
            outcome = (staff.get("trace") or {}).get("outcome")
            route = (staff.get("trace") or {}).get("route_reasons") or []
            decision = review if outcome == "traced" else "confirm_no_trace"
            if "restricted" in route:
                decision = "refuse"
            self._act(step, "guardian", "review", {
                "decision": decision, "disclosure": disclosure,
                "reason": "proportionate and within the agreement" if decision == "approve"
                else "nothing may be released"})
        self.refresh(step)

    def refresh(self, step: ScenarioStep) -> None:
        assert step.request_id is not None
        officer_view = self.client.get(f"/api/trace-requests/{step.request_id}",
                                       headers=self._auth(self._officer_of(step))).json()
        staff = self._read(step.request_id)
        step.status, step.response = staff["internal_status"], officer_view
        step.detail = f"requester sees: {officer_view['status']}; " + _detail(officer_view)

    def _officer_of(self, step: ScenarioStep) -> str:
        organisation = self._read(step.request_id or 0)["organisation"]
        return {"POL-DM": "police_officer", "CRT-DM": "court_officer"}.get(organisation,
                                                                           "officer")


def _detail(data: dict[str, Any]) -> str:
    if data.get("release"):
        release = data["release"]
        fields = ", ".join(release["fields"]) or release["kind"]
        return f"released {fields}; new information: " + (
            "yes" if release["new_information"] else "no")
    refusal = data.get("refusal")
    if refusal and refusal.get("reasons"):
        first = refusal["reasons"][0]
        text = " ".join(first["text"].split())
        version = (data.get("decision") or {}).get("version")
        where = f"v{version} " if refusal["kind"] == "agreement" and version else ""
        return f"{refusal['kind']}: {where}{first['clause']}: {text[:80]}"
    return "nothing released" if data["status"] == "closed" else ""


def _old_postcode(person: PatientRecord) -> str:
    return person.addresses[0].postcode


def _police(person: PatientRecord, day: dt.date, countersigned_by: str) -> dict[str, Any]:
    return _ask(person, day, "serious_crime", _old_postcode(person),
                purpose="prevention_or_detection_of_crime", case_reference=f"DP-{day.year}-17",
                requesting_officer="PC-4521", countersigning_officer=countersigned_by,
                suspected_offence={"statute": "Offences Against the Person Act 1861",
                                   "section": "18", "description": "wounding with intent"},
                justification="Suspect in a serious assault; the victim is in hospital; "
                              "the suspect has left their last known address.")


def _court(person: PatientRecord, day: dt.date) -> dict[str, Any]:
    body = _ask(person, day, "court_order", None, purpose="comply_with_court_order",
                case_reference="T2019-0042", requesting_officer="CRT-0011",
                countersigning_officer="CRT-0012",
                court_order={"court": "Demoshire Crown Court", "reference": "T2019-0042",
                             "made_on": (day - dt.timedelta(days=3)).isoformat()},
                justification="The court ordered disclosure of the defendant's address for "
                              "service of a summons.",
                requested_fields=["name", "date_of_birth", "address"])
    body.pop("suspected_offence")
    return body


def play(client: Any, world: World, advance: Advance | None = None) -> list[ScenarioStep]:
    """Play the story through ``client`` (a TestClient or an httpx.Client on a live server).

    ``advance(day)`` runs the queue as of ``day`` (the worker); without it the
    queued requests of 2018 stay queued.
    """
    story, people = _Story(client, world, advance), world.people
    over, fno, restricted = people.overstayer, people.offender, people.restricted
    story.submit("2017: overstayer validated, weighed, traced, released",
                 _ask(over, dt.date(2017, 3, 1), "overstayer", _old_postcode(over)))
    story.submit("2017: no countersignature: rejected before any trace",
                 _ask(over, dt.date(2017, 3, 15), "overstayer", _old_postcode(over),
                      countersigning_officer=None))
    current = restricted.last_known_address
    story.submit("2017: restricted patient (closed, nothing released)",
                 _ask(restricted, dt.date(2017, 4, 3), "overstayer",
                      current.postcode if current else None))
    story.submit("2017: namesakes with one date of birth",
                 _ask(people.namesake, dt.date(2017, 5, 2), "illegal_entrant", None))
    story.submit("2017: a person not on the register",
                 _ask(replace(over, given_name="Nobody", family_name="Notregistered",
                              birth_date=dt.date(1961, 2, 3)), dt.date(2017, 6, 1),
                      "overstayer", None))
    queued = [
        story.submit("after 9 May 2018: the same overstayer (suspended: queued)",
                     _ask(over, dt.date(2018, 6, 1), "overstayer", _old_postcode(over),
                          purpose="trace_for_deportation")),
        story.submit("after 9 May 2018: offender, 18 months (suspended: queued)",
                     _ask(fno, dt.date(2018, 7, 2), "foreign_national_offender",
                          _old_postcode(fno), purpose="trace_for_deportation",
                          deportation_stage="considered", convictions=[_conviction(18)]))]
    if advance is not None:
        advance(dt.date(2018, 11, 9))  # the withdrawal reaches the queue
        for step in queued:
            story._work(step, "approve", "fields", None)
            step.actions.append("worker           queue 2018-11-09 -> " + step.status)
    story.submit("after 9 Nov 2018: offender, 18 months",
                 _ask(fno, dt.date(2018, 12, 3), "foreign_national_offender",
                      _old_postcode(fno), purpose="trace_for_deportation",
                      deportation_stage="considered", convictions=[_conviction(18)]))
    story.submit("2019: police, DPA 2018 Sch 2 para 2, inspector countersigned",
                 _police(fno, dt.date(2019, 3, 1), "DI-1234"), officer="police_officer",
                 pit=public_interest(gateway="Data Protection Act 2018 Schedule 2 paragraph 2: "
                                     "prevention or detection of crime (prejudice test met)"))
    story.submit("2019: police, countersigned by a sergeant: rejected",
                 _police(fno, dt.date(2019, 3, 8), "PS-0777"), officer="police_officer")
    story.submit("2019: court order (must disclose)", _court(over, dt.date(2019, 4, 1)),
                 officer="court_officer")
    return story.steps


def _conviction(months: int) -> dict[str, Any]:
    return {"offence": "wounding with intent", "statute": "Offences Against the Person Act 1861",
            "court": "Demoshire Crown Court", "date": "2016-09-01", "sentence_type": "immediate",
            "length_months": months}


def run_seeds_scenario(settings: Settings, people: int = 300, seed: int = 2017
                       ) -> list[ScenarioStep]:
    """Migrate, build the story's world, replay it through the HTTP API, verify the ledger.

    Example:
        >>> for step in run_seeds_scenario(Settings()):  # doctest: +SKIP
        ...     print(step.line())
    """
    from fastapi.testclient import TestClient

    from caldicott.db import make_engine, make_session_factory
    from caldicott.migrations import upgrade
    from caldicott.requests.worker import process_pending
    from caldicott.service.app import create_app

    replaying = settings.model_copy(update={"replay_history": True, "queue_seconds": 0})
    engine = make_engine(replaying)
    try:
        upgrade(replaying, engine)
        world = build_world(engine, replaying, people=people, seed=seed)
        sessions = make_session_factory(engine)
        with TestClient(create_app(replaying)) as client:
            steps = play(client, world,
                         lambda day: process_pending(sessions, replaying, day))
        steps.extend(_epilogue(engine, replaying))
    finally:
        engine.dispose()
    return steps


def _summary(report: Any) -> str:
    changes = ", ".join(f"{k}: {v}" for k, v in sorted(report.changes.items())) or "none"
    return (f"{report.requests} requests ({changes}); {report.releases_refused} of "
            f"{report.releases} releases refused, {report.people_spared} of {report.people} "
            "people spared")


def _epilogue(engine: Any, settings: Settings) -> list[ScenarioStep]:
    from caldicott.agreements.service import replay
    from caldicott.db import unit_of_work
    from caldicott.ledger.verify import verify

    with unit_of_work(engine) as session:
        narrowed = replay(session, "tracing-mou-narrowed", None, decisions_of="tracing-mou")
        what_if = replay(session, "firewall", "1", decisions_of="tracing-mou")
        report = verify(session, settings)
    return [
        ScenarioStep("the other reading of 9 May 2018 (narrowed, not queued)", None, None,
                     f"{narrowed.flipped} would change", _summary(narrowed)),
        ScenarioStep("the firewall, replayed over every MoU decision", None, None,
                     f"{what_if.flipped} would change", _summary(what_if)),
        ScenarioStep("caldicott ledger verify", None, None, "ok" if report.ok else "FAILED",
                     f"{report.tree_size} entries" + ("" if report.ok else
                                                      f": {'; '.join(report.problems[:3])}")),
    ]
