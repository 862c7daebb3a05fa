"""What a CLI command needs to reach the database."""

from __future__ import annotations

from sqlalchemy import Engine

from caldicott.db import make_engine
from caldicott.settings import Settings


def open_database(settings: Settings | None = None) -> tuple[Settings, Engine]:
    """Settings from the environment and an engine at the newest schema.

    Migrating on open keeps the embedded default working with no setup step;
    on a database already at head it only reads the version table.
    """
    from caldicott.migrations import upgrade

    settings = settings or Settings()
    engine = make_engine(settings)
    upgrade(settings, engine)
    return settings, engine
