"""Load on the trace-request API: open-loop arrivals, a mix of submitting and reading.

Against PostgreSQL with an N-person register (default 1,000,000; ``--quick``
10,000 and 10 s phases), the service under uvicorn on loopback with
``--workers`` processes (default 2: this machine has 2 cores, shared with the
load generator and the database):

(a) an open load of 100 requests per second from up to 100 concurrent clients
    for 60 s: 20% submit a tracing request (decided and traced before the
    reply), 80% read one (``GET /api/trace-requests/{id}``) or a page of the
    list; error count (target 0) and p95 latency (target <= 100 ms);
(b) rising rates, ``--step-seconds`` each, until p95 passes 250 ms or an error
    occurs: the highest rate sustained within both.

Arrivals are scheduled on a fixed clock (open loop): a slow reply does not slow
the arrivals, so queueing shows up in the latency, as it would for real users.
Only loopback is used. The database is kept (``--keep``) so a second run can
skip the register build: ``--database-url`` names it.

Run: ``python benchmarks/load.py [--quick]``; writes ``benchmarks/results/load.json``
(``load_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _common import POSTGRES_ADMIN_URL, write_results

from caldicott.db import make_engine, unit_of_work, utcnow
from caldicott.matching.core.scorer import model_hash
from caldicott.matching.service import rebuild_index
from caldicott.migrations import upgrade
from caldicott.register.repository import load_records, save_records
from caldicott.requests.scenario import last_postcode, trace_request_body
from caldicott.requests.world import build_world
from caldicott.settings import Settings
from caldicott.synth.people import generate_people

SEED = 99
SUBJECTS = 5000


def _database(url: str | None) -> str:
    if url:
        return url
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"caldicott_load_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)


def _drop(url: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def build(settings: Settings, people: int) -> dict[str, Any]:
    """The story's world (staff, tokens, a model trained on 300 people), then ``people`` more."""
    engine = make_engine(settings)
    upgrade(settings, engine)
    started = time.perf_counter()
    world = build_world(engine, settings)
    figures: dict[str, Any] = {"world_seconds": round(time.perf_counter() - started, 1)}
    with unit_of_work(engine) as session:
        already = bool(load_records(session, [next(iter(generate_people(1, SEED))).nhs_number]))
    if not already:
        started = time.perf_counter()
        stream = generate_people(people, SEED)
        while chunk := list(islice(stream, 50_000)):
            with unit_of_work(engine) as session:
                present = load_records(session, [p.nhs_number for p in chunk])
                save_records(session, [p for p in chunk if p.nhs_number not in present], [],
                             utcnow())
        figures["register_load_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            figures["index_rows"] = rebuild_index(session)
        figures["index_build_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        _train_for(engine, people)
        figures["model_train_seconds"] = round(time.perf_counter() - started, 1)
    engine.dispose()
    figures["tokens"] = world.tokens
    return figures


def _train_for(engine: Any, people: int, sample: int = 20_000) -> None:
    """The world's model was trained on its few hundred people; train one on a sample of
    the big register, its prior set for the whole register, and make it the active one."""
    from caldicott.matching.frames import people_frame
    from caldicott.matching.repository import index_people, save_model
    from caldicott.matching.training import train

    register = [p for record in islice(generate_people(people, SEED), min(sample, people))
                for p in index_people(record)]
    trained = train(people_frame(register), register_size=people)
    with unit_of_work(engine) as session:
        save_model(session, model_json=trained.model_json,
                   sha256=model_hash(trained.model_json), pins=trained.pins,
                   link_type=trained.link_type, trained_on=f"load benchmark: {sample} of "
                   f"{people} people")


def _subjects() -> list[dict[str, Any]]:
    people = [p for p in islice(generate_people(SUBJECTS, SEED), SUBJECTS)
              if p.birth_date < dt.date(2000, 1, 1)]
    return [trace_request_body(
        person, "2017-06-01" if number % 3 else "2018-06-01", category="overstayer",
        postcode=last_postcode(person), purpose="trace_immigration_offender" if number % 3
        else "trace_for_deportation", case_reference=f"LOAD-{number}",
        justification="load test") for number, person in enumerate(people)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(settings: Settings, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(settings.data_dir), "CALDICOTT_SECRET_KEY":
           settings.secret_key, "CALDICOTT_WORKERS": str(workers),
           "CALDICOTT_REPLAY_HISTORY": "true"}
    server = subprocess.Popen([sys.executable, "-m", "caldicott", "serve", "--host",
                               "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the service did not start")


async def _one(client: aiohttp.ClientSession, rng: random.Random,
               subjects: list[dict[str, Any]], known: list[int],
               officer: dict[str, str]) -> tuple[str, float, str]:
    roll = rng.random()
    started = time.perf_counter()
    kind = "submit" if roll < 0.2 or not known else "read" if roll < 0.9 else "list"
    try:
        if kind == "submit":
            async with client.post("/api/trace-requests", json=rng.choice(subjects),
                                   headers=officer) as reply:
                body = await reply.json(content_type=None)
                if reply.status == 201:
                    known.append(body["id"])
        elif kind == "read":
            async with client.get(f"/api/trace-requests/{rng.choice(known)}",
                                  headers=officer) as reply:
                await reply.read()
        else:
            async with client.get("/api/trace-requests?limit=20", headers=officer) as reply:
                await reply.read()
        outcome = "ok" if reply.status < 400 else f"{kind} {reply.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        outcome = f"{kind} {type(error).__name__}"
    return kind, time.perf_counter() - started, outcome


async def phase(base: str, rate: float, seconds: float, clients: int, token: str,
                subjects: list[dict[str, Any]], known: list[int]) -> dict[str, Any]:
    """``rate`` arrivals a second for ``seconds`` on a fixed clock, at most ``clients`` at once.

    The client is aiohttp: the load generator shares the 2 cores with the service
    and the database, so it should spend as little of them as it can.
    """
    rng = random.Random(int(rate))
    officer = {"Authorization": f"Bearer {token}"}
    load_average = [round(x, 2) for x in os.getloadavg()]
    gate = asyncio.Semaphore(clients)
    results: list[tuple[str, float, str]] = []

    async def fire(client: aiohttp.ClientSession) -> None:
        async with gate:
            results.append(await _one(client, rng, subjects, known, officer))

    connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=5)
    async with aiohttp.ClientSession(base_url=base, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:
        start, tasks, n = time.perf_counter(), [], 0
        while (due := n / rate) < seconds:
            await asyncio.sleep(max(0.0, start + due - time.perf_counter()))
            tasks.append(asyncio.create_task(fire(client)))
            n += 1
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    return {**_summary(rate, seconds, wall, results), "load_average_at_start": load_average}


def _summary(rate: float, seconds: float, wall: float,
             results: list[tuple[str, float, str]]) -> dict[str, Any]:
    latencies = sorted(r[1] for r in results)

    def pct(q: float) -> float:
        return round(1e3 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    kinds: dict[str, int] = {}
    errors: dict[str, int] = {}
    for kind, _, outcome in results:
        kinds[kind] = kinds.get(kind, 0) + 1
        if outcome != "ok":
            errors[outcome] = errors.get(outcome, 0) + 1
    return {"rate_per_s": rate, "seconds": seconds, "requests": len(results),
            "achieved_per_s": round(len(results) / wall, 1), "mix": kinds,
            "errors": sum(errors.values()), "error_kinds": errors, "p50_ms": pct(0.5),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--step-seconds", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards")
    parser.add_argument("--name", help="Results file name (default load / load_quick)")
    args = parser.parse_args()
    people = args.people or (10_000 if args.quick else 1_000_000)
    seconds = args.seconds or (10 if args.quick else 60)
    step = args.step_seconds or (5 if args.quick else 20)
    url = _database(args.database_url)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"caldicott-load-{make_url(url).database}"
    settings = Settings(environment="test", database_url=url, data_dir=folder,
                        replay_history=True,
                        secret_key="load-benchmark-secret")
    server = None
    try:
        figures: dict[str, Any] = {"people": people, "workers": args.workers,
                                   "database": "postgresql", "setup": build(settings, people)}
        tokens = figures["setup"].pop("tokens")
        server, base = serve(settings, args.workers)
        subjects, known = _subjects(), list[int]()
        asyncio.run(phase(base, 20, 3, 20, tokens["officer"], subjects, known))  # warm up
        figures["open_load_100_per_s"] = asyncio.run(
            phase(base, 100, seconds, 100, tokens["officer"], subjects, known))
        figures["targets"] = {"errors": 0, "p95_ms": 100, "ramp_p95_ms": 250}
        ramp, best = [], None
        for rate in (25, 50, 75, 100, 150, 200, 300, 400):
            result = asyncio.run(phase(base, rate, step, 100, tokens["officer"], subjects, known))
            ramp.append(result)
            print(result, flush=True)
            if result["errors"] or result["p95_ms"] > 250:
                break
            best = rate
        figures["ramp"], figures["highest_rate_within_250ms_p95"] = ramp, best
        figures["note"] = ("the service, PostgreSQL and this load generator share the "
                           "machine's cores; each phase records the load average as it began")
        path = write_results(args.name or ("load_quick" if args.quick else "load"), figures)
        print(f"wrote {path}")
        print({k: v for k, v in figures["open_load_100_per_s"].items()},
              "highest:", best)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep and not args.database_url:
            _drop(url)
        elif not args.database_url:
            print(f"kept {url}")


if __name__ == "__main__":
    main()
