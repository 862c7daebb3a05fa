"""``/docs``: Swagger UI with every asset served from here, none from a CDN.

Swagger UI's files come from the ``swagger-ui-py`` package (installed from PyPI
with caldicott; never committed). The page has no inline script, so the
Content-Security-Policy can say ``script-src 'self'``.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from caldicott.errors import NotFound

router = APIRouter(include_in_schema=False)

_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
           "favicon-32x32.png": "image/png"}
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>caldicott - API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
_START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
});
"""


@cache
def assets_folder() -> Path | None:
    """Where the installed Swagger UI files are (found without importing the package)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE)


@router.get("/docs/start.js")
def docs_start() -> Response:
    return Response(_START, media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> FileResponse:
    folder = assets_folder()
    if name not in _ASSETS or folder is None:
        raise NotFound(f"no such documentation asset: {name}")
    return FileResponse(folder / name, media_type=_ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
