"""The auditor's ledger explorer in a real browser: the checkpoint and key, entries paged
and filtered, an entry's proof checked by Chromium's own WebCrypto (a real proof
accepted, tampered ones refused), consistency with a saved checkpoint; every page
accessible with data on it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.pages_world import PagesWorld

PROOF_BUTTON = "Check this proof in your browser"


def _page_of(browser: Browser, state: Any, strict: bool) -> Iterator[Page]:
    # bypass_csp lets axe in; a strict page keeps the service's Content-Security-Policy,
    # under which the proof check must run.
    context = browser.new_context(storage_state=state, bypass_csp=not strict)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture()
def auditor(browser: Browser, signed_in_state: Callable[[str], Any]) -> Iterator[Page]:
    """A page of the auditor, signed in (once per worker)."""
    yield from _page_of(browser, signed_in_state("auditor"), strict=False)


@pytest.fixture()
def strict_auditor(browser: Browser, signed_in_state: Callable[[str], Any]) -> Iterator[Page]:
    """The auditor's page under the service's real Content-Security-Policy (no axe)."""
    yield from _page_of(browser, signed_in_state("auditor"), strict=True)


def _people_in(pages_world: PagesWorld, text: str) -> list[str]:
    """Anything identifying the story's people that appears in ``text``."""
    found = []
    for person in vars(pages_world.world.people).values():
        found += [v for v in (person.nhs_number, person.family_name) if v and v in text]
    return found


def _checkpoint(page: Page) -> tuple[int, str]:
    """The size and root of the checkpoint the explorer shows (its signed note)."""
    lines = page.locator("#checkpoint-note").input_value().split("\n")
    return int(lines[1]), lines[2]


def test_the_explorer_shows_the_checkpoint_its_key_and_entries_filtered_and_paged(
        auditor: Page, pages_world: PagesWorld) -> None:
    page = auditor
    page.goto(pages_world.url)
    page.get_by_role("link", name="Ledger explorer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ledger explorer")
    size, root = _checkpoint(page)
    assert size > 0 and len(base64.b64decode(root)) == 32
    expect(page.locator("#checkpoint-root")).to_have_text(root)
    key = page.get_by_label("Verifier key").input_value()
    assert re.fullmatch(r"[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*", key), key
    expect(page.get_by_role("button", name="Copy the verifier key")).to_be_visible()
    rows = page.locator("main table tbody tr")
    for _ in range(30):  # each page read is itself an entry: read until there are two pages
        if page.get_by_role("link", name="Older entries").count():
            break
        page.reload()
    expect(rows).to_have_count(25)  # a full page, newest first
    first_page = [int(t.split()[1]) for t in rows.locator("td:first-child a").all_inner_texts()]
    assert first_page == sorted(first_page, reverse=True)
    assert_accessible(page)

    page.get_by_role("link", name="Older entries").click()
    page.wait_for_url("**/ledger/explorer?before=*")
    older = [int(t.split()[1]) for t in rows.locator("td:first-child a").all_inner_texts()]
    assert older and max(older) < min(first_page)

    page.goto(f"{pages_world.url}/ledger/explorer")
    page.get_by_text("Filter the entries").click()
    page.get_by_label("Type").select_option("read")
    page.get_by_role("button", name="Show entries").click()
    page.wait_for_url("**/ledger/explorer?type=read*")
    types = rows.locator("td:nth-child(3)").all_inner_texts()
    assert types and set(types) == {"read"}
    assert "type=read" in page.url and not _people_in(pages_world, page.url)
    assert not _people_in(pages_world, page.content())
    assert_accessible(page)


def test_a_backwards_day_range_is_an_error_on_the_page(
        auditor: Page, pages_world: PagesWorld) -> None:
    page = auditor
    page.goto(f"{pages_world.url}/ledger/explorer?from%5Bday%5D=2&from%5Bmonth%5D=3"
              "&from%5Byear%5D=2026&to%5Bday%5D=1&to%5Bmonth%5D=3&to%5Byear%5D=2026")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("the first day is after")
    page.goto(f"{pages_world.url}/ledger/explorer?to%5Bday%5D=31&to%5Bmonth%5D=2"
              "&to%5Byear%5D=2026")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a real date")
    assert_accessible(page)


def _newest_entry(page: Page, pages_world: PagesWorld) -> int:
    page.goto(f"{pages_world.url}/ledger/explorer")
    link = page.locator("main table tbody tr td:first-child a").first
    index = int(link.inner_text().split()[1])
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ledger entry {index}")
    return index


def _check_in_browser(page: Page) -> str:
    result = page.locator("#proof-result")
    page.evaluate("() => { document.getElementById('proof-result').textContent = ''; }")
    page.get_by_role("button", name=PROOF_BUTTON).click()
    expect(result).not_to_be_empty()
    return result.inner_text()


def _edit_proof(page: Page, change: Callable[[dict[str, object]], None]) -> None:
    box = page.get_by_label("The proof, with the entry and the signed checkpoint (JSON)")
    proof = json.loads(box.input_value())
    change(proof)
    box.fill(json.dumps(proof))


def test_the_browser_accepts_a_real_entry_and_refuses_tampered_proofs(
        strict_auditor: Page, pages_world: PagesWorld) -> None:
    page = strict_auditor
    _newest_entry(page, pages_world)
    expect(page.locator("main")).to_contain_text("In the log")  # the server's own check
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    original = page.get_by_label(re.compile("The proof, with the entry")).input_value()

    verdict = _check_in_browser(page)
    assert verdict.startswith("The entry is in the log of"), verdict
    assert "the checkpoint's signature is valid" in verdict  # Ed25519 in Chromium's WebCrypto
    expect(page.locator("[data-proof-check]")).to_have_attribute("data-proof-accepted", "true")

    def tamper_entry(proof: dict[str, object]) -> None:  # the entry and its leaf hash agree
        entry = str(proof["entry"]).replace('"outcome":"success"', '"outcome":"failure"', 1)
        assert entry != proof["entry"]
        proof["entry"] = entry
        proof["leafHash"] = None

    def tamper_index(proof: dict[str, object]) -> None:
        proof["leafIndex"] = int(str(proof["leafIndex"])) - 1

    def tamper_signature(proof: dict[str, object]) -> None:
        note = str(proof["checkpoint"])
        body, signature = note.rsplit(" ", 1)
        raw = bytearray(base64.b64decode(signature))
        raw[-1] ^= 1
        proof["checkpoint"] = f"{body} {base64.b64encode(bytes(raw)).decode()}\n"

    for change, why in ((tamper_entry, "inclusion proof does not lead to the root"),
                        (tamper_index, "inclusion proof"),
                        (tamper_signature, "the checkpoint's signature does not verify")):
        page.get_by_label(re.compile("The proof, with the entry")).fill(original)
        _edit_proof(page, change)
        verdict = _check_in_browser(page)
        assert verdict.startswith(f"Not verified: {why}"), verdict
        expect(page.locator("[data-proof-check]")).to_have_attribute(
            "data-proof-accepted", "false")
    page.get_by_label(re.compile("The proof, with the entry")).fill(original)
    assert _check_in_browser(page).startswith("The entry is in the log of")
    assert asked == []  # every verdict came from the browser, not the server


def test_the_entry_page_is_accessible_with_the_verdict_on_it(
        auditor: Page, pages_world: PagesWorld) -> None:
    page = auditor
    _newest_entry(page, pages_world)
    assert _check_in_browser(page).startswith("The entry is in the log of")
    assert not _people_in(pages_world, page.content())
    assert_accessible(page)


def _check_consistency(page: Page, pages_world: PagesWorld, size: str, root: str) -> None:
    page.goto(f"{pages_world.url}/ledger/explorer/consistency")
    page.get_by_label("Size of the saved checkpoint (entries)").fill(size)
    page.get_by_label("Root hash of the saved checkpoint (base64)").fill(root)
    page.get_by_role("button", name="Check consistency").click()


def test_consistency_holds_for_a_saved_checkpoint_and_not_for_a_forged_one(
        auditor: Page, pages_world: PagesWorld) -> None:
    page = auditor
    page.goto(f"{pages_world.url}/ledger/explorer")
    saved_size, saved_root = _checkpoint(page)
    newest = _newest_entry(page, pages_world)  # past the saved tree: signs a newer one
    assert newest >= saved_size

    _check_consistency(page, pages_world, str(saved_size), saved_root)
    verdict = page.locator("#verdict")
    expect(verdict.locator(".nhsuk-panel")).to_contain_text("Consistent")
    today = page.locator(".nhsuk-summary-list__row", has_text="Today's checkpoint")
    found = re.search(r"([\d,]+) entries", today.inner_text())
    assert found is not None
    today_size = int(found[1].replace(",", ""))
    assert today_size > saved_size  # a real proof between two trees, not a tree with itself
    assert_accessible(page)

    forged = bytearray(base64.b64decode(saved_root))
    forged[0] ^= 0xFF
    _check_consistency(page, pages_world, str(saved_size), base64.b64encode(forged).decode())
    expect(verdict).to_contain_text("Not consistent")
    expect(verdict).to_contain_text("consistency proof does not lead to both roots")
    expect(verdict.locator(".nhsuk-panel")).to_have_count(0)
    assert_accessible(page)

    _check_consistency(page, pages_world, str(today_size + 1000), saved_root)
    expect(verdict).to_contain_text("the log has lost entries")

    _check_consistency(page, pages_world, "twelve", "not base64")
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("a whole number")
    expect(summary).to_contain_text("44 characters of base64")
    assert_accessible(page)


def test_a_requester_cannot_open_the_explorer(
        page: Page, pages_world: PagesWorld, sign_in: Callable[..., None]) -> None:
    sign_in(page, "police_officer")
    expect(page.get_by_role("link", name="Ledger explorer")).to_have_count(0)
    answer = page.goto(f"{pages_world.url}/ledger/explorer")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
