"""Start the HTTP service with uvicorn."""

from __future__ import annotations

import copy
import os
from typing import Any

import typer

from caldicott.settings import Settings


def log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging, plus caldicott's own loggers on standard error.

    uvicorn's access log is off: it writes the query string, and
    ``/fhir/Patient?family=...&birthdate=...`` would put a name in the log.
    ``caldicott.access`` logs the path alone (``CALDICOTT_ACCESS_LOG``).
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["caldicott"] = {"handlers": ["default"], "level": "WARNING",
                                      "propagate": False}
    config["loggers"]["caldicott.access"] = {
        "level": "INFO" if settings.access_log else "WARNING"}
    return config


def run_service(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from caldicott.migrations import upgrade

    os.umask(0o077)  # whatever the service writes (database, keys) is its own alone
    upgrade(settings)
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"caldicott is serving on http://{host}:{port}")
    typer.echo(f"  health:      http://{host}:{port}/healthz")
    typer.echo(f"  API docs:    http://{host}:{port}/docs  (OpenAPI: /openapi.json)")
    uvicorn.run(
        "caldicott.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=settings.workers,
        log_level="warning",
        log_config=log_config(settings),
        access_log=False,
        # Behind a TLS-terminating proxy: trust its X-Forwarded-Proto, so the app
        # knows the request came over HTTPS (and sends HSTS).
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # Longer than clients' own keep-alive (httpx: 5 s), so a client never sends on a
        # connection the server is closing at that very moment.
        timeout_keep_alive=30,
    )
