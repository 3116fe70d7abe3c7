"""How fast does the dataset library search and score ten million events?

Needs a dataset in a library: give ``--data-dir`` and ``--dataset`` (as
``bench_ingest.py`` leaves them), or ``--csv`` to ingest a file first.

Search: the p50 and p95 latency, over ``--repeat`` runs after one warm-up,
of four searches the analyst types every day — a field term, a wildcard,
a NOT and an OR — each as a count of all matches and as the first page of
100 events; plus free text (a bare word, searched in every column), shown
apart because it scans every column. Target: p95 at most 2 s.

Scoring: the histogram method on four fields, computed in DuckDB, in a
fresh process so its peak resident memory (``VmHWM``) is its own.

Not part of the test suite: run it on demand.

Usage::

    python benchmarks/bench_search.py --data-dir DIR --dataset ID
    python benchmarks/bench_search.py --csv events.csv
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._memory import peak_rss_bytes  # noqa: E402

TARGET_P95_S = 2.0

SEARCHES = {
    "term": "Name=powershell.exe",
    "wildcard": "CommandLine=*-enc*",
    "NOT": "NOT Name=svchost.exe",
    "OR": "Name=cmd.exe OR Name=powershell.exe OR ParentName=wmiprvse.exe",
}
FREE_TEXT = {"free text": "mimikatz"}

SCORE_FIELDS = ["Name", "Path", "ParentName", "User"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_searches(library, dataset_id: str, searches: dict, repeat: int) -> None:
    for label, query in searches.items():
        for kind in ("count", "page"):

            def run(query=query, kind=kind):
                if kind == "count":
                    return library.count(dataset_id, query)
                return len(library.search(dataset_id, query, limit=100))

            matched = run()  # warm-up
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            p95 = percentile(times, 95)
            verdict = "ok" if p95 <= TARGET_P95_S else "OVER"
            print(
                f"{label:>10} {kind:>5}: p50 {statistics.median(times):6.2f} s  "
                f"p95 {p95:6.2f} s  [{verdict}]  {matched:,} matched  {query!r}",
                flush=True,
            )


def score_child(data_dir: str, dataset_id: str) -> None:
    from procanom.experiment import ExperimentSettings
    from procanom.library import DatasetLibrary

    settings = ExperimentSettings(fields=SCORE_FIELDS, params={"cutoff": False})
    with DatasetLibrary(data_dir) as library:
        started = time.perf_counter()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--dataset", help="dataset id in the library")
    parser.add_argument("--csv", type=Path, help="ingest this file first")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-score", action="store_true")
    parser.add_argument("--score-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.score_child:
        score_child(str(args.data_dir), args.dataset)
        return 0

    from procanom.library import DatasetLibrary

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="procanom-bench-search-"))
    library = DatasetLibrary(data_dir)
    dataset_id = args.dataset
    if args.csv:
        dataset_id = library.ingest(args.csv, args.csv.name).id
    if dataset_id is None:
        infos = library.list()
        if not infos:
            parser.error("no dataset: give --dataset with --data-dir, or --csv")
        dataset_id = infos[0].id
    info = library.get(dataset_id)
    print(f"dataset {info.name} ({dataset_id}): {info.events:,} events")

    time_searches(library, dataset_id, SEARCHES, args.repeat)
    time_searches(library, dataset_id, FREE_TEXT, max(3, args.repeat // 5))
    library.close()

    if not args.skip_score:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--score-child",
                "--data-dir",
                str(data_dir),
                "--dataset",
                dataset_id,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        score = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"histogram score on {', '.join(SCORE_FIELDS)}: {score['seconds']:.1f} s "
            f"for {score['events']:,} events ({score['outliers']:,} outliers), "
            f"peak RSS {score['peak_rss'] / 2**30:.2f} GiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
