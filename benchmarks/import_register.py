"""Import of N synthetic people from CSV into SQLite and into PostgreSQL.

Targets (issue 2): 1,000,000 people in at most 60 s each, peak memory at most
500 MB. Each import runs as ``caldicott register import`` in its own process,
so its wall time, CPU time and peak memory are its own.

    python benchmarks/import_register.py            # 1,000,000 people
    python benchmarks/import_register.py --quick    # 20,000 people
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import CACHE, caldicott, run_measured, throwaway_database, write_results


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
                result = run_measured(caldicott("register", "import", str(source)), env)
                result["people_per_s"] = round(n / result["wall_s"])
                figures[backend] = result
                print(f"{backend}: {result}")
    print(f"results: {write_results('import_register', figures)}")


if __name__ == "__main__":
    main()
