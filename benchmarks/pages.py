"""Server time of the pages, over HTTP from the real service (issue 12, must-show 5).

Run: ``python benchmarks/pages.py`` (10,000 requests awaiting review, 1,000,000 ledger
entries, SQLite and PostgreSQL; filling takes many minutes) or ``--quick`` (1,000 and
50,000) while developing. Figures (p50, p95, max in ms, per page, per backend) go to
``benchmarks/results/pages.json`` (``pages-quick.json``). Target: p95 <= 50 ms.

The database is filled by :mod:`pages_fill` (the data of :mod:`pages_data`, the staff
given passwords and TOTP secrets). Then ``caldicott serve`` runs as a child process on a
free loopback port, and an ``httpx`` client signs in as a requester, a reviewer and an
auditor exactly as a browser does (the sign-in form, its CSRF token, the TOTP code) and
asks for each page in turn with the session cookie: sequentially, after a warm-up, each
timing from sending the request to the last byte of the page. Later pages are drawn at
random depths (a random ``after``/``before``/``page``). A page the service does not
have yet (404 on its first address) is reported as ``absent``, not timed. Any answer
other than 200 is counted under ``not_200``.

``--keep FOLDER`` keeps the filled database (and a ``state.json`` naming it) in FOLDER,
and re-uses it when run again. ``--serve-src DIR`` serves the code of another checkout's
``src`` (e.g. to time pages not yet merged); the results name the commit served.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyotp
from _common import ROOT, write_results
from pages_fill import Filled, drop, fill
from sqlalchemy import select

from caldicott.db import make_engine, unit_of_work
from caldicott.ledger import service as ledger
from caldicott.requests.models import TraceRequestRow

TARGET_P95_MS = 50.0
_CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
Path_ = Callable[[random.Random], str]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(filled: Filled, src: Path) -> Iterator[tuple[str, int]]:
    """``caldicott serve`` on the filled database, on a free loopback port."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALDICOTT_")}
    env |= {"PYTHONPATH": str(src), "CALDICOTT_DATA_DIR": filled.data_dir,
            "CALDICOTT_DATABASE_URL": filled.database_url, "CALDICOTT_PORT": str(port),
            "CALDICOTT_ENVIRONMENT": "test", "CALDICOTT_SECRET_KEY": filled.secret_key,
            "CALDICOTT_ASSETS_DIR": str(ROOT / "node_modules")}
    log = Path(filled.data_dir) / "serve.log"  # a file: a full pipe would stall the service
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "caldicott", "serve"], env=env,
                                   stdout=output, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"caldicott serve exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError("caldicott serve did not answer within 90 s")


def _csrf(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    if not found:
        raise RuntimeError(f"no CSRF token on {page.url} ({page.status_code})")
    return found.group(1)


def _keep_cookies(client: httpx.Client, reply: httpx.Response) -> None:
    """Keep the service's cookies over plain HTTP on loopback, as a browser does for
    127.0.0.1 (a secure context); outside development they are marked ``Secure``, which
    httpx would otherwise never send back over http."""
    for cookie in reply.cookies.jar:
        client.cookies.set(cookie.name, cookie.value or "")


def signed_in(url: str, account: dict[str, str | None]) -> httpx.Client:
    """A client holding a signed-in session: password, then the TOTP code if needed."""
    client = httpx.Client(base_url=url, timeout=120)
    client.event_hooks["response"] = [lambda reply: _keep_cookies(client, reply)]
    form = client.get("/sign-in")
    reply = client.post("/sign-in", data={"email": account["email"], "password": account[
        "password"], "csrf_token": _csrf(form)})
    if reply.status_code != 303:
        raise RuntimeError(f"sign-in refused for {account['email']}: {reply.status_code}")
    if reply.headers["location"].endswith("/sign-in/code"):
        form = client.get("/sign-in/code")
        code = pyotp.TOTP(str(account["totp"])).now()
        reply = client.post("/sign-in/code", data={"code": code, "csrf_token": _csrf(form)})
        if reply.status_code != 303 or reply.headers["location"] != "/":
            raise RuntimeError(f"code refused for {account['email']}: {reply.status_code}")
    if client.get("/").status_code != 200:
        raise RuntimeError(f"{account['email']} is not signed in")
    return client


def _server_timing(reply: httpx.Response) -> float | None:
    """The app's own ``Server-Timing`` total (``...;dur=12.3``), when it sends one."""
    found = re.search(r"dur=([0-9.]+)", reply.headers.get("server-timing", ""))
    return float(found.group(1)) if found else None


def _summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(values[int(0.95 * (len(values) - 1))], 2),
            "max_ms": round(values[-1], 2)}


def time_page(client: httpx.Client, path: Path_, runs: int, warm: int, seed: int,
              server_pid: int) -> dict[str, Any]:
    """Warm up, then ``runs`` sequential requests: wall time per page, and the service
    process's CPU time over all of them (its mean per page does not grow when other
    work on the machine competes for the cores, as wall time does; the database's own
    processes are not in it on PostgreSQL)."""
    rng = random.Random(seed)
    first = client.get(path(rng))
    if first.status_code == 404:
        return {"absent": True, "status": 404}
    for _ in range(warm):
        client.get(path(rng)).read()
    timings, server, not_200 = [], [], 0
    cpu_before = cpu_seconds(server_pid)
    for _ in range(runs):
        address = path(rng)
        started = time.perf_counter()
        try:
            reply = client.get(address)
        except httpx.TimeoutException:  # counted, and timed as the timeout it hit
            timings.append((time.perf_counter() - started) * 1000)
            not_200 += 1
            continue
        timings.append((time.perf_counter() - started) * 1000)
        not_200 += reply.status_code != 200
        if (own := _server_timing(reply)) is not None:
            server.append(own)
    cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / runs
    out: dict[str, Any] = {"runs": runs, **_summary(timings), "not_200": not_200,
                           "service_cpu_ms_mean": round(cpu_ms, 1), "bytes": len(first.content)}
    out["meets_target"] = out["p95_ms"] <= TARGET_P95_MS and not_200 == 0
    if server:
        out["server_timing"] = _summary(server)
    return out


def _day_query(first: dt.date, last: dt.date) -> str:
    return "&".join(f"{side}[{part}]={getattr(day, part)}" for side, day in (
        ("from", first), ("to", last)) for part in ("day", "month", "year"))


def pages(filled: Filled) -> dict[str, tuple[str, Path_]]:
    """Each page timed: name -> (who asks, a function giving its address)."""
    engine = make_engine(filled.settings())
    with unit_of_work(engine) as session:
        rows = list(session.execute(select(TraceRequestRow.id, TraceRequestRow.status)))
        size = ledger.tree_head(session)[0]
    engine.dispose()
    waiting = sorted(i for i, s in rows if s in ("awaiting_review", "awaiting_public_interest"))
    traced = [i for i, s in rows if s == "awaiting_review"]
    ids = [i for i, _ in rows]
    list_pages = max(1, len(ids) // 25)
    day = dt.date(2026, 7, 2)
    month = _day_query(day, day + dt.timedelta(days=30))

    def fixed(address: str) -> Path_:
        return lambda rng: address

    return {
        "requester_list_first": ("officer", fixed("/requests")),
        "requester_list_random_page": ("officer", lambda r: f"/requests?page="
                                       f"{r.randint(2, list_pages)}"),
        "requester_request": ("officer", lambda r: f"/requests/{r.choice(ids)}"),
        "review_queue_first": ("guardian", fixed("/review")),
        "review_queue_random_page": ("guardian", lambda r: f"/review?after={r.choice(waiting)}"),
        "review_desk": ("guardian", lambda r: f"/review/{r.choice(traced)}"),
        "ledger_explorer_first": ("auditor", fixed("/ledger/explorer")),
        "ledger_explorer_random_page": ("auditor", lambda r: f"/ledger/explorer?before="
                                        f"{r.randrange(1, size)}"),
        "ledger_explorer_type": ("auditor", fixed("/ledger/explorer?type=disclosure")),
        "ledger_explorer_type_random_page": ("auditor", lambda r: "/ledger/explorer?type="
                                             f"disclosure&before={r.randrange(1, size)}"),
        "ledger_explorer_agreement": ("auditor", fixed(
            "/ledger/explorer?agreement=police-dpa-sch2")),
        "ledger_explorer_one_day": ("auditor", fixed(f"/ledger/explorer?{_day_query(day, day)}")),
        "ledger_explorer_month": ("auditor", fixed(f"/ledger/explorer?{month}")),
        "ledger_explorer_month_random_page": ("auditor", lambda r: f"/ledger/explorer?{month}"
                                              f"&before={r.randrange(1, size)}"),
        "ledger_entry_proof": ("auditor", lambda r: f"/ledger/explorer/entries/"
                               f"{r.randrange(size)}"),
    }


def _served_commit(src: Path) -> str:
    done = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or f"(not a git checkout: {src})"


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.keep) / backend if args.keep else Path(tempfile.mkdtemp(
        prefix=f"pages-{backend}-"))
    filled = fill(backend, folder, args.requests, args.entries, args.people)
    try:
        out: dict[str, Any] = {"fill": filled.fill, "served": _served_commit(args.serve_src),
                               "pages": {}}
        with serving(filled, args.serve_src) as (url, pid):
            clients = {who: signed_in(url, account) for who, account in filled.accounts.items()}
            for seed, (name, (who, path)) in enumerate(pages(filled).items()):
                out["pages"][name] = time_page(clients[who], path, args.runs, args.warm, seed,
                                                    pid)
                print(f"{backend} {name}: {out['pages'][name]}", file=sys.stderr)
            for client in clients.values():
                client.close()
        out["load_average_after"] = os.getloadavg()
        return out
    finally:
        if not args.keep:
            drop(filled)
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 requests, 50,000 entries")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--keep", help="keep (and re-use) the filled databases in this folder")
    parser.add_argument("--serve-src", type=Path, default=ROOT / "src",
                        help="serve this checkout's src folder (default: this one's)")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.entries, args.people, args.runs = 1_000, 50_000, 500, 50
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {"requests": args.requests, "entries": args.entries,
                               "target_p95_ms": TARGET_P95_MS,
                               "run_at": dt.datetime.now(dt.UTC).isoformat()}
    for backend in backends:
        results[backend] = run_backend(backend, args)
    name = "pages-quick" if args.quick else "pages"
    if args.backend != "both":
        name += f"-{args.backend}"
    print(json.dumps(results, indent=1), file=sys.stderr)
    print(write_results(name, results))


if __name__ == "__main__":
    main()
