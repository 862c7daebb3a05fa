"""The quickstart's demo command builds a world and serves it on the embedded default."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 120) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_demo_builds_a_world_in_sqlite_and_serves_health_and_openapi(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALDICOTT_")}
    env |= {"CALDICOTT_DATA_DIR": str(tmp_path), "CALDICOTT_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "caldicott", "demo", "--people", "300"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        openapi = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
        assert openapi.json()["info"]["title"] == "caldicott"
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5)
        assert "swagger" in docs.text.lower()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert (tmp_path / "caldicott.db").exists()
    assert f"http://127.0.0.1:{port}/healthz" in output
