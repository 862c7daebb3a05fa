"""Wire the web layer into the app: ``/assets``, and sign-in redirects for pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from caldicott.settings import Settings
from caldicott.web.assets import asset_files
from caldicott.web.deps import NeedsSignIn


def install_web(app: FastAPI, settings: Settings) -> None:
    """Serve ``/assets`` and send a browser without a live session to ``/sign-in``."""
    app.mount("/assets", asset_files(settings), name="assets")

    @app.exception_handler(NeedsSignIn)
    async def needs_sign_in(request: Request, error: NeedsSignIn) -> Response:
        return RedirectResponse(error.location, status_code=303)

    if settings.environment == "test":
        @app.get("/test-only/server-error", include_in_schema=False)
        def server_error() -> None:
            """A real unhandled error, so the tests can see the 500 page (test only)."""
            raise RuntimeError("a bug, on purpose (CALDICOTT_ENVIRONMENT=test only)")
