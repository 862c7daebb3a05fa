"""A status check end to end against the stand-in Home Office service running as a real
process: answered and charged; slow (timed out, not charged); down (circuit open, nothing
sent, nothing charged, nothing lost); retried (charged once)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caldicott.billing.models import UsageEventRow
from caldicott.checking.connector import HttpStatusChecker
from caldicott.checking.core.answers import Person
from caldicott.checking.flow import run_check, session_transaction
from caldicott.checking.models import StatusCheckRow
from caldicott.checking.service import CheckForm, Requester
from caldicott.errors import Forbidden, GatewayTimeout, ServiceUnavailable
from caldicott.orgs.models import OrganisationRow
from caldicott.settings import Settings
from tests.factories import synthetic_nhs_numbers
from tests.integration.checking.conftest import Counterparty, SignedOrg, ledger_events

DAY = dt.date(2017, 6, 1)
START = dt.datetime(2017, 6, 1, 9, 0, tzinfo=dt.UTC)
EIGHT_MINUTES = (START, START + dt.timedelta(minutes=8))


def form(n: int = 0, **person: object) -> CheckForm:
    nhs = next(synthetic_nhs_numbers(1000 + n))
    fields: dict[str, object] = {"given_name": "Amara", "family_name": f"Testperson{n}",
                                 "birth_date": dt.date(1984, 3, 14), "nationality": "Ruritanian"}
    fields.update(person)
    return CheckForm(Person(**fields), nhs_number=nhs)  # type: ignore[arg-type]


_OPEN: list[HttpStatusChecker] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def connector(counterparty: Counterparty, **options: float) -> HttpStatusChecker:
    made = HttpStatusChecker(counterparty.url, timeout=options.get("timeout", 2.0),
                             attempts=int(options.get("attempts", 3)),
                             breaker_failures=int(options.get("failures", 5)),
                             breaker_reset=options.get("reset", 30.0))
    _OPEN.append(made)
    return made


def charges(session: Session, org: OrganisationRow) -> list[int]:
    with session.begin():
        return list(session.scalars(select(UsageEventRow.amount_pence).where(
            UsageEventRow.organisation_id == org.id)))


def check(session: Session, settings: Settings, org: OrganisationRow, conn: HttpStatusChecker,
          n: int = 0, key: str | None = None) -> StatusCheckRow:
    row, _ = run_check(session_transaction(session), settings, conn,
                       Requester(org.code, "user/1"), form(n), as_of=DAY, client_key=key,
                       call_times=EIGHT_MINUTES)
    return row


def test_a_check_is_answered_charged_and_disclosed(session: Session, settings: Settings,
                                                   counterparty: Counterparty,
                                                   signed_org: SignedOrg) -> None:
    org = signed_org()
    row = check(session, settings, org, connector(counterparty))
    assert row.state == "answered" and row.immigration_status
    assert row.consequence in ("chargeable", "exempt", "undetermined") and row.ground
    assert charges(session, org) == [640]  # 8 minutes at 80p
    assert row.disclosed_at == START
    event = next(e for e in reversed(ledger_events(session, settings))
                 if e["entity"]["what"] == f"status-check/{row.id}")
    assert (event["type"], event["outcome"]) == ("disclosure", "success")
    assert event["agent"]["organisation"] == org.code
    assert event["agreement"] == {"id": "checking-service-mou", "version": "1"}
    assert len(event["entity"]["subjects"]) == 1


def test_a_slow_service_times_out_with_a_clear_message_and_no_charge(
        session: Session, settings: Settings, counterparty: Counterparty,
        signed_org: SignedOrg) -> None:
    org = signed_org()
    counterparty.control(latency_ms=800)
    with pytest.raises(GatewayTimeout, match=r"did not answer within 0\.2 s \(2 attempts\); "
                       r"nothing was charged"):
        check(session, settings, org, connector(counterparty, timeout=0.2, attempts=2))
    assert charges(session, org) == []
    with session.begin():
        row = session.scalars(select(StatusCheckRow).where(
            StatusCheckRow.organisation_id == org.id)).one()
        assert row.state == "timed_out" and row.disclosed_at is not None  # it may have left


def test_a_down_service_opens_the_circuit_sends_nothing_charges_nothing_loses_nothing(
        session: Session, settings: Settings, counterparty: Counterparty,
        signed_org: SignedOrg) -> None:
    org = signed_org()
    conn = connector(counterparty, attempts=1, failures=2, reset=3.0)
    counterparty.control(outage=True)
    for n in range(2):
        with pytest.raises(ServiceUnavailable, match="HTTP 503"):
            check(session, settings, org, conn, n)
    sent_before = counterparty.control()["received"]
    key = uuid.uuid4().hex
    with pytest.raises(ServiceUnavailable, match=r"stopped sending.*nothing was sent and "
                       r"nothing was charged; the check is kept"):
        check(session, settings, org, conn, 7, key)
    assert counterparty.control()["received"] == sent_before  # the open circuit sent nothing
    assert charges(session, org) == []
    counterparty.control(outage=False)
    time.sleep(3.1)  # the circuit half-opens
    row = check(session, settings, org, conn, 7, key)  # the same check, kept, now answered
    assert row.state == "answered"
    assert charges(session, org) == [640]


def test_a_retried_check_is_charged_once(session: Session, settings: Settings,
                                         counterparty: Counterparty,
                                         signed_org: SignedOrg) -> None:
    org = signed_org()
    counterparty.control(fail_next=1)  # processed, then the answer is lost
    key = uuid.uuid4().hex
    first = check(session, settings, org, connector(counterparty), key=key)
    assert first.state == "answered" and first.attempts == 2
    again = check(session, settings, org, connector(counterparty), key=key)  # the client retries
    assert again.id == first.id
    assert counterparty.control()["calls"] == 1
    assert charges(session, org) == [640]
    with session.begin():
        assert session.scalar(select(func.count()).select_from(StatusCheckRow).where(
            StatusCheckRow.organisation_id == org.id)) == 1


def test_an_organisation_that_has_not_signed_is_refused(session: Session, settings: Settings,
                                                         counterparty: Counterparty,
                                                         signed_org: SignedOrg) -> None:
    late = signed_org(signed_on=dt.date(2018, 1, 15))
    with pytest.raises(Forbidden, match=f"{late.code} signed its memorandum on 2018-01-15, "
                       "after 2017-06-01; no check was sent"):
        check(session, settings, late, connector(counterparty))
    assert counterparty.received() == []


def test_a_council_checks_for_housing_not_for_nhs_charging(
        session: Session, settings: Settings, counterparty: Counterparty,
        signed_org: SignedOrg) -> None:
    council = signed_org(kind="local_authority")
    person = Person("Bo", "Testclient", dt.date(1990, 5, 5), "Freedonian")
    tx, who = session_transaction(session), Requester(council.code, "user/2")
    with pytest.raises(Forbidden, match=r"1\.1: The trust may check"):
        run_check(tx, settings, connector(counterparty), who, CheckForm(person), as_of=DAY)
    row, _ = run_check(tx, settings, connector(counterparty), who,
                       CheckForm(person, purpose="housing_eligibility"), as_of=DAY)
    assert row.consequence == "not_applicable"


@pytest.mark.parametrize(("minutes", "pence"), [(8, 640), (2.5, 200)])
def test_a_live_check_is_charged_the_call_length_the_home_office_measured(
        session: Session, settings: Settings, counterparty: Counterparty,
        signed_org: SignedOrg, minutes: float, pence: int) -> None:
    org = signed_org()
    counterparty.control(call_minutes=minutes)  # the stand-in reports it; nobody waits
    conn, key = connector(counterparty), uuid.uuid4().hex
    tx, who = session_transaction(session), Requester(org.code, "user/1")
    row, _ = run_check(tx, settings, conn, who, form(), as_of=DAY, client_key=key)
    assert row.call_started is not None and row.call_ended is not None
    assert row.call_ended - row.call_started == dt.timedelta(minutes=minutes)
    again, created = run_check(tx, settings, conn, who, form(), as_of=DAY, client_key=key)
    assert (again.id, created) == (row.id, False)
    with session.begin():
        charged = session.execute(select(UsageEventRow.event_id, UsageEventRow.amount_pence)
                                  .where(UsageEventRow.organisation_id == org.id)).all()
    assert [tuple(c) for c in charged] == [(f"call/{row.uid}", pence)]


def test_a_refused_check_is_kept_with_its_decision_and_a_ledger_entry(
        session: Session, settings: Settings, counterparty: Counterparty,
        signed_org: SignedOrg) -> None:
    from caldicott.agreements.models import AgreementDecisionRow

    council = signed_org(kind="local_authority")
    person = Person("Bo", "Testclient", dt.date(1990, 5, 5), "Freedonian")
    tx, who, key = session_transaction(session), Requester(council.code, "user/2"), "k-1"
    for _ in range(2):  # asked twice under one key: one refusal, answered the same
        with pytest.raises(Forbidden, match=r"\(checking-service-mou, version 1\) does not "
                           r"allow this check: 1\.1: The trust may check"):
            run_check(tx, settings, connector(counterparty), who, CheckForm(person),
                      as_of=DAY, client_key=key)
    assert counterparty.received() == []
    with session.begin():
        row = session.scalars(select(StatusCheckRow).where(
            StatusCheckRow.organisation_id == council.id)).one()
        assert (row.state, row.fields_sent, row.disclosed_at) == ("refused", [], None)
        assert row.refusal and row.refusal[0][0] == "1.1"
        decision = session.scalars(select(AgreementDecisionRow).where(
            AgreementDecisionRow.request_ref == f"status-check/{row.uid}")).one()
        assert decision.outcome == "deny"
    event = next(e for e in reversed(ledger_events(session, settings))
                 if e["entity"]["what"] == f"status-check/{row.id}")
    assert (event["type"], event["outcome"]) == ("status-check", "refused")
    assert event["entity"]["subjects"] == []  # nothing left: it names no one
    assert charges(session, council) == []
