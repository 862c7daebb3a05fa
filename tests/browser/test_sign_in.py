"""Signing in and out in a real browser: passwords, TOTP, CSRF, idle sessions."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.pages_world import PagesWorld


def _password_step(page: Page, pages_world: PagesWorld, who: str, password: str) -> None:
    page.goto(f"{pages_world.url}/sign-in")
    page.get_by_label("Email address").fill(pages_world.accounts[who].email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_wrong_password_is_refused(page: Page, pages_world: PagesWorld) -> None:
    _password_step(page, pages_world, "officer", "not-the-password-at-all")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "The email address or password is not right")
    page.goto(f"{pages_world.url}/")
    expect(page).to_have_url(f"{pages_world.url}/sign-in")  # still nobody signed in


def test_a_wrong_totp_code_is_refused(page: Page, pages_world: PagesWorld) -> None:
    account = pages_world.accounts["auditor"]
    _password_step(page, pages_world, "auditor", account.password)
    expect(page).to_have_url(f"{pages_world.url}/sign-in/code")
    wrong = "000000" if account.code() != "000000" else "111111"
    page.get_by_label("Enter your security code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("security code is not right")
    page.goto(f"{pages_world.url}/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(pages_world.url)}/sign-in"))


def test_a_form_posted_without_its_csrf_token_is_refused(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "police_officer")
    page.goto(f"{pages_world.url}/requests/new")
    page.locator("#form input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(f"{pages_world.url}/requests/new") as answer:
        page.get_by_role("button", name="Submit the request").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    expect(page.locator("main")).to_contain_text("did not come from this service")


def test_an_idle_session_ends(page: Page, pages_world: PagesWorld,
                              sign_in: Callable[..., None]) -> None:
    quick = pages_world.serve(CALDICOTT_SESSION_IDLE_MINUTES="0.05")  # 3 seconds
    sign_in(page, "officer", url=quick.url)
    page.goto(f"{quick.url}/requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trace requests")
    time.sleep(3.5)
    page.goto(f"{quick.url}/requests")
    expect(page).to_have_url(f"{quick.url}/sign-in?ended=1")
    expect(page.locator("main")).to_contain_text("You have been signed out")


def test_signing_out_ends_the_session(page: Page, pages_world: PagesWorld,
                                      sign_in: Callable[..., None]) -> None:
    sign_in(page, "tracer")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("main")).to_contain_text("You have signed out")
    page.goto(f"{pages_world.url}/")
    expect(page).to_have_url(f"{pages_world.url}/sign-in")


def test_sign_in_and_code_pages_are_accessible(page: Page, pages_world: PagesWorld) -> None:
    page.goto(f"{pages_world.url}/sign-in")
    assert_accessible(page)
    page.get_by_role("button", name="Sign in").click()  # nothing filled in: the errors
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page)
    _password_step(page, pages_world, "admin", pages_world.accounts["admin"].password)
    expect(page.get_by_label("Enter your security code")).to_be_visible()
    assert_accessible(page)


def test_error_pages_are_nhs_style_and_accessible(page: Page, pages_world: PagesWorld,
                                                  sign_in: Callable[..., None]) -> None:
    sign_in(page, "tracer")  # a tracer may not submit requests: a 403
    for path, status, heading in (("/requests/new", 403, "You cannot do this"),
                                  ("/no-such-page", 404, "Page not found"),
                                  ("/requests/999999", 404, "Page not found"),
                                  ("/test-only/server-error", 500,
                                   "Sorry, there is a problem with the service")):
        answer = page.goto(f"{pages_world.url}{path}")
        assert answer is not None and answer.status == status, path
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("header.nhsuk-header")).to_contain_text("caldicott")
        assert "RuntimeError" not in page.content()
        assert_accessible(page)
