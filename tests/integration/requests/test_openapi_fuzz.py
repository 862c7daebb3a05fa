"""Must show 3: schemathesis against the OpenAPI document of the trace-request routes.

Bounded (a fixed number of examples per operation, derandomised): no 5xx, and
every response matches the documented status codes, content types and schemas.
Then the same generated calls again with their bodies made too large (padding
past the route's limit) or too deep (a field or the whole body wrapped in
hundreds to 100,000 levels of arrays): each must be a 413 or a 422, never a 5xx.
The number of calls made is printed (run with ``-s``).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from caldicott.service.app import BATCH_PATH
from caldicott.service.security import MAX_JSON_DEPTH
from tests.integration.requests.conftest import Lifecycle

EXAMPLES = 25
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance)
WHO_CALLS = {"review": "guardian", "public-interest": "guardian", "trace": "tracer",
             "validate": "tracer"}


def _who(path: str) -> str:
    return next((w for key, w in WHO_CALLS.items() if path.endswith(key)), "officer")


def test_trace_request_api_never_fails_or_breaks_its_schema(lifecycle: Lifecycle) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", lifecycle.client.app)
    operations = [result.ok() for result in
                  schema.include(path_regex="^/api/trace-requests").get_all_operations()]
    assert len(operations) == 8
    calls: list[int] = []

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case: Any) -> None:
            case.headers = {**(case.headers or {}), **lifecycle.auth(_who(case.path))}
            response = case.call()
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        exercise()
    print(f"schemathesis: {len(calls)} calls, statuses {sorted(set(calls))}")
    assert calls and not [code for code in calls if code >= 500]


HOSTILE_EXAMPLES = 10


def _as_json(case: Any) -> Any:
    body = case.body
    return body if isinstance(body, (dict, list, str, int, float, bool)) else {}


def _deepen(document: Any, depth: int, whole: bool) -> bytes:
    nested = "[" * depth + "]" * depth
    if whole or not isinstance(document, dict) or not document:
        return ("[" * depth + json.dumps(document) + "]" * depth).encode()
    key = sorted(document)[depth % len(document)]
    return json.dumps({**document, key: "@@"}).replace('"@@"', nested).encode()


def _oversize(document: Any, limit: int) -> bytes:
    return json.dumps(document).encode() + b" " * (limit + 1)  # still valid JSON


def test_oversized_and_deeply_nested_bodies_are_refused_never_a_5xx(
        lifecycle: Lifecycle) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", lifecycle.client.app)
    operations = [result.ok() for result in
                  schema.include(path_regex="^/api/trace-requests").get_all_operations()]
    statuses: Counter[tuple[str, int]] = Counter()
    limits = lifecycle.settings

    for operation in operations:
        @given(case=operation.as_strategy(), depth=st.integers(MAX_JSON_DEPTH + 1, 100_000),
               whole=st.booleans(), oversized=st.booleans())
        @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def exercise(case: Any, depth: int, whole: bool, oversized: bool) -> None:
            path = case.formatted_path
            limit = (limits.max_batch_body_bytes if path == BATCH_PATH
                     else limits.max_body_bytes)
            body = (_oversize(_as_json(case), limit) if oversized
                    else _deepen(_as_json(case), depth, whole))
            response = lifecycle.client.request(
                case.method, path, content=body,
                headers={"Content-Type": "application/json", **lifecycle.auth(_who(path))})
            kind = "oversized" if oversized else "nested"
            statuses[(kind, response.status_code)] += 1
            assert response.status_code == (413 if oversized else 422), (kind, response.text)

        exercise()
    print(f"schemathesis hostile bodies: {sum(statuses.values())} calls, "
          f"{dict(sorted(statuses.items()))}")
    assert statuses and not [code for (_, code) in statuses if code >= 500]
