"""axe-core in the page under test (npm ``axe-core``, installed by ``make install``)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def assert_accessible(page: Page) -> None:
    """axe-core on ``page`` as it stands: no violation of WCAG 2.0-2.2 A and AA.

    The page's context must be made with ``bypass_csp=True`` (the ``page`` fixture's is)."""
    assert AXE.exists(), f"no {AXE}: run `make install` (npm ci)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                           "resultTypes: ['violations']})",
                           WCAG_22_AA)
    violations = [{"id": v["id"], "help": v["help"],
                   "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]
    assert violations == [], f"{page.url}: {json.dumps(violations, indent=1)}"
