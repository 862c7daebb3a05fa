"""``/assets``: the NHS.UK frontend's CSS, JavaScript and images (npm ``nhsuk-frontend``,
installed by ``make install`` into ``node_modules``, never committed) and caldicott's own
few files (``caldicott/web/static``).

One URL space over three folders, first match wins: the frontend's ``assets`` folder
(``/assets/images/...``, ``/assets/manifest.json``, as its CSS expects), its ``dist``
folder (``/assets/nhsuk-frontend.min.css`` and ``.min.js``), and ours.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.staticfiles import StaticFiles

from caldicott.settings import Settings

log = logging.getLogger("caldicott.web")
OWN_ASSETS = Path(__file__).resolve().parent / "static"
#: The source checkout's node_modules (an editable install: src/caldicott/web -> root).
DEFAULT_NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"


def frontend_dir(settings: Settings) -> Path:
    """The installed ``nhsuk-frontend`` package's ``dist/nhsuk`` folder."""
    return (settings.assets_dir or DEFAULT_NODE_MODULES) / "nhsuk-frontend" / "dist" / "nhsuk"


def asset_files(settings: Settings) -> StaticFiles:
    """The ``/assets`` application. Without the npm packages the pages still work, unstyled
    (and a warning says to run ``make install``)."""
    frontend = frontend_dir(settings)
    folders = [frontend / "assets", frontend, OWN_ASSETS]
    if not frontend.is_dir():
        log.warning("no NHS.UK frontend at %s: pages are unstyled; run `make install` "
                    "(npm ci) or set CALDICOTT_ASSETS_DIR", frontend)
        folders = [OWN_ASSETS]
    files = StaticFiles(directory=OWN_ASSETS)
    files.all_directories = [str(folder) for folder in folders]
    return files
