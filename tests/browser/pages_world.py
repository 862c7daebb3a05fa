"""The real service, serving pages to a real browser: reusable by every capability's
browser tests (see ``conftest.py`` for the fixtures and README "Pages").

:func:`start_pages_world` builds the seeds' small world (staff, signatories, a
register of 300 synthetic people, a trained model) in a SQLite file of its own, gives
each of the staff a password (and a TOTP secret where their role needs one) and starts
``caldicott serve`` on a free loopback port. Each pytest-xdist worker gets its own
temporary folder, database and port, so workers never meet.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp

from caldicott.access import sign_in
from caldicott.db import make_engine, unit_of_work
from caldicott.migrations import upgrade
from caldicott.requests.world import STAFF, World, build_world, staff_email
from caldicott.settings import Settings
from tests.integration.service.serving import free_port

PASSWORD = "browser-test-passphrase"  # every account's, in this throwaway world only
SECRET_KEY = "browser-test-secret-key-not-for-production"


@dataclass
class Account:
    """A person who signs in: e-mail, password, and TOTP secret if they have one."""

    email: str
    password: str
    totp_secret: str | None
    last_step: int | None = None

    def code(self) -> str:
        """A TOTP code the service has not seen yet (it refuses a code used before): this
        time step's, or the next one's when this one was used (it accepts one step ahead)."""
        assert self.totp_secret is not None, f"{self.email} has no TOTP"
        totp = pyotp.TOTP(self.totp_secret)
        step = totp.timecode(dt.datetime.now(dt.UTC))
        if self.last_step is not None and step <= self.last_step:
            step = self.last_step + 1
        self.last_step = step
        return totp.generate_otp(step)


@dataclass
class PagesServer:
    """One running ``caldicott serve``; ``stop()`` ends it and returns what it logged."""

    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def stop(self) -> str:
        if not self.output:
            self.process.terminate()
            out, err = self.process.communicate(timeout=30)
            self.output.append(out + err)
        return self.output[0]


@dataclass
class PagesWorld:
    """The world behind the pages: its settings, staff (API tokens too), accounts."""

    settings: Settings
    world: World
    accounts: dict[str, Account]
    servers: list[PagesServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.servers[0].url

    def api(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        """Call the API as one of the staff (their API token), e.g. to move a request on."""
        headers = {"Authorization": f"Bearer {self.world.tokens[who]}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def serve(self, **env: str) -> PagesServer:
        """Start another ``caldicott serve`` on the same database (other settings: ``env``)."""
        server = _serve(self.settings, env)
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_pages_world(folder: Path, **env: str) -> PagesWorld:
    """Build the world in ``folder`` and serve it (``env``: extra ``CALDICOTT_*`` settings)."""
    settings = Settings(environment="test", database_url=f"sqlite:///{folder / 'pages.db'}",
                        data_dir=folder, secret_key=SECRET_KEY)
    engine = make_engine(settings)
    upgrade(settings, engine)
    world = build_world(engine, settings)
    accounts = {}
    with unit_of_work(engine) as session:
        for name in STAFF:
            email = staff_email(name)
            sign_in.set_password(session, settings, email, PASSWORD)
            secret = None
            if name in ("guardian", "second_guardian", "tracing_guardian", "auditor", "admin"):
                secret = sign_in.enrol_totp(session, settings, email)[1]
            accounts[name] = Account(email, PASSWORD, secret)
    engine.dispose()
    pages = PagesWorld(settings, world, accounts)
    pages.serve(**env)
    return pages


def _serve(settings: Settings, env: dict[str, str]) -> PagesServer:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CALDICOTT_")}
    environment |= {"CALDICOTT_DATA_DIR": str(settings.data_dir),
                    "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
                    "CALDICOTT_PORT": str(port), "CALDICOTT_ENVIRONMENT": "test",
                    "CALDICOTT_SECRET_KEY": settings.secret_key,
                    "CALDICOTT_ASSETS_DIR": str(Path(__file__).parents[2] / "node_modules"),
                    **env}
    process = subprocess.Popen([sys.executable, "-m", "caldicott", "serve"], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = PagesServer(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"caldicott serve exited: {server.stop()}")
        try:
            httpx.get(f"{server.url}/healthz", timeout=2)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.stop()
    raise AssertionError("caldicott serve did not answer within 60 s")
