"""How long and how much memory does scoring a library dataset take?

Scores a dataset of the dataset library with
:meth:`procanom.library.DatasetLibrary.score`, Splunk's histogram method by
default (counted in DuckDB, then the detector's own arithmetic), and reports
the wall time and the peak resident memory beside the 8 GiB target.

Each round runs in a fresh process, so its peak resident memory
(``VmHWM``) is its own; the figure includes the Python interpreter and the
libraries it imports. The best time of ``--rounds`` rounds is kept, since
other work on the machine may slow one round; the peak memory shown is the
largest of all rounds.

Not part of the test suite: run it on demand, on a dataset that
``bench_ingest.py`` left behind::

    python benchmarks/bench_library_score.py --data-dir DIR
    python benchmarks/bench_library_score.py --data-dir DIR --dataset ID \\
        --method conditional --fields Name,ParentName,host
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._memory import peak_rss_bytes  # noqa: E402

TARGET_PEAK_GIB = 8.0
DEFAULT_FIELDS = "Name,Path,ParentName,User"


def child(data_dir: str, dataset_id: str, method: str, fields: list[str]) -> None:
    """Score once and print the figures as JSON."""
    from procanom.experiment import ExperimentSettings
    from procanom.library import DatasetLibrary

    settings = ExperimentSettings(fields=fields, method=method)
    started = time.perf_counter()
    with DatasetLibrary(data_dir) as library:
        result = library.score(dataset_id, settings)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "events": result.num_events,
                "outliers": result.num_outliers,
                "peak_rss": peak_rss_bytes(),
            }
        )
    )


def measure(data_dir: Path, dataset_id: str, method: str, fields: str) -> dict:
    """Score in a fresh process; return its figures."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--data-dir",
            str(data_dir),
            "--dataset",
            dataset_id,
            "--method",
            method,
            "--fields",
            fields,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", help="dataset id [default: the newest]")
    parser.add_argument("--method", default="histogram")
    parser.add_argument("--fields", default=DEFAULT_FIELDS, help="comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="runs, best kept")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    fields = [f.strip() for f in args.fields.split(",") if f.strip()]

    if args.child:
        child(str(args.data_dir), args.dataset, args.method, fields)
        return 0

    from procanom.library import DatasetLibrary

    with DatasetLibrary(args.data_dir) as library:
        infos = library.list()
        if args.dataset is None and not infos:
            parser.error(f"no dataset in the library at {args.data_dir}")
        info = library.get(args.dataset) if args.dataset else infos[0]
    print(f"dataset {info.name} ({info.id}): {info.events:,} events")
    print(f"method {args.method} on {', '.join(fields)}")

    runs = []
    for round_no in range(args.rounds):
        runs.append(measure(args.data_dir, info.id, args.method, ",".join(fields)))
        print(f"  round {round_no + 1}: {runs[-1]['seconds']:.1f} s", flush=True)

    best = min(runs, key=lambda r: r["seconds"])
    peak = max(r["peak_rss"] for r in runs) / 2**30
    verdict = "within" if peak <= TARGET_PEAK_GIB else "OVER"
    print(
        f"best {best['seconds']:.1f} s for {best['events']:,} events "
        f"({best['events'] / best['seconds']:,.0f} events/s, "
        f"{best['outliers']:,} outliers)"
    )
    print(f"peak RSS {peak:.2f} GiB ({verdict} the {TARGET_PEAK_GIB:.0f} GiB target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
