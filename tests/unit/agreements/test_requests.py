"""Request value objects: facts of the right type, or a 400-class error; stored facts round-trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from caldicott.agreements.core import (
    DebtReferralRequest,
    RequestError,
    StatusCheckRequest,
    TraceRequest,
    request_from_facts,
)
from caldicott.errors import InvalidInput

DEBT = DebtReferralRequest(
    "trust-rj1",
    frozenset({"name", "debt_details"}),
    debt_pence=60000,
    treatment_date=dt.date(2017, 3, 1),
    invoice_date=dt.date(2017, 3, 2),
)


@pytest.mark.parametrize(
    "request_",
    [
        TraceRequest("home-office", frozenset({"name"}), category="overstayer"),
        StatusCheckRequest("trust-rj1", frozenset({"name", "nationality"})),
        DEBT,
    ],
)
def test_facts_round_trip(request_: Any) -> None:
    assert request_from_facts(request_.facts()) == request_


def test_facts_carry_no_personal_identifiers() -> None:
    facts = DEBT.facts()
    assert set(facts) == {
        "channel",
        "requester",
        "requested_fields",
        "patient_restricted",
        "treatment_date",
        "invoice_date",
        "debt_pence",
        "paid",
        "instalment_plan_agreed",
    }


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (
            {"channel": "trace", "requester": "ho", "requested_fields": ["clinical_notes"]},
            "unknown field name(s): clinical_notes",
        ),
        (
            {"channel": "trace", "requester": "ho", "requested_fields": "name"},
            "requested_fields must be a list",
        ),
        (
            {
                "channel": "trace",
                "requester": "ho",
                "requested_fields": ["name"],
                "custodial_sentence_months": "12",
            },
            "custodial_sentence_months must be a whole number",
        ),
        (
            {
                "channel": "trace",
                "requester": "ho",
                "requested_fields": ["name"],
                "risk_to_public": 1,
            },
            "risk_to_public must be true or false",
        ),
        (
            {
                "channel": "debt_referral",
                "requester": "t",
                "requested_fields": ["name"],
                "debt_pence": 600.5,
                "treatment_date": "2017-01-01",
                "invoice_date": "2017-02-01",
            },
            "debt_pence must be a whole number",
        ),
        (
            {
                "channel": "debt_referral",
                "requester": "t",
                "requested_fields": ["name"],
                "treatment_date": "2017-13-01",
                "invoice_date": "2017-02-01",
            },
            "treatment_date is not a date",
        ),
        (
            {"channel": "debt_referral", "requester": "t", "requested_fields": ["name"]},
            "missing 2 required keyword-only arguments",
        ),
        ({"channel": "fax", "requester": "t"}, "unknown channel"),
    ],
)
def test_bad_facts_are_refused_as_invalid_input(facts: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        request_from_facts(facts)
    assert isinstance(err.value, InvalidInput)


def test_a_negative_sentence_or_debt_is_refused_when_decided() -> None:
    with pytest.raises(RequestError):
        TraceRequest("ho", frozenset({"name"}), custodial_sentence_months=-1).channel_context(
            dt.date(2018, 6, 1)
        )
    with pytest.raises(RequestError):
        DebtReferralRequest(
            "t",
            frozenset({"name"}),
            debt_pence=-1,
            treatment_date=dt.date(2017, 1, 1),
            invoice_date=dt.date(2017, 1, 1),
        ).channel_context(dt.date(2017, 6, 1))


# --- issue 19.5: facts that can carry the legal test ---------------------------------------


def test_the_new_trace_facts_round_trip_and_old_facts_still_read() -> None:
    ask = TraceRequest(
        "home-office", frozenset({"name"}), purpose="trace_for_deportation",
        qualifying_sentence_months=18, custodial_sentence_months=18,
        deportation_stage="order_signed", risk_category="national_security",
    )
    assert request_from_facts(ask.facts()) == ask
    old = {"channel": "trace", "requester": "ho", "requested_fields": ["name"],
           "category": "foreign_national_offender", "deportation_considered": True,
           "custodial_sentence_months": 14}
    read = request_from_facts(old)
    assert isinstance(read, TraceRequest)
    assert (read.purpose, read.qualifying_sentence_months, read.deportation_stage) == (
        None, 0, "considered")


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"deportation_stage": "deported"}, "unknown deportation_stage 'deported'"),
        ({"risk_category": "dangerous"}, "unknown risk_category 'dangerous'"),
        ({"qualifying_sentence_months": -1}, "qualifying_sentence_months cannot be negative"),
        ({"qualifying_sentence_months": True}, "qualifying_sentence_months must be a whole"),
        ({"purpose": 7}, "purpose must be a purpose code"),
    ],
)
def test_bad_new_trace_facts_are_a_400(facts: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        TraceRequest("home-office", frozenset({"name"}), **facts)


def test_the_cedar_context_carries_the_facts_the_legal_test_needs() -> None:
    ask = TraceRequest("ho", frozenset({"name"}), qualifying_sentence_months=12,
                       custodial_sentence_months=14, deportation_stage="appeal")
    context = ask.channel_context(dt.date(2018, 6, 1))
    assert context["qualifying_sentence_months"] == 12
    assert context["custodial_sentence_months"] == 14
    assert (context["deportation_stage"], context["risk_category"], context["purpose"]) == (
        "appeal", "", "")
