"""One checklist, run on every registered scoring method.

Output shape and columns, score direction, determinism, empty and one-row
input, missing fields, saving and reloading, and a ROC AUC floor on seeded
synthetic data with planted anomalies: rare values for every method that
judges categories, unusual combinations of common values for the
combination-aware ones, extreme numbers for the numeric ones.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from procanom.errors import ParameterError
from procanom.scoring import (
    METHODS,
    SCORE_COLUMNS,
    BaseDetector,
    ThresholdRule,
    make_detector,
)
from procanom.scoring.conditional import INHERITED_CAUSE

FIELDS = ["ParentName", "Name", "Path", "CommandLine", "host", "User"]

#: Which planted anomalies each method must find (default: rare values).
COMBINATION_AWARE = {"conditional"}
NUMERIC_PARAMS = {
    "histogram": {"numeric_fields": ["Handles"]},
    "zscore": {"numeric_fields": ["Handles"]},
    "iqr": {},
}
CATEGORICAL = [m for m in METHODS if m != "iqr"]

_CHILDREN = {
    "services.exe": ["svchost.exe", "spoolsv.exe", "msiexec.exe"],
    "explorer.exe": ["chrome.exe", "outlook.exe", "cmd.exe", "notepad.exe"],
    "svchost.exe": ["taskhostw.exe", "wmiprvse.exe", "dllhost.exe"],
}


def synthetic(plant: str, n: int = 3000, planted: int = 12, seed: int = 0):
    """Common process events with ``planted`` anomalies; returns (frame, labels)."""
    rng = np.random.default_rng(seed)
    parents = rng.choice(list(_CHILDREN), size=n, p=[0.3, 0.4, 0.3])
    names = np.array([rng.choice(_CHILDREN[p]) for p in parents], dtype=object)
    hosts = rng.choice([f"WKS-{i:02d}" for i in range(12)], size=n)
    users = np.where(parents == "explorer.exe", "CORP\\alice", "NT AUTHORITY\\SYSTEM")
    handles = rng.normal(500, 40, size=n).round()
    labels = np.zeros(n, dtype=int)
    where = rng.choice(n, size=planted, replace=False)
    labels[where] = 1
    if plant == "value":
        names[where] = [f"tool{i}.exe" for i in range(planted)]
    elif plant == "combination":
        # Each value is common; their meeting is not: services.exe never
        # starts chrome.exe anywhere else in the data.
        parents[where] = "services.exe"
        names[where] = "chrome.exe"
    elif plant == "numeric":
        handles[where] = rng.normal(5000, 100, size=planted).round()
    frame = pd.DataFrame(
        {
            "ParentName": parents,
            "Name": names,
            "Path": [f"C:\\Windows\\System32\\{x}" for x in names],
            "CommandLine": [f"{x} --run" for x in names],
            "host": hosts,
            "User": users,
            "Handles": handles,
        }
    )
    return frame, labels


@pytest.fixture(scope="module")
def common_events() -> pd.DataFrame:
    frame, _ = synthetic("value", n=400, planted=4, seed=3)
    frame.index = pd.RangeIndex(1000, 1400)  # labels that are not positions
    return frame


def _fields(method: str) -> list[str]:
    return ["Handles"] if method == "iqr" else FIELDS


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_annotate_keeps_rows_in_order_and_appends_score_columns(
    method, common_events
):
    result = make_detector(method, fields=_fields(method)).fit_score(common_events)
    annotated = result.table("annotate")
    assert len(annotated) == len(common_events)
    assert annotated.index.equals(common_events.index)
    assert list(annotated.columns[: common_events.shape[1]]) == list(
        common_events.columns
    )
    assert list(annotated.columns[-len(SCORE_COLUMNS) :]) == list(SCORE_COLUMNS)
    pd.testing.assert_frame_equal(annotated[common_events.columns], common_events)
    assert set(annotated["isOutlier"].unique()) <= {0, 1}
    assert np.isfinite(annotated["anomaly_score"].to_numpy(dtype=float)).all()
    assert result.num_events == len(common_events)
    assert result.model is not None


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_filter_and_summary_actions(method, common_events):
    result = make_detector(method, fields=_fields(method)).fit_score(common_events)
    flagged = result.table("filter")
    assert (flagged["isOutlier"] == 1).all()
    assert len(flagged) == result.num_outliers
    summary = result.table("summary")
    assert len(summary) == 1
    assert summary["num_events"].iloc[0] == len(common_events)


@pytest.mark.parametrize("method", CATEGORICAL)
def test_checklist_rare_value_scores_higher(method):
    frame, labels = synthetic("value", n=600, planted=3, seed=1)
    scores = (
        make_detector(method, fields=FIELDS).fit_score(frame).annotated["anomaly_score"]
    )
    assert scores[labels == 1].min() > scores[labels == 0].median()


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_is_deterministic(method, common_events):
    first = make_detector(method, fields=_fields(method)).fit_score(common_events)
    second = make_detector(method, fields=_fields(method)).fit_score(
        common_events.copy()
    )
    pd.testing.assert_frame_equal(first.annotated, second.annotated)


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_empty_input_gives_empty_result(method, common_events):
    empty = common_events.iloc[:0]
    result = make_detector(method, fields=_fields(method)).fit_score(empty)
    assert len(result.annotated) == 0
    assert result.num_outliers == 0
    assert list(result.annotated.columns[-len(SCORE_COLUMNS) :]) == list(SCORE_COLUMNS)


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_single_row_is_not_an_outlier(method, common_events):
    one = common_events.iloc[:1]
    result = make_detector(method, fields=_fields(method)).fit_score(one)
    assert len(result.annotated) == 1
    assert result.num_outliers == 0
    assert np.isfinite(result.annotated["anomaly_score"].to_numpy(dtype=float)).all()


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_missing_fields_raise_parameter_error_naming_them(
    method, common_events
):
    detector = make_detector(method, fields=["Name", "NoSuchField", "AlsoMissing"])
    with pytest.raises(ParameterError) as info:
        detector.fit_score(common_events)
    assert "NoSuchField" in str(info.value)
    assert "AlsoMissing" in str(info.value)


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_scoring_before_fitting_raises(method, common_events):
    with pytest.raises(ParameterError, match="fitted"):
        make_detector(method, fields=_fields(method)).score(common_events)


@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_saved_model_reloads_to_identical_scores(method):
    baseline, _ = synthetic("value", n=500, planted=3, seed=4)
    window, _ = synthetic("combination", n=300, planted=5, seed=5)
    detector = make_detector(method, fields=_fields(method)).fit(baseline)
    saved = json.loads(json.dumps(detector.to_dict()))
    reloaded = BaseDetector.from_dict(saved)
    assert type(reloaded) is type(detector)
    before = detector.score(window).annotated
    after = reloaded.score(window).annotated
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("method", CATEGORICAL)
def test_checklist_rare_values_auc_at_least_0_9(method):
    frame, labels = synthetic("value")
    result = make_detector(method, fields=FIELDS).fit_score(frame)
    assert roc_auc_score(labels, result.annotated["anomaly_score"]) >= 0.9


@pytest.mark.parametrize("method", sorted(COMBINATION_AWARE & set(METHODS)))
def test_checklist_rare_combinations_auc_at_least_0_9(method):
    frame, labels = synthetic("combination")
    result = make_detector(method, fields=FIELDS).fit_score(frame)
    assert roc_auc_score(labels, result.annotated["anomaly_score"]) >= 0.9


@pytest.mark.parametrize("method", sorted(set(NUMERIC_PARAMS) & set(METHODS)))
def test_checklist_extreme_numbers_auc_at_least_0_9(method):
    frame, labels = synthetic("numeric")
    fields = ["Handles"] if method == "iqr" else ["Name", "Handles"]
    result = make_detector(method, fields=fields, **NUMERIC_PARAMS[method]).fit_score(
        frame
    )
    assert roc_auc_score(labels, result.annotated["anomaly_score"]) >= 0.9


def _linked_events() -> pd.DataFrame:
    """Common process trees on six hosts, and three started by payloads.

    Each payload starts ``cmd.exe``, which starts ``whoami.exe``: common
    values under an unusual ancestor, so the conditional method gives some
    events an inherited score. ``Handles`` is extreme on the payloads.
    """
    rows = []
    for i in range(150):
        host = f"WKS-{i % 6:02d}"
        rows.append((f"e{i}", None, "explorer.exe", "cmd.exe", host))
        rows.append((f"w{i}", f"e{i}", "cmd.exe", "whoami.exe", host))
        rows.append((f"s{i}", None, "services.exe", "svchost.exe", host))
    for j in range(3):
        rows.append((f"p{j}", None, "explorer.exe", f"payload{j}.exe", "WKS-00"))
        rows.append((f"c{j}", f"p{j}", f"payload{j}.exe", "cmd.exe", "WKS-00"))
        rows.append((f"x{j}", f"c{j}", "cmd.exe", "whoami.exe", "WKS-00"))
    columns = ["ProcessGuid", "ParentProcessGuid", "ParentName", "Name", "host"]
    frame = pd.DataFrame(rows, columns=columns)
    handles = np.random.default_rng(8).normal(500, 40, size=len(frame)).round()
    handles[frame["Name"].str.startswith("payload").to_numpy()] = 9000
    frame["Handles"] = handles
    return frame


_RULE_CHANGES = [
    (ThresholdRule("top", 3), ThresholdRule("percent", 30)),
    (ThresholdRule("percent", 30), ThresholdRule("top", 3)),
    (ThresholdRule("auto"), ThresholdRule("top", 0)),
]


@pytest.mark.parametrize(("before", "after"), _RULE_CHANGES)
@pytest.mark.parametrize("method", list(METHODS))
def test_checklist_relabel_equals_a_fresh_score_with_the_new_rule(
    method, before, after
):
    frame = _linked_events()
    fields = ["Handles"] if method == "iqr" else ["ParentName", "Name", "host"]
    scored = make_detector(method, fields=fields, threshold=before).fit_score(frame)

    relabelled = scored.relabel(after)
    fresh = make_detector(method, fields=fields, threshold=after).fit_score(frame)

    # The flags must move, and causes that are not field names must show,
    # for the comparison to say anything.
    moved = scored.annotated["isOutlier"] != fresh.annotated["isOutlier"]
    assert moved.any()
    if method == "conditional":
        shown = {
            *scored.annotated["probable_cause"],
            *fresh.annotated["probable_cause"],
        }
        assert INHERITED_CAUSE in shown
    pd.testing.assert_frame_equal(relabelled.annotated, fresh.annotated)
    assert (relabelled.threshold, relabelled.fence) == (fresh.threshold, fresh.fence)
    assert relabelled.summary.keys() == fresh.summary.keys()
    for key, value in fresh.summary.items():
        got = relabelled.summary[key]
        assert got == value or (pd.isna(got) and pd.isna(value)), key
    quiet = relabelled.annotated[relabelled.annotated["isOutlier"] == 0]
    assert (quiet["probable_cause"] == "").all()
    assert quiet["probable_cause_freq"].isna().all()
