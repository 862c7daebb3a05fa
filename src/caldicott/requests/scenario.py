"""The seeds' history replayed through the real HTTP API (``caldicott demo --scenario seeds``).

2017 under the MoU: an overstayer traced and, after a guardian's sign-off,
released; a restricted patient released without address or GP; an ambiguous
namesake ending as too many matches. 9 May 2018: the same overstayer refused
with the amended clauses quoted; an offender with an 18-month sentence released
after review. 9 Nov 2018: everything refused. Then the firewall's what-if over
every decision, and the ledger verified.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from caldicott.register.records import PatientRecord
from caldicott.requests.world import World, build_world
from caldicott.settings import Settings


@dataclass
class ScenarioStep:
    """What happened to one request of the story (or one check at the end)."""

    label: str
    request_date: dt.date | None
    request_id: int | None
    status: str
    detail: str = ""
    response: dict[str, Any] = field(default_factory=dict, repr=False)

    def line(self) -> str:
        when = self.request_date.isoformat() if self.request_date else "          "
        ident = f"#{self.request_id}" if self.request_id else ""
        return f"{when}  {self.label:<52} {ident:>6}  {self.status:<17} {self.detail}"


def trace_request_body(person: PatientRecord, day: dt.date | str, *, category: str,
                       postcode: str | None, purpose: str, case_reference: str,
                       justification: str, **facts: Any) -> dict[str, Any]:
    """The JSON body of ``POST /api/trace-requests`` asking for ``person``.

    Shared by the scenario, the crash test and the load benchmark.

    Example:
        >>> from caldicott.synth import generate_people
        >>> person = next(generate_people(1, seed=1))
        >>> trace_request_body(person, "2017-06-01", category="overstayer", postcode=None,
        ...     purpose="tracing", case_reference="X-1", justification="test")["request_date"]
        '2017-06-01'
    """
    return {"given_name": person.given_name, "family_name": person.family_name,
            "birth_date": person.birth_date.isoformat(), "sex": person.sex,
            "postcode": postcode, "purpose": purpose, "category": category,
            "case_reference": case_reference, "justification": justification,
            "alternatives_exhausted": True,
            "request_date": day if isinstance(day, str) else day.isoformat(), **facts}


def last_postcode(person: PatientRecord) -> str | None:
    address = person.last_known_address
    return address.postcode if address else None


def _ask(person: PatientRecord, day: dt.date, category: str, postcode: str | None,
         **facts: Any) -> dict[str, Any]:
    return trace_request_body(
        person, day, category=category, postcode=postcode,
        purpose="tracing an immigration offender",
        case_reference=f"HO-{day.year}-{person.family_name[:3]}",
        justification="Previously in contact with Immigration Enforcement; cannot now "
                      "be located; alternatives exhausted.",
        requested_fields=["name", "date_of_birth", "address", "gp_practice"]) | facts


class _Story:
    def __init__(self, client: Any, world: World) -> None:
        self.client, self.world = client, world
        self.steps: list[ScenarioStep] = []

    def _auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.tokens[who]}"}

    def submit(self, label: str, body: dict[str, Any], review: str | None = None) -> ScenarioStep:
        reply = self.client.post("/api/trace-requests", json=body, headers=self._auth("officer"))
        data = reply.json()
        if reply.status_code >= 400:
            step = ScenarioStep(label, dt.date.fromisoformat(body["request_date"]), None,
                                f"http {reply.status_code}", data.get("issue", [{}])[0]
                                .get("diagnostics", ""), data)
            self.steps.append(step)
            return step
        if review and data["status"] == "awaiting_review":
            reply = self.client.post(f"/api/trace-requests/{data['id']}/review",
                                     json={"decision": review, "reason": "proportionate and "
                                           "within the agreement"}, headers=self._auth("guardian"))
            data = self.client.get(f"/api/trace-requests/{data['id']}",
                                   headers=self._auth("officer")).json()
        step = ScenarioStep(label, dt.date.fromisoformat(body["request_date"]), data["id"],
                            data["status"], _detail(data), data)
        self.steps.append(step)
        return step


def _detail(data: dict[str, Any]) -> str:
    if data.get("release"):
        release = data["release"]
        return (f"released {', '.join(release['fields'])}; new information: "
                f"{'yes' if release['new_information'] else 'no'}")
    decision = data.get("decision") or {}
    if data["status"] == "refused" and decision.get("reasons"):
        first = decision["reasons"][0]
        text = " ".join(first["text"].split())
        return f"v{decision.get('version')} clause {first['clause']}: {text[:90]}"
    trace = data.get("trace") or {}
    if trace:
        return f"trace {trace['outcome']}, p={trace['match_probability']}"
    return ""


def _old_postcode(person: PatientRecord) -> str:
    return person.addresses[0].postcode


def play(client: Any, world: World) -> list[ScenarioStep]:
    """Play the story through ``client`` (a TestClient or an httpx.Client on a live server)."""
    story, people = _Story(client, world), world.people
    over, fno, restricted = people.overstayer, people.offender, people.restricted
    story.submit("2017: overstayer traced, reviewed, released",
                 _ask(over, dt.date(2017, 3, 1), "overstayer", _old_postcode(over)), "approve")
    current = restricted.last_known_address
    story.submit("2017: restricted patient (no address or GP may leave)",
                 _ask(restricted, dt.date(2017, 4, 3), "overstayer",
                      current.postcode if current else None), "approve")
    story.submit("2017: namesakes with one date of birth",
                 _ask(people.namesake, dt.date(2017, 5, 2), "illegal_entrant", None), "approve")
    story.submit("after 9 May 2018: the same overstayer",
                 _ask(over, dt.date(2018, 6, 1), "overstayer", _old_postcode(over)), "approve")
    story.submit("after 9 May 2018: offender, 18-month sentence",
                 _ask(fno, dt.date(2018, 7, 2), "foreign_national_offender", _old_postcode(fno),
                      custodial_sentence_months=18, deportation_considered=True), "approve")
    story.submit("after 9 Nov 2018: offender, 18-month sentence",
                 _ask(fno, dt.date(2018, 12, 3), "foreign_national_offender", _old_postcode(fno),
                      custodial_sentence_months=18, deportation_considered=True), "approve")
    story.submit("after 9 Nov 2018: overstayer",
                 _ask(over, dt.date(2019, 2, 1), "overstayer", _old_postcode(over)), "approve")
    return story.steps


def run_seeds_scenario(settings: Settings, people: int = 300, seed: int = 2017
                       ) -> list[ScenarioStep]:
    """Migrate, build the story's world, replay it through the HTTP API, verify the ledger.

    Example:
        >>> for step in run_seeds_scenario(Settings()):  # doctest: +SKIP
        ...     print(step.line())
    """
    from fastapi.testclient import TestClient

    from caldicott.db import make_engine
    from caldicott.migrations import upgrade
    from caldicott.service.app import create_app

    engine = make_engine(settings)
    try:
        upgrade(settings, engine)
        world = build_world(engine, people=people, seed=seed)
        with TestClient(create_app(settings)) as client:
            steps = play(client, world)
        steps.extend(_epilogue(engine, settings))
    finally:
        engine.dispose()
    return steps


def _epilogue(engine: Any, settings: Settings) -> list[ScenarioStep]:
    from caldicott.agreements.service import replay
    from caldicott.db import unit_of_work
    from caldicott.ledger.verify import verify

    with unit_of_work(engine) as session:
        what_if = replay(session, "firewall", "1", decisions_of="tracing-mou")
        report = verify(session, settings)
    permits = what_if.changes.get("permit -> deny", 0)
    return [
        ScenarioStep("the firewall, replayed over every MoU decision", None, None,
                     f"{what_if.flipped} would change",
                     f"{permits} permits become refusals, of {what_if.replayed} decisions"),
        ScenarioStep("caldicott ledger verify", None, None, "ok" if report.ok else "FAILED",
                     f"{report.tree_size} entries" + ("" if report.ok else
                                                      f": {'; '.join(report.problems[:3])}")),
    ]
