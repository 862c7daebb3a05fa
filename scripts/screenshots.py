"""Screenshots of each role's main page, from the running demo (issue 12, must-show 6).

Run: ``python scripts/screenshots.py`` (after ``make install``: it needs the NHS.UK
assets in ``node_modules`` and Debian's Chromium). It builds the demo world in a
temporary folder (``caldicott demo --scenario seeds``: history to show, and today's live
police request), serves it on a free loopback port, reads the demo sign-ins the demo
prints, signs in as each role through the sign-in pages (password, then TOTP code), and
saves a full-page PNG 1280 pixels wide of the role's main page in ``docs/screenshots/``.
A page the service does not have is reported and skipped, never faked.

Everything shown is the demo's synthetic world: no real person is in any screenshot.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from caldicott.service.demo_sign_ins import DEMO_STAFF

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: A line of the demo's sign-ins: role, e-mail, password, and a TOTP secret if any.
SIGN_IN_LINE = re.compile(r"^\s+(\S+)\s+(\S+@\S+)\s+(\S+)(?:\s+TOTP secret (\S+))?")


@dataclass(frozen=True)
class Shot:
    """One screenshot: who signs in, which page, the file's name, what it shows."""

    role: str
    path: str
    name: str
    caption: str
    follow: str | None = None  # then follow the first link whose address starts so
    then: Callable[[Page], str] | None = None  # a step after the screenshot, e.g. a decision


def validate_first(page: Page) -> str:
    """The tracer accepts the first request awaiting validation, if one waits, so the
    reviewer's queue has a live request too (the demo as built today has none)."""
    link = page.locator("main a[href^='/validate/']").first
    if link.count() == 0:
        return "no request awaiting validation"
    link.click()
    page.get_by_label("Accept: it follows the procedure").check()
    page.get_by_label("Your note of what you checked").fill(
        "Countersigned by an inspector; the offence is serious (screenshots script).")
    page.get_by_role("button", name="Record the validation").click()
    page.wait_for_load_state()
    return f"the tracer validated {page.url}"


SHOTS = (
    Shot("requesting_officer", "/requests", "requester-requests.png",
         "Requester: their organisation's trace requests"),
    Shot("requesting_officer", "/requests/new", "requester-new-request.png",
         "Requester: the trace request form"),
    Shot("tracer", "/validate", "tracer-validation-queue.png",
         "Tracer: requests awaiting validation", then=validate_first),
    Shot("reviewer", "/review", "reviewer-queue.png",
         "Reviewer: the queue of requests awaiting review"),
    Shot("reviewer", "/review", "reviewer-desk.png",
         "Reviewer: one request's desk, with the match-weight waterfall", follow="/review/"),
    Shot("auditor", "/ledger/explorer", "auditor-ledger-explorer.png",
         "Auditor: the ledger explorer"),
    Shot("administrator", "/admin/users", "administrator-users.png",
         "Administrator: users and roles"),
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def demo(folder: Path, scenario: str | None) -> Iterator[tuple[str, dict[str, tuple[str, ...]]]]:
    """``caldicott demo`` serving on a free port; its address and sign-ins by role."""
    port = _free_port()
    assets = os.environ.get("CALDICOTT_ASSETS_DIR", str(ROOT / "node_modules"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALDICOTT_")}
    env |= {"CALDICOTT_DATA_DIR": str(folder), "CALDICOTT_ENVIRONMENT": "development",
            "CALDICOTT_ASSETS_DIR": assets, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "caldicott", "demo", "--host", "127.0.0.1",
               "--port", str(port), *(["--scenario", scenario] if scenario else [])]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        yield f"http://127.0.0.1:{port}", _sign_ins(process, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _sign_ins(process: subprocess.Popen[str], url: str) -> dict[str, tuple[str, ...]]:
    assert process.stdout is not None
    found: dict[str, tuple[str, ...]] = {}
    lines = 0
    for line in process.stdout:  # the demo prints one line per person of DEMO_STAFF
        if match := SIGN_IN_LINE.match(line):
            found.setdefault(match.group(1), tuple(g for g in match.groups()[1:] if g))
            lines += 1
            if lines == len(DEMO_STAFF):
                break
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("caldicott demo exited before serving")
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            return found
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError("caldicott demo did not answer within 120 s")


def sign_in(page: Page, url: str, account: tuple[str, ...]) -> None:
    """The sign-in pages, as a person uses them."""
    page.goto(f"{url}/sign-in")
    page.get_by_label("Email address").fill(account[0])
    page.get_by_label("Password", exact=True).fill(account[1])
    page.get_by_role("button", name="Sign in").click()
    if len(account) > 2:
        page.get_by_label("Enter your security code").fill(pyotp.TOTP(account[2]).now())
        page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="What you can do").wait_for()


def signed_in_page(browser: Browser, url: str, account: tuple[str, ...]) -> Page:
    """A browser context of its own, signed in as ``account`` (once per role: the
    service refuses a TOTP code used before)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in(page, url, account)
    return page


def compress(png: bytes, path: Path) -> None:
    """Save a screenshot as a 256-colour PNG (the NHS.UK design is flat colours and
    text: a third of the size, no visible loss)."""
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True)


def shoot(page: Page, url: str, shot: Shot, out: Path) -> str:
    """Open the page, save it; what happened, in words."""
    reply = page.goto(f"{url}{shot.path}")
    if reply is None or reply.status != 200:
        return f"skipped {shot.name}: {shot.path} answered {reply and reply.status}"
    if shot.follow:
        link = page.locator(f"main a[href^='{shot.follow}']").first
        if link.count() == 0:
            return f"skipped {shot.name}: no link to {shot.follow}* on {shot.path}"
        link.click()
        page.wait_for_load_state()
    compress(page.screenshot(full_page=True), out / shot.name)
    done = f"saved {shot.name} ({(out / shot.name).stat().st_size // 1024} KB): {page.url}"
    return f"{done}; then {shot.then(page)}" if shot.then else done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--scenario", default="seeds", help="the demo's story ('' for none)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, demo(Path(folder), args.scenario or None) as (
            url, accounts), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages: dict[str, Page] = {}
        for shot in SHOTS:
            if shot.role not in accounts:
                print(f"skipped {shot.name}: the demo printed no {shot.role} sign-in")
                continue
            if shot.role not in pages:
                pages[shot.role] = signed_in_page(browser, url, accounts[shot.role])
            print(shoot(pages[shot.role], url, shot, args.out), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
