"""The reviewer's pages in a real browser: the queue, the desk with its waterfalls, the
public-interest record, approve and refuse with a reason, separation of duties, the
keyboard alone, and axe on every page with data on it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from caldicott.register.records import PatientRecord
from caldicott.requests.scenario import public_interest, trace_request_body
from tests.browser.axe import assert_accessible
from tests.browser.pages_world import PagesWorld
from tests.browser.test_requester_pages import _POLICE, _submit

SignIn = Callable[..., None]


@pytest.fixture()
def second_page(browser: Browser) -> Iterator[Page]:
    """Another person's browser (its own cookies), beside ``page``."""
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _police_body(person: PatientRecord, reference: str) -> dict[str, Any]:
    return trace_request_body(
        person, None, category="serious_crime", postcode=person.addresses[0].postcode,
        purpose="prevention_or_detection_of_crime", case_reference=reference,
        justification="Suspect in a serious assault; the suspect has left their last "
                      "known address.", requesting_officer="PC-4521",
        countersigning_officer="DI-1234", requested_fields=["name", "address"],
        suspected_offence={"statute": "Offences Against the Person Act 1861", "section": "18",
                           "description": "wounding with intent"})


def _step(pages_world: PagesWorld, request_id: int, step: str, who: str,
          body: dict[str, Any]) -> dict[str, Any]:
    answer = pages_world.api("POST", f"/api/trace-requests/{request_id}/{step}", who, json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _validate(pages_world: PagesWorld, request_id: int) -> None:
    """The tracer's check, through the API (the tracer's pages are another engineer's)."""
    shown = _step(pages_world, request_id, "validate", "tracer",
                  {"decision": "accept", "reasons": [], "note": "procedure followed"})
    assert shown["internal_status"] == "awaiting_public_interest", shown


def _awaiting_review(pages_world: PagesWorld, reference: str,
                     person: PatientRecord | None = None) -> int:
    """A police request submitted, validated and weighed through the API: traced, it
    waits for review."""
    person = person or pages_world.world.people.offender
    answer = pages_world.api("POST", "/api/trace-requests", "police_officer",
                             json=_police_body(person, reference))
    assert answer.status_code == 201, answer.text
    request_id = int(answer.json()["id"])
    _validate(pages_world, request_id)
    shown = _step(pages_world, request_id, "public-interest", "guardian",
                  public_interest("disclose"))
    assert shown["internal_status"] == "awaiting_review", shown
    return request_id


def _fill_public_interest(page: Page) -> None:
    record = public_interest("disclose")
    page.get_by_label("Disclose: the public interest").check()
    page.get_by_label("Statutory gateway relied on").fill(record["gateway"])
    for label, name in (("Seriousness", "seriousness"), ("Necessity", "necessity"),
                        ("Proportionality", "proportionality"),
                        ("Harm to trust", "harm_to_trust"), ("Vulnerability", "vulnerability"),
                        ("Why the patient is, or is not, told now", "patient_told_reason")):
        page.get_by_label(label, exact=True).fill(record[name])
    page.get_by_label("Later").check()
    page.get_by_label("Your grade").fill("Caldicott Guardian")


def _queue_row(page: Page, request_id: int) -> Any:
    return page.locator("#queue tbody tr").filter(has=page.get_by_role(
        "link", name=f"Request {request_id}", exact=True))


def _assert_waterfall_matches_its_table(page: Page) -> None:
    """The chart's numbers are the table's: every bar's value is a row's weight."""
    leader = page.locator("#candidate-1")
    chart = [t.strip() for t in leader.locator("svg .waterfall-value").all_text_contents()]
    table = [t.strip() for t in leader.locator(
        "table tbody tr td:nth-child(3)").all_inner_texts()][:-1]  # the last: probability
    assert chart and chart == table, (chart, table)
    labels = leader.locator("table tbody th").all_inner_texts()
    assert labels[0] == "Prior" and labels[-2] == "Total" and "Date of birth" in labels
    probability = leader.locator("table tbody tr").last.locator("td").nth(1).inner_text()
    assert re.fullmatch(r"0\.\d{6}|1\.000000", probability.strip())
    expect(leader.locator("svg title")).to_contain_text("match-weight waterfall")


def test_the_journey_submit_weigh_approve_from_the_queue_and_the_requester_sees_it(
        page: Page, second_page: Page, pages_world: PagesWorld, sign_in: SignIn) -> None:
    person = pages_world.world.people.offender
    sign_in(page, "police_officer")
    request_id = _submit(page, pages_world, "police_officer", person, **_POLICE)
    _validate(pages_world, request_id)
    reviewer = second_page
    sign_in(reviewer, "guardian")
    reviewer.get_by_role("link", name="Review trace requests").click()
    row = _queue_row(reviewer, request_id)
    expect(row).to_contain_text("The public-interest test")
    expect(row).to_contain_text("Yes")
    assert_accessible(reviewer)
    row.get_by_role("link", name=f"Request {request_id}", exact=True).click()
    expect(reviewer.locator("#clauses")).to_contain_text("Clause")
    _fill_public_interest(reviewer)
    reviewer.get_by_role("button", name="Record the public-interest decision").click()
    reviewer.wait_for_url(f"{pages_world.url}/review/{request_id}")
    expect(reviewer.locator("main")).to_contain_text("Waiting for review of the trace")
    _assert_waterfall_matches_its_table(reviewer)
    expect(reviewer.locator("#leaving")).to_contain_text(person.addresses[-1].postcode)
    expect(reviewer.locator("#release-bar")).to_contain_text("Release bar")
    assert person.nhs_number not in reviewer.content()  # the desk never names the patient
    reviewer.get_by_label("Reason for your decision").fill("Serious crime; proportionate.")
    reviewer.get_by_role("button", name="Approve the release").click()
    reviewer.wait_for_url(f"{pages_world.url}/requests/{request_id}")
    expect(reviewer.locator("main")).to_contain_text("Released")
    decided = reviewer.goto(f"{pages_world.url}/review/{request_id}")  # off the desk now
    assert decided is not None and decided.status == 409
    expect(reviewer.locator("main")).to_contain_text("nothing for a reviewer")
    page.goto(f"{pages_world.url}/requests/{request_id}")
    expect(page.locator("#released")).to_contain_text(person.addresses[-1].postcode)
    expect(page.locator("main")).to_contain_text("Released")


def test_a_reviewer_who_traced_sees_why_and_cannot_approve(
        page: Page, pages_world: PagesWorld, sign_in: SignIn) -> None:
    request_id = _awaiting_review(pages_world, "REV-TRACED")
    _step(pages_world, request_id, "trace", "tracing_guardian", {})
    sign_in(page, "tracing_guardian")
    page.goto(f"{pages_world.url}/review")
    expect(_queue_row(page, request_id)).to_contain_text("No: you traced this request")
    assert_accessible(page)
    page.goto(f"{pages_world.url}/review/{request_id}")
    expect(page.locator("#why-not")).to_have_text(re.compile(
        r"^You traced this request; another reviewer must"))
    expect(page.get_by_role("button", name="Approve the release")).to_have_count(0)
    expect(page.get_by_label("Reason for your decision")).to_have_count(0)
    _assert_waterfall_matches_its_table(page)
    assert_accessible(page)
    # Posting the form anyway (a crafted request with a good CSRF token) is refused.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(f"{pages_world.url}/review/{request_id}/decision", form={
        "csrf_token": token or "", "decision": "approve", "reason": "mine"},
        max_redirects=0)
    assert answer.status == 403
    assert "you traced this request" in answer.text()
    shown = pages_world.api("GET", f"/api/trace-requests/{request_id}", "auditor").json()
    assert shown["internal_status"] == "awaiting_review"


def _tab_to(page: Page, wanted: Callable[[dict[str, str]], bool],
            limit: int = 400) -> list[dict[str, str]]:
    """Press Tab until the focused element is ``wanted``; every element focused on the way."""
    seen: list[dict[str, str]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            return {tag: e.tagName, id: e.id || '', text: (e.innerText || '').trim(),
                    name: e.getAttribute('name') || '', value: e.value || ''}; }""")
        seen.append(focused)
        if wanted(focused):
            return seen
    raise AssertionError(f"Tab never reached it; focus went through {seen[-20:]}")


def test_the_approve_journey_with_the_keyboard_alone(
        page: Page, pages_world: PagesWorld, sign_in: SignIn) -> None:
    request_id = _awaiting_review(pages_world, "REV-KEYS")
    sign_in(page, "second_guardian")
    _tab_to(page, lambda e: e["tag"] == "A" and e["text"] == "Review trace requests")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{pages_world.url}/review")
    _tab_to(page, lambda e: e["tag"] == "A" and e["text"] == f"Request {request_id}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{pages_world.url}/review/{request_id}")
    route = _tab_to(page, lambda e: e["id"] == "reason")
    assert any(e["name"] == "disclosure" for e in route)  # the choice comes before the reason
    page.keyboard.type("Serious crime; the address is needed and proportionate.")
    after = _tab_to(page, lambda e: e["tag"] == "BUTTON" and e["value"] == "approve", 3)
    assert after[-1]["text"] == "Approve the release"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{pages_world.url}/requests/{request_id}")
    expect(page.locator("main")).to_contain_text("Released")


def test_a_refusal_without_a_reason_shows_the_error_summary(
        page: Page, pages_world: PagesWorld, sign_in: SignIn) -> None:
    request_id = _awaiting_review(pages_world, "REV-NOREASON")
    sign_in(page, "second_guardian")
    page.goto(f"{pages_world.url}/review/{request_id}")
    page.get_by_role("button", name="Refuse").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter the reason for your decision")
    expect(page.locator("#reason-error")).to_contain_text("Enter the reason for your decision")
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary.get_by_role("link", name="Enter the reason for your decision").click()
    expect(page.locator("#reason")).to_be_focused()
    assert_accessible(page)
    shown = pages_world.api("GET", f"/api/trace-requests/{request_id}", "auditor").json()
    assert shown["internal_status"] == "awaiting_review"  # nothing was decided
    missing = page.goto(f"{pages_world.url}/review/{2**31 - 1}")
    assert missing is not None and missing.status == 404


def test_the_public_interest_form_shows_each_missing_field(
        page: Page, pages_world: PagesWorld, sign_in: SignIn) -> None:
    answer = pages_world.api("POST", "/api/trace-requests", "police_officer",
                             json=_police_body(pages_world.world.people.offender, "REV-PI"))
    request_id = int(answer.json()["id"])
    _validate(pages_world, request_id)
    sign_in(page, "guardian")
    page.goto(f"{pages_world.url}/review/{request_id}")
    page.get_by_label("Seriousness", exact=True).fill("Grave.")
    page.get_by_role("button", name="Record the public-interest decision").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Select whether to disclose or refuse")
    expect(summary).to_contain_text("Enter the statutory gateway relied on")
    expect(summary).not_to_contain_text("Enter how serious")
    expect(page.get_by_label("Seriousness", exact=True)).to_have_value("Grave.")
    assert_accessible(page)


def test_a_person_who_is_not_a_reviewer_gets_no_queue(
        page: Page, pages_world: PagesWorld, sign_in: SignIn) -> None:
    sign_in(page, "tracer")
    expect(page.get_by_role("link", name="Review trace requests")).to_have_count(0)
    answer = page.goto(f"{pages_world.url}/review")
    assert answer is not None and answer.status == 403
