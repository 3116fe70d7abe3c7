"""How well does each scoring method find real attacks? One table, on demand.

Scores the labelled real events in ``shared/data`` with every method of
``procanom.scoring.METHODS`` and compares the scores with the ground truth
(``shared/data/SOURCES.md``):

- the OTRF Sysmon events (``eval/otrf_sysmon1_process_events_labelled.csv``),
  each lab on its own and all labs pooled, label ``is_attack``;
- the msticpy host (``winhostmon_process_sample.csv``), label
  ``is_simulated_attack``.

The set-up is the same for every method: the fields ``Name, Path,
CommandLine, host, User, ParentName, ParentPath, ParentCommandLine`` (those
present; winhostmon has no ParentCommandLine); frequencies within the set
scored (``fit_score`` on it); every row kept, recording tooling included;
``side_effect`` rows count as benign; label and provenance columns are
removed before scoring, so no method can read them. The reference row is
Splunk's: the histogram method on ``Name, Path, CommandLine, host`` with
``cutoff=false``.

Per method and set: ROC AUC and average precision of ``anomaly_score``
(scikit-learn), precision among the ``k`` highest scores (``k`` = number of
attack events, and ``k`` = 20), recall and false positives at the method's
default threshold (``isOutlier``), and how many attack recordings
(``dataset``) have at least one attack event flagged.

The combination-aware method's settings are chosen by leave-one-lab-out: for
each set held out, the setting with the best mean of ROC AUC and average
precision on the other sets is applied to the held-out one, and the table
reports that held-out score. The default settings are the ones most often
chosen.

Usage::

    python benchmarks/accuracy.py
    python benchmarks/accuracy.py --shared ../shared --markdown accuracy.md
    python benchmarks/accuracy.py --no-lolo
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import os
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from procanom.experiment import DEFAULT_FIELDS  # noqa: E402
from procanom.scoring import DEFAULT_METHOD, METHODS, make_detector  # noqa: E402

logger = logging.getLogger("procanom.benchmarks.accuracy")

FIELDS = DEFAULT_FIELDS  # what a new experiment scores
REFERENCE_FIELDS = ("Name", "Path", "CommandLine", "host")

#: Never given to a method: the truth and where each row came from.
LABEL_COLUMNS = (
    "is_attack",
    "label",
    "label_reason",
    "lab",
    "dataset",
    "dataset_id",
    "dataset_title",
    "attack_techniques",
    "source_path",
    "row_id",
    "is_simulated_attack",
)

OTRF_FILE = Path("eval") / "otrf_sysmon1_process_events_labelled.csv"
WINHOSTMON_FILE = Path("winhostmon_process_sample.csv")

#: Settings the leave-one-lab-out search tries for the conditional method.
CONDITIONAL_GRID = {
    "alpha": (1.0, 3.0),
    "content_weight": (0.25, 0.5),
    "host_baseline": (True, False),
    "lineage": (0.0, 1.0),
    "token_weight": (0.0, 1.0),
}
LOLO_METHOD = "conditional"
PROPOSED_DEFAULT = "conditional"
TARGET_AUC = 0.85
BIG_LAB = 50  # labs with more events than this must meet the targets


@dataclass
class EvalSet:
    """One labelled set of events to score on its own."""

    name: str
    events: pd.DataFrame  # label and provenance columns removed
    labels: np.ndarray  # 1 attack, 0 benign or side effect
    recordings: np.ndarray  # recording of each row (for "recordings hit")
    big: bool = True


@dataclass
class Row:
    """One method's figures on one set."""

    method: str
    set_name: str
    metrics: dict
    note: str = ""
    settings: dict = field(default_factory=dict)


# Loading ---------------------------------------------------------------------
def load_sets(shared: Path) -> list[EvalSet]:
    """Read the labelled events and split them into the sets scored."""
    data = shared / "data"
    otrf_path, whm_path = data / OTRF_FILE, data / WINHOSTMON_FILE
    for path in (otrf_path, whm_path):
        if not path.is_file():
            raise SystemExit(
                f"{path} not found: pass --shared with the folder holding data/ "
                "(or set PROCANOM_SHARED)"
            )
    otrf = pd.read_csv(otrf_path, dtype=str, keep_default_na=False, na_values=[""])
    whm = pd.read_csv(whm_path, dtype=str, keep_default_na=False, na_values=[""])

    def make(name: str, frame: pd.DataFrame, label: str, big: bool) -> EvalSet:
        frame = frame.reset_index(drop=True)
        labels = (frame[label].astype(int) == 1).to_numpy().astype(int)
        recordings = (
            frame["dataset"].to_numpy(dtype=object)
            if "dataset" in frame
            else np.full(len(frame), name, dtype=object)
        )
        events = frame.drop(columns=[c for c in LABEL_COLUMNS if c in frame.columns])
        return EvalSet(name, events, labels, recordings, big)

    sets = [make("OTRF, all labs pooled", otrf, "is_attack", True)]
    for lab, group in otrf.groupby("lab", sort=True):
        sets.append(make(lab, group, "is_attack", len(group) > BIG_LAB))
    sets.append(make("winhostmon (msticpy host)", whm, "is_simulated_attack", False))
    return sets


# Scoring ---------------------------------------------------------------------
def _precision_at(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    if k <= 0 or len(scores) == 0:
        return math.nan
    order = np.argsort(-scores, kind="stable")[:k]
    return float(labels[order].mean())


def evaluate(
    method: str, params: dict, fields: tuple[str, ...], eval_set: EvalSet
) -> dict:
    """Score one set with one method and compare with the truth."""
    used = [f for f in fields if f in eval_set.events.columns]
    start = time.perf_counter()
    detector = make_detector(method, fields=used, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = detector.fit_score(eval_set.events)
    seconds = time.perf_counter() - start

    scores = result.annotated["anomaly_score"].to_numpy(dtype=float)
    flagged = result.annotated["isOutlier"].to_numpy() == 1
    labels = eval_set.labels
    attacks = int(labels.sum())
    two_classes = 0 < attacks < len(labels)
    attack_recordings = set(eval_set.recordings[labels == 1])
    hit_recordings = set(eval_set.recordings[(labels == 1) & flagged])
    return {
        "events": len(labels),
        "attacks": attacks,
        "auc": roc_auc_score(labels, scores) if two_classes else math.nan,
        "ap": average_precision_score(labels, scores) if two_classes else math.nan,
        "p_at_k": _precision_at(labels, scores, attacks),
        "p_at_20": _precision_at(labels, scores, 20),
        "flagged": int(flagged.sum()),
        "recall": float((flagged & (labels == 1)).sum() / attacks)
        if attacks
        else math.nan,
        "false_positives": int((flagged & (labels == 0)).sum()),
        "recordings_hit": len(hit_recordings),
        "recordings": len(attack_recordings),
        "seconds": seconds,
        "fields": used,
    }


def method_rows(sets: list[EvalSet]) -> list[Row]:
    """Every registered method with its defaults, plus Splunk's reference."""
    specs = [
        (
            "histogram, Splunk reference",
            "histogram",
            {"cutoff": False},
            REFERENCE_FIELDS,
        )
    ]
    for name in METHODS:
        label = f"{name} (default)" if name == DEFAULT_METHOD else name
        specs.append((label, name, {}, FIELDS))
    rows = []
    for label, method, params, fields in specs:
        for eval_set in sets:
            metrics = evaluate(method, params, fields, eval_set)
            rows.append(Row(label, eval_set.name, metrics, settings=params))
            logger.info("%s on %s: AUC %.3f", label, eval_set.name, metrics["auc"])
    return rows


def _grid() -> list[dict]:
    keys = list(CONDITIONAL_GRID)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*CONDITIONAL_GRID.values())
    ]


def leave_one_lab_out(sets: list[EvalSet]) -> tuple[list[Row], dict]:
    """Choose the conditional method's settings without looking at the set scored.

    Returns the held-out rows and the settings chosen most often.
    """
    singles = [s for s in sets if not s.name.startswith("OTRF, all")]
    pooled = [s for s in sets if s.name.startswith("OTRF, all")]
    grid = _grid()
    quality = {}  # (setting index, set name) -> mean of AUC and AP
    for i, params in enumerate(grid):
        for eval_set in singles:
            m = evaluate(LOLO_METHOD, params, FIELDS, eval_set)
            quality[i, eval_set.name] = (
                np.nanmean([m["auc"], m["ap"]])
                if not math.isnan(m["auc"])
                else math.nan
            )

    rows, chosen = [], []
    for held_out in singles:
        others = [s.name for s in singles if s.name != held_out.name]
        means = [np.nanmean([quality[i, o] for o in others]) for i in range(len(grid))]
        best = int(np.nanargmax(means))
        chosen.append(best)
        metrics = evaluate(LOLO_METHOD, grid[best], FIELDS, held_out)
        rows.append(
            Row(
                "conditional, held-out settings",
                held_out.name,
                metrics,
                settings=grid[best],
            )
        )
    default = grid[Counter(chosen).most_common(1)[0][0]]
    for eval_set in pooled:
        # The pooled set holds every lab, so no lab can be held out of it:
        # it gets the settings chosen most often.
        metrics = evaluate(LOLO_METHOD, default, FIELDS, eval_set)
        rows.append(
            Row(
                "conditional, held-out settings",
                eval_set.name,
                metrics,
                settings=default,
            )
        )
    return rows, default


# Reporting -------------------------------------------------------------------
def _fmt(value: float, digits: int = 3) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def _target_ap(reference_ap: float) -> float:
    return min(2 * reference_ap, (reference_ap + 1) / 2)


def _target_lines(
    rows: list[Row], sets: list[EvalSet], references: dict, method: str
) -> list[str]:
    role = "the default method" if method == DEFAULT_METHOD else "proposed as default"
    lines = [
        "",
        f"Targets for {method} ({role}): ROC AUC >= {TARGET_AUC} and AP >= "
        "min(2 x reference AP, halfway from reference AP to 1), with default "
        "settings:",
        "",
    ]
    for eval_set in sets:
        if not eval_set.big:
            continue
        reference = references[eval_set.name].metrics["ap"]
        target = _target_ap(reference)
        for row in rows:
            if row.set_name != eval_set.name or row.method.split(" (")[0] != method:
                continue
            m = row.metrics
            ok = m["auc"] >= TARGET_AUC and m["ap"] >= target
            lines.append(
                f"- {eval_set.name}: AUC {_fmt(m['auc'])}, AP {_fmt(m['ap'])} "
                f"(AP target {target:.3f}, reference {reference:.3f}): "
                f"{'met' if ok else 'NOT met'}"
            )
    return lines


def render(rows: list[Row], sets: list[EvalSet], default: dict | None) -> str:
    """Return the table (markdown) and the target check."""
    header = (
        "| set | method | ROC AUC | AP | P@k | P@20 | flagged | recall | FP "
        "| recordings hit | s |"
    )
    lines = [header, "|" + "---|" * 11]
    references = {
        r.set_name: r for r in rows if r.method.startswith("histogram, Splunk")
    }
    for eval_set in sets:
        first = True
        for row in (r for r in rows if r.set_name == eval_set.name):
            m = row.metrics
            name = (
                f"{eval_set.name} ({m['events']} events, {m['attacks']} attacks)"
                if first
                else ""
            )
            first = False
            lines.append(
                f"| {name} | {row.method} | {_fmt(m['auc'])} | {_fmt(m['ap'])} "
                f"| {_fmt(m['p_at_k'], 2)} | {_fmt(m['p_at_20'], 2)} | {m['flagged']} "
                f"| {_fmt(m['recall'], 2)} | {m['false_positives']} "
                f"| {m['recordings_hit']}/{m['recordings']} | {m['seconds']:.2f} |"
            )

    checks = []
    for method in dict.fromkeys((DEFAULT_METHOD, PROPOSED_DEFAULT)):
        checks += _target_lines(rows, sets, references, method)
    if default is not None:
        checks += [
            "",
            "Leave-one-lab-out settings chosen most often: "
            + ", ".join(f"{k}={v}" for k, v in default.items()),
        ]
        held = [r for r in rows if r.method.startswith("conditional, held-out")]
        for row in held:
            checks.append(
                f"- {row.set_name}: "
                + ", ".join(f"{k}={v}" for k, v in row.settings.items())
            )
    return "\n".join(lines + checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("PROCANOM_SHARED", REPO_ROOT.parent / "shared")),
        help="folder holding data/ (default: ../shared beside the repository)",
    )
    parser.add_argument(
        "--markdown", type=Path, help="also write the table to this file"
    )
    parser.add_argument(
        "--no-lolo", action="store_true", help="skip the settings search"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    sets = load_sets(args.shared)
    rows = method_rows(sets)
    default = None
    if not args.no_lolo and LOLO_METHOD in METHODS:
        held, default = leave_one_lab_out(sets)
        rows += held
    table = render(rows, sets, default)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
