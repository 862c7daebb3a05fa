"""On-site officers as a channel; bills per year and month; credit notes; statements;
a repeated usage event counted once."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy.orm import Session

from caldicott.billing import service as billing
from caldicott.billing.core.bills import UsageEvent
from caldicott.billing.repository import event_by_id
from caldicott.checking.encounters import record_encounter
from caldicott.checking.service import Requester
from caldicott.errors import Conflict, Forbidden
from caldicott.settings import Settings
from tests.factories import synthetic_nhs_numbers
from tests.integration.checking.conftest import SignedOrg, ledger_events

T0 = dt.datetime(2017, 6, 1, 9, tzinfo=dt.UTC)


def test_an_officer_encounter_is_a_ledger_entry_naming_each_patient_and_a_charge(
        session: Session, settings: Settings, signed_org: SignedOrg) -> None:
    org = signed_org()
    numbers = [n for n, _ in zip(synthetic_nhs_numbers(5000), range(3), strict=False)]
    with session.begin():
        row = record_encounter(session, settings, Requester(org.code, "user/3"), "HO-OFF-7",
                               T0, T0 + dt.timedelta(hours=1), numbers)
    event = next(e for e in reversed(ledger_events(session, settings))
                 if e["entity"]["what"] == f"officer-encounter/{row.id}")
    assert event["type"] == "officer-encounter"
    assert event["agreement"] == {"id": "checking-service-mou", "version": "1"}
    assert len(event["entity"]["subjects"]) == 3
    assert not any(n in str(event) for n in numbers)
    with session.begin():
        (bill,) = billing.bills(session, "2017/18", org.code)
    assert (bill.officer_seconds, bill.officer_pence, bill.calls) == (3600, 5820, 0)


def test_an_unsigned_organisation_gets_no_officer(session: Session, settings: Settings,
                                                  signed_org: SignedOrg) -> None:
    org = signed_org(signed_on=dt.date(2018, 1, 1))
    with pytest.raises(Forbidden, match="signed its memorandum on 2018-01-01"), session.begin():
        record_encounter(session, settings, Requester(org.code, "user/3"), "HO-OFF-7", T0,
                         T0 + dt.timedelta(hours=1), [])


def test_bills_by_year_and_month_credit_notes_and_the_statement(
        session: Session, signed_org: SignedOrg) -> None:
    org = signed_org()
    calls = [UsageEvent(f"call/t{org.id}-{n}", org.id, "call", start,
                        start + dt.timedelta(seconds=seconds))
             for n, (start, seconds) in enumerate([
                 (T0, 480), (T0 + dt.timedelta(days=40), 301),
                 (dt.datetime(2018, 3, 31, 22, 59, 30, tzinfo=dt.UTC), 120)])]
    with session.begin():
        assert billing.record_usage(session, calls + calls[:1]) == 3  # the repeat counts once
        assert billing.record_usage(session, calls[:1]) == 0
        billing.issue_credit_note(session, calls[1].event_id, "wrong status given", "user/9")
        with pytest.raises(Conflict):
            billing.issue_credit_note(session, calls[1].event_id, "again", "user/9")
    with session.begin():
        (year,) = billing.bills(session, "2017/18", org.code)
        months = billing.bills(session, "2017/18", org.code, by_month=True)
        statement = billing.statement_csv(session, org.code, "2017/18")
    assert (year.calls, year.call_pence, year.credited_pence, year.total_pence) == (
        3, 640 + 401 + 160, 401, 640 + 160)
    assert [(m.period, m.charged_pence, m.credited_pence) for m in months] == [
        ("2017-06", 640, 0), ("2017-07", 401, 401), ("2018-03", 160, 0)]
    rows = list(csv.reader(io.StringIO(statement)))
    assert rows[-1][1] == "TOTAL" and rows[-1][-1] == "£8.00"
    assert len(rows) == 1 + 3 + 1


def test_a_large_batch_with_repeats_counts_each_event_once(session: Session,
                                                           signed_org: SignedOrg) -> None:
    org = signed_org()
    made = [UsageEvent(f"call/many{org.id}-{n}", org.id, "call", T0 + dt.timedelta(minutes=n),
                       T0 + dt.timedelta(minutes=n, seconds=90)) for n in range(300)]
    with session.begin():
        assert billing.record_usage(session, made[:250]) == 250
        assert billing.record_usage(session, made + made[:40]) == 50
    with session.begin():
        (bill,) = billing.bills(session, "2017/18", org.code)
        stored = event_by_id(session, made[7].event_id)
    assert (bill.calls, bill.call_pence) == (300, 300 * 120)
    assert stored is not None and (stored.started_at, stored.ended_at) == (
        made[7].started_at, made[7].ended_at)
