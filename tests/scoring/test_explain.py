"""Explanations: every number is a fresh count over the data."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from procanom.errors import ParameterError
from procanom.experiment import DEFAULT_FIELDS
from procanom.explain import (
    Combination,
    Quoted,
    ValueCount,
    explain,
    explain_outliers,
)
from procanom.normalize import normalize
from procanom.scoring import METHODS, ThresholdRule, detect, make_detector
from procanom.scoring.conditional import INHERITED_CAUSE

LABELS = (
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
)
FIELDS = list(DEFAULT_FIELDS)


@pytest.fixture(scope="module")
def pandalab(shared_data) -> pd.DataFrame:
    frame = pd.read_csv(
        shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv"
    )
    frame = frame[frame["lab"].str.startswith("pandalab")]
    return frame.drop(columns=list(LABELS))


@pytest.fixture(scope="module")
def scored(pandalab):
    return detect(pandalab, FIELDS, method="conditional")


KINDS = {
    "Name": "name",
    "ParentName": "name",
    "Path": "path",
    "ParentPath": "path",
    "CommandLine": "command_line",
    "ParentCommandLine": "command_line",
    "host": "text",
    "User": "text",
}


def _keys(frame: pd.DataFrame, field: str) -> pd.Series:
    return normalize(frame[field], KINDS[field])


def test_explain_value_counts_equal_a_fresh_count(pandalab, scored):
    row = scored.annotated["anomaly_score"].idxmax()
    explanation = explain(scored, pandalab, row)
    hosts = pandalab["host"].str.lower()
    for value in explanation.values:
        mask = (_keys(pandalab, value.field) == value.key).to_numpy()
        assert value.count == mask.sum()
        assert value.total == len(pandalab)
        assert value.hosts == hosts[mask].nunique()
        assert value.total_hosts == hosts.nunique()
        first = pd.to_datetime(pandalab.loc[mask, "_time"], utc=True).min()
        assert value.first_seen == first.strftime("%Y-%m-%d %H:%M:%S")
    combo = explanation.rarest_combination
    together = (_keys(pandalab, combo.first.field) == combo.first.key) & (
        _keys(pandalab, combo.second.field) == combo.second.key
    )
    assert combo.together == together.sum()


def test_explain_exact_values_for_the_histogram(pandalab):
    result = detect(pandalab, ["Name", "host"], method="histogram", cutoff=False)
    row = result.outliers().index[0]
    explanation = explain(result, pandalab, row)
    for value in explanation.values:
        assert value.count == (pandalab[value.field] == value.value).sum()
        assert value.key == value.value
    # The histogram's parts are -ln(frequency) of each field.
    freq = (pandalab["Name"] == pandalab.loc[row, "Name"]).mean()
    name_part = next(c for c in explanation.contributions if c.field == "Name")
    assert name_part.surprisal == pytest.approx(-math.log(freq))


def test_explain_text_and_plain_data(pandalab, scored):
    explanations = explain_outliers(scored, pandalab, limit=3)
    assert 0 < len(explanations) <= 3
    scores = [e.score for e in explanations]
    assert scores == sorted(scores, reverse=True)
    for e in explanations:
        text = e.text()
        assert f"Event {e.row}" in text
        assert "of 987 events" in text
        json.dumps(e.to_dict())
        assert abs(sum(c.share for c in e.contributions) - 1) < 1e-9


def test_explain_shows_parent_children_and_inherited_score(pandalab, scored):
    inherited = scored.annotated["inherited_from"].dropna()
    row = inherited.index[0]
    explanation = explain(scored, pandalab, row)
    assert explanation.inherited_from == inherited.iloc[0]
    assert explanation.parent is not None
    parent_guid = pandalab.loc[row, "ParentProcessGuid"]
    assert pandalab.loc[explanation.parent["row"], "ProcessGuid"] == parent_guid
    children = explain(scored, pandalab, explanation.parent["row"]).children
    assert row in [c["row"] for c in children]
    assert "inherited from ancestor" in explanation.text()


@pytest.mark.parametrize("method", list(METHODS))
def test_explain_works_for_every_method(method, pandalab):
    fields = ["ProcessId"] if method == "iqr" else FIELDS
    result = make_detector(method, fields=fields).fit_score(pandalab)
    row = result.annotated["anomaly_score"].idxmax()
    explanation = explain(result, pandalab, row)
    assert explanation.method == method
    assert explanation.values


def test_explain_rejects_a_row_or_frame_that_was_not_scored(pandalab, scored):
    with pytest.raises(ParameterError, match="row_index"):
        explain(scored, pandalab, -5)
    with pytest.raises(ParameterError, match="frame"):
        explain(scored, pandalab.iloc[:10], pandalab.index[0])


@pytest.mark.parametrize(
    ("count", "words"), [(0, "nothing flagged"), (10_000, "every event flagged")]
)
def test_explain_rule_says_what_the_threshold_flagged(count, words):
    frame = pd.DataFrame(
        {"Name": ["svchost.exe"] * 20 + ["a.exe", "b.exe"], "host": ["H"] * 22}
    )
    result = detect(frame, ["Name", "host"], method="histogram").relabel(
        ThresholdRule("top", count)
    )
    explanation = explain(result, frame, 20)
    assert explanation.rule == f"the {count} most unusual events — {words}"
    assert "inf" not in explanation.text()


def test_explain_rule_counts_ties_with_the_last_asked_for():
    frame = pd.DataFrame({"Name": ["svchost.exe"] * 20 + ["a.exe", "b.exe"]})
    result = detect(frame, ["Name"], method="histogram").relabel(
        ThresholdRule("top", 1)
    )
    (first, _) = explain_outliers(result, frame)
    assert "2 flagged: 1 asked for, 1 more ties with the last" in first.rule
    assert "at or above" in first.text()


def test_explain_inherited_outlier_names_its_ancestor_as_the_cause():
    rows = [(f"e{i}", "", "explorer.exe", "cmd.exe") for i in range(30)]
    rows += [(f"w{i}", f"e{i}", "cmd.exe", "whoami.exe") for i in range(30)]
    rows += [
        ("p", "", "explorer.exe", "payload.exe"),
        ("c", "p", "payload.exe", "cmd.exe"),
        ("x", "c", "cmd.exe", "whoami.exe"),
    ]
    frame = pd.DataFrame(
        rows, columns=["ProcessGuid", "ParentProcessGuid", "ParentName", "Name"]
    )
    frame["ParentProcessGuid"] = frame["ParentProcessGuid"].replace("", None)
    result = detect(frame, ["Name"], method="conditional")
    x = int(frame.index[frame["ProcessGuid"] == "x"][0])

    explanation = explain(result, frame, x)

    assert explanation.probable_cause == INHERITED_CAUSE
    (cause,) = [line for line in explanation.text().splitlines() if "cause" in line]
    assert cause.startswith(
        f"Probable cause: inherited from ancestor event {explanation.inherited_from}"
    )
    assert "the score's largest part" not in explanation.text()
    assert explanation.text().count("inherited from ancestor") == 1


def test_explain_lines_set_event_values_apart_from_the_words(pandalab, scored):
    (explanation,) = explain_outliers(scored, pandalab, limit=1)
    lines = explanation.lines()
    quoted = [p.text for line in lines for p in line if isinstance(p, Quoted)]
    assert explanation.rarest_value.value[:79] in " ".join(quoted)
    words = "".join(p for line in lines for p in line if isinstance(p, str))
    assert "`" not in words
    rendered = "\n".join(
        "".join(p if isinstance(p, str) else f"`{p.text}`" for p in line)
        for line in lines
    )
    assert rendered == explanation.text()


@pytest.mark.parametrize(
    ("together", "count", "share"),
    [
        (1, 1, "the only event with that ParentName"),
        (4, 4, "all 4 events with that ParentName"),
        (2, 40, "2 of the 40 events with that ParentName"),
    ],
)
def test_combination_text_says_how_many_share_the_second_value(together, count, share):
    name = ValueCount("Name", "cmd.exe", "cmd.exe", 50, 100)
    parent = ValueCount("ParentName", "w3wp.exe", "w3wp.exe", count, 100)
    text = Combination(name, parent, together).text()
    assert text.endswith(f"({share})")
