"""For any request and any pack: released fields are a subset of that version's
allowed fields, and never a restricted patient's address or GP."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from caldicott.agreements.core import (
    FIELDS,
    RESTRICTED_FIELDS,
    AgreementVersion,
    Approval,
    Channel,
    Charges,
    Clause,
    DebtReferralRequest,
    Outcome,
    StatusCheckRequest,
    TraceRequest,
    decide,
    decide_under,
    load_packs,
)
from caldicott.agreements.core.decide import OutcomeCache

PACKS = load_packs().agreements
SHIPPED = [v for a in PACKS.values() for v in a.versions]
DAYS = st.dates(dt.date(2010, 1, 1), dt.date(2020, 12, 31))
SOME_FIELDS = st.frozensets(st.sampled_from(sorted(FIELDS)), min_size=1)

traces = st.builds(
    TraceRequest,
    requester=st.just("home-office"),
    requested_fields=SOME_FIELDS,
    patient_restricted=st.booleans(),
    category=st.sampled_from(
        [
            "overstayer",
            "illegal_entrant",
            "foreign_national_offender",
            "vulnerable_person",
            "missed_appointment",
        ]
    ),
    deportation_considered=st.booleans(),
    custodial_sentence_months=st.integers(0, 240),
    risk_to_public=st.booleans(),
    alternatives_exhausted=st.booleans(),
    purpose=st.sampled_from(
        [None, "trace_immigration_offender", "trace_for_deportation", "prevention_or_detection_"
         "of_crime", "comply_with_court_order", "something_else"]
    ),
    qualifying_sentence_months=st.integers(0, 240),
    deportation_stage=st.sampled_from(["none", "considered", "order_signed", "removed"]),
    risk_category=st.sampled_from(["", "national_security", "serious_violence"]),
)
status_checks = st.builds(
    StatusCheckRequest,
    requester=st.just("trust-rj1"),
    requested_fields=SOME_FIELDS,
    patient_restricted=st.booleans(),
    purpose=st.sampled_from(["entitlement_to_free_care", "immigration_enforcement"]),
)
debts = st.builds(
    DebtReferralRequest,
    requester=st.just("trust-rj1"),
    requested_fields=SOME_FIELDS,
    patient_restricted=st.booleans(),
    debt_pence=st.integers(0, 1_000_000),
    treatment_date=DAYS,
    invoice_date=DAYS,
    paid=st.booleans(),
    instalment_plan_agreed=st.booleans(),
)
requests = st.one_of(traces, status_checks, debts)

# Conditions a pack author might write, per channel: synthetic packs mix them freely.
CONDITIONS = {
    Channel.TRACE: [
        "context.custodial_sentence_months >= 12",
        "context.qualifying_sentence_months >= 12",
        'context.deportation_stage == "considered"',
        'context.risk_category != ""',
        "context.risk_to_public",
        'context.category == "overstayer"',
        "context.alternatives_exhausted",
        "true",
    ],
    Channel.STATUS_CHECK: ['context.purpose == "entitlement_to_free_care"', "true"],
    Channel.DEBT_REFERRAL: [
        "context.debt_pence >= 50000",
        "context.invoice_age_days > 60",
        "context.treatment_date >= 20160406",
        "true",
    ],
}


@st.composite
def synthetic_versions(draw: st.DrawFn) -> AgreementVersion:
    channel = draw(st.sampled_from(list(Channel)))
    release = draw(st.frozensets(st.sampled_from(sorted(FIELDS)), min_size=1))
    conditions = draw(st.lists(st.sampled_from(CONDITIONS[channel]), max_size=3))
    forbids = draw(st.lists(st.sampled_from(CONDITIONS[channel]), max_size=1))
    clauses = [Clause("R", "Release clause.", release=tuple(sorted(release)))]
    clauses += [Clause(f"C{i}", f"Condition {i}.", requires=c) for i, c in enumerate(conditions)]
    clauses += [Clause(f"F{i}", f"Forbid {i}.", forbids=c) for i, c in enumerate(forbids)]
    version = AgreementVersion(
        agreement="synthetic",
        title="Synthetic",
        channels=(channel,),
        parties=(),
        version="1",
        effective_from=dt.date(2000, 1, 1),
        effective_to=None,
        suspended=draw(st.booleans()),
        purposes=(),
        approval=Approval.NONE,
        retention_years=None,
        charges=Charges(),
        clauses=tuple(clauses),
    )
    return replace(version, content_hash=version.compute_hash())


def _assert_safe(
    decision_released: frozenset[str], allowed: frozenset[str], restricted: bool
) -> None:
    assert decision_released <= allowed
    if restricted:
        assert not decision_released & RESTRICTED_FIELDS


@settings(max_examples=400, deadline=None)
@given(
    request=requests, version=st.one_of(st.sampled_from(SHIPPED), synthetic_versions()), as_of=DAYS
)
def test_released_fields_are_allowed_and_never_a_restricted_location(
    request: TraceRequest | StatusCheckRequest | DebtReferralRequest,
    version: AgreementVersion,
    as_of: dt.date,
) -> None:
    decision = decide_under(request, as_of, version)
    _assert_safe(decision.released_fields, version.allowed_fields, request.patient_restricted)
    assert decision.released_fields <= request.requested_fields
    if decision.outcome is not Outcome.PERMIT:
        assert not decision.released_fields
        assert decision.unmet


@settings(max_examples=200, deadline=None)
@given(request=requests, agreement=st.sampled_from(sorted(PACKS)), as_of=DAYS)
def test_decide_by_date_keeps_the_same_guarantee(
    request: TraceRequest | StatusCheckRequest | DebtReferralRequest,
    agreement: str,
    as_of: dt.date,
) -> None:
    pack = PACKS[agreement]
    decision = decide(request, as_of, pack)
    version = pack.version_on(as_of)
    allowed = version.allowed_fields if version else frozenset()
    _assert_safe(decision.released_fields, allowed, request.patient_restricted)


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(st.tuples(requests, DAYS), min_size=1, max_size=8),
    version=st.one_of(st.sampled_from(SHIPPED), synthetic_versions()),
)
def test_replay_cache_gives_the_outcome_decide_gives(
    pairs: list[tuple[TraceRequest | StatusCheckRequest | DebtReferralRequest, dt.date]],
    version: AgreementVersion,
) -> None:
    cache = OutcomeCache(version)
    for request, as_of in pairs + pairs:
        assert cache.outcome(request, as_of) is decide_under(request, as_of, version).outcome
