"""Demo sign-ins: one person per role of the demo world, with a password (and a TOTP
secret where the role needs one), printed by ``caldicott demo``. Refused in production.

The people are the story's staff (:data:`caldicott.requests.world.STAFF`), added if the
demo world does not hold them yet; each run gives them new random passwords.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from caldicott.access import service as access
from caldicott.access import sign_in
from caldicott.access.core.roles import Role
from caldicott.access.core.sign_in import needs_second_factor
from caldicott.db import unit_of_work
from caldicott.errors import Forbidden, NotFound
from caldicott.requests.world import STAFF, staff_email
from caldicott.settings import Settings

#: One of the story's staff per role (a police officer too: the live journey's requester).
DEMO_STAFF = ("officer", "police_officer", "tracer", "guardian", "second_guardian", "auditor",
              "admin")


@dataclass(frozen=True)
class DemoSignIn:
    """A demo person's sign-in: shown once, on the console that ran the demo."""

    role: str
    email: str
    password: str
    totp_secret: str | None


def give_demo_sign_ins(engine: Engine, settings: Settings) -> list[DemoSignIn]:
    """Give each demo person a new password (and TOTP secret if their role needs one).

    Raises:
        Forbidden: in production (``CALDICOTT_ENVIRONMENT=production``).
    """
    if settings.environment == "production":
        raise Forbidden("demo sign-ins are refused when CALDICOTT_ENVIRONMENT=production")
    given = []
    with unit_of_work(engine) as session:
        for name in DEMO_STAFF:
            organisation, role = STAFF[name]
            email = staff_email(name)
            try:
                access.get_user(session, email)
            except NotFound:
                access.add_user(session, email, organisation, [role],
                                name=name.replace("_", " ").title())
            password = "demo-" + secrets.token_urlsafe(12)
            sign_in.set_password(session, settings, email, password)
            secret = None
            if needs_second_factor(frozenset(Role(r) for r in role.split(",")), False):
                secret = sign_in.enrol_totp(session, settings, email)[1]
            given.append(DemoSignIn(role, email, password, secret))
    return given
