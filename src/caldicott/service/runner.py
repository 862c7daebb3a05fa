"""Start the HTTP service with uvicorn."""

from __future__ import annotations

import typer

from caldicott.settings import Settings


def run_service(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from caldicott.migrations import upgrade

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
        # Longer than clients' own keep-alive (httpx: 5 s), so a client never sends on a
        # connection the server is closing at that very moment.
        timeout_keep_alive=30,
    )
