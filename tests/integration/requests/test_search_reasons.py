"""A register search that serves a trace request names it, and is recorded with it."""

from __future__ import annotations

import json

from caldicott.db import unit_of_work
from caldicott.ledger import service as ledger
from tests.integration.requests.conftest import Lifecycle
from tests.integration.requests.test_access_matrix import _awaiting_review

QUERY = {"family": "Brannigan", "birthdate": "eq1990-05-05"}


def _search(lifecycle: Lifecycle, reason: str) -> int:
    response = lifecycle.client.get("/fhir/Patient", params=QUERY, headers={
        **lifecycle.auth("tracer"), "X-Caldicott-Reason": reason})
    return response.status_code


def test_a_search_for_an_open_request_is_recorded_with_the_request(
    lifecycle: Lifecycle
) -> None:
    request_id = _awaiting_review(lifecycle, "search-reason-open")
    assert _search(lifecycle, f"trace-request/{request_id}") == 200
    ledger.integrate(lifecycle.engine, lifecycle.settings)
    with unit_of_work(lifecycle.engine) as session:
        size, _ = ledger.tree_head(session)
        last = json.loads(ledger.entries(session, size - 1, size)[0][1])
    assert last["type"] == "register-search"
    assert last["purposeOfEvent"] == f"trace-request/{request_id}"


def test_a_search_naming_a_closed_request_needs_a_break_glass_reason(
    lifecycle: Lifecycle
) -> None:
    request_id = _awaiting_review(lifecycle, "search-reason-closed")
    refused = lifecycle.client.post(f"/api/trace-requests/{request_id}/review",
                                    headers=lifecycle.auth("guardian"),
                                    json={"decision": "refuse", "reason": "not proportionate"})
    assert refused.status_code == 200, refused.text
    assert _search(lifecycle, f"trace-request/{request_id}") == 400
    assert _search(lifecycle, "safeguarding") == 200
