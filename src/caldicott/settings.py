"""Settings, read from the environment with the ``CALDICOTT_`` prefix.

Every setting here is documented in the README's configuration table; a test
fails if one is missing there.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"
MIN_SECRET_LENGTH = 32
SECRET_PROBLEM = (f"CALDICOTT_SECRET_KEY must be set in production, at least {MIN_SECRET_LENGTH} "
                  "characters and not the placeholder")


class Settings(BaseSettings):
    """The service's configuration.

    Example:
        >>> Settings(data_dir=Path("/tmp/c")).resolved_database_url
        'sqlite:////tmp/c/caldicott.db'
    """

    model_config = SettingsConfigDict(env_prefix="CALDICOTT_", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="development, test or production"
    )
    data_dir: Path = Field(
        Path("var"), description="Folder for the embedded database, keys and exports"
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; defaults to a SQLite file in the data folder. "
        "Use postgresql+psycopg://user@host/db for PostgreSQL.",
    )
    secret_key: str = Field(
        PLACEHOLDER_SECRET,
        description="The service's own secret (for values it signs); in production at least "
        "32 characters and not the placeholder. Patients' pseudonyms do not use it: they "
        "are keyed with a random key in the data folder",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP service listens on")
    port: int = Field(8000, description="Port the HTTP service listens on")
    workers: int = Field(1, description="Worker processes for the HTTP service")
    queue_seconds: float = Field(
        300, ge=0, description="How often the service decides requests queued under a "
        "suspended agreement (0: only at start-up and by `caldicott trace-request process`)"
    )

    replay_history: bool = Field(
        False, description="Let requests carry a request_date, to replay history (the demo's "
        "scenario); a live service judges every request as of the day it receives it"
    )
    max_body_bytes: int = Field(
        2**20, ge=1024, description="Largest request body accepted (bytes); larger is a 413, "
        "refused before it is read or the caller is authenticated")
    max_batch_body_bytes: int = Field(
        32 * 2**20, ge=1024, description="Largest body of POST /api/trace-requests/batch "
        "(bytes): 10,000 requests with long justifications fit; also the largest batch file "
        "uploaded at /batches/new")
    behind_tls: bool = Field(
        False, description="The service is reached only over HTTPS (a proxy terminates TLS): "
        "send Strict-Transport-Security on every response, not only on HTTPS requests")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="Proxies whose X-Forwarded-For/-Proto headers are trusted "
        "(comma-separated addresses, or * for any)")
    access_log: bool = Field(
        True, description="Log each request's method, path (never its query) and status")
    auth_failure_limit: int = Field(
        20, ge=1, description="Failed authentications per client address, and per token, "
        "in 10 minutes before further attempts are refused (429); from the 5th each "
        "attempt waits twice as long as the one before")
    session_idle_minutes: float = Field(
        15, gt=0, le=24 * 60, description="A signed-in page session ends after this many "
        "minutes without a request (fractions allowed: 0.05 is 3 seconds)")
    assets_dir: Path | None = Field(
        None, description="Folder of the installed npm packages (node_modules) whose NHS.UK "
        "frontend CSS, JavaScript and images are served under /assets; default: the "
        "node_modules folder of the source checkout")
    register_searches_per_minute: int = Field(
        120, ge=1, description="Register searches (GET /fhir/Patient) one user may run in a "
        "minute; beyond it they are refused (429) and flagged in the ledger")

    checking_url: str = Field(
        "", description="Base URL of the Home Office checking service (e.g. "
        "http://127.0.0.1:8700); empty: an in-memory stand-in answers (development and tests "
        "only; refused in production)")
    checking_timeout_seconds: float = Field(
        2.0, gt=0, description="How long one attempt of a status check waits for the "
        "checking service's answer")
    checking_attempts: int = Field(
        3, ge=1, le=10, description="Attempts per status check (each carries the check's own "
        "Idempotency-Key, so a retry is never a second call)")
    checking_breaker_failures: int = Field(
        5, ge=1, description="Failed checks in a row after which the circuit opens: no "
        "check is sent until it resets")
    checking_breaker_reset_seconds: float = Field(
        30.0, gt=0, description="How long the circuit stays open before one check is let "
        "through to try the service again")

    @model_validator(mode="after")
    def _refuse_a_weak_secret(self) -> Settings:
        if self.environment == "production" and (
                self.secret_key == PLACEHOLDER_SECRET
                or len(self.secret_key) < MIN_SECRET_LENGTH
                or PLACEHOLDER_SECRET in self.secret_key):
            raise ValueError(SECRET_PROBLEM)
        if self.environment == "production" and self.replay_history:
            raise ValueError("CALDICOTT_REPLAY_HISTORY is for replaying history, never in "
                             "production")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.absolute() / 'caldicott.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def settings_problem(error: ValidationError) -> str:
    """One plain line saying which settings are wrong and why, naming no value given
    (pydantic's own message repeats every input, the database URL's password included).

    Example:
        >>> try:
        ...     Settings(environment="production", secret_key="short")
        ... except ValidationError as e:
        ...     print(settings_problem(e))
        invalid settings: CALDICOTT_SECRET_KEY must be set in production, at least 32 \
characters and not the placeholder
    """
    problems = []
    for issue in error.errors(include_input=False, include_url=False):
        message = str(issue.get("msg", "invalid")).removeprefix("Value error, ")
        names = [f"CALDICOTT_{part}".upper() for part in issue.get("loc", ()) if
                 isinstance(part, str)]
        problems.append(f"{names[0]}: {message}" if names else message)
    return "invalid settings: " + "; ".join(problems)
