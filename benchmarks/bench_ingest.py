"""How fast does the dataset library ingest a large CSV export?

Generates (once) a CSV of synthetic process events with
``benchmarks/generate.py`` and ingests it with
:meth:`procanom.library.DatasetLibrary.ingest`. The yardstick is measured in
the same run on the same file: DuckDB's own ``read_csv`` of the file into a
table of a new database file, all columns as text, which is the least any
ingest into DuckDB has to do. The library should stay within 1.5 times it.

Each candidate runs in a fresh process, so its peak resident memory
(``VmHWM``) is its own; the figure includes the Python interpreter and the
libraries it imports. The two take turns for ``--rounds`` rounds and the
best time of each is compared, so other work on the machine weighs less.

Not part of the test suite: run it on demand.

Usage::

    python benchmarks/bench_ingest.py                       # 10 million events
    python benchmarks/bench_ingest.py --events 1000000
    python benchmarks/bench_ingest.py --csv events.csv      # an existing file
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._memory import peak_rss_bytes  # noqa: E402

TARGET_RATIO = 1.5


def run_baseline(csv_path: Path, work: Path) -> dict:
    """Read the CSV into a new DuckDB file with DuckDB's own reader."""
    import duckdb

    db = work / "baseline.duckdb"
    started = time.perf_counter()
    conn = duckdb.connect(str(db), config={"preserve_insertion_order": True})
    conn.execute(
        "CREATE TABLE events AS SELECT * FROM read_csv(?, header = true, "
        "all_varchar = true)",
        [str(csv_path)],
    )
    rows = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def run_library(csv_path: Path, work: Path) -> dict:
    """Ingest the CSV with the dataset library."""
    from procanom.library import DatasetLibrary

    started = time.perf_counter()
    with DatasetLibrary(work / "data") as library:
        info = library.ingest(csv_path, "benchmark")
    return {
        "seconds": time.perf_counter() - started,
        "rows": info.events,
        "reader": info.reader,
        "dataset_id": info.id,
        "data_dir": str(work / "data"),
    }


CANDIDATES = {"duckdb read_csv": run_baseline, "library ingest": run_library}


def child(name: str, csv_path: Path, work: Path) -> None:
    """Run one candidate and print its figures as JSON."""
    result = CANDIDATES[name](csv_path, work)
    result["peak_rss"] = peak_rss_bytes()
    print(json.dumps(result))


def measure(name: str, csv_path: Path, work: Path) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            name,
            "--csv",
            str(csv_path),
            "--work",
            str(work),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_csv(events: int, path: Path) -> Path:
    if path.exists():
        return path
    print(f"generating {events:,} events into {path} ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "generate.py"),
            str(events),
            str(path),
        ],
        check=True,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--csv", type=Path, help="an existing CSV to ingest")
    parser.add_argument("--work", type=Path, help="folder for the databases")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, best kept")
    parser.add_argument("--child", choices=sorted(CANDIDATES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(args.child, args.csv, args.work)
        return 0

    work = args.work or Path(tempfile.mkdtemp(prefix="procanom-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = ensure_csv(args.events, args.csv or work / f"events_{args.events}.csv")
    size = csv_path.stat().st_size
    print(f"input: {csv_path} ({size / 2**20:,.0f} MiB)")

    # The candidates take turns, so a busy moment of the machine hits both.
    runs: dict[str, list[dict]] = {name: [] for name in CANDIDATES}
    for round_no in range(args.rounds):
        for name in CANDIDATES:
            target = work / f"round{round_no}"
            target.mkdir(exist_ok=True)
            runs[name].append(measure(name, csv_path, target))
            print(
                f"  round {round_no + 1}: {name} {runs[name][-1]['seconds']:.1f} s",
                flush=True,
            )
            if name == "duckdb read_csv":
                (target / "baseline.duckdb").unlink(missing_ok=True)

    best = {
        name: min(results, key=lambda r: r["seconds"]) for name, results in runs.items()
    }
    for name, result in best.items():
        rate = result["rows"] / result["seconds"]
        peak = max(r["peak_rss"] for r in runs[name])
        print(
            f"{name:>16}: best {result['seconds']:7.1f} s  {rate:12,.0f} events/s  "
            f"{size / 2**20 / result['seconds']:7.1f} MiB/s  "
            f"peak RSS {peak / 2**30:5.2f} GiB"
            + (f"  ({result['reader']})" if "reader" in result else "")
        )
    ratio = best["library ingest"]["seconds"] / best["duckdb read_csv"]["seconds"]
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"library / read_csv: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    print(f"dataset kept in {best['library ingest']['data_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
