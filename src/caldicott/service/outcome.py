"""FHIR ``OperationOutcome`` for errors at the edge (pure)."""

from __future__ import annotations

from typing import Any


def operation_outcome(code: str, diagnostics: str, details: str | None = None,
                      severity: str = "error") -> dict[str, Any]:
    """Build a FHIR R4 OperationOutcome with one issue.

    Example:
        >>> operation_outcome("invalid", "family is empty")["issue"][0]["diagnostics"]
        'family is empty'
    """
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if details:
        issue["details"] = {
            "coding": [{
                "system": "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode",
                "code": details,
            }]
        }
    return {"resourceType": "OperationOutcome", "issue": [issue]}
