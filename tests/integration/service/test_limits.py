"""Limits before work: a body over the limit is a 413 before it is read or anyone is
authenticated; JSON too deep, or holding a lone surrogate or a NUL, is a 422 on every
JSON endpoint; and the client can carry on afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from caldicott.requests.scenario import _ask
from caldicott.service.security import MAX_JSON_DEPTH, nesting_depth_exceeds
from tests.integration.requests.conftest import Lifecycle

JSON = {"Content-Type": "application/json"}
TEXT_FIELDS = ("given_name", "family_name", "postcode", "address_line", "purpose",
               "case_reference", "justification")


def _good(lifecycle: Lifecycle, **facts: Any) -> dict[str, Any]:
    return _ask(lifecycle.world.people.overstayer, dt.date(2017, 8, 1), "overstayer", None,
                **facts)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _still_answers(lifecycle: Lifecycle) -> None:
    reply = lifecycle.client.get("/api/trace-requests", headers=lifecycle.auth("officer"))
    assert reply.status_code == 200, reply.text


def test_a_body_over_the_limit_is_a_413_before_authentication(lifecycle: Lifecycle) -> None:
    limit = lifecycle.settings.max_body_bytes
    body = b'{"family_name": "' + b"x" * limit + b'"}'
    anonymous = lifecycle.client.post("/api/trace-requests", content=body, headers=JSON)
    assert anonymous.status_code == 413, anonymous.text
    assert anonymous.json()["issue"][0]["diagnostics"] == (
        f"the request body is larger than {limit:,} bytes")
    signed_in = lifecycle.client.post("/api/trace-requests", content=body,
                                      headers={**JSON, **lifecycle.auth("officer")})
    assert signed_in.status_code == 413
    _still_answers(lifecycle)


def test_a_declared_length_over_the_limit_is_refused_without_reading(
        lifecycle: Lifecycle) -> None:
    limit = lifecycle.settings.max_body_bytes
    reply = lifecycle.client.post(
        "/api/trace-requests", content=b"{}",
        headers={**JSON, "Content-Length": str(limit + 1)})
    assert reply.status_code == 413


def test_a_batch_of_more_than_10000_requests_reaches_the_batch_check_not_the_size_limit(
        lifecycle: Lifecycle) -> None:
    body = {"requests": [_good(lifecycle)] * 10_001}
    reply = lifecycle.client.post("/api/trace-requests/batch", json=body,
                                  headers=lifecycle.auth("officer"))
    assert reply.status_code == 422
    assert "at most 10000" in reply.json()["issue"][0]["diagnostics"]
    single = lifecycle.client.post("/api/trace-requests", json=body,
                                   headers=lifecycle.auth("officer"))
    assert single.status_code == 413


@pytest.mark.parametrize("path", ["/api/trace-requests/batch", "/api/trace-requests",
                                  "/api/trace-requests/1/review", "/api/trace-requests/1/trace"])
def test_deeply_nested_json_is_a_422_on_every_json_endpoint(lifecycle: Lifecycle,
                                                            path: str) -> None:
    for body in (_nested(100_000), b'{"requests": ' + _nested(5_000) + b"}",
                 b"[" * 100_000):
        reply = lifecycle.client.post(path, content=body,
                                      headers={**JSON, **lifecycle.auth("officer")})
        assert reply.status_code == 422, (path, reply.text[:200])
        assert "nested more than" in reply.json()["issue"][0]["diagnostics"]
    _still_answers(lifecycle)


def test_json_nested_within_the_limit_is_left_to_the_route(lifecycle: Lifecycle) -> None:
    reply = lifecycle.client.post("/api/trace-requests/batch",
                                  content=b'{"requests": ' + _nested(MAX_JSON_DEPTH - 1) + b"}",
                                  headers={**JSON, **lifecycle.auth("officer")})
    assert reply.status_code == 422
    assert "nested" not in reply.json()["issue"][0]["diagnostics"]


def test_nesting_depth_counts_brackets_outside_strings_only() -> None:
    assert not nesting_depth_exceeds(b'{"a": "[[[[[[[[[[", "b": [[1]]}', 3)
    assert not nesting_depth_exceeds(b'{"a": "\\"[[[[[["}', 1)
    assert nesting_depth_exceeds(b'{"a": [[[1]]]}', 3)
    assert not nesting_depth_exceeds(b'{"a": [[[1]]]}', 4)


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_a_lone_surrogate_in_any_text_field_is_a_422(lifecycle: Lifecycle, field: str) -> None:
    good = _good(lifecycle)
    for escape in ("\\ud800", "\\udfff", "Ann\\ud83d"):
        raw = (b'{"' + field.encode() + b'": "' + escape.encode() + b'", '
               + _without(good, field))
        for path in ("/api/trace-requests", "/api/trace-requests/batch"):
            body = raw if path == "/api/trace-requests" else b'{"requests": [' + raw + b"]}"
            reply = lifecycle.client.post(path, content=body,
                                          headers={**JSON, **lifecycle.auth("officer")})
            assert reply.status_code == 422, (field, path, reply.text[:300])
            assert "surrogate" in reply.json()["issue"][0]["diagnostics"]
    _still_answers(lifecycle)


def test_a_lone_surrogate_in_a_review_is_a_422(lifecycle: Lifecycle) -> None:
    reply = lifecycle.client.post(
        "/api/trace-requests/1/review", content=b'{"decision": "approve", "note": "\\udc00"}',
        headers={**JSON, **lifecycle.auth("guardian")})
    assert reply.status_code == 422
    assert "surrogate" in reply.json()["issue"][0]["diagnostics"]


def test_a_surrogate_pair_is_an_ordinary_character(lifecycle: Lifecycle) -> None:
    body = _without(_good(lifecycle), "case_reference")
    reply = lifecycle.client.post(
        "/api/trace-requests", content=b'{"case_reference": "HO-\\ud83d\\ude00-1", ' + body,
        headers={**JSON, **lifecycle.auth("officer")})
    assert reply.status_code < 500, reply.text
    assert "surrogate" not in reply.text


def test_a_nul_in_a_json_text_field_is_a_422(lifecycle: Lifecycle) -> None:
    body = _without(_good(lifecycle), "purpose")
    reply = lifecycle.client.post(
        "/api/trace-requests/batch",
        content=b'{"requests": [{"purpose": "tracing\\u0000", ' + body + b"]}",
        headers={**JSON, **lifecycle.auth("officer")})
    assert reply.status_code == 422
    assert "NUL" in reply.json()["issue"][0]["diagnostics"]


def _without(body: dict[str, Any], field: str) -> bytes:
    """The rest of ``body`` as JSON object members, after an opening member."""
    import json

    rest = {k: v for k, v in body.items() if k != field}
    return json.dumps(rest).encode()[1:]


def test_the_openapi_document_names_the_413_and_the_503(lifecycle: Lifecycle) -> None:
    paths = lifecycle.client.get("/openapi.json").json()["paths"]
    submit = paths["/api/trace-requests"]["post"]["responses"]
    batch = paths["/api/trace-requests/batch"]["post"]["responses"]
    listing = paths["/api/trace-requests"]["get"]["responses"]
    assert {"413", "503"} <= set(submit) and {"413", "503"} <= set(batch)
    assert "503" in listing and "413" not in listing
