from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from caldicott.db import load_all_models, make_engine
from caldicott.settings import Settings

target_metadata = load_all_models()
config = context.config


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    owned = engine is None
    if engine is None:
        engine = make_engine(Settings(database_url=config.get_main_option("sqlalchemy.url")))
    try:
        _migrate(engine)
    finally:
        if owned:
            engine.dispose()


def _migrate(engine: Engine) -> None:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("caldicott runs migrations online only")
run_migrations_online()
