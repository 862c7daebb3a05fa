"""A batch file uploaded from a page has the API's batch limit (and room for the form
around it); over it, a browser gets an NHS.UK page, a machine an OperationOutcome."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from caldicott.service.app import BATCH_PAGE_PATH, UPLOAD_ENVELOPE_BYTES, create_app
from caldicott.settings import Settings

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _client(tmp_path: Path) -> tuple[TestClient, Settings]:
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'x.db'}",
                        data_dir=tmp_path, secret_key="test-secret-not-for-production",
                        max_body_bytes=4096, max_batch_body_bytes=8192)
    return TestClient(create_app(settings)), settings


def test_an_upload_over_the_batch_limit_is_a_413_page_for_a_browser(tmp_path: Path) -> None:
    client, settings = _client(tmp_path)
    too_large = b"x" * (settings.max_batch_body_bytes + UPLOAD_ENVELOPE_BYTES + 1)
    answer = client.post(BATCH_PAGE_PATH, content=too_large,
                         headers={**BROWSER, "Content-Type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "What you sent is too large" in answer.text
    assert f"larger than {settings.max_batch_body_bytes + UPLOAD_ENVELOPE_BYTES:,} bytes" in (
        answer.text)


def test_a_machine_still_gets_an_operation_outcome(tmp_path: Path) -> None:
    client, settings = _client(tmp_path)
    answer = client.post("/api/trace-requests", content=b"x" * (settings.max_body_bytes + 1),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_an_upload_under_the_batch_limit_reaches_the_page(tmp_path: Path) -> None:
    """Larger than an ordinary body, smaller than a batch: the page (which asks to sign in)
    answers, not the outer limit."""
    client, settings = _client(tmp_path)
    content = b"x" * (settings.max_body_bytes + 1)
    answer = client.post(BATCH_PAGE_PATH, files={"batch_file": ("batch.csv", content)},
                         headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 403, answer.text  # its CSRF check refuses it, not the limit
    assert "This form has expired" in answer.text
