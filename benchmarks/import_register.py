"""Import of N synthetic people from CSV into SQLite and into PostgreSQL.

Targets (issue 2): 1,000,000 people in at most 60 s each, peak memory at most
500 MB. Each import runs as ``caldicott register import`` in its own process,
so its wall time, CPU time and peak memory are its own. A large CSV is read in
a second process (see ``caldicott.register.importer``): CPU time counts both,
``peak_rss_mb`` is the larger process's peak (as wait4 reports it) and
``peak_tree_rss_mb`` the peak of both together (sampled every 50 ms), which is
the figure to hold against the memory target.

    python benchmarks/import_register.py            # 1,000,000 people
    python benchmarks/import_register.py --quick    # 20,000 people
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    CACHE,
    POSTGRES_ADMIN_URL,
    caldicott,
    run_measured,
    throwaway_database,
    write_results,
)
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

_ADMIN: list[Engine] = []


def admin_engine() -> Engine:
    if not _ADMIN:
        _ADMIN.append(create_engine(POSTGRES_ADMIN_URL, pool_size=1))
    return _ADMIN[0]


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (from /proc)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) * 1024 for line in status
                               if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving the database of ``url`` (local server)."""
    name = make_url(url).database
    with admin_engine().connect() as connection:
        return list(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}).scalars())


def run_measured_tree(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """:func:`run_measured`, also sampling the memory of the process tree and, on
    PostgreSQL, the CPU time of the server processes doing the import's work."""
    load = os.getloadavg()
    url = env["CALDICOTT_DATABASE_URL"]
    started = time.perf_counter()
    child = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    peak, done = [0], threading.Event()
    server: dict[int, float] = {}

    def sample() -> None:
        ticks = 0
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss(child.pid))
            ticks += 1
            if url.startswith("postgresql") and ticks % 4 == 0:
                for pid in _server_pids(url):
                    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                        server[pid] = _cpu_seconds(pid)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    stdout = child.stdout.read() if child.stdout else ""
    stderr = child.stderr.read() if child.stderr else ""
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({exit_code}): {stderr.strip()[-500:]}")
    figures = {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}
    if server:  # sampled every 0.2 s: the last fraction of a second may be missing
        figures["server_cpu_s"] = round(sum(server.values()), 2)
    return {**figures,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "peak_tree_rss_mb": round(peak[0] / 2**20, 1),
            "load_average_before": [round(x, 2) for x in load],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "stdout": stdout.strip()}


def people_file(n: int, seed: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"people-{n}-seed{seed}.csv"
    if not path.exists():
        run_measured(caldicott("synth", "people", str(n), "--seed", str(seed),
                               "--out", str(path)), {})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 people")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.people
    source = people_file(n, seed=1)
    rows = sum(1 for _ in source.open()) - 1
    figures: dict[str, object] = {"people": n, "csv_rows": rows,
                                  "csv_mb": round(source.stat().st_size / 2**20, 1),
                                  "targets": {"wall_s": 60, "peak_rss_mb": 500}}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            with throwaway_database(backend, Path(folder)) as url:
                env = {"CALDICOTT_DATABASE_URL": url, "CALDICOTT_DATA_DIR": folder}
                run_measured(caldicott("db", "upgrade"), env)
                result = run_measured_tree(caldicott("register", "import", str(source)), env)
                result["people_per_s"] = round(n / result["wall_s"])
                figures[backend] = result
                print(f"{backend}: {result}")
    print(f"results: {write_results('import_register', figures)}")


if __name__ == "__main__":
    main()
