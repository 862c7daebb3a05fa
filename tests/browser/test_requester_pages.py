"""A requester's journey in a real browser: submit, see the state, a refusal's clauses, a
release's fields; every page accessible with data on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from caldicott.register.records import PatientRecord
from caldicott.requests.scenario import public_interest
from tests.browser.axe import assert_accessible
from tests.browser.pages_world import PagesWorld


def _fill_request(page: Page, person: PatientRecord, purpose: str, category: str,
                  officer: str, countersigner: str, fields: tuple[str, ...]) -> None:
    page.get_by_label("Given name").fill(person.given_name or "")
    page.get_by_label("Family name").fill(person.family_name)
    page.get_by_label("Day").fill(str(person.birth_date.day))
    page.get_by_label("Month").fill(str(person.birth_date.month))
    page.get_by_label("Year").fill(str(person.birth_date.year))
    chooser = page.locator("#purpose")
    if chooser.evaluate("element => element.tagName") == "SELECT":
        chooser.select_option(purpose)
    else:  # no agreement in force names the organisation: the code is typed
        chooser.fill(purpose)
    page.get_by_label("Category").select_option(category)
    page.get_by_label("Your case reference").fill("CASE-7")
    page.get_by_label("Why you need to trace this person").fill(
        "Wanted for questioning about a serious offence; every other way has been tried.")
    page.get_by_label("Offence suspected: statute (optional)").fill(
        "Offences against the Person Act 1861")
    page.get_by_label("Offence suspected: section (optional)").fill("18")
    page.get_by_label("Every other way of finding the person has been tried").check()
    for box in page.locator("input[name=requested_fields]").all():
        box.set_checked(box.get_attribute("value") in fields)
    page.get_by_label("Your staff or warrant number").fill(officer)
    page.get_by_label("Countersigning officer's staff or warrant number").fill(countersigner)


def _submit(page: Page, pages_world: PagesWorld, who: str, person: PatientRecord,
            **form: Any) -> int:
    page.goto(f"{pages_world.url}/requests/new")
    _fill_request(page, person, **form)
    page.get_by_role("button", name="Submit the request").click()
    page.wait_for_url(f"{pages_world.url}/requests/*")
    return int(page.url.rsplit("/", 1)[1])


_POLICE = {"purpose": "prevention_or_detection_of_crime", "category": "serious_crime",
           "officer": "PC-4521", "countersigner": "DI-1234", "fields": ("name", "address")}


def test_the_requester_submits_and_sees_the_request_under_consideration(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "police_officer")
    request_id = _submit(page, pages_world, "police_officer",
                         pages_world.world.people.overstayer, **_POLICE)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {request_id}")
    expect(page.locator("main")).to_contain_text("Under consideration")
    assert pages_world.world.people.overstayer.family_name not in page.url  # ids only
    page.get_by_role("link", name="Trace requests").click()
    row = page.get_by_role("row").filter(has=page.get_by_role(
        "link", name=f"Request {request_id}", exact=True))
    expect(row).to_contain_text("Under consideration")


def test_invalid_input_gets_an_error_summary_and_field_messages(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "police_officer")
    page.goto(f"{pages_world.url}/requests/new")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("1980")
    page.get_by_role("button", name="Submit the request").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("cannot be traced from this: no name")
    expect(summary).to_contain_text("Enter a real date of birth")
    expect(page.locator("#given_name-error")).to_contain_text("no name")
    expect(page.get_by_label("Day")).to_have_value("31")  # what was typed is kept
    assert_accessible(page)


def test_a_refusal_shows_the_agreement_version_and_clause_words(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "officer")  # the Home Office: its memorandum was withdrawn in 2018
    page.goto(f"{pages_world.url}/requests/new")
    assert_accessible(page)
    request_id = _submit(page, pages_world, "officer", pages_world.world.people.overstayer,
                         purpose="trace_immigration_offender", category="overstayer",
                         officer="HO-1001", countersigner="HO-2001", fields=("address",))
    main = page.locator("main")
    expect(main).to_contain_text("Refused")
    expect(main).to_contain_text("tracing-mou, version 3-withdrawn")
    expect(main).to_contain_text("Clause W.1")
    expect(main).to_contain_text("withdrawn on 9 November 2018")
    assert_accessible(page)
    page.goto(f"{pages_world.url}/requests")
    expect(page.get_by_role("link", name=f"Request {request_id}", exact=True)).to_be_visible()
    assert_accessible(page)


def _release_through_the_api(pages_world: PagesWorld, request_id: int) -> dict[str, Any]:
    """The staff's steps (not this issue's pages yet): validate, weigh, trace, approve."""
    steps = (("validate", "tracer", {"decision": "accept", "reasons": [],
                                     "note": "procedure followed"}),
             ("public-interest", "guardian", public_interest("disclose")),
             ("review", "second_guardian", {"decision": "approve", "disclosure": "fields",
                                            "reason": "serious crime; proportionate"}))
    for step, who, body in steps:
        answer = pages_world.api("POST", f"/api/trace-requests/{request_id}/{step}", who,
                                 json=body)
        assert answer.status_code == 200, answer.text
    shown = pages_world.api("GET", f"/api/trace-requests/{request_id}", "police_officer")
    assert shown.json()["status"] == "released", shown.text
    return dict(shown.json())


def test_a_release_shows_only_the_released_fields(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "police_officer")
    person = pages_world.world.people.offender
    request_id = _submit(page, pages_world, "police_officer", person,
                         **{**_POLICE, "fields": ("address",)})
    released = _release_through_the_api(pages_world, request_id)
    assert released["release"]["fields"] == ["address"]
    page.reload()
    main = page.locator("main")
    expect(main).to_contain_text("Released")
    section = page.locator("#released")
    expect(section).to_contain_text("Address")
    expect(section).to_contain_text(person.addresses[-1].postcode)
    expect(section).not_to_contain_text("Date of birth")
    expect(section).not_to_contain_text("GP practice")
    assert person.nhs_number not in page.content()
    assert_accessible(page)


def test_the_home_page_lists_what_the_person_may_do(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "police_officer")
    expect(page.get_by_role("link", name="Submit a trace request")).to_be_visible()
    expect(page.get_by_role("link", name="Trace requests")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "auditor")  # reads requests, submits none
    expect(page.get_by_role("link", name="Trace requests")).to_be_visible()
    expect(page.get_by_role("link", name="Submit a trace request")).to_have_count(0)
