"""Synthetic people and queries: ``caldicott synth people`` for N people (CSV),
then ``caldicott synth queries`` over that file, each in its own process so its
wall time, CPU time and peak memory are its own.

Aims (issue 2, helper brief): 1,000,000 people generated and written in well
under a minute if possible, with flat memory.

    python benchmarks/synth.py            # 1,000,000 people, 10,000 queries
    python benchmarks/synth.py --quick    # 20,000 people, 2,000 queries
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import caldicott, run_measured, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="20,000 people, 2,000 queries")
    args = parser.parse_args()
    people, queries = (20_000, 2_000) if args.quick else (args.people, args.queries)
    figures: dict[str, object] = {"people": people, "queries": queries}
    with tempfile.TemporaryDirectory() as folder:
        register, asked = Path(folder) / "people.csv", Path(folder) / "queries.csv"
        made = run_measured(caldicott("synth", "people", str(people), "--seed", "1",
                                      "--out", str(register)), {})
        made["people_per_s"] = round(people / made["wall_s"])
        made["csv_mb"] = round(register.stat().st_size / 2**20, 1)
        figures["synth_people"] = made
        print(f"synth people: {made}")
        looked = run_measured(caldicott("synth", "queries", "--people", str(register),
                                        "--n", str(queries), "--seed", "1", "--out", str(asked)),
                              {})
        figures["synth_queries"] = looked
        print(f"synth queries: {looked}")
    name = "synth-quick" if args.quick else "synth"
    print(f"results: {write_results(name, figures)}")


if __name__ == "__main__":
    main()
