"""The administrator's pages in a real browser: organisations, users and their roles, the
account's state and sign-in, API tokens issued (shown once) and revoked (the API then
refuses them); destructive changes confirmed first; every page accessible with data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from caldicott.requests.world import staff_email
from tests.browser.axe import assert_accessible
from tests.browser.pages_world import PagesWorld


@pytest.fixture()
def admin(browser: Browser, signed_in_state: Callable[[str], Any]) -> Iterator[Page]:
    """A page of the administrator, signed in (once per worker)."""
    context = browser.new_context(storage_state=signed_in_state("admin"), bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _me(pages_world: PagesWorld, token: str) -> int:
    return httpx.get(f"{pages_world.url}/api/me", timeout=30,
                     headers={"Authorization": f"Bearer {token}"}).status_code


def _open_user(page: Page, pages_world: PagesWorld, email: str) -> None:
    page.goto(f"{pages_world.url}/admin/users")
    page.get_by_role("link", name=email, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(email)


def test_a_new_token_is_shown_once_works_and_stops_working_when_revoked(
        admin: Page, pages_world: PagesWorld) -> None:
    page = admin
    page.goto(pages_world.url)
    page.get_by_role("link", name="Users").click()
    assert_accessible(page)
    email = staff_email("court_officer")
    _open_user(page, pages_world, email)
    page.get_by_label("What it is for (optional)").fill("case system")
    page.get_by_label("What it may be used for").select_option("read")
    page.get_by_label("Days until it expires").fill("7")
    page.get_by_role("button", name="Issue the token").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your new API token")
    token = page.get_by_label("The token").input_value()
    assert token.startswith("cald_")
    assert token not in page.url
    token_id = int(re.search(r"Token (\d+) for", page.locator("main").inner_text())[1])  # type: ignore[index]
    assert_accessible(page)
    assert _me(pages_world, token) == 200

    page.reload()  # shown once: not on a reload
    expect(page.get_by_role("heading", level=1)).to_have_text("API token already shown")
    assert token not in page.content()
    page.goto(f"{pages_world.url}/admin/tokens")
    assert token not in page.content()
    row = page.locator(f"#token-{token_id}")
    expect(row).to_contain_text("case system")
    expect(row).to_contain_text("Active")
    assert_accessible(page)

    # A revocation posted without the form's CSRF token is refused, and changes nothing.
    forged = page.request.post(f"{pages_world.url}/admin/tokens/{token_id}/revoke",
                               form={"csrf_token": "forged"})
    assert forged.status == 403
    assert _me(pages_world, token) == 200

    row.get_by_role("link", name=f"Revoke token {token_id}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Revoke token {token_id}")
    assert_accessible(page)
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text(
        f"Token {token_id} revoked")
    expect(page.locator(f"#token-{token_id}")).to_contain_text("Revoked")
    assert _me(pages_world, token) == 401


def test_an_administrator_adds_an_organisation_and_a_user_and_changes_the_account(
        admin: Page, pages_world: PagesWorld) -> None:
    page = admin
    page.goto(pages_world.url)
    page.get_by_role("link", name="Organisations").click()
    page.get_by_label("Code").fill("X26")
    page.get_by_label("Name").fill("A second NHS Digital")
    page.get_by_label("Kind").select_option("nhs_digital")
    page.get_by_role("button", name="Add the organisation").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("X26 already exists")
    assert_accessible(page)
    page.get_by_label("Code").fill("TRACE-UNIT")
    page.get_by_role("button", name="Add the organisation").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text(
        "Organisation TRACE-UNIT added")
    expect(page.get_by_role("row", name=re.compile("TRACE-UNIT"))).to_contain_text(
        "NHS Digital (the custodian)")
    assert_accessible(page)

    page.goto(f"{pages_world.url}/admin/users/new")
    page.get_by_label("Email address").fill("new.tracer@trace-unit.example")
    page.get_by_label("Organisation").select_option("TRACE-UNIT")
    page.get_by_label("Requesting officer").check()
    page.get_by_label("Tracer").check()
    page.get_by_role("button", name="Add the user").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "a requester may not trace")
    assert_accessible(page)
    page.get_by_label("Requesting officer").uncheck()
    page.get_by_role("button", name="Add the user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("new.tracer@trace-unit.example")
    assert re.search(r"/admin/users/\d+$", page.url)  # named by id, not by address

    page.get_by_label("Add a role").select_option("auditor")
    page.get_by_role("button", name="Add the role").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "an auditor reads everything and changes nothing")
    assert_accessible(page)
    page.get_by_label("Add a role").select_option("reviewer")
    page.get_by_role("button", name="Add the role").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Role added")
    roles = page.locator("#roles + ul")
    expect(roles).to_contain_text("Reviewer")
    expect(roles).to_contain_text("Tracer")
    assert_accessible(page)

    page.get_by_role("link", name="Remove the role tracer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Take the role tracer")
    page.get_by_role("button", name="Remove the role").click()
    expect(roles).not_to_contain_text("Tracer")

    page.get_by_role("link", name="Disable the account").click()
    assert_accessible(page)
    page.get_by_role("button", name="Disable the account").click()
    expect(page.locator("main")).to_contain_text("Account disabled")
    expect(page.locator(".nhsuk-summary-list")).to_contain_text("Disabled")
    page.get_by_role("button", name="Enable the account").click()
    expect(page.locator(".nhsuk-summary-list")).to_contain_text("Active")

    page.get_by_role("link", name="Reset their sign-in").click()
    page.get_by_role("button", name="Reset sign-in").click()
    expect(page.locator("main")).to_contain_text("Sign-in reset")
    assert_accessible(page)


def test_only_an_administrator_may_manage_accounts(
        page: Page, pages_world: PagesWorld, signed_in_state: Callable[[str], Any]) -> None:
    page.context.add_cookies(signed_in_state("auditor")["cookies"])
    page.goto(pages_world.url)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    for path in ("/admin/users", "/admin/tokens", "/admin/organisations"):
        answer = page.goto(f"{pages_world.url}{path}")
        assert answer is not None and answer.status == 403, path
    assert_accessible(page)
