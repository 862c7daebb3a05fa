"""The overseas visitors manager's and the auditor's pages in a real browser, against a
real ``caldicott serve`` whose checks go to the stand-in Home Office checking service
running as its own process: a check answered and shown in history, a refusal with its
clause words, a timeout with nothing charged, a bill page, the statement and its CSV;
every page accessible with data on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from caldicott.access.service import add_user
from caldicott.access.sign_in import set_password
from caldicott.billing.core.bills import UsageEvent
from caldicott.billing.service import issue_credit_note, record_usage
from caldicott.checking.scenario import counterparty_process
from caldicott.checking.service import sign_memorandum
from caldicott.db import make_engine, unit_of_work
from caldicott.orgs.service import add_organisation
from tests.browser.axe import assert_accessible
from tests.browser.pages_world import PASSWORD, Account, PagesServer, PagesWorld
from tests.factories import synthetic_nhs_numbers

TRUST = "RBT01"
ENGLAND_SUMMER = dt.timezone(dt.timedelta(hours=1))


@dataclass
class CheckingWorld:
    server: PagesServer
    counterparty: str

    @property
    def url(self) -> str:
        return self.server.url

    def control(self, **change: object) -> None:
        httpx.post(f"{self.counterparty}/_control", json=change, timeout=10).raise_for_status()


def _add_manager(pages_world: PagesWorld, code: str, name: str, kind: str) -> None:
    engine = make_engine(pages_world.settings)
    email = f"manager@{code.lower()}.example"
    with unit_of_work(engine) as session:
        add_organisation(session, code, name, kind)
        sign_memorandum(session, code, dt.date(2016, 9, 1))
        add_user(session, email, code, ["overseas_visitors_manager"], name="Synthetic Manager")
        set_password(session, pages_world.settings, email, PASSWORD)
    engine.dispose()
    pages_world.accounts[f"manager_{code}"] = Account(email, PASSWORD, None)


def _add_past_calls(pages_world: PagesWorld) -> None:
    """Three calls of 2017/18 (one credited) for the trust's bill page."""
    engine = make_engine(pages_world.settings)
    with unit_of_work(engine) as session:
        from caldicott.orgs.service import get_organisation

        org = get_organisation(session, TRUST)
        starts = [dt.datetime(2017, 6, 1, 9, 0, tzinfo=ENGLAND_SUMMER),
                  dt.datetime(2017, 6, 20, 14, 0, tzinfo=ENGLAND_SUMMER),
                  dt.datetime(2017, 9, 5, 11, 0, tzinfo=ENGLAND_SUMMER)]
        record_usage(session, [UsageEvent(f"call/past-{i}", org.id, "call", start,
                                          start + dt.timedelta(minutes=8, seconds=30))
                               for i, start in enumerate(starts)])
    with unit_of_work(engine) as session:
        issue_credit_note(session, "call/past-1", "The answer named another person",
                          "user/1")
    engine.dispose()


@pytest.fixture(scope="module")
def checking(pages_world: PagesWorld) -> Iterator[CheckingWorld]:
    _add_manager(pages_world, TRUST, "Synthetic Browser Test NHS Trust", "nhs_trust")
    _add_past_calls(pages_world)
    with counterparty_process() as url:
        server = pages_world.serve(CALDICOTT_CHECKING_URL=url,
                                   CALDICOTT_CHECKING_TIMEOUT_SECONDS="0.5",
                                   CALDICOTT_CHECKING_ATTEMPTS="1",
                                   CALDICOTT_CHECKING_BREAKER_FAILURES="2",
                                   CALDICOTT_CHECKING_BREAKER_RESET_SECONDS="1")
        try:
            yield CheckingWorld(server, url)
        finally:
            server.stop()


def _fill(page: Page, nhs: str | None, family: str, purpose: str | None = None) -> None:
    if nhs:
        page.get_by_label("NHS number").fill(nhs)
    page.get_by_label("Given name").fill("Amara")
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("1984")
    page.get_by_label("Nationality").fill("Ruritanian")
    if purpose:
        page.get_by_label(purpose).check()


def test_a_check_is_answered_charged_for_its_call_and_shown_in_history(
        page: Page, checking: CheckingWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, f"manager_{TRUST}", checking.url)
    page.get_by_role("link", name="Check a patient's immigration status").click()
    page.get_by_role("button", name="Check the status").click()  # nothing filled in
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter the patient's given name")
    expect(summary).to_contain_text("Enter the patient's date of birth")
    expect(page.locator("#nationality-error")).to_contain_text("Enter the patient's nationality")
    assert_accessible(page)
    nhs = next(synthetic_nhs_numbers(77_000))
    _fill(page, nhs, "Browsertest")
    page.get_by_role("button", name="Check the status").click()
    page.wait_for_url(f"{checking.url}/status-checks/*")
    check_id = page.url.rsplit("/", 1)[1]
    assert nhs not in page.url
    expect(page.locator("h1")).to_have_text(f"Status check {check_id}")
    expect(page.locator("main")).to_contain_text("Answered")
    expect(page.locator("main")).to_contain_text("date of birth, name, nationality")
    expect(page.locator("main")).to_contain_text(f"{TRUST} asked about this person at")
    assert_accessible(page)
    received = httpx.get(f"{checking.counterparty}/_received", timeout=10).json()
    assert received and nhs not in str(received[-1])  # the NHS number never left
    page.get_by_role("link", name="Status checks").click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"Check {check_id}"))
    expect(row).to_contain_text("Answered")
    assert_accessible(page)
    page.goto(f"{checking.url}/billing")  # this year's bill: one 8-minute call, 640p
    expect(page.locator("main")).to_contain_text("£6.40")


def test_a_refusal_shows_the_agreement_version_and_clause_words(
        page: Page, checking: CheckingWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, f"manager_{TRUST}", checking.url)
    page.goto(f"{checking.url}/status-checks/new")  # a trust may not check for housing
    _fill(page, next(synthetic_nhs_numbers(79_000)), "Refusaltest",
          purpose="Eligibility for housing")
    form_key = page.locator("input[name=idempotency_key]").input_value()
    page.get_by_role("button", name="Check the status").click()
    page.wait_for_url(f"{checking.url}/status-checks/*")
    main = page.locator("main")
    expect(main).to_contain_text("Refused")
    expect(main).to_contain_text("checking-service-mou, version 1")
    expect(page.locator("#clauses")).to_contain_text("Clause 1.1: The trust may check")
    expect(main).to_contain_text("Nothing was sent to the Home Office and nothing was charged")
    assert_accessible(page)
    refused = page.url
    page.goto(f"{checking.url}/status-checks")
    expect(page.locator("tbody")).to_contain_text("Refused")
    page.goto(f"{checking.url}/status-checks/new")  # the same form (its key), corrected:
    page.locator("input[name=idempotency_key]").evaluate("(box, key) => box.value = key",
                                                         form_key)  # a new check
    _fill(page, next(synthetic_nhs_numbers(79_000)), "Refusaltest",
          purpose="Entitlement to free NHS care")
    page.get_by_role("button", name="Check the status").click()
    page.wait_for_url(f"{checking.url}/status-checks/*")
    assert page.url != refused
    expect(page.locator("main")).to_contain_text("Answered")


def test_a_timeout_says_so_and_that_nothing_was_charged_and_a_resend_is_answered(
        page: Page, checking: CheckingWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, f"manager_{TRUST}", checking.url)
    page.goto(f"{checking.url}/status-checks/new")
    _fill(page, next(synthetic_nhs_numbers(78_000)), "Slowtest")
    checking.control(latency_ms=1500)
    try:
        page.get_by_role("button", name="Check the status").click()
        summary = page.locator(".nhsuk-error-summary")
        expect(summary).to_contain_text("did not answer within 0.5 s")
        expect(summary).to_contain_text("nothing was charged")
        assert_accessible(page)
    finally:
        checking.control(latency_ms=0)
    page.get_by_role("button", name="Check the status").click()  # the same check, resent
    page.wait_for_url(f"{checking.url}/status-checks/*")
    expect(page.locator("main")).to_contain_text("Answered")


def test_a_down_service_opens_the_circuit_and_the_form_says_nothing_was_sent(
        page: Page, checking: CheckingWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, f"manager_{TRUST}", checking.url)
    page.goto(f"{checking.url}/status-checks/new")
    _fill(page, next(synthetic_nhs_numbers(80_000)), "Outagetest")
    summary = page.locator(".nhsuk-error-summary")
    checking.control(outage=True)
    try:
        for _ in range(2):  # two failures in a row open the circuit
            page.get_by_role("button", name="Check the status").click()
            expect(summary).to_contain_text("failed (HTTP 503)")
        page.get_by_role("button", name="Check the status").click()
        expect(summary).to_contain_text("caldicott stopped sending")
        expect(summary).to_contain_text("nothing was sent and nothing was charged")
        assert_accessible(page)
    finally:
        checking.control(outage=False)
    page.wait_for_timeout(1100)  # the circuit half-opens
    page.get_by_role("button", name="Check the status").click()  # nothing lost: answered
    page.wait_for_url(f"{checking.url}/status-checks/*")
    expect(page.locator("main")).to_contain_text("Answered")


def test_the_bills_the_statement_and_its_csv(page: Page, checking: CheckingWorld,
                                             sign_in: Callable[..., None]) -> None:
    sign_in(page, f"manager_{TRUST}", checking.url)
    page.get_by_role("link", name="Bills").click()
    page.goto(f"{checking.url}/billing?year=2017%2F18")
    months = page.locator("#months")
    expect(months.locator("tr", has_text="June 2017")).to_contain_text("£13.60")
    expect(months.locator("tr", has_text="June 2017")).to_contain_text("£6.80")  # credited
    expect(months.locator("tr", has_text="September 2017")).to_contain_text("£6.80")
    expect(page.locator("#credit-notes")).to_contain_text("The answer named another person")
    expect(page.locator("main")).to_contain_text("£13.60")  # owed: 3 x 680p less 680p
    assert_accessible(page)
    page.get_by_role("link", name="The statement for 2017/18").click()
    expect(page.locator("#statement tbody tr")).to_have_count(3)
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the statement as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("date,event,kind")
    assert lines[-1].split(",")[7:9] == ["2040", "680"]  # charged, credited
    assert text.count("call/past-") == 3
    other = page.goto(f"{checking.url}/billing?year=2017%2F18&organisation=X26")
    assert other is not None and other.status == 403


def test_the_auditor_sees_every_organisations_bills(page: Page, checking: CheckingWorld,
                                                    sign_in: Callable[..., None]) -> None:
    sign_in(page, "auditor", checking.url)
    page.get_by_role("link", name="Every organisation's bills").click()
    page.goto(f"{checking.url}/billing/organisations?year=2017%2F18")
    row = page.locator("#organisations tr", has_text=TRUST)
    expect(row).to_contain_text("£13.60")
    assert_accessible(page)
    row.get_by_role("link", name=TRUST).click()
    expect(page.locator("#credit-notes")).to_contain_text("The answer named another person")
