"""Alembic migrations, shared by SQLite and PostgreSQL.

Each capability adds its own revision branching from ``0001_foundation`` (or
from another it depends on); ``upgrade`` goes to every head, so capabilities can
land in any order.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from caldicott.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(settings: Settings, engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.resolved_database_url.replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(settings: Settings, engine: Engine | None = None, revision: str = "heads") -> None:
    """Bring the database to the newest revision of every branch."""
    command.upgrade(alembic_config(settings, engine), revision)
