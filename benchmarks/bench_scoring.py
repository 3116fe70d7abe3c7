"""How fast does procanom score a million process events?

Scores synthetic events (:mod:`benchmarks.generate`) on the four fields
Name, Path, CommandLine and host, all Arrow-backed text, with
``procanom.scoring.detect(..., method="histogram")``, and builds the whole
annotated frame: every output column is read back, as a numpy array or, for
Arrow-backed text, as its Arrow array, so no work is left undone when the
clock stops. (Turning a million Arrow strings into Python objects would
time pandas' conversion, not the method.)

The events also carry the columns the dataset library reads beside the
scored fields (``ProcessId``, ``ParentProcessId``, ``_time``), so the
conditional method links each event to its parent's and scores its lineage,
as it does in the product; the other methods ignore them.

Methods that compare templates of the values (``conditional``) read them
from columns made once per dataset by ``procanom.normalize.add_templates``
(the library keeps them per dataset the same way): that step is timed on its
own row ("templates, once per dataset"), and the method is timed a second
time making the templates itself ("..., making templates"), so both figures
sit side by side.

The yardstick is measured in the same run on the same data: Arrow's
``pyarrow.compute.dictionary_encode`` of the same four columns. Any
categorical scorer has to find each value's distinct id at least once, so
this is the floor; the histogram method should stay within 2.5 times it.
Other methods of ``procanom.scoring.METHODS`` (``--methods``) should stay
within 5 times the histogram method.

Times are the median of ``--repeat`` runs after one warm-up run, the
candidates taking turns within each round so that a slow moment of the
machine hits them alike.

Peak memory is measured in a fresh process per candidate: the input is
written once to an Arrow IPC file, the child reads it, resets the kernel's
peak-resident-size mark (``/proc/self/clear_refs``), runs the candidate
once and reports how far the peak (``VmHWM``) rose above the resident size
it started from. That counts every allocator alike (Arrow's pool, numpy,
Python objects), which ``tracemalloc`` does not, and costs nothing during
the timed runs. ``getrusage(RUSAGE_SELF).ru_maxrss`` cannot be reset and,
on Linux, a child inherits the parent's mark across fork and exec, so it is
only the fallback where ``/proc`` is missing. Memory an allocator kept from
reading the input and then reused counts as already there, so the figure
may err low by a little; the input's own size is printed beside it.

Usage::

    python benchmarks/bench_scoring.py
    python benchmarks/bench_scoring.py --events 200000 --repeat 3
    python benchmarks/bench_scoring.py --methods histogram,other --check
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO_ROOT))

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from procanom.normalize import add_templates  # noqa: E402
from procanom.scoring import METHODS, detect  # noqa: E402
from procanom.scoring.roles import field_roles, template_kind  # noqa: E402

FIELDS = ["Name", "Path", "CommandLine", "host"]
#: Read with the fields by the dataset library, for the conditional lineage.
LINK_COLUMNS = ["ProcessId", "ParentProcessId", "_time"]
FLOOR = "floor"
TEMPLATES = "templates"
RAW_SUFFIX = "+raw"  # a method timed on the frame without ingest templates
TEMPLATED_METHODS = ("conditional",)  # methods that read ingest templates
REFERENCE_METHOD = "histogram"
FLOOR_TARGET = 2.5  # histogram time / floor time, at most
METHOD_TARGET = 5.0  # other method time / histogram time, at most

#: Splunk MLTK on Windows process data, from a published walkthrough.
SPLUNK_EVENTS = 31_952
SPLUNK_SECONDS = 4.091


# The candidates ---------------------------------------------------------------
def run_floor(frame: pd.DataFrame) -> int:
    """Dictionary-encode the four fields with Arrow: the least any scorer does."""
    encoded = [pc.dictionary_encode(pa.array(frame[name].array)) for name in FIELDS]
    return sum(len(e) for e in encoded)


def template_kinds() -> dict[str, str]:
    """The template kind of each field, as the scoring methods assign it."""
    roles = field_roles(FIELDS)
    return {f: kind for f in FIELDS if (kind := template_kind(roles[f])) is not None}


def with_templates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the template columns, as an ingest step would, once per dataset."""
    return add_templates(frame, list(template_kinds()), kinds=template_kinds())


def run_templates(frame: pd.DataFrame) -> int:
    """Make the templates of the four fields: the ingest step, on its own."""
    templated = with_templates(frame)
    return sum(len(pa.array(templated[f"{f}_template"].array)) for f in FIELDS)


def _materialise(column: pd.Series) -> int:
    if isinstance(
        column.array, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray
    ):
        return len(pa.array(column.array))
    return len(column.to_numpy())


def run_method(method: str) -> Callable[[pd.DataFrame], int]:
    """Return a runner that scores with ``method`` and materialises its output."""
    method = method.removesuffix(RAW_SUFFIX)

    def run(frame: pd.DataFrame) -> int:
        annotated = detect(frame, FIELDS, method=method).annotated
        touched = 0
        for name in annotated.columns:
            if name not in frame.columns:
                touched += _materialise(annotated[name])
        return touched

    return run


def runner(candidate: str) -> Callable[[pd.DataFrame], int]:
    if candidate == FLOOR:
        return run_floor
    if candidate == TEMPLATES:
        return run_templates
    return run_method(candidate)


def input_of(
    candidate: str, frame: pd.DataFrame, templated: pd.DataFrame
) -> pd.DataFrame:
    """The frame a candidate runs on: with ingest templates where it reads them."""
    return templated if candidate in TEMPLATED_METHODS else frame


# Input ------------------------------------------------------------------------
def build_input(events: int, seed: int, shared: Path | None) -> pd.DataFrame:
    from benchmarks.generate import make_events

    return make_events(events, seed, shared_dir=shared)[FIELDS + LINK_COLUMNS]


def frame_from_table(table: pa.Table) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(table[name]) for name in table.column_names}
    )


def input_bytes(frame: pd.DataFrame) -> int:
    return sum(pa.array(frame[name].array).nbytes for name in FIELDS)


# Timing -----------------------------------------------------------------------
def time_candidates(
    frame: pd.DataFrame, candidates: list[str], repeat: int
) -> dict[str, list[float]]:
    """Return each candidate's wall times, taking turns within each round."""
    runners = {c: runner(c) for c in candidates}
    # Templates made once, as ingest would; the "templates" row times that.
    templated = with_templates(frame)
    for candidate, run in runners.items():  # warm-up: imports, caches, pools
        run(input_of(candidate, frame, templated))
    times: dict[str, list[float]] = {c: [] for c in candidates}
    for _ in range(repeat):
        for candidate, run in runners.items():
            data = input_of(candidate, frame, templated)
            gc.collect()
            start = time.perf_counter()
            run(data)
            times[candidate].append(time.perf_counter() - start)
    return times


# Memory -----------------------------------------------------------------------
def _proc_status_bytes(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024  # reported in kB
    raise OSError(f"/proc/self/status has no {key} line")


def reset_peak() -> int:
    """Reset the peak-resident-size mark; return the resident size it starts at."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return _proc_status_bytes("VmRSS")
    except OSError:
        return peak_rss_bytes(fallback=True)


def peak_rss_bytes(fallback: bool = False) -> int:
    """Return the peak resident size since :func:`reset_peak`."""
    if not fallback:
        try:
            return _proc_status_bytes("VmHWM")
        except OSError:
            pass
    # No /proc: the lifetime peak, which may include the parent's (see notes).
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure_memory_child(candidate: str, input_path: Path) -> None:
    """Child process: read the input, run ``candidate`` once, print the rise."""
    with pa.OSFile(str(input_path)) as source:
        table = pa.ipc.open_file(source).read_all()
    frame = frame_from_table(table)
    del table
    frame = input_of(candidate, frame, with_templates(frame))
    run = runner(candidate)
    gc.collect()
    before = reset_peak()
    run(frame)
    after = peak_rss_bytes()
    print(json.dumps({"baseline": before, "peak": after, "rise": after - before}))


def measure_memory(frame: pd.DataFrame, candidates: list[str]) -> dict[str, dict]:
    """Return each candidate's peak-memory rise, each in a fresh process."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="procanom-bench-") as folder:
        input_path = Path(folder) / "input.arrow"
        table = pa.table({name: pa.array(frame[name].array) for name in frame.columns})
        with (
            pa.OSFile(str(input_path), "wb") as sink,
            pa.ipc.new_file(sink, table.schema) as writer,
        ):
            writer.write_table(table)
        del table
        for candidate in candidates:
            completed = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--memory-child",
                    candidate,
                    "--memory-input",
                    str(input_path),
                ],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            if completed.returncode != 0:
                last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
                results[candidate] = {"error": last}
            else:
                results[candidate] = json.loads(
                    completed.stdout.strip().splitlines()[-1]
                )
    return results


# Report -----------------------------------------------------------------------
def mib(count: float) -> str:
    return f"{count / 2**20:,.0f}"


def report(
    frame: pd.DataFrame,
    times: dict[str, list[float]],
    memory: dict[str, dict],
    args: argparse.Namespace,
) -> dict:
    """Print the comparison table and return the figures as a dict."""
    n = len(frame)
    median = {c: statistics.median(t) for c, t in times.items()}
    floor, reference = median[FLOOR], median[REFERENCE_METHOD]
    distinct = {name: int(frame[name].nunique()) for name in FIELDS}

    print(
        f"procanom scoring benchmark: {n:,} events, fields {', '.join(FIELDS)} "
        f"(Arrow text), seed {args.seed}, median of {args.repeat} runs"
    )
    print("distinct values: " + ", ".join(f"{k} {v:,}" for k, v in distinct.items()))
    print(f"input size: {mib(input_bytes(frame))} MiB of Arrow buffers (the fields)")
    print()
    header = (
        f"{'candidate':<30} {'median s':>9} {'min s':>7} {'max s':>7} "
        f"{'ratio':>7}  {'target':<24} {'peak +MiB':>9} {'events/s':>11}"
    )
    print(header)
    print("-" * len(header))

    rows, failed = {}, []
    for candidate, seconds in times.items():
        if candidate == FLOOR:
            label, ratio, target, ok = "floor: dictionary_encode x4", 1.0, "", True
        elif candidate == REFERENCE_METHOD:
            label, ratio = f"{candidate} (all columns)", median[candidate] / floor
            target = f"<= {FLOOR_TARGET}x floor"
            ok = ratio <= FLOOR_TARGET
        elif candidate == TEMPLATES:
            label = "templates, once per dataset"
            ratio = median[candidate] / reference
            target, ok = "", True
        elif candidate.endswith(RAW_SUFFIX):
            method = candidate.removesuffix(RAW_SUFFIX)
            label, ratio = f"{method}, making templates", median[candidate] / reference
            target, ok = "", True
        else:
            label, ratio = f"{candidate} (all columns)", median[candidate] / reference
            target = f"<= {METHOD_TARGET:g}x histogram"
            ok = ratio <= METHOD_TARGET
        mem = memory.get(candidate, {})
        peak = mib(mem["rise"]) if "rise" in mem else ("failed" if mem else "-")
        print(
            f"{label:<30} {median[candidate]:>9.3f} {min(seconds):>7.3f} "
            f"{max(seconds):>7.3f} {ratio:>6.2f}x  "
            f"{(target + (' ok' if ok else ' MISSED')) if target else '':<24} "
            f"{peak:>9} {n / median[candidate]:>11,.0f}"
        )
        if not ok:
            failed.append(candidate)
        rows[candidate] = {
            "seconds": seconds,
            "median": median[candidate],
            "ratio": ratio,
            "target_met": ok,
            "memory": mem,
        }

    anchor = SPLUNK_EVENTS / SPLUNK_SECONDS
    ours = n / reference
    print()
    print(
        f"speed anchor: Splunk MLTK scored {SPLUNK_EVENTS:,} events in "
        f"{SPLUNK_SECONDS} s ({anchor:,.0f} events/s); procanom histogram "
        f"{ours:,.0f} events/s ({ours / anchor:,.0f}x)"
    )
    for candidate, mem in memory.items():
        if "error" in mem:
            print(f"memory of {candidate} not measured: {mem['error']}")
    if failed:
        print("targets missed: " + ", ".join(failed))
    return {
        "events": n,
        "seed": args.seed,
        "repeat": args.repeat,
        "fields": FIELDS,
        "distinct": distinct,
        "candidates": rows,
        "events_per_second": ours,
        "splunk_events_per_second": anchor,
        "targets_missed": failed,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time procanom's scoring methods against Arrow's "
        "dictionary_encode of the same columns."
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events to score")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per method")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument(
        "--methods",
        default=REFERENCE_METHOD,
        help="comma-separated methods of procanom.scoring.METHODS to time "
        "(histogram is always timed)",
    )
    parser.add_argument(
        "--shared", type=Path, default=None, help="the shared folder holding data/"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory processes"
    )
    parser.add_argument(
        "--no-raw",
        action="store_true",
        help="do not also time methods that read ingest templates making "
        "the templates themselves",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is missed"
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        return args
    if args.events < 1:
        parser.error(f"--events must be 1 or more; got {args.events}")
    if args.repeat < 1:
        parser.error(f"--repeat must be 1 or more; got {args.repeat}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(
            f"--methods: unknown {', '.join(unknown)}; registered: {', '.join(METHODS)}"
        )
    args.method_list = [REFERENCE_METHOD] + [
        m for m in methods if m != REFERENCE_METHOD
    ]
    templated = [m for m in args.method_list if m in TEMPLATED_METHODS]
    if templated:
        args.method_list.append(TEMPLATES)
        if not args.no_raw:
            args.method_list.extend(m + RAW_SUFFIX for m in templated)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        measure_memory_child(args.memory_child, args.memory_input)
        return 0

    start = time.perf_counter()
    try:
        frame = build_input(args.events, args.seed, args.shared)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"generated {len(frame):,} events in {time.perf_counter() - start:.1f} s")

    candidates = [FLOOR, *args.method_list]
    times = time_candidates(frame, candidates, args.repeat)
    memory = {} if args.no_memory else measure_memory(frame, candidates)
    figures = report(frame, times, memory, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=float) + "\n")
    return 1 if args.check and figures["targets_missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
