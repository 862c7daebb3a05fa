"""Must show 2: every role against every endpoint, on its own and another organisation's data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from caldicott.requests.scenario import _ask
from tests.integration.requests.conftest import Lifecycle

WHO = ("officer", "other_officer", "tracer", "guardian", "tracing_guardian", "auditor", "admin",
       "nobody")
# The request under test belongs to the officer's organisation (HO-IE); other_officer works for
# HO-CAS, which is not a party to the tracing memorandum (it may not submit under it).
EXPECTED: dict[str, dict[str, int]] = {
    "submit": dict(officer=201, other_officer=403, tracer=403, guardian=403,
                   tracing_guardian=403, auditor=403, admin=403, nobody=401),
    "batch": dict(officer=202, other_officer=422, tracer=403, guardian=403,
                  tracing_guardian=403, auditor=403, admin=403, nobody=401),
    "list": dict(officer=200, other_officer=200, tracer=200, guardian=200,
                 tracing_guardian=200, auditor=200, admin=403, nobody=401),
    "read": dict(officer=200, other_officer=404, tracer=200, guardian=200,
                 tracing_guardian=200, auditor=200, admin=403, nobody=401),
    "validate": dict(officer=403, other_officer=403, tracer=200, guardian=403,
                     tracing_guardian=200, auditor=403, admin=403, nobody=401),
    "public-interest": dict(officer=403, other_officer=403, tracer=403, guardian=200,
                            tracing_guardian=200, auditor=403, admin=403, nobody=401),
    "trace": dict(officer=403, other_officer=403, tracer=200, guardian=403,
                  tracing_guardian=200, auditor=403, admin=403, nobody=401),
    "review": dict(officer=403, other_officer=403, tracer=403, guardian=200,
                   tracing_guardian=200, auditor=403, admin=403, nobody=401),
}
#: The status each step needs its request in.
NEEDS = {"validate": "awaiting_validation", "public-interest": "awaiting_public_interest",
         "trace": "awaiting_review", "review": "awaiting_review"}


def _request_at(lifecycle: Lifecycle, reference: str, status: str) -> int:
    body = _ask(lifecycle.world.people.overstayer, dt.date(2017, 6, 1), "overstayer", None,
                case_reference=reference)
    request_id = int(lifecycle.submit(body)["id"])
    if status != "awaiting_validation":
        assert lifecycle.validate(request_id).status_code == 200
    if status == "awaiting_review":
        assert lifecycle.weigh(request_id).status_code == 200
    assert lifecycle.read(request_id)["internal_status"] == status
    return request_id


def _awaiting_review(lifecycle: Lifecycle, reference: str) -> int:
    return _request_at(lifecycle, reference, "awaiting_review")


def _headers(lifecycle: Lifecycle, who: str) -> dict[str, str]:
    return {} if who == "nobody" else lifecycle.auth(who)


def _call(lifecycle: Lifecycle, endpoint: str, who: str, request_id: int) -> Any:
    from caldicott.requests.scenario import public_interest

    client, headers = lifecycle.client, _headers(lifecycle, who)
    body = _ask(lifecycle.world.people.offender, dt.date(2017, 6, 1), "overstayer", None,
                case_reference=f"matrix-{who}")
    path = f"/api/trace-requests/{request_id}"
    if endpoint == "submit":
        return client.post("/api/trace-requests", json=body, headers=headers)
    if endpoint == "batch":
        return client.post("/api/trace-requests/batch", json={"requests": [body]},
                           headers=headers)
    if endpoint == "list":
        return client.get("/api/trace-requests", headers=headers)
    if endpoint == "read":
        return client.get(path, headers=headers)
    if endpoint == "validate":
        return client.post(f"{path}/validate", headers=headers,
                           json={"decision": "accept", "reasons": [], "note": "matrix"})
    if endpoint == "public-interest":
        return client.post(f"{path}/public-interest", headers=headers, json=public_interest())
    if endpoint == "trace":
        return client.post(f"{path}/trace", headers=headers)
    return client.post(f"{path}/review", headers=headers,
                       json={"decision": "approve", "reason": "matrix"})


def test_every_role_against_every_endpoint(lifecycle: Lifecycle) -> None:
    shared = _awaiting_review(lifecycle, "matrix-shared")
    wrong: list[str] = []
    for endpoint, expected in EXPECTED.items():
        for who in WHO:
            # A step that succeeds uses its request up, so each caller gets a fresh one.
            target = (_request_at(lifecycle, f"m-{endpoint}-{who}", NEEDS[endpoint])
                      if endpoint in ("validate", "public-interest", "review") else shared)
            reply = _call(lifecycle, endpoint, who, target)
            if reply.status_code != expected[who]:
                wrong.append(f"{endpoint} as {who}: {reply.status_code}, expected "
                             f"{expected[who]} ({reply.text[:120]})")
            elif reply.status_code >= 400:
                assert reply.json()["resourceType"] == "OperationOutcome"
    assert not wrong, "\n".join(wrong)


def test_an_officer_lists_only_their_own_organisations_requests(lifecycle: Lifecycle) -> None:
    _awaiting_review(lifecycle, "list-own")
    mine = lifecycle.client.get("/api/trace-requests?limit=500",
                                headers=lifecycle.auth("officer")).json()
    theirs = lifecycle.client.get("/api/trace-requests?limit=500",
                                  headers=lifecycle.auth("other_officer")).json()
    assert mine["total"] >= 1 and {r["organisation"] for r in mine["items"]} == {"HO-IE"}
    assert theirs["total"] == 0
    asked = lifecycle.client.get("/api/trace-requests?organisation=HO-IE",
                                 headers=lifecycle.auth("other_officer"))
    assert asked.status_code == 404


def test_the_reviewer_who_traced_cannot_approve(lifecycle: Lifecycle) -> None:
    request_id = _awaiting_review(lifecycle, "traced-by-guardian")
    traced = lifecycle.client.post(f"/api/trace-requests/{request_id}/trace",
                                   headers=lifecycle.auth("tracing_guardian"))
    assert traced.json()["trace"]["traced_by"] == lifecycle.world.user_ids["tracing_guardian"]
    refused = lifecycle.client.post(f"/api/trace-requests/{request_id}/review",
                                    json={"decision": "approve", "reason": "mine"},
                                    headers=lifecycle.auth("tracing_guardian"))
    assert refused.status_code == 403
    assert "you traced this request" in refused.json()["issue"][0]["diagnostics"]
    approved = lifecycle.client.post(f"/api/trace-requests/{request_id}/review",
                                     json={"decision": "approve", "reason": "independent"},
                                     headers=lifecycle.auth("guardian"))
    assert approved.status_code == 200 and approved.json()["status"] == "released"


def test_who_ever_traced_a_request_cannot_approve_it_after_a_retrace(
        lifecycle: Lifecycle) -> None:
    request_id = _awaiting_review(lifecycle, "retraced")
    for who in ("tracing_guardian", "tracer"):  # the last run is the plain tracer's
        assert lifecycle.post(request_id, "trace", {}, who).status_code == 200
    assert lifecycle.read(request_id)["trace"]["traced_by"] == lifecycle.world.user_ids["tracer"]
    refused = lifecycle.review(request_id, who="tracing_guardian")
    assert refused.status_code == 403
    assert "you traced this request" in refused.json()["issue"][0]["diagnostics"]
    assert lifecycle.review(request_id).json()["status"] == "released"


def test_a_tracer_sees_the_request_but_not_the_released_patient(lifecycle: Lifecycle) -> None:
    request_id = _awaiting_review(lifecycle, "tracer-view")
    lifecycle.client.post(f"/api/trace-requests/{request_id}/review",
                          json={"decision": "approve", "reason": "ok"},
                          headers=lifecycle.auth("guardian"))
    as_tracer = lifecycle.client.get(f"/api/trace-requests/{request_id}",
                                     headers=lifecycle.auth("tracer")).json()
    as_officer = lifecycle.client.get(f"/api/trace-requests/{request_id}",
                                      headers=lifecycle.auth("officer")).json()
    assert as_tracer["status"] == "released" and as_tracer["release"] is None
    assert as_officer["release"]["resource"]["resourceType"] == "Patient"
