"""One error tree. Each domain error carries its HTTP status and a FHIR
OperationOutcome issue code; the web edge renders it for machines (an
``OperationOutcome``) and for people (an HTML page), the CLI as one plain line.
A refusal is a business outcome, never a 500.
"""

from __future__ import annotations


class CaldicottError(Exception):
    """Base of every error caldicott raises on purpose."""

    status_code: int = 400
    fhir_code: str = "invalid"  # FHIR IssueType
    pds_code: str = "INVALID_VALUE"  # PDS-style error code, for the FHIR edge

    def __init__(self, diagnostics: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.headers = headers or {}


class InvalidInput(CaldicottError):
    status_code = 400
    fhir_code = "invalid"
    pds_code = "INVALID_VALUE"


class Unprocessable(CaldicottError):
    status_code = 422
    fhir_code = "processing"
    pds_code = "INVALID_VALUE"


class NotAuthenticated(CaldicottError):
    status_code = 401
    fhir_code = "login"
    pds_code = "ACCESS_DENIED"


class Forbidden(CaldicottError):
    status_code = 403
    fhir_code = "forbidden"
    pds_code = "ACCESS_DENIED"


class NotFound(CaldicottError):
    status_code = 404
    fhir_code = "not-found"
    pds_code = "RESOURCE_NOT_FOUND"


class Conflict(CaldicottError):
    status_code = 409
    fhir_code = "conflict"
    pds_code = "CONFLICT"


class TooManyRequests(CaldicottError):
    """Slow down: too many failed sign-ins, or register searches, in a short time.
    Carries ``Retry-After``."""

    status_code = 429
    fhir_code = "throttled"
    pds_code = "TOO_MANY_REQUESTS"


class NotAFile(InvalidInput):
    """An input file that is not the format it claims to be (CSV, JSON, NDJSON)."""


class ServiceUnavailable(CaldicottError):
    """An outside party caldicott depends on is down (its circuit is open); nothing was
    sent. Try again later."""

    status_code = 503
    fhir_code = "transient"
    pds_code = "SERVICE_UNAVAILABLE"


class GatewayTimeout(CaldicottError):
    """An outside party did not answer in time; what was asked is kept, and may be
    asked again with the same idempotency key."""

    status_code = 504
    fhir_code = "timeout"
    pds_code = "TIMEOUT"
