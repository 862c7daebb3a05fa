"""A kept database for ``benchmarks/pages.py``: the queue and ledger of ``pages_data``, and
the staff's passwords and TOTP secrets, so the real service can be signed into over HTTP.

Filling 10,000 waiting requests and 1,000,000 ledger entries takes minutes (SQLite's
queue alone about six); the database and a ``state.json`` naming it are kept in a folder
so the page timings can be re-run on it (``pages.py --keep FOLDER``).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _common import POSTGRES_ADMIN_URL
from pages_data import fill_ledger, fill_review_queue, world
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caldicott.access import sign_in
from caldicott.db import make_engine, unit_of_work
from caldicott.migrations import upgrade
from caldicott.requests.world import staff_email
from caldicott.settings import Settings

PASSWORD = "pages-benchmark-passphrase"  # every account's, in this throwaway world only
SECRET_KEY = "pages-benchmark-secret-key-not-for-production"
#: Who signs in, and whether their role needs a second factor.
SIGNERS = {"officer": False, "guardian": True, "auditor": True}


@dataclass
class Filled:
    """What ``pages.py`` needs to serve and sign into a filled database."""

    backend: str
    database_url: str
    data_dir: str
    secret_key: str
    accounts: dict[str, dict[str, str | None]]
    fill: dict[str, Any]

    def settings(self) -> Settings:
        return Settings(environment="test", database_url=self.database_url,
                        data_dir=Path(self.data_dir), secret_key=self.secret_key,
                        replay_history=True)


def _new_database(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'pages.db'}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"caldicott_pages_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)


def drop(filled: Filled) -> None:
    """Remove a kept PostgreSQL database (a SQLite one goes with its folder)."""
    if filled.backend != "postgresql":
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = make_url(filled.database_url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def load(folder: Path) -> Filled | None:
    state = folder / "state.json"
    return Filled(**json.loads(state.read_text())) if state.exists() else None


def fill(backend: str, folder: Path, requests: int, entries: int, people: int) -> Filled:
    """Fill a new database in ``folder`` (kept), or return the one already there."""
    folder.mkdir(parents=True, exist_ok=True)
    if (kept := load(folder)) is not None:
        return kept
    filled = Filled(backend, _new_database(backend, folder), str(folder), SECRET_KEY, {}, {})
    settings = filled.settings()
    engine = make_engine(settings)
    upgrade(settings, engine)
    started = time.perf_counter()
    waiting = fill_review_queue(engine, settings, world(engine, settings, people), requests)
    queue_s = time.perf_counter() - started
    print(f"{backend}: {waiting:,} waiting in {queue_s:.0f} s", file=sys.stderr)
    rate = fill_ledger(engine, settings, entries)
    with unit_of_work(engine) as session:
        for name, needs_code in SIGNERS.items():
            email = staff_email(name)
            sign_in.set_password(session, settings, email, PASSWORD)
            secret = sign_in.enrol_totp(session, settings, email)[1] if needs_code else None
            filled.accounts[name] = {"email": email, "password": PASSWORD, "totp": secret}
    _analyse(engine, backend)
    engine.dispose()
    filled.fill = {"people": people, "waiting": waiting, "queue_s": round(queue_s, 1),
                   "ledger_entries": entries, "ledger_entries_per_second": round(rate)}
    (folder / "state.json").write_text(json.dumps(asdict(filled), indent=1))
    return filled


def _analyse(engine: Any, backend: str) -> None:
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as c:
            c.execute(text("ANALYZE"))


if __name__ == "__main__":  # pages_fill.py BACKEND FOLDER [REQUESTS ENTRIES PEOPLE]
    numbers = [int(n) for n in sys.argv[3:6]] or [10_000, 1_000_000, 2_000]
    print(fill(sys.argv[1], Path(sys.argv[2]), *numbers))
