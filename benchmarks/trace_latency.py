"""Real-time tracing latency at register scale, beside Splink's own single-record path.

Builds a register of N synthetic people (default 1,000,000; ``--quick`` 20,000)
on SQLite and on PostgreSQL, trains a model with Splink (on a sample of the
register and of the look-ups, to keep the run short), builds the blocking index
(timed), then traces 1,000 noisy look-ups:

- in process (``trace_request``) on SQLite and PostgreSQL: p50, p99;
- over HTTP (``GET /fhir/Patient`` fuzzy, uvicorn on loopback, SQLite): p50,
  p99, and the service's peak resident memory (VmHWM);
- through Splink 5's ``predict_between`` with the register loaded in DuckDB
  (``--splink-queries``, default 30, as each call costs seconds): p50, p99;
- batch: ``--batch`` queries (default 100,000) through Splink, wall time, and
  agreement of every outcome with real-time tracing.

Batch figures carry the seconds of each phase (reading the queries, loading
the register into DuckDB, preparing the requests, Splink's predict, the release
rule, writing). The JSON records the machine's load average at the start and
after each stage.

Run: ``python benchmarks/trace_latency.py [--quick]``; writes
``benchmarks/results/trace_latency.json``. The machine is shared: figures move
with other work on it. To iterate at full size without building the 1M
register again: ``--reuse`` (the SQLite register of an earlier run, in
``--folder``), ``--reindex`` (rebuild its blocking index, timed),
``--keep-postgres`` (keep the PostgreSQL register for the next ``--reuse``),
``--skip cold,http,splink,batch``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from caldicott.db import make_engine, unit_of_work, utcnow
from caldicott.matching import repository
from caldicott.matching.batch import trace_file
from caldicott.matching.core.scorer import model_hash
from caldicott.matching.frames import people_frame
from caldicott.matching.service import check_request, rebuild_index, request_person, trace_request
from caldicott.matching.training import train
from caldicott.migrations import upgrade
from caldicott.register.repository import indexes_built_after, save_records
from caldicott.settings import Settings
from caldicott.synth.people import generate_people
from caldicott.synth.queries import generate_queries

HERE = Path(__file__).parent
PG_ADMIN = os.environ.get("CALDICOTT_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"n": len(ordered), "p50_ms": 1e3 * statistics.median(ordered),
            "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]}


def _load_register(engine: Engine, people: list[Any]) -> float:
    """One transaction, the register's indexes built after the load (as an import
    into an empty register does)."""
    started = time.perf_counter()
    with unit_of_work(engine) as session, indexes_built_after(session):
        for start in range(0, len(people), 50_000):
            save_records(session, people[start:start + 50_000], [], utcnow())
    return time.perf_counter() - started


def _train(people: list[Any], queries: list[Any], sample: int) -> dict[str, Any]:
    from caldicott.matching.repository import index_people

    register = [p for record in islice(people, sample) for p in index_people(record)]
    lookups = [request_person(check_request(q.given_name, q.family_name, q.birth_date,
                                            q.postcode or None, q.sex or None), q.query_id)
               for q in queries[:5000]]
    return train(people_frame(register), people_frame(lookups)).model


def _setup(settings: Settings, people: list[Any], model: dict[str, Any]) -> dict[str, float]:
    engine = make_engine(settings)
    upgrade(settings, engine)
    load = _load_register(engine, people)
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        rows = rebuild_index(session)
        model_json = json.dumps(model, sort_keys=True)
        repository.save_model(session, model_json=model_json, sha256=model_hash(model_json),
                              pins=[], link_type="link_only", trained_on="benchmark")
    engine.dispose()
    return {"register_load_seconds": load, "index_rows": rows,
            "index_build_seconds": time.perf_counter() - started}


def _in_process(settings: Settings, queries: list[Any], warm_up: list[Any] = ()
                ) -> tuple[dict[str, Any], dict]:
    """Time ``queries``, after tracing ``warm_up`` (other queries) untimed: a
    running service has its database pages in memory; a fresh one does not."""
    engine = make_engine(settings)
    times, outcomes = [], {}
    with unit_of_work(engine) as session:
        request = check_request(queries[0].given_name, queries[0].family_name,
                                queries[0].birth_date)
        trace_request(session, request)  # load the model once, as a running service has
        for q in warm_up:
            trace_request(session, check_request(q.given_name, q.family_name, q.birth_date,
                                                 q.postcode or None, q.sex or None))
        for q in queries:
            request = check_request(q.given_name, q.family_name, q.birth_date,
                                    q.postcode or None, q.sex or None)
            started = time.perf_counter()
            result = trace_request(session, request)
            times.append(time.perf_counter() - started)
            outcomes[q.query_id] = (result.outcome.value, result.nhs_number or "")
    engine.dispose()
    return _percentiles(times), outcomes


def _token(settings: Settings) -> str:
    from caldicott.access.service import add_user, create_token
    from caldicott.orgs.service import add_organisation

    engine = make_engine(settings)
    with unit_of_work(engine) as session:
        code = f"B{uuid.uuid4().hex[:6].upper()}"
        add_organisation(session, code, "Benchmark tracing unit", "nhs_digital")
        email = f"bench.{code.lower()}@example.org"
        add_user(session, email, code, ["tracer"], name="Benchmark Tracer")
        token = create_token(session, email).token
    engine.dispose()
    return token


def _fuzzy_params(q: Any) -> dict[str, str]:
    return {"given": q.given_name, "family": q.family_name, "birthdate": f"eq{q.birth_date}",
            "_fuzzy-match": "true"}


def _http(settings: Settings, queries: list[Any], warm_up: list[Any] = (),
          port: int = 8765) -> dict[str, Any]:
    import httpx

    # Every search is now audited (a ledger entry) and paced per tracer: the benchmark
    # is one tracer searching as fast as it can, so it lifts the pace, not the audit.
    env = {**os.environ, "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(settings.data_dir),
           "CALDICOTT_SECRET_KEY": "benchmark-secret-not-for-production",
           "CALDICOTT_REGISTER_SEARCHES_PER_MINUTE": "100000000"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "caldicott.service.app:create_app",
                               "--factory", "--host", "127.0.0.1", "--port", str(port),
                               "--log-level", "warning"], env=env)
    token = _token(settings)
    times: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {token}",
                                   "X-Caldicott-Reason": "benchmark"}) as client:
            for _ in range(100):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            warm = queries[0]
            client.get("/fhir/Patient", params={"family": warm.family_name,
                                                "birthdate": f"eq{warm.birth_date}"})
            for q in warm_up:
                client.get("/fhir/Patient", params=_fuzzy_params(q))
            for q in queries:
                started = time.perf_counter()
                response = client.get("/fhir/Patient", params=_fuzzy_params(q))
                times.append(time.perf_counter() - started)
                assert response.status_code in (200, 400), response.text
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak_kb = int(next(line for line in status.splitlines()
                           if line.startswith("VmHWM")).split()[1])
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {**_percentiles(times), "service_peak_rss_mb": peak_kb / 1024}


def _splink_path(settings: Settings, queries: list[Any]) -> dict[str, Any]:
    from caldicott.matching.batch import _register_frame_and_tf
    from caldicott.matching.service import scorer_for
    from caldicott.matching.splink_scoring import SplinkLinker

    engine = make_engine(settings)
    with unit_of_work(engine) as session:
        _, scorer = scorer_for(session)
        frame, tf = _register_frame_and_tf(session)
    started = time.perf_counter()
    linker = SplinkLinker(scorer.settings, frame, tf)
    load = time.perf_counter() - started
    times = []
    for q in queries:
        person = request_person(check_request(q.given_name, q.family_name, q.birth_date,
                                              q.postcode or None, q.sex or None), q.query_id)
        started = time.perf_counter()
        linker.predict(people_frame([person]))
        times.append(time.perf_counter() - started)
    engine.dispose()
    return {**_percentiles(times), "register_load_seconds": load}


def _write_queries(queries: list[Any], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(queries[0].as_row()))
        writer.writeheader()
        writer.writerows(q.as_row() for q in queries)


def _batch(settings: Settings, queries: list[Any], folder: Path) -> dict[str, Any]:
    path, out = folder / "batch_queries.csv", folder / "batch_results.csv"
    _write_queries(queries, path)
    engine = make_engine(settings)
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        report = trace_file(session, path, out)
    wall = time.perf_counter() - started
    _, real_time = _in_process(settings, queries)
    with out.open(newline="") as handle:
        batch = {r["query_id"]: (r["outcome"], r["nhs_number"]) for r in csv.DictReader(handle)}
    agree = sum(batch[q] == real_time[q] for q in real_time)
    engine.dispose()
    return {"queries": len(queries), "wall_seconds": wall, "target_seconds": 60,
            "seconds_by_phase": {k: round(v, 2) for k, v in report.seconds.items()},
            "outcomes": dict(report.outcomes), "agreement_with_real_time": agree / len(real_time),
            "disagreements": len(real_time) - agree}


def _postgres_settings(folder: Path, name: str | None = None) -> tuple[Settings, str, bool]:
    """A database of its own (or ``name``, kept from an earlier run); whether it existed."""
    name = name or f"caldicott_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        existed = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                    {"n": name}) is not None
        if not existed:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=folder), name, existed


def _drop_postgres(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--splink-queries", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/caldicott_latency"))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--keep-postgres", action="store_true",
                        help="Keep the PostgreSQL register (caldicott_latency_N) for --reuse")
    parser.add_argument("--warm-up", type=int, default=20_000,
                        help="Queries traced untimed before the warm measurement")
    parser.add_argument("--out", type=Path, default=None, help="Results JSON to write")
    parser.add_argument("--reuse", action="store_true",
                        help="Reuse the SQLite register (and a kept PostgreSQL one) built "
                             "by an earlier run")
    parser.add_argument("--reindex", action="store_true",
                        help="With --reuse, rebuild the SQLite register's index (timed)")
    parser.add_argument("--skip", default="",
                        help="Comma-separated stages to skip: cold,http,splink,batch")
    args = parser.parse_args()
    if args.quick:
        args.people, args.batch, args.splink_queries = 20_000, 2_000, 20
    args.folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"people": args.people}
    out = args.out or HERE / "results" / (
        "trace_latency_quick.json" if args.quick else "trace_latency.json")
    if args.reuse and out.exists():
        results = json.loads(out.read_text())
    results["machine"] = {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}

    def save(stage: str, value: Any) -> None:
        results[stage] = value
        results["machine"]["load_average_now"] = os.getloadavg()
        out.write_text(json.dumps(results, indent=2))
        print(stage, json.dumps(value), flush=True)

    skip = set(args.skip.split(","))
    started = time.perf_counter()
    people = list(generate_people(args.people, seed=11))
    # About 1% of noisy look-ups are not valid requests (a future date of birth…):
    # generate a few more, so that the batch has its full count of valid ones.
    wanted = max(args.queries + args.warm_up, args.batch)
    queries = list(generate_queries(people, wanted + wanted // 20, seed=12))
    queries = [q for q in queries if _valid(q)][:wanted]
    save("generate_seconds", time.perf_counter() - started)
    sample = queries[:args.queries]
    db = args.folder / f"latency_{args.people}.db"
    sqlite = Settings(database_url=f"sqlite:///{db}", data_dir=args.folder)
    model = None
    if not (args.reuse and db.exists()):
        started = time.perf_counter()
        model = _train(people, queries, sample=min(args.people, 200_000))
        save("train_seconds", time.perf_counter() - started)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        save("sqlite_setup", _setup(sqlite, people, model))
    else:
        if args.reindex:  # the blocking keys may have changed since it was built
            save("sqlite_reindex", _reindex(sqlite))
        if not _model_fits(sqlite):  # the comparisons changed since it was built
            started = time.perf_counter()
            model = _train(people, queries, sample=min(args.people, 200_000))
            _store_model(sqlite, model)
            save("train_seconds", time.perf_counter() - started)
    # The benchmark holds a million people and their look-ups in memory, which a
    # service does not: freeze them out of the cyclic collector, or its full
    # collections (over ten million objects) land in the timed traces.
    gc.collect()
    gc.freeze()
    warm_up = queries[args.queries:args.queries + args.warm_up]
    if "cold" not in skip:
        save("sqlite_in_process_cold", _in_process(sqlite, sample)[0])
    save("sqlite_in_process", _in_process(sqlite, sample, warm_up)[0])
    if "http" not in skip:
        save("http_sqlite", _http(sqlite, sample, warm_up))
    if "splink" not in skip:
        save("splink_predict_between", _splink_path(sqlite, sample[:args.splink_queries]))
        save("ratio_splink_p50_over_ours_p50",
             results["splink_predict_between"]["p50_ms"] / results["sqlite_in_process"]["p50_ms"])
    if "batch" not in skip:
        save("batch_sqlite", _batch(sqlite, queries[:args.batch], args.folder))
    if not args.skip_postgres:
        if model is None:
            engine = make_engine(sqlite)
            with unit_of_work(engine) as session:
                row = repository.model_by_version(
                    session, repository.active_model_version(session)[0])
                model = json.loads(row.model_json)
            engine.dispose()
        kept = f"caldicott_latency_{args.people}" if args.keep_postgres else None
        postgres, name, existed = _postgres_settings(args.folder, kept)
        try:
            if not (existed and args.reuse):
                if existed:
                    _drop_postgres(name)
                    postgres, name, _ = _postgres_settings(args.folder, kept)
                save("postgres_setup", _setup(postgres, people, model))
            elif not _model_fits(postgres):
                _store_model(postgres, model)
            save("postgres_in_process_cold", _in_process(postgres, sample)[0])
            save("postgres_in_process", _in_process(postgres, sample, warm_up)[0])
        finally:
            if not args.keep_postgres:
                _drop_postgres(name)
    gc.unfreeze()  # let the exit collect them (DuckDB's bindings report leaks otherwise)


def _reindex(settings: Settings) -> dict[str, float]:
    engine = make_engine(settings)
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        rows = rebuild_index(session)
    engine.dispose()
    return {"index_rows": rows, "index_build_seconds": time.perf_counter() - started}


def _model_fits(settings: Settings) -> bool:
    from caldicott.errors import CaldicottError
    from caldicott.matching.service import scorer_for

    engine = make_engine(settings)
    try:
        with unit_of_work(engine) as session:
            scorer_for(session)
        return True
    except CaldicottError:
        return False
    finally:
        engine.dispose()


def _store_model(settings: Settings, model: dict[str, Any]) -> None:
    engine = make_engine(settings)
    with unit_of_work(engine) as session:
        model_json = json.dumps(model, sort_keys=True)
        repository.save_model(session, model_json=model_json, sha256=model_hash(model_json),
                              pins=[], link_type="link_only", trained_on="benchmark")
    engine.dispose()


def _valid(query: Any) -> bool:
    try:
        check_request(query.given_name, query.family_name, query.birth_date)
    except Exception:
        return False
    return True


if __name__ == "__main__":
    main()
