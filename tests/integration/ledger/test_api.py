"""The auditor's routes: checkpoint and proofs (public), entries (signed in), and 4xx for
bad parameters, including sizes above the tree's."""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from caldicott.db import unit_of_work
from caldicott.ledger import service
from caldicott.ledger.core.checkpoint import open_checkpoint
from caldicott.ledger.core.merkle import leaf_hash, verify_consistency, verify_inclusion
from caldicott.ledger.keys import load_or_create_key
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.integration.ledger.conftest import make_event, token_for

with warnings.catch_warnings():
    # Starlette prefers httpx2 for its test client and warns when it falls back to httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SIZE = 13


@pytest.fixture()
def client(fresh: tuple[Settings, Engine]) -> Iterator[TestClient]:
    """A client of a service whose ledger holds SIZE entries, signed in as an auditor
    (the public routes ignore the token)."""
    settings, engine = fresh
    token = token_for(engine, "auditor")
    with unit_of_work(engine) as session:
        service.append_many(session, settings, [make_event(n) for n in range(SIZE)])
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client
        # A request's session is closed by its dependency's teardown, which runs after the
        # response; let it finish before the client's event loop stops and the pool closes.
        deadline = time.monotonic() + 5
        while app.state.engine.pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.01)
    app.state.engine.dispose()


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_auditor_checks_inclusion_and_consistency_against_a_signed_checkpoint(
        client: TestClient, fresh: tuple[Settings, Engine]) -> None:
    settings, _ = fresh
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    head = open_checkpoint(response.text, load_or_create_key(settings.data_dir).public_key())
    assert head.size == SIZE
    # Reading the entries is itself an entry (the log grows): proofs are asked for at the
    # size of the checkpoint the auditor holds, as an auditor does.
    entries = client.get("/ledger/entries", params={"start": 0, "end": SIZE}).json()["entries"]
    for item in entries:
        leaf = leaf_hash(item["entry"].encode("utf-8"))
        assert leaf == _b64(item["leaf_hash"])
        proof = client.get("/ledger/proof/inclusion", params={
            "index": item["index"], "tree_size": SIZE}).json()
        verify_inclusion(item["index"], SIZE, leaf, [_b64(p) for p in proof["inclusion_path"]],
                         head.root)
    proof = client.get("/ledger/proof/consistency", params={"first": 5, "second": SIZE}).json()
    verify_consistency(5, SIZE, _b64(proof["first_root"]), head.root,
                       [_b64(p) for p in proof["consistency_path"]])


def test_entries_carry_commitments_not_pseudonyms(client: TestClient) -> None:
    entry = client.get("/ledger/entries", params={"start": 0, "end": 1}).json()["entries"][0]
    assert '"commitment_sha256"' in entry["entry"] and '"details_sha256"' in entry["entry"]
    assert '"hmac_sha256"' not in entry["entry"]


def test_anonymous_entries_are_401_but_checkpoint_and_proofs_stay_public(
        client: TestClient) -> None:
    anonymous = {"Authorization": ""}
    response = client.get("/ledger/entries", params={"start": 0, "end": 1}, headers=anonymous)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "entry" not in response.text
    for path in ("/ledger/checkpoint", "/ledger/proof/inclusion?index=0",
                 f"/ledger/proof/consistency?first=1&second={SIZE}"):
        assert client.get(path, headers=anonymous).status_code == 200, path


@pytest.mark.parametrize(("role", "org"), [("tracer", ("X26", "nhs_digital")),
                                           ("requesting_officer", ("HO-IE", "home_office"))])
def test_entries_are_403_without_read_ledger(client: TestClient, fresh: tuple[Settings, Engine],
                                             role: str, org: tuple[str, str]) -> None:
    token = token_for(fresh[1], role, org)
    response = client.get("/ledger/entries", params={"start": 0, "end": 1},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "read_ledger" in response.json()["issue"][0]["diagnostics"]


def test_an_auditor_of_a_requesting_body_may_not_page_through_the_ledger(
        client: TestClient, fresh: tuple[Settings, Engine]) -> None:
    """The entries say how every organisation's traces came out; a Home Office auditor
    reaches only the Home Office's own data, so the whole log is not theirs to read."""
    token = token_for(fresh[1], "auditor", ("HO-IE", "home_office"))
    response = client.get("/ledger/entries", params={"start": 0, "end": 1},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "own organisation" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("path", [
    "/ledger/proof/inclusion?index=-1",
    "/ledger/proof/inclusion?index=abc",
    "/ledger/proof/inclusion",
    f"/ledger/proof/inclusion?index={SIZE}",
    f"/ledger/proof/inclusion?index=0&tree_size={SIZE + 1}",
    "/ledger/proof/inclusion?index=0&tree_size=0",
    "/ledger/proof/inclusion?index=99999999999999999999999",
    "/ledger/proof/consistency?first=0",
    f"/ledger/proof/consistency?first=5&second={SIZE + 1}",
    "/ledger/proof/consistency?first=9&second=4",
    "/ledger/entries?start=5&end=2",
    "/ledger/entries?start=0&end=5000",
    f"/ledger/entries?start={SIZE}&end={SIZE + 2}",
    "/ledger/entries?start=x&end=1",
    # sizes above the tree's, up to the largest the route accepts
    f"/ledger/proof/inclusion?index=0&tree_size={2**62}",
    f"/ledger/proof/inclusion?index={2**62 - 1}&tree_size={2**62}",
    f"/ledger/proof/inclusion?index={2**40}",
    f"/ledger/proof/consistency?first=1&second={2**62}",
    f"/ledger/proof/consistency?first={2**62}&second={2**62}",
    f"/ledger/proof/consistency?first={2**62}",
    f"/ledger/proof/consistency?first={SIZE + 1}",
    f"/ledger/proof/consistency?first={2**40}&second={2**40 + 1}",
    f"/ledger/proof/consistency?first={SIZE}&second={SIZE - 1}",
])
def test_bad_parameters_are_an_operation_outcome_not_a_500(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 422), response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"]
