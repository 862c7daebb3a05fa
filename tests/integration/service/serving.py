"""A real ``caldicott serve`` on a fresh database holding the seeds' world."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from caldicott.requests.world import World


@dataclass
class Served:
    url: str
    world: World
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.tokens[who]}"}

    def stop(self) -> str:
        """Stop the server; everything it wrote to standard output and error."""
        if not self.output:
            self.process.terminate()
            out, err = self.process.communicate(timeout=30)
            self.output.append(out + err)
        return self.output[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(database_url: str, data_dir: Path, world: World, **env: str) -> Served:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CALDICOTT_")}
    environment |= {"CALDICOTT_DATA_DIR": str(data_dir), "CALDICOTT_DATABASE_URL": database_url,
                    "CALDICOTT_PORT": str(port), "CALDICOTT_ENVIRONMENT": "test",
                    "CALDICOTT_SECRET_KEY": "served-test-secret", **env}
    process = subprocess.Popen([sys.executable, "-m", "caldicott", "serve"], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = Served(f"http://127.0.0.1:{port}", world, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"caldicott serve exited: {served.stop()}")
        try:
            httpx.get(f"{served.url}/healthz", timeout=2)
            return served
        except httpx.TransportError:
            time.sleep(0.2)
    served.stop()
    raise AssertionError("caldicott serve did not answer within 60 s")
