"""Organisations and user accounts in the database, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from caldicott.access.service import add_user, get_user, list_users
from caldicott.errors import Conflict, InvalidInput, NotFound
from caldicott.orgs.service import add_organisation, get_organisation

from .factories import make_org, make_user, unique_code


def test_organisation_code_is_stored_upper_case_and_found_in_any_case(session: Session) -> None:
    code = unique_code("h")
    add_organisation(session, code.lower(), "Home Office Immigration Enforcement", "home_office")
    assert get_organisation(session, code.lower()).code == code.upper()


def test_refuses_a_second_organisation_with_the_same_code(session: Session) -> None:
    org = make_org(session)
    with pytest.raises(Conflict, match="already exists"):
        add_organisation(session, org.code, "Again", "nhs_trust")


def test_refuses_an_unknown_organisation_kind(session: Session) -> None:
    with pytest.raises(InvalidInput, match="unknown organisation kind 'charity'"):
        add_organisation(session, unique_code(), "A Charity", "charity")


def test_user_holds_several_roles_in_one_organisation(session: Session) -> None:
    user = make_user(session, "tracer", "reviewer")
    assert sorted(r.role for r in user.roles) == ["reviewer", "tracer"]
    assert get_user(session, user.email.upper()).id == user.id


def test_refuses_a_user_in_an_unknown_organisation(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown organisation 'NOSUCHORG'"):
        add_user(session, "someone@example.org", "nosuchorg", ["tracer"])


def test_refuses_a_second_account_with_the_same_email(session: Session) -> None:
    user = make_user(session, "tracer")
    with pytest.raises(Conflict, match="already exists"):
        add_user(session, user.email.upper(), user.organisation.code, ["tracer"])


def test_refuses_administrator_who_is_also_a_reviewer(session: Session) -> None:
    org = make_org(session, "nhs_digital")
    with pytest.raises(InvalidInput, match="administrator may not approve releases"):
        add_user(session, "admin@example.org", org.code, ["administrator", "reviewer"])


def test_refuses_a_home_office_reviewer(session: Session) -> None:
    org = make_org(session, "home_office")
    with pytest.raises(InvalidInput, match="reviewer must belong to nhs_digital or nhs_trust"):
        add_user(session, "officer@example.org", org.code, ["reviewer"])


def test_refuses_a_user_without_a_role(session: Session) -> None:
    org = make_org(session)
    with pytest.raises(InvalidInput, match="at least one --role"):
        add_user(session, "norole@example.org", org.code, [])


def test_refuses_something_that_is_not_an_email(session: Session) -> None:
    org = make_org(session)
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        add_user(session, "not-an-email", org.code, ["tracer"])


def test_lists_users_with_their_roles_and_organisation(session: Session) -> None:
    user = make_user(session, "auditor")
    listed = {u.email: u for u in list_users(session)}
    assert listed[user.email].organisation.code == user.organisation.code
    assert [r.role for r in listed[user.email].roles] == ["auditor"]


def test_roles_may_be_given_comma_separated(session: Session) -> None:
    org = make_org(session, "nhs_digital")
    user = add_user(session, "two.roles@example.org", org.code, ["tracer, reviewer"])
    assert sorted(r.role for r in user.roles) == ["reviewer", "tracer"]
