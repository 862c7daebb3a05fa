"""Account changes made from the administrator's pages: a role added on the same rules
as a new account's, a new user recorded, and each change naming the administrator who
made it (``user/<id>``), never an e-mail address."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine

from caldicott.access.audit import administrator
from caldicott.access.service import (
    add_role,
    issue_token,
    register_user,
    remove_role,
    revoke_token_recorded,
    set_disabled,
    user_by_id,
)
from caldicott.access.sign_in import reset_sign_in
from caldicott.db import unit_of_work
from caldicott.errors import InvalidInput, NotFound
from caldicott.settings import Settings

from .factories import make_org, make_user, recent_ledger_events


def _email() -> str:
    return f"user.{uuid.uuid4().hex[:10]}@example.org"


def test_a_role_is_added_on_the_rules_of_a_new_account(engine: Engine,
                                                       settings: Settings) -> None:
    with unit_of_work(engine) as session:
        email = make_user(session, "tracer").email
        assert [r.role for r in add_role(session, settings, email, "Reviewer").roles] == [
            "reviewer", "tracer"]
        with pytest.raises(InvalidInput, match="already holds the role reviewer"):
            add_role(session, settings, email, "reviewer")
        with pytest.raises(InvalidInput, match="an auditor reads everything"):
            add_role(session, settings, email, "auditor")
        with pytest.raises(InvalidInput, match="unknown role"):
            add_role(session, settings, email, "superuser")
        police = make_user(session, "requesting_officer", org=make_org(session, "police"))
        with pytest.raises(InvalidInput, match="administrator must belong to nhs_digital"):
            add_role(session, settings, police.email, "administrator")


def test_each_change_from_the_pages_names_the_administrator(engine: Engine,
                                                             settings: Settings) -> None:
    with unit_of_work(engine) as session:
        admin = make_user(session, "administrator")
        from caldicott.access.service import principal_of

        agent = administrator(principal_of(admin))
        org = make_org(session)
        email = _email()
        user = register_user(session, settings, email, org.code, ["tracer"], agent=agent)
        add_role(session, settings, email, "reviewer", agent=agent)
        remove_role(session, settings, email, "tracer", agent=agent)
        set_disabled(session, settings, email, True, agent=agent)
        set_disabled(session, settings, email, False, agent=agent)
        issued = issue_token(session, settings, email, scope="read", agent=agent)
        revoke_token_recorded(session, settings, str(issued.id), agent=agent)
        reset_sign_in(session, settings, email, agent=agent)
        assert user_by_id(session, user.id).email == email
        with pytest.raises(NotFound):
            user_by_id(session, 2**31 - 1)
    mine = [e for e in recent_ledger_events(engine, settings)
            if e["entity"]["what"] == f"user/{user.id}"]
    assert [e["type"] for e in mine] == [
        "user-added", "user-role-added", "user-role-removed", "user-disabled", "user-enabled",
        "token-created", "token-revoked", "user-sign-in-reset"]
    assert {(e["agent"]["who"], e["agent"]["role"]) for e in mine} == {
        (f"user/{admin.id}", "administrator")}
    assert not [e for e in mine if email in str(e) or issued.token in str(e)]
