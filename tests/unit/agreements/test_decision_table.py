"""The decision table of issue 4: every row asserts the outcome AND the unmet
conditions in the clause's own words, with rows either side of each boundary
(dates, a 12-month sentence, £500 / £1,000, an invoice 60 days old)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pytest

from caldicott.agreements.core import (
    DebtReferralRequest,
    Decision,
    Outcome,
    Request,
    StatusCheckRequest,
    TraceRequest,
    decide,
    load_packs,
)

PACKS = load_packs().agreements
D = dt.date.fromisoformat

TRACE_FIELDS = frozenset(
    {
        "name",
        "date_of_birth",
        "sex",
        "address",
        "gp_practice",
        "registration_date",
        "primary_care_area",
    }
)
OVERSTAYER = TraceRequest(
    "home-office", TRACE_FIELDS, category="overstayer", alternatives_exhausted=True
)
OFFENDER = TraceRequest(
    "home-office",
    TRACE_FIELDS,
    category="foreign_national_offender",
    deportation_considered=True,
    custodial_sentence_months=18,
    alternatives_exhausted=True,
)
DEPORTEE = TraceRequest(
    "home-office",
    TRACE_FIELDS,
    purpose="trace_for_deportation",
    category="foreign_national_offender",
    deportation_considered=True,
    custodial_sentence_months=18,
    qualifying_sentence_months=18,
    alternatives_exhausted=True,
)
STATUS = StatusCheckRequest("trust-rj1", frozenset({"name", "nationality", "date_of_birth"}))
DEBT_FIELDS = frozenset({"name", "date_of_birth", "nationality", "debt_details"})


def debt(
    pounds_pence: int, treated: str, invoice_age: int, on: str = "2017-09-01", **flags: bool
) -> tuple[DebtReferralRequest, dt.date]:
    as_of = D(on)
    return DebtReferralRequest(
        "trust-rj1",
        DEBT_FIELDS,
        debt_pence=pounds_pence,
        treatment_date=D(treated),
        invoice_date=as_of - dt.timedelta(days=invoice_age),
        **flags,
    ), as_of


# The clauses' own words, as a reader of each pack sees them.
MOU_NOT_IN_FORCE = (
    "No version of this agreement is in force on 2016-12-31 (version 1 from "
    "2017-01-01 until 2017-12-20; version 1.1 from 2017-12-20 until 2018-05-09; "
    "version 2 from 2018-05-09 until 2018-05-25; version 2.1 from 2018-05-25 until "
    "2018-11-09; version 3-withdrawn from 2018-11-09)."
)
MOU1_PURPOSE = (
    "The Home Office may ask NHS Digital for the non-clinical details of a person in order "
    "to trace an immigration offender or a vulnerable person who may be at risk."
)
MOU1_WRONG_PURPOSE = MOU1_PURPOSE
MOU1_ALTERNATIVES = (
    "The person is known to and was previously in contact with Immigration "
    "Enforcement but can no longer be located, and the alternatives have been "
    "exhausted."
)
MOU1_OFFENCE = (
    "The person is suspected of an offence under the Immigration Act 1971 (such as "
    "overstaying, illegal entry, absconding, breaching reporting restrictions or "
    "seeking leave by deception), is a foreign national offender, or is a vulnerable "
    "person who may be at risk."
)
MOU_FIELDS = (
    "Only demographic and administrative details are released: name (including any "
    "change of name), date of birth, sex, last known address, date of NHS registration, "
    "primary care service area code and GP practice details. No clinical information "
    "is released."
)
NARROWED_V2 = PACKS["tracing-mou-narrowed"].versions[0]
NARROWED_DEPORTATION = NARROWED_V2.clause("2.1").text
NARROWED_SERIOUS = NARROWED_V2.clause("2.2").text
NARROWED_PURPOSE = (
    "Sharing will only be used to trace an individual who is being considered for "
    "deportation action having been investigated for or convicted of a serious criminal "
    "offence."
)
NARROWED_WRONG_PURPOSE = NARROWED_PURPOSE
MOU_SUSPENDED = "Version {} is suspended pending review; the request waits in the queue."
MOU_WITHDRAWN = (
    "The memorandum of understanding was withdrawn on 9 November 2018. No tracing "
    "request from the Home Office is answered under it."
)
FIREWALL = (
    "No patient data held by the NHS is disclosed to the Home Office or any other body "
    "for immigration enforcement, of any kind: no tracing, no status check, no debt "
    "referral."
)
DEBT_SINCE_2011 = "The debt is for treatment given on or after 1 November 2011."
DEBT_1000 = "The unpaid charges amount to £1,000 or more."
DEBT_SINCE_2016 = "The debt is for treatment given on or after 6 April 2016."
DEBT_500 = "The unpaid charges amount to £500 or more."
DEBT_TWO_MONTHS = (
    "The debt remains unpaid two months (60 days) after the date of the invoice: "
    "a referral is made no earlier than the 61st day after the invoice date."
)
DEBT_PAID = "No referral is made once the debt has been paid in full."
DEBT_PLAN = "No referral is made while an instalment plan for the debt is agreed."
STATUS_FIELDS = (
    "Only the patient's name, nationality and date of birth are sent. The Home "
    "Office answers with the patient's immigration status. Each check also tells the "
    "Home Office that this person is in contact with this organisation at this time: "
    "caldicott records the organisation and the time as disclosed with every check."
)
STATUS_PURPOSE = (
    "The trust may check a patient's immigration status with the Home Office only "
    "to establish whether the patient is entitled to free NHS treatment; a local "
    "authority only for housing or benefits, a housing association only for housing."
)
STATUS_NOT_IN_FORCE = (
    "No version of this agreement is in force on 2016-08-31 (version 1 from 2016-09-01)."
)


@dataclass(frozen=True)
class Row:
    name: str
    agreement: str
    request: Request
    as_of: dt.date
    outcome: Outcome
    unmet: tuple[str, ...] = ()
    version: str | None = None
    refused: frozenset[str] = field(default_factory=frozenset)


def permit(name: str, agreement: str, request: Request, as_of: str | dt.date, version: str) -> Row:
    day = D(as_of) if isinstance(as_of, str) else as_of
    return Row(name, agreement, request, day, Outcome.PERMIT, version=version)


def deny(
    name: str,
    agreement: str,
    request: Request,
    as_of: str | dt.date,
    *unmet: str,
    version: str | None = None,
    refused: frozenset[str] = frozenset(),
) -> Row:
    day = D(as_of) if isinstance(as_of, str) else as_of
    return Row(name, agreement, request, day, Outcome.DENY, unmet, version, refused)


def queue(name: str, request: Request, as_of: str, version: str) -> Row:
    """Under the default reading the memorandum is suspended from 9 May 2018: queued."""
    return Row(name, "tracing-mou", request, D(as_of), Outcome.QUEUE,
               (MOU_SUSPENDED.format(version),), version)


def debt_permit(
    name: str,
    amount: int,
    treated: str,
    age: int,
    on: str = "2017-09-01",
    version: str = "2",
    **flags: bool,
) -> Row:
    request, as_of = debt(amount, treated, age, on, **flags)
    return permit(name, "debt-referral", request, as_of, version)


def debt_deny(
    name: str,
    amount: int,
    treated: str,
    age: int,
    *unmet: str,
    on: str = "2017-09-01",
    version: str = "2",
    **flags: bool,
) -> Row:
    request, as_of = debt(amount, treated, age, on, **flags)
    return deny(name, "debt-referral", request, as_of, *unmet, version=version)


TRACING = [
    deny(
        "trace 2016-12-31: no agreement yet",
        "tracing-mou",
        OVERSTAYER,
        "2016-12-31",
        MOU_NOT_IN_FORCE,
        refused=TRACE_FIELDS,
    ),
    permit("overstayer on the MoU's first day", "tracing-mou", OVERSTAYER, "2017-01-01", "1"),
    permit("overstayer 2017-01-02", "tracing-mou", OVERSTAYER, "2017-01-02", "1"),
    permit("overstayer 2017-06-01", "tracing-mou", OVERSTAYER, "2017-06-01", "1"),
    permit("overstayer the day before renewal", "tracing-mou", OVERSTAYER, "2017-12-19", "1"),
    permit("overstayer on the renewal's day", "tracing-mou", OVERSTAYER, "2017-12-20", "1.1"),
    permit(
        "overstayer on the last day before the amendment",
        "tracing-mou",
        OVERSTAYER,
        "2018-05-08",
        "1.1",
    ),
    queue("overstayer on the amendment's day: queued", OVERSTAYER, "2018-05-09", "2"),
    queue("offender 2018-05-24: queued under version 2", OFFENDER, "2018-05-24", "2"),
    queue("offender on the DPA 2018's first day: queued", OFFENDER, "2018-05-25", "2.1"),
    queue("offender the day before withdrawal: queued", OFFENDER, "2018-11-08", "2.1"),
    deny(
        "offender on the withdrawal day",
        "tracing-mou",
        OFFENDER,
        "2018-11-09",
        MOU_WITHDRAWN,
        version="3-withdrawn",
        refused=TRACE_FIELDS,
    ),
    deny(
        "offender the day after withdrawal",
        "tracing-mou",
        OFFENDER,
        "2018-11-10",
        MOU_WITHDRAWN,
        version="3-withdrawn",
        refused=TRACE_FIELDS,
    ),
    deny(
        "offender 2018-12-01: withdrawn",
        "tracing-mou",
        OFFENDER,
        "2018-12-01",
        MOU_WITHDRAWN,
        version="3-withdrawn",
        refused=TRACE_FIELDS,
    ),
    deny(
        "overstayer while alternatives remain",
        "tracing-mou",
        replace(OVERSTAYER, alternatives_exhausted=False),
        "2017-06-01",
        MOU1_ALTERNATIVES,
        version="1",
    ),
    deny(
        "a request with no immigration ground",
        "tracing-mou",
        replace(OVERSTAYER, category="missed_appointment"),
        "2017-06-01",
        MOU1_OFFENCE,
        version="1",
    ),
    deny(
        "trace asking for nationality",
        "tracing-mou",
        replace(OVERSTAYER, requested_fields=TRACE_FIELDS | {"nationality"}),
        "2017-06-01",
        MOU_FIELDS,
        version="1",
        refused=frozenset({"nationality"}),
    ),
    deny(
        "a 2017 request for a purpose the MoU does not list",
        "tracing-mou",
        replace(OVERSTAYER, purpose="trace_for_deportation"),
        "2017-06-01",
        MOU1_WRONG_PURPOSE,
        version="1",
    ),
    permit(
        "a 2017 request for a vulnerable person",
        "tracing-mou",
        replace(OVERSTAYER, category="vulnerable_person", purpose="trace_vulnerable_person"),
        "2017-06-01",
        "1",
    ),
]
NARROWED = [
    deny(
        "narrowed: overstayer on the amendment's day",
        "tracing-mou-narrowed",
        replace(OVERSTAYER, purpose="trace_for_deportation"),
        "2018-05-09",
        NARROWED_DEPORTATION,
        NARROWED_SERIOUS,
        version="2",
    ),
    permit("narrowed: offender, 18 qualifying months", "tracing-mou-narrowed",
           DEPORTEE, "2018-06-01", "2.1"),
    permit("narrowed: offender on the amendment's day", "tracing-mou-narrowed",
           DEPORTEE, "2018-05-09", "2"),
    deny(
        "narrowed: 14 months imposed but suspended (0 qualifying)",
        "tracing-mou-narrowed",
        replace(DEPORTEE, custodial_sentence_months=14, qualifying_sentence_months=0),
        "2018-06-01",
        NARROWED_SERIOUS,
        version="2.1",
    ),
    deny(
        "narrowed: 3 x 6 months consecutive (0 qualifying)",
        "tracing-mou-narrowed",
        replace(DEPORTEE, custodial_sentence_months=18, qualifying_sentence_months=0),
        "2018-06-01",
        NARROWED_SERIOUS,
        version="2.1",
    ),
    deny(
        "narrowed: 11 qualifying months",
        "tracing-mou-narrowed",
        replace(DEPORTEE, qualifying_sentence_months=11),
        "2018-06-01",
        NARROWED_SERIOUS,
        version="2.1",
    ),
    permit("narrowed: 12 qualifying months", "tracing-mou-narrowed",
           replace(DEPORTEE, qualifying_sentence_months=12), "2018-06-01", "2.1"),
    permit(
        "narrowed: no qualifying sentence but a named risk to public security",
        "tracing-mou-narrowed",
        replace(DEPORTEE, qualifying_sentence_months=0, risk_category="national_security"),
        "2018-06-01",
        "2.1",
    ),
    deny(
        "narrowed: 'risk to the public' asserted without a named category",
        "tracing-mou-narrowed",
        replace(DEPORTEE, qualifying_sentence_months=0, risk_to_public=True),
        "2018-06-01",
        NARROWED_SERIOUS,
        version="2.1",
    ),
    deny(
        "narrowed: not considered for deportation",
        "tracing-mou-narrowed",
        replace(DEPORTEE, deportation_considered=False, deportation_stage="none"),
        "2018-06-01",
        NARROWED_DEPORTATION,
        version="2.1",
    ),
    permit("narrowed: deportation order signed", "tracing-mou-narrowed",
           replace(DEPORTEE, deportation_considered=False, deportation_stage="order_signed"),
           "2018-06-01", "2.1"),
    deny(
        "narrowed: already removed",
        "tracing-mou-narrowed",
        replace(DEPORTEE, deportation_considered=False, deportation_stage="removed"),
        "2018-06-01",
        NARROWED_DEPORTATION,
        version="2.1",
    ),
    deny(
        "narrowed: the 2017 purpose is refused quoting the purpose clause",
        "tracing-mou-narrowed",
        replace(DEPORTEE, purpose="trace_immigration_offender"),
        "2018-06-01",
        NARROWED_WRONG_PURPOSE,
        version="2.1",
    ),
    deny(
        "narrowed: withdrawn all the same",
        "tracing-mou-narrowed",
        DEPORTEE,
        "2018-11-09",
        MOU_WITHDRAWN,
        version="3-withdrawn",
        refused=TRACE_FIELDS,
    ),
]
FIREWALLED = [
    deny(
        "firewall: a trace",
        "firewall",
        OFFENDER,
        "2017-06-01",
        FIREWALL,
        version="1",
        refused=TRACE_FIELDS,
    ),
    deny(
        "firewall: a status check",
        "firewall",
        STATUS,
        "2017-06-01",
        FIREWALL,
        version="1",
        refused=STATUS.requested_fields,
    ),
    deny(
        "firewall: a debt referral",
        "firewall",
        debt(60000, "2017-03-01", 70)[0],
        "2017-09-01",
        FIREWALL,
        version="1",
        refused=DEBT_FIELDS,
    ),
]
DEBTS = [
    debt_permit("£600, 70 days, treatment in 2017", 60000, "2017-03-01", 70),
    debt_deny("£600, 70 days, paid", 60000, "2017-03-01", 70, DEBT_PAID, paid=True),
    debt_deny(
        "£600, 70 days, instalment plan",
        60000,
        "2017-03-01",
        70,
        DEBT_PLAN,
        instalment_plan_agreed=True,
    ),
    debt_deny(
        "£800 in 2015: the £1,000 threshold then",
        80000,
        "2015-03-01",
        70,
        DEBT_1000,
        on="2015-09-01",
        version="1",
    ),
    debt_deny(
        "£800 for 2015 treatment referred in 2017",
        80000,
        "2015-03-01",
        70,
        DEBT_1000,
        DEBT_SINCE_2016,
    ),
    debt_deny("£499.99", 49999, "2017-03-01", 70, DEBT_1000, DEBT_500),
    debt_permit("£500.00", 50000, "2017-03-01", 70),
    debt_permit("£999.99", 99999, "2017-03-01", 70),
    debt_permit("£1,000.00", 100000, "2017-03-01", 70),
    debt_deny("£999.99 for 2015 treatment", 99999, "2015-03-01", 70, DEBT_1000, DEBT_SINCE_2016),
    debt_permit("£1,000.00 for 2015 treatment", 100000, "2015-03-01", 70),
    debt_deny(
        "£999.99 under the 2011 rules",
        99999,
        "2015-03-01",
        70,
        DEBT_1000,
        on="2015-09-01",
        version="1",
    ),
    debt_permit(
        "£1,000.00 under the 2011 rules", 100000, "2015-03-01", 70, on="2015-09-01", version="1"
    ),
    debt_deny(
        "£600 treated the day before 6 April 2016",
        60000,
        "2016-04-05",
        70,
        DEBT_1000,
        DEBT_SINCE_2016,
    ),
    debt_permit("£600 treated on 6 April 2016", 60000, "2016-04-06", 70),
    debt_permit("£600 treated the day after 6 April 2016", 60000, "2016-04-07", 70),
    debt_deny(
        "£1,000 treated the day before 1 Nov 2011",
        100000,
        "2011-10-31",
        70,
        DEBT_SINCE_2011,
        on="2012-03-01",
        version="1",
    ),
    debt_permit(
        "£1,000 treated on 1 Nov 2011", 100000, "2011-11-01", 70, on="2012-03-01", version="1"
    ),
    debt_permit(
        "£1,000 treated the day after 1 Nov 2011",
        100000,
        "2011-11-02",
        70,
        on="2012-03-01",
        version="1",
    ),
    deny(
        "a referral dated the day before the 2011 rules",
        "debt-referral",
        debt(100000, "2011-06-01", 70, on="2011-10-31")[0],
        "2011-10-31",
        "No version of this agreement is in force on 2011-10-31 (version 1 from 2011-11-01 "
        "until 2016-04-06; version 2 from 2016-04-06).",
        refused=DEBT_FIELDS,
    ),
    debt_deny(
        "£1,000 referred the last day of the 2011 rules: v1",
        90000,
        "2016-01-04",
        70,
        DEBT_1000,
        on="2016-04-05",
        version="1",
    ),
    debt_deny(
        "£900 referred on 6 April 2016: v2, treatment too early for £500",
        90000,
        "2016-01-04",
        70,
        DEBT_1000,
        DEBT_SINCE_2016,
        on="2016-04-06",
    ),
    debt_deny("invoice 59 days old", 60000, "2017-03-01", 59, DEBT_TWO_MONTHS),
    debt_deny("invoice 60 days old", 60000, "2017-03-01", 60, DEBT_TWO_MONTHS),
    debt_permit("invoice 61 days old", 60000, "2017-03-01", 61),
    debt_deny(
        "£499.99, 59 days, paid: every unmet condition",
        49999,
        "2017-03-01",
        59,
        DEBT_PAID,
        DEBT_1000,
        DEBT_500,
        DEBT_TWO_MONTHS,
        paid=True,
    ),
]
STATUS_CHECKS = [
    permit(
        "status check: name, nationality, date of birth",
        "checking-service-mou",
        STATUS,
        "2017-06-01",
        "1",
    ),
    deny(
        "status check asking for the address",
        "checking-service-mou",
        replace(STATUS, requested_fields=STATUS.requested_fields | {"address"}),
        "2017-06-01",
        STATUS_FIELDS,
        version="1",
        refused=frozenset({"address"}),
    ),
    deny(
        "status check for another purpose",
        "checking-service-mou",
        replace(STATUS, purpose="immigration_enforcement"),
        "2017-06-01",
        STATUS_PURPOSE,
        version="1",
    ),
    deny(
        "status check the day before the service",
        "checking-service-mou",
        STATUS,
        "2016-08-31",
        STATUS_NOT_IN_FORCE,
        refused=STATUS.requested_fields,
    ),
    permit(
        "status check on the service's first day", "checking-service-mou", STATUS, "2016-09-01", "1"
    ),
]
ROWS = TRACING + NARROWED + FIREWALLED + DEBTS + STATUS_CHECKS


def _decide(row: Row) -> Decision:
    return decide(row.request, row.as_of, PACKS[row.agreement])


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_decision_table(row: Row) -> None:
    decision = _decide(row)
    assert decision.outcome is row.outcome
    assert decision.version == row.version
    assert [u.text for u in decision.unmet] == list(row.unmet)
    assert decision.refused_fields == row.refused
    if row.outcome is Outcome.PERMIT:
        assert decision.released_fields == row.request.requested_fields
        assert not decision.unmet
    else:
        assert not decision.released_fields


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.outcome is Outcome.DENY], ids=lambda r: r.name
)
def test_every_deny_explains_itself_in_the_clauses_words(row: Row) -> None:
    decision = _decide(row)
    assert decision.unmet, "a deny must name at least one unmet condition"
    if decision.version is not None:
        version = PACKS[row.agreement].version_named(decision.version)
        assert version is not None
        texts = {c.text for c in version.clauses}
        assert all(u.text in texts for u in decision.unmet)


def test_decision_names_the_version_and_its_content_hash() -> None:
    decision = decide(OFFENDER, D("2018-05-10"), PACKS["tracing-mou"])
    version = PACKS["tracing-mou"].version_named("2")
    assert version is not None
    assert (decision.agreement, decision.version) == ("tracing-mou", "2")
    assert decision.content_hash == version.content_hash == version.compute_hash()
    assert len(decision.content_hash) == 64


def test_restricted_patient_never_has_address_gp_or_primary_care_area_released() -> None:
    decision = decide(
        replace(DEPORTEE, patient_restricted=True), D("2018-06-01"),
        PACKS["tracing-mou-narrowed"],
    )
    assert decision.outcome is Outcome.PERMIT
    location = {"address", "gp_practice", "primary_care_area"}
    assert decision.withheld_fields == location
    assert decision.released_fields == TRACE_FIELDS - location


def test_restricted_patient_asked_only_for_location_is_denied_with_the_reason() -> None:
    ask = replace(OVERSTAYER, patient_restricted=True,
                  requested_fields=frozenset({"address", "primary_care_area"}))
    decision = decide(ask, D("2017-06-01"), PACKS["tracing-mou"])
    assert decision.outcome is Outcome.DENY
    assert [u.clause_id for u in decision.unmet] == ["caldicott-restricted"]


def test_debt_threshold_alternatives_are_labelled_by_rule() -> None:
    request, as_of = debt(49999, "2017-03-01", 70)
    decision = decide(request, as_of, PACKS["debt-referral"])
    assert [(u.rule, u.clause_id) for u in decision.unmet] == [
        ("£1,000 rule", "2.2"),
        ("£500 rule", "2.4"),
    ]


def test_a_request_on_a_channel_the_agreement_does_not_cover_is_denied() -> None:
    decision = decide(STATUS, D("2017-06-01"), PACKS["tracing-mou"])
    assert decision.outcome is Outcome.DENY
    assert [u.clause_id for u in decision.unmet] == ["channel"]


def test_permit_carries_the_approval_and_the_clauses_that_applied() -> None:
    decision = decide(OVERSTAYER, D("2017-06-01"), PACKS["tracing-mou"])
    assert decision.approval.value == "one_reviewer"
    assert decision.applied_clauses == ("permit:main",)


def test_fourteen_months_suspended_is_refused_under_the_narrowed_version_2() -> None:
    ask = replace(DEPORTEE, custodial_sentence_months=14, qualifying_sentence_months=0)
    decision = decide(ask, D("2018-05-10"), PACKS["tracing-mou-narrowed"])
    assert (decision.outcome, decision.version) == (Outcome.DENY, "2")
    assert [u.clause_id for u in decision.unmet] == ["2.2"]


def test_eighteen_qualifying_months_with_deportation_considered_is_permitted() -> None:
    ask = TraceRequest("home-office", TRACE_FIELDS, purpose="trace_for_deportation",
                       qualifying_sentence_months=18, deportation_stage="considered",
                       alternatives_exhausted=True)
    decision = decide(ask, D("2018-05-10"), PACKS["tracing-mou-narrowed"])
    assert (decision.outcome, decision.version) == (Outcome.PERMIT, "2")


def test_a_wrong_purpose_is_refused_quoting_the_purpose_clause_and_recorded_as_a_code() -> None:
    ask = replace(DEPORTEE, purpose="trace_immigration_offender")
    decision = decide(ask, D("2018-05-10"), PACKS["tracing-mou-narrowed"])
    assert decision.outcome is Outcome.DENY
    assert [(u.clause_id, u.text) for u in decision.unmet] == [("1.2", NARROWED_PURPOSE)]
    assert decision.purpose == "trace_immigration_offender"
    assert "purpose" in decision.explain() or decision.unmet[0].text in decision.explain()


def test_a_permit_records_the_purpose_code_not_the_category() -> None:
    decision = decide(DEPORTEE, D("2018-06-01"), PACKS["tracing-mou-narrowed"])
    assert decision.permitted
    assert decision.purpose == "trace_for_deportation"
