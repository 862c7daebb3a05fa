"""The access matrix of SPEC section 2, and separation of duties, at the policy level."""

from __future__ import annotations

import pytest

from caldicott.access.core import (
    Action,
    Audience,
    Principal,
    Role,
    Scope,
    TokenScope,
    can,
    may_review,
    organisation_kind_problems,
    parse_role,
    role_conflicts,
    scope_of,
)
from caldicott.access.core.roles import (
    CHANGING_ACTIONS,
    ROLE_ORGANISATION_KINDS,
    TOKEN_SCOPE_ACTIONS,
)
from caldicott.orgs.models import ORGANISATION_KINDS

A, S = Action, Scope
PUBLIC = {A.READ_STATISTICS: S.ANY, A.READ_CHECKPOINTS: S.ANY}

# Spelled out again, on purpose: a change to the policy must be made twice, here
# deliberately. Anything not listed is denied.
EXPECTED: dict[Role | Audience, dict[Action, Scope]] = {
    Role.REQUESTING_OFFICER: {A.SUBMIT_REQUEST: S.OWN_ORG, A.READ_REQUEST: S.OWN_ORG,
                              A.READ_DISCLOSURE: S.OWN_ORG, **PUBLIC},
    Role.TRACER: {A.READ_REQUEST: S.ANY, A.VALIDATE_REQUEST: S.ANY, A.RUN_TRACE: S.ANY,
                  A.SEARCH_REGISTER: S.ANY, **PUBLIC},
    Role.REVIEWER: {A.READ_REQUEST: S.ANY, A.READ_DISCLOSURE: S.ANY, A.REVIEW_RELEASE: S.ANY,
                    A.APPLY_EXEMPTION: S.ANY, A.UPHOLD_COMPLAINT: S.ANY, A.READ_LEDGER: S.ANY,
                    **PUBLIC},
    Role.OVERSEAS_VISITORS_MANAGER: {A.RUN_STATUS_CHECK: S.OWN_ORG, A.RAISE_INVOICE: S.OWN_ORG,
                                     A.READ_REFERRALS: S.OWN_ORG, **PUBLIC},
    Role.AUDITOR: {A.READ_REQUEST: S.ANY, A.READ_DISCLOSURE: S.ANY, A.READ_REFERRALS: S.ANY,
                   A.READ_LEDGER: S.ANY, A.REPLAY_DECISION: S.ANY, A.READ_REPORTS: S.ANY,
                   **PUBLIC},
    Role.ADMINISTRATOR: {A.MANAGE_ORGANISATIONS: S.ANY, A.MANAGE_USERS: S.ANY,
                         A.MANAGE_AGREEMENTS: S.ANY, **PUBLIC},
    Audience.PATIENT: {A.READ_OWN_DISCLOSURES: S.SELF, **PUBLIC},
    Audience.PUBLIC: PUBLIC,
}

HOME_OFFICE, OTHER_ORG = 10, 11


def person(*roles: Role, user_id: int = 1, organisation_id: int = HOME_OFFICE,
           kind: str = "home_office", token_scope: TokenScope = TokenScope.FULL) -> Principal:
    return Principal(user_id=user_id, email=f"user{user_id}@example.org", name="Test User",
                     organisation_id=organisation_id, organisation_code="ORG",
                     organisation_kind=kind, roles=frozenset(roles), token_scope=token_scope)


@pytest.mark.parametrize("holder", list(EXPECTED), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_each_role_may_do_exactly_what_the_spec_table_says(
    holder: Role | Audience, action: Action
) -> None:
    assert scope_of([holder], action) == EXPECTED[holder].get(action)


def test_requesting_officer_sees_only_their_own_organisations_requests() -> None:
    officer = person(Role.REQUESTING_OFFICER)
    assert can(officer, A.READ_REQUEST, organisation_id=HOME_OFFICE)
    refusal = can(officer, A.READ_REQUEST, organisation_id=OTHER_ORG)
    assert not refusal
    assert "own organisation" in refusal.reason


def test_requesting_officer_cannot_search_the_register() -> None:
    assert not can(person(Role.REQUESTING_OFFICER), A.SEARCH_REGISTER)


def test_overseas_visitors_manager_cannot_see_another_trusts_referrals() -> None:
    manager = person(Role.OVERSEAS_VISITORS_MANAGER)
    assert can(manager, A.READ_REFERRALS, organisation_id=HOME_OFFICE)
    assert not can(manager, A.READ_REFERRALS, organisation_id=OTHER_ORG)


def test_tracer_and_nhs_digital_auditor_reach_every_organisation() -> None:
    assert can(person(Role.TRACER, kind="nhs_digital"), A.READ_REQUEST,
               organisation_id=OTHER_ORG)
    assert can(person(Role.AUDITOR, kind="nhs_digital"), A.READ_REQUEST,
               organisation_id=OTHER_ORG)


# --- reach by organisation kind (issue 18 item 6) ---------------------------------------


@pytest.mark.parametrize("kind", ["regulator", "nhs_digital"])
@pytest.mark.parametrize("action", [A.READ_REQUEST, A.READ_DISCLOSURE, A.READ_LEDGER,
                                    A.READ_REFERRALS, A.REPLAY_DECISION, A.READ_REPORTS])
def test_auditor_at_a_regulator_or_nhs_digital_reads_every_organisations_data(
    kind: str, action: Action
) -> None:
    assert can(person(Role.AUDITOR, kind=kind), action, organisation_id=OTHER_ORG)


@pytest.mark.parametrize("kind", ["home_office", "nhs_trust", "police", "dhsc",
                                  "local_authority", "court"])
@pytest.mark.parametrize("action", [A.READ_REQUEST, A.READ_DISCLOSURE, A.READ_LEDGER,
                                    A.READ_REFERRALS, A.REPLAY_DECISION, A.READ_REPORTS])
def test_auditor_elsewhere_reads_only_their_own_organisations_data(
    kind: str, action: Action
) -> None:
    auditor = person(Role.AUDITOR, kind=kind)
    assert can(auditor, action, organisation_id=HOME_OFFICE)
    refusal = can(auditor, action, organisation_id=OTHER_ORG)
    assert not refusal and "own organisation" in refusal.reason


def test_home_office_auditor_does_not_read_a_trusts_releases() -> None:
    assert not can(person(Role.AUDITOR, kind="home_office"), A.READ_DISCLOSURE,
                   organisation_id=OTHER_ORG)


def test_nhs_digital_reviewer_reviews_the_requests_of_every_requester() -> None:
    reviewer = person(Role.REVIEWER, kind="nhs_digital")
    for action in (A.READ_REQUEST, A.READ_DISCLOSURE, A.REVIEW_RELEASE):
        assert can(reviewer, action, organisation_id=OTHER_ORG)


def test_trust_reviewer_reviews_only_their_own_trusts_data() -> None:
    reviewer = person(Role.REVIEWER, kind="nhs_trust")
    for action in (A.READ_REQUEST, A.READ_DISCLOSURE, A.REVIEW_RELEASE, A.READ_LEDGER):
        assert can(reviewer, action, organisation_id=HOME_OFFICE)
        assert not can(reviewer, action, organisation_id=OTHER_ORG)


def test_narrowed_reach_still_lets_the_action_be_asked_about_without_an_owner() -> None:
    assert can(person(Role.AUDITOR, kind="home_office"), A.READ_REQUEST)


def test_scope_of_tells_the_reach_for_a_kind() -> None:
    assert scope_of([Role.AUDITOR], A.READ_LEDGER, "home_office") is S.OWN_ORG
    assert scope_of([Role.AUDITOR], A.READ_LEDGER, "regulator") is S.ANY
    assert scope_of([Role.TRACER], A.RUN_TRACE, "nhs_digital") is S.ANY


# --- token scopes (issue 18 item 10) ----------------------------------------------------


def test_read_token_changes_nothing_and_names_its_scope() -> None:
    officer = person(Role.REQUESTING_OFFICER, token_scope=TokenScope.READ)
    assert can(officer, A.READ_REQUEST, organisation_id=HOME_OFFICE)
    refusal = can(officer, A.SUBMIT_REQUEST, organisation_id=HOME_OFFICE)
    assert not refusal and "scope is read" in refusal.reason


def test_submit_token_submits_but_does_not_review() -> None:
    both = person(Role.TRACER, Role.REVIEWER, kind="nhs_digital",
                  token_scope=TokenScope.SUBMIT)
    assert not can(both, A.REVIEW_RELEASE)
    assert not can(both, A.RUN_TRACE)
    assert can(person(Role.REQUESTING_OFFICER, token_scope=TokenScope.SUBMIT),
               A.SUBMIT_REQUEST, organisation_id=HOME_OFFICE)


def test_review_token_traces_and_reviews_but_does_not_submit_or_administer() -> None:
    reviewer = person(Role.TRACER, Role.REVIEWER, kind="nhs_digital",
                      token_scope=TokenScope.REVIEW)
    assert can(reviewer, A.RUN_TRACE) and can(reviewer, A.REVIEW_RELEASE)
    officer = person(Role.REQUESTING_OFFICER, token_scope=TokenScope.REVIEW)
    assert not can(officer, A.SUBMIT_REQUEST, organisation_id=HOME_OFFICE)


def test_a_token_scope_never_grants_what_the_roles_do_not() -> None:
    assert not can(person(Role.AUDITOR, token_scope=TokenScope.FULL), A.RUN_TRACE)


def test_every_changing_action_belongs_to_the_full_scope_only_or_one_narrower_scope() -> None:
    narrow = [TOKEN_SCOPE_ACTIONS[s] for s in (TokenScope.SUBMIT, TokenScope.REVIEW)]
    assert not (narrow[0] & narrow[1])
    assert TOKEN_SCOPE_ACTIONS[TokenScope.FULL] == CHANGING_ACTIONS


def test_auditor_can_change_nothing() -> None:
    assert not [a for a in CHANGING_ACTIONS if can(person(Role.AUDITOR), a)]


def test_administrator_cannot_approve_releases() -> None:
    admin = person(Role.ADMINISTRATOR)
    assert not can(admin, A.REVIEW_RELEASE)
    assert not may_review(admin, requested_by=2, traced_by=3)


def test_the_public_reads_statistics_and_checkpoints_and_nothing_else() -> None:
    allowed = {a for a in Action if can(None, a)}
    assert allowed == {A.READ_STATISTICS, A.READ_CHECKPOINTS}


def test_a_user_with_two_roles_gets_the_wider_scope() -> None:
    assert scope_of([Role.OVERSEAS_VISITORS_MANAGER, Role.AUDITOR], A.READ_REFERRALS) == S.ANY


# --- separation of duties -------------------------------------------------------------


def test_independent_reviewer_may_approve() -> None:
    assert may_review(person(Role.REVIEWER, user_id=5), requested_by=1, traced_by=2)


def test_reviewer_who_traced_the_request_may_not_approve_it() -> None:
    verdict = may_review(person(Role.REVIEWER, Role.TRACER, user_id=5), requested_by=1,
                         traced_by=5)
    assert not verdict
    assert "you traced this request" in verdict.reason


def test_reviewer_who_requested_the_trace_may_not_approve_it() -> None:
    verdict = may_review(person(Role.REVIEWER, user_id=5), requested_by=5, traced_by=2)
    assert not verdict
    assert "you requested this trace" in verdict.reason


def test_tracer_who_is_also_reviewer_may_approve_someone_elses_trace() -> None:
    assert may_review(person(Role.REVIEWER, Role.TRACER, user_id=5), requested_by=1,
                      traced_by=6)


def test_reviewer_may_approve_an_automatic_trace_nobody_ran() -> None:
    assert may_review(person(Role.REVIEWER, user_id=5), requested_by=1, traced_by=None)


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.REVIEWER], ids=str)
def test_only_reviewers_may_approve(role: Role) -> None:
    verdict = may_review(person(role, user_id=5), requested_by=1, traced_by=2)
    assert not verdict
    assert "only a reviewer" in verdict.reason


# --- who may hold which role ------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [
    (Role.ADMINISTRATOR, Role.REVIEWER),
    (Role.REQUESTING_OFFICER, Role.REVIEWER),
    (Role.REQUESTING_OFFICER, Role.TRACER),
    (Role.AUDITOR, Role.ADMINISTRATOR),
    (Role.AUDITOR, Role.TRACER),
])
def test_refuses_role_pairs_that_undo_a_separation_of_duties(first: Role, second: Role) -> None:
    assert role_conflicts([first, second])


def test_tracer_may_also_be_a_reviewer() -> None:
    assert role_conflicts([Role.TRACER, Role.REVIEWER]) == []


def test_home_office_account_can_never_be_a_reviewer_or_tracer() -> None:
    problems = organisation_kind_problems([Role.REVIEWER, Role.TRACER], "home_office")
    assert len(problems) == 2


@pytest.mark.parametrize("kind", ["home_office", "police", "nca", "court", "coroner", "ccrc"])
def test_the_nbo_requesters_may_hold_requesting_officers(kind: str) -> None:
    assert organisation_kind_problems([Role.REQUESTING_OFFICER], kind) == []


@pytest.mark.parametrize("kind", ["local_authority", "housing_association", "dhsc"])
def test_councils_housing_associations_and_dhsc_are_not_requesters(kind: str) -> None:
    assert organisation_kind_problems([Role.REQUESTING_OFFICER], kind) == [
        "requesting_officer must belong to ccrc or coroner or court or home_office or nca "
        f"or police, not {kind}"]


def test_a_regulator_holds_auditors_only() -> None:
    assert organisation_kind_problems([Role.AUDITOR], "regulator") == []
    assert len(organisation_kind_problems(
        [r for r in Role if r is not Role.AUDITOR], "regulator")) == len(Role) - 1


def test_the_policy_knows_every_organisation_kind() -> None:
    assert ROLE_ORGANISATION_KINDS[Role.AUDITOR] == set(ORGANISATION_KINDS)


def test_every_role_fits_at_least_one_known_organisation_kind() -> None:
    for role, kinds in ROLE_ORGANISATION_KINDS.items():
        assert kinds and kinds <= set(ORGANISATION_KINDS), role


@pytest.mark.parametrize("text", ["patient", "public"])
def test_patient_and_public_are_not_account_roles(text: str) -> None:
    with pytest.raises(ValueError, match="not an account role"):
        parse_role(text)


def test_unknown_role_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="choose from requesting_officer"):
        parse_role("superuser")


def test_role_names_are_forgiving_about_case_and_separators() -> None:
    assert parse_role("Overseas-Visitors Manager") is Role.OVERSEAS_VISITORS_MANAGER
