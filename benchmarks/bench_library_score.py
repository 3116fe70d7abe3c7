"""How long and how much memory does scoring a library dataset take?

Scores a dataset of the dataset library with
:meth:`procanom.library.DatasetLibrary.score`, the product path: the
selected fields come out of DuckDB as Arrow text (with the link columns the
conditional method uses for lineage, and the templates the library keeps per
dataset), then the method itself scores them. Reports each method's wall time
beside Splunk's histogram method (other methods should stay within 5 times
it) and the peak resident memory beside the 8 GiB target.

The conditional method compares templates of names, paths and command
lines. The library makes them once per dataset, on first use, and keeps
them; that one-time normalisation is timed on its own line
(:meth:`~procanom.library.DatasetLibrary.make_templates`, after discarding
any templates kept before), so the method's rounds time scoring alone.

Each round runs in a fresh process, so its peak resident memory
(``VmHWM``) is its own; the figure includes the Python interpreter and the
libraries it imports. The best time of ``--rounds`` rounds is kept, the
methods taking turns within each round, since other work on the machine may
slow one round; the peak memory shown is the largest of all rounds.

Not part of the test suite: run it on demand, on a dataset that
``bench_ingest.py`` left behind::

    python benchmarks/bench_library_score.py --data-dir DIR
    python benchmarks/bench_library_score.py --data-dir DIR --dataset ID \\
        --methods histogram,conditional --fields Name,Path,CommandLine,host
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._memory import peak_rss_bytes  # noqa: E402

TARGET_PEAK_GIB = 8.0
METHOD_TARGET = 5.0  # other method time / histogram time, at most
REFERENCE_METHOD = "histogram"
TEMPLATES = "templates"  # the child's name for making the templates
DEFAULT_FIELDS = "Name,Path,CommandLine,host"


def child(data_dir: str, dataset_id: str, method: str, fields: list[str]) -> None:
    """Score once (or, for method "templates", make the templates) as JSON."""
    from procanom.experiment import ExperimentSettings
    from procanom.library import LIBRARY_FOLDER, DatasetLibrary

    if method == TEMPLATES:
        # Templates kept by an earlier run would make this time nothing.
        for kept in (Path(data_dir) / LIBRARY_FOLDER).glob("*.templates"):
            shutil.rmtree(kept)
    started = time.perf_counter()
    with DatasetLibrary(data_dir) as library:
        if method == TEMPLATES:
            library.make_templates(dataset_id, fields)
            events = outliers = 0
        else:
            settings = ExperimentSettings(fields=fields, method=method)
            result = library.score(dataset_id, settings)
            events, outliers = result.num_events, result.num_outliers
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "events": events,
                "outliers": outliers,
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
            "--methods",
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
    parser.add_argument(
        "--methods",
        "--method",
        default=REFERENCE_METHOD,
        help="comma-separated methods; histogram is always timed",
    )
    parser.add_argument("--fields", default=DEFAULT_FIELDS, help="comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="runs, best kept")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    if args.child:
        child(str(args.data_dir), args.dataset, methods[0], fields)
        return 0

    from procanom.library import DatasetLibrary

    with DatasetLibrary(args.data_dir) as library:
        infos = library.list()
        if args.dataset is None and not infos:
            parser.error(f"no dataset in the library at {args.data_dir}")
        info = library.get(args.dataset) if args.dataset else infos[0]
    methods = [REFERENCE_METHOD] + [m for m in methods if m != REFERENCE_METHOD]
    print(f"dataset {info.name} ({info.id}): {info.events:,} events")
    print(f"methods {', '.join(methods)} on {', '.join(fields)}")

    joined = ",".join(fields)
    if "conditional" in methods:
        made = measure(args.data_dir, info.id, TEMPLATES, joined)
        print(
            f"  normalisation (templates made once per dataset): "
            f"{made['seconds']:.1f} s",
            flush=True,
        )
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for round_no in range(args.rounds):
        for method in methods:
            runs[method].append(measure(args.data_dir, info.id, method, joined))
            print(
                f"  round {round_no + 1}: {method} {runs[method][-1]['seconds']:.2f} s",
                flush=True,
            )

    reference = min(r["seconds"] for r in runs[REFERENCE_METHOD])
    missed = []
    for method, results in runs.items():
        best = min(results, key=lambda r: r["seconds"])
        ratio = best["seconds"] / reference
        target = ""
        if method != REFERENCE_METHOD:
            ok = ratio <= METHOD_TARGET
            target = f"  (<= {METHOD_TARGET:g}x histogram: {'ok' if ok else 'MISSED'})"
            if not ok:
                missed.append(method)
        print(
            f"{method:>12}: best {best['seconds']:6.2f} s for {best['events']:,} "
            f"events ({best['events'] / best['seconds']:,.0f} events/s, "
            f"{best['outliers']:,} outliers), {ratio:.2f}x histogram{target}"
        )
    peak = max(r["peak_rss"] for results in runs.values() for r in results) / 2**30
    verdict = "within" if peak <= TARGET_PEAK_GIB else "OVER"
    print(f"peak RSS {peak:.2f} GiB ({verdict} the {TARGET_PEAK_GIB:.0f} GiB target)")
    if missed:
        print("targets missed: " + ", ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
