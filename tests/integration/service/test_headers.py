"""Security headers on every response; ``/docs`` without any third-party script."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from caldicott.service.app import create_app
from caldicott.settings import Settings

ALWAYS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
          "x-frame-options": "DENY", "cache-control": "no-store"}


@pytest.fixture(scope="module")
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    client = TestClient(create_app(settings))
    yield client
    client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _answers(client: TestClient) -> dict[str, object]:
    return {"ok": client.get("/healthz"), "unauthenticated": client.get("/api/me"),
            "not found": client.get("/no/such/page"), "openapi": client.get("/openapi.json"),
            "too large": client.post("/api/trace-requests", content=b"x" * 2**21),
            "bad search": client.get("/fhir/Patient?family=Lee"),
            "html error": client.get("/no/such/page", headers={"Accept": "text/html"})}


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for name, reply in _answers(client).items():
        headers = reply.headers  # type: ignore[attr-defined]
        for header, value in ALWAYS.items():
            assert headers.get(header) == value, (name, header)
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, name
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0], name


def test_hsts_only_when_the_request_came_over_tls(client: TestClient,
                                                  settings: Settings) -> None:
    assert "strict-transport-security" not in client.get("/healthz").headers
    over_tls = TestClient(client.app, base_url="https://testserver").get("/healthz")
    assert over_tls.headers["strict-transport-security"].startswith("max-age=")
    behind = create_app(Settings(**(settings.model_dump() | {"behind_tls": True})))
    try:
        hsts = TestClient(behind).get("/api/me").headers["strict-transport-security"]
        assert "includeSubDomains" in hsts
    finally:
        behind.state.engine.dispose()


def test_docs_load_no_script_or_style_from_another_site(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/") for s in sources), sources
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "an inline script"
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.content, source
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text[:2000]


def test_no_docs_page_fetches_from_a_cdn_and_redoc_is_gone(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert client.get("/docs/assets/../../settings.py").status_code == 404
    assert client.get("/docs/assets/swagger-ui.js.map").status_code == 404
    assert "cdn" not in client.get("/docs").text.lower()
