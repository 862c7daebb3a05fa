"""Must show 3: schemathesis against the OpenAPI document of the trace-request routes.

Bounded (a fixed number of examples per operation, derandomised): no 5xx, and
every response matches the documented status codes, content types and schemas.
The number of calls made is printed (run with ``-s``).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.requests.conftest import Lifecycle

EXAMPLES = 25
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance)
WHO_CALLS = {"review": "guardian", "trace": "tracer"}


def _who(path: str) -> str:
    return next((w for key, w in WHO_CALLS.items() if path.endswith(key)), "officer")


def test_trace_request_api_never_fails_or_breaks_its_schema(lifecycle: Lifecycle) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", lifecycle.client.app)
    operations = [result.ok() for result in
                  schema.include(path_regex="^/api/trace-requests").get_all_operations()]
    assert len(operations) == 6
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
