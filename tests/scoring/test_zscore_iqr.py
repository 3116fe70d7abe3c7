"""Splunk's anomalousvalue (method=zscore) and outlier (method=iqr) commands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from procanom.errors import ParameterError
from procanom.scoring import IQRDetector, ThresholdRule, ZScoreDetector, detect


@pytest.fixture
def events() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "Name": ["svchost.exe"] * 300 + ["cmd.exe"] * 99 + ["rare.exe"],
            "CommandLine": [f"x.exe --id {i}" for i in range(n)],  # all unique
            "Bytes": rng.normal(1000, 50, n).round(),
        }
    )
    frame.loc[7, "Bytes"] = 5000
    return frame


def test_zscore_flags_rare_categories_and_far_numbers(events):
    result = detect(
        events, ["Name", "Bytes"], method="zscore", numeric_fields=["Bytes"]
    )
    flagged = set(result.outliers().index)
    assert flagged == {7, 399}
    assert result.annotated.loc[399, "probable_cause"] == "Name"
    assert result.annotated.loc[7, "probable_cause"] == "Bytes"
    assert result.threshold == ThresholdRule("pthresh", 0.01)


def test_zscore_annotate_adds_per_field_scores(events):
    result = detect(
        events, ["Name", "Bytes"], method="zscore", numeric_fields=["Bytes"]
    )
    annotated = result.annotated
    assert annotated.loc[399, "Anomaly_Score_Cat(Name)"] == pytest.approx(
        -math.log(1 / 400)
    )
    assert annotated.loc[0, "Anomaly_Score_Cat(Name)"] == pytest.approx(
        -math.log(300 / 400)
    )
    z = (5000 - events["Bytes"].mean()) / events["Bytes"].std(ddof=0)
    expected = -math.log(math.erfc(z / math.sqrt(2)))
    assert annotated.loc[7, "Anomaly_Score_Num(Bytes)"] == pytest.approx(
        expected, rel=1e-6
    )
    assert (
        annotated.loc[7, "anomaly_score"]
        == annotated.loc[7, "Anomaly_Score_Num(Bytes)"]
    )


def test_zscore_drops_a_field_that_is_anomalous_everywhere(events):
    result = detect(events, ["Name", "CommandLine"], method="zscore")
    assert "CommandLine" in result.summary["fields_dropped"]
    assert "maxanofreq" in result.summary["fields_dropped"]["CommandLine"]
    assert "Anomaly_Score_Cat(CommandLine)" not in result.annotated.columns
    assert any("CommandLine" in w for w in result.warnings)


def test_zscore_drops_fields_with_too_little_support(events):
    small = events.iloc[:50]
    result = detect(small, ["Name"], method="zscore")
    assert "minsupcount" in result.summary["fields_dropped"]["Name"]
    assert result.num_outliers == 0
    sparse = events.assign(Name=[None] * 390 + ["a.exe"] * 10)
    result = detect(sparse, ["Name"], method="zscore", minsupcount=1)
    assert "minsupfreq" in result.summary["fields_dropped"]["Name"]


@pytest.mark.parametrize(("param", "value"), [("pthresh", 0.0), ("maxanofreq", 2.0)])
def test_zscore_bad_parameters_raise(events, param, value):
    with pytest.raises(ParameterError, match=param):
        ZScoreDetector(["Name"], **{param: value}).fit(events)


def test_iqr_flags_values_above_the_upper_fence_only_by_default():
    values = [10, 11, 12, 13, 14, 15, 16, 17, 100, -100]
    frame = pd.DataFrame({"n": values})
    q1, q3 = np.percentile(values, [25, 75])
    result = detect(frame, ["n"], method="iqr")
    assert result.outliers()["n"].tolist() == [100]
    assert result.summary["upper(n)"] == pytest.approx(q3 + 2.5 * (q3 - q1))
    both = detect(frame, ["n"], method="iqr", uselower=True)
    assert both.outliers()["n"].tolist() == [100, -100]
    assert both.summary["lower(n)"] == pytest.approx(q1 - 2.5 * (q3 - q1))


def test_iqr_transform_clips_to_the_fence_and_marks():
    frame = pd.DataFrame({"n": [10, 11, 12, 13, 14, 15, 16, 17, 100], "host": "A"})
    result = detect(frame, ["n"], method="iqr")
    upper = result.summary["upper(n)"]
    clipped = result.table("transform")
    assert clipped["n"].iloc[-1] == pytest.approx(upper)
    assert clipped["n"].iloc[:-1].tolist() == frame["n"].iloc[:-1].tolist()
    marked = detect(frame, ["n"], method="iqr", mark=True).table("transform")
    assert marked["n"].iloc[-1] == f"000{upper:g}"


def test_iqr_remove_drops_outlying_events_and_relabel_keeps_actions():
    frame = pd.DataFrame({"n": [10, 11, 12, 13, 14, 15, 16, 17, 100]})
    result = detect(frame, ["n"], method="iqr")
    assert result.table("remove")["n"].tolist() == frame["n"].iloc[:-1].tolist()
    relabelled = result.relabel(ThresholdRule("top", 2))
    assert len(relabelled.table("remove")) == len(frame) - 2
    with pytest.raises(ParameterError, match="action"):
        result.table("explode")


def test_iqr_warns_about_fields_without_numbers():
    frame = pd.DataFrame({"Name": ["a.exe", "b.exe"], "n": [1, 2]})
    result = IQRDetector(["Name", "n"]).fit_score(frame)
    assert any("Name" in w for w in result.warnings)
    assert (result.annotated["anomaly_score"] >= 0).all()
