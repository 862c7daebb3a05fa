"""Settings, read from the environment with the ``CALDICOTT_`` prefix.

Every setting here is documented in the README's configuration table; a test
fails if one is missing there.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"


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
        description="Secret for keyed hashes of identifiers; must be set in production",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP service listens on")
    port: int = Field(8000, description="Port the HTTP service listens on")
    workers: int = Field(1, description="Worker processes for the HTTP service")
    queue_seconds: float = Field(
        300, ge=0, description="How often the service decides requests queued under a "
        "suspended agreement (0: only at start-up and by `caldicott trace-request process`)"
    )

    auth_failure_limit: int = Field(
        20, ge=1, description="Failed authentications per client address, and per token, "
        "in 10 minutes before further attempts are refused (429); from the 5th each "
        "attempt waits twice as long as the one before")
    register_searches_per_minute: int = Field(
        120, ge=1, description="Register searches (GET /fhir/Patient) one user may run in a "
        "minute; beyond it they are refused (429) and flagged in the ledger")

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("CALDICOTT_SECRET_KEY must be set in production")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.absolute() / 'caldicott.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
