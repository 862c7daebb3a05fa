"""The request use cases check permissions without depending on the web edge."""

from __future__ import annotations

import subprocess
import sys

import pytest

from caldicott.access.core.policy import Verdict, ensure
from caldicott.errors import Forbidden

WEB = ("fastapi", "starlette", "caldicott.access.deps")


@pytest.mark.parametrize("module", ["caldicott.requests.service", "caldicott.requests.tracing"])
def test_a_request_use_case_imports_no_web_framework(module: str) -> None:
    probe = (f"import sys, {module}\n"
             f"print(sorted(n for n in sys.modules if n in {WEB!r} or "
             f"n.split('.')[0] in {WEB!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_ensure_refuses_a_denying_verdict_with_its_reason_as_a_403() -> None:
    ensure(Verdict(True, "allowed"))
    with pytest.raises(Forbidden, match="not allowed for the public") as refused:
        ensure(Verdict(False, "run_trace is not allowed for the public"))
    assert refused.value.status_code == 403
