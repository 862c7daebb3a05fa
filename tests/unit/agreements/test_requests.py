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
