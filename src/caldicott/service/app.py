"""The HTTP service: ``create_app(settings)`` builds it.

Each capability's routes live in ``caldicott/<capability>/api.py`` (the API) and
``caldicott/<capability>/pages.py`` (pages for people; and ``<role>_pages.py`` beside
it for one role's pages of the same capability) as a module-level
``router``; the factory includes every one it finds. Errors have one renderer:
a FHIR ``OperationOutcome`` for machines, an NHS.UK-style page for people (a page
route, or a client asking for HTML; see :mod:`caldicott.web`).
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from caldicott import __version__
from caldicott.db import database_health, make_engine, make_session_factory, storage_trouble
from caldicott.errors import CaldicottError
from caldicott.service import docs
from caldicott.service.outcome import operation_outcome
from caldicott.service.security import ContainErrors, GuardBodies, SecurityHeaders
from caldicott.settings import Settings
from caldicott.web.errors import error_page, refusal_page, server_error_page, wants_page
from caldicott.web.install import install_web

BATCH_PATH = "/api/trace-requests/batch"
BATCH_PAGE_PATH = "/batches/new"  # the same batch as a file uploaded from a page
UPLOAD_ENVELOPE_BYTES = 64 * 1024  # a form's own fields and multipart headers, beside the file

_HTTP_ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
                     409: "conflict", 422: "invalid"}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (from the environment by default)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await _drain_and_dispose(app.state.engine)

    app = FastAPI(
        title="caldicott",
        version=__version__,
        description="A disclosure-control gateway for confidential patient data.",
        lifespan=lifespan,
        docs_url=None,  # served by caldicott.service.docs, with no third-party script
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.sessions = make_session_factory(app.state.engine)
    _install_error_handlers(app)
    _include_capability_routers(app)
    app.include_router(docs.router)
    install_web(app, settings)
    _install_layers(app, settings)
    _document_refusals(app)

    @app.get("/healthz", tags=["service"], responses={503: {"description": "Unhealthy"}})
    async def healthz() -> JSONResponse:
        """Liveness, and whether the database can take writes (not read-only, not full)."""
        reason = await run_in_threadpool(database_health, app.state.engine)
        if reason is not None:
            return JSONResponse({"status": "unhealthy", "reason": reason,
                                 "version": __version__}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    return app


_OUTCOME = {"application/fhir+json": {"schema": {"type": "object",
                                                "required": ["resourceType", "issue"]}}}
_REFUSALS = {
    "413": {"description": "The body is larger than the service accepts (FHIR "
                           "OperationOutcome)", "content": _OUTCOME},
    "503": {"description": "The database is read-only or full (FHIR OperationOutcome)",
            "content": _OUTCOME},
}


def _document_refusals(app: FastAPI) -> None:
    """The OpenAPI document names the answers the outer layers give: 413 where a body
    is taken, 503 everywhere (a read-only or full database)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("413", _REFUSALS["413"])
                responses.setdefault("503", _REFUSALS["503"])
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_layers(app: FastAPI, settings: Settings) -> None:
    """Outermost last: headers on every answer, then errors contained, then limits."""
    app.add_middleware(GuardBodies, max_bytes=settings.max_body_bytes,
                       max_bytes_by_path={BATCH_PATH: settings.max_batch_body_bytes,
                                          BATCH_PAGE_PATH: settings.max_batch_body_bytes
                                          + UPLOAD_ENVELOPE_BYTES},
                       page=refusal_page)
    app.add_middleware(ContainErrors, page=server_error_page)
    app.add_middleware(SecurityHeaders, behind_tls=settings.behind_tls,
                       log_requests=settings.access_log)


async def _drain_and_dispose(engine: Engine, seconds: float = 5.0) -> None:
    """Close the pool when the service stops, once in-flight requests hand back their
    connections (a request's session closes in its dependency's teardown, which can
    still be running when shutdown begins)."""
    checked_out = getattr(engine.pool, "checkedout", lambda: 0)
    deadline = time.monotonic() + seconds
    while checked_out() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    engine.dispose()


def _include_capability_routers(app: FastAPI) -> None:
    package_dir = Path(__file__).parent.parent
    for info in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda m: m.name):
        folder = package_dir / info.name
        # ``<role>_pages.py`` beside ``pages.py``: one role's pages of the same capability
        extra = sorted(p.stem for p in folder.glob("*_pages.py")) if info.ispkg else []
        for edge in ("api", "pages", *extra):
            if info.ispkg and (folder / f"{edge}.py").exists():
                module = importlib.import_module(f"caldicott.{info.name}.{edge}")
                router = getattr(module, "router", None)
                if router is not None:
                    app.include_router(router)


def _render(request: Request, status: int, code: str, diagnostics: str,
            details: str | None = None) -> Response:
    if wants_page(request):
        return error_page(request, status, diagnostics)
    return JSONResponse(operation_outcome(code, diagnostics, details), status_code=status,
                        media_type="application/fhir+json")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaldicottError)
    async def domain_error(request: Request, error: CaldicottError) -> Response:
        response = _render(request, error.status_code, error.fhir_code, error.diagnostics,
                           error.pds_code)
        response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(_describe(e) for e in error.errors())
        return _render(request, 422, "invalid", problems or "invalid request", "INVALID_VALUE")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = _HTTP_ISSUE_CODES.get(error.status_code, "processing")
        response = _render(request, error.status_code, code, str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> Response:
        trouble = storage_trouble(error)
        if trouble is None:
            raise error  # a bug: ContainErrors logs where, without the statement's values
        return await domain_error(request, trouble)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # The one place a 500 can come from: a bug. Say so without leaking internals.
        return _render(request, 500, "exception", "internal error; it has been logged")


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))
