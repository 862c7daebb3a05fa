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


_OUTCOME_SCHEMA = {"type": "object", "required": ["resourceType", "issue"], "properties": {
    "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
    "issue": {"type": "array", "items": {"type": "object"}}}}


def documented_errors(texts: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route's error statuses, each an OperationOutcome.

    Example:
        >>> documented_errors({404: "No such request"})[404]["description"]
        'No such request (FHIR OperationOutcome)'
    """
    return {code: {"description": f"{text} (FHIR OperationOutcome)",
                   "content": {"application/fhir+json": {"schema": _OUTCOME_SCHEMA}}}
            for code, text in texts.items()}
