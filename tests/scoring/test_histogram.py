"""The histogram method reproduces Splunk's anomalydetection, value for value."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from procanom.errors import ParameterError
from procanom.scoring import HistogramDetector, ThresholdRule, detect


@pytest.fixture
def events() -> pd.DataFrame:
    # 8 events; hand-countable frequencies.
    return pd.DataFrame(
        {
            "Name": ["svchost.exe"] * 5 + ["cmd.exe"] * 2 + ["mimikatz.exe"],
            "host": ["A", "A", "A", "B", "B", "A", "B", "B"],
        },
        dtype="string[pyarrow]",
    )


def test_histogram_log_event_prob_is_log_product_of_frequencies(events):
    result = detect(events, ["Name", "host"], cutoff=False, method="histogram")
    # Name: svchost 5/8, cmd 2/8, mimikatz 1/8; host: A 4/8, B 4/8.
    expected = [math.log(5 / 8 * 4 / 8)] * 5 + [math.log(2 / 8 * 4 / 8)] * 2
    expected.append(math.log(1 / 8 * 4 / 8))
    np.testing.assert_allclose(result.annotated["log_event_prob"], expected)
    np.testing.assert_allclose(result.annotated["anomaly_score"], -np.asarray(expected))
    np.testing.assert_allclose(result.annotated["max_freq"], [5 / 8] * 5 + [0.5] * 3)


def test_histogram_cutoff_false_is_q1_minus_1_5_iqr(events):
    result = detect(events, ["Name", "host"], cutoff=False, method="histogram")
    log_prob = result.annotated["log_event_prob"].to_numpy()
    q1, q3 = np.percentile(log_prob, [25, 75])
    assert result.summary["thresh"] == pytest.approx(q1 - 1.5 * (q3 - q1))
    assert result.summary["1st_quartile"] == pytest.approx(q1)
    assert result.summary["3rd_quartile"] == pytest.approx(q3)
    expected = (log_prob < q1 - 1.5 * (q3 - q1)).astype(int)
    assert result.annotated["isOutlier"].tolist() == expected.tolist()


def test_histogram_threshold_parity_on_random_data():
    # Splunk's fence on log_event_prob and ours on the negated score agree
    # exactly, boundary included.
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {f"f{i}": rng.zipf(1.6, 5000).astype(str) for i in range(3)}
    ).astype("string[pyarrow]")
    for cutoff in (False, True):
        result = detect(frame, list(frame.columns), cutoff=cutoff, method="histogram")
        log_prob = result.annotated["log_event_prob"].to_numpy()
        q1, q3 = np.percentile(log_prob, [25, 75])
        k = 3.0 if cutoff else 1.5
        flags = log_prob < q1 - k * (q3 - q1)
        assert (result.annotated["isOutlier"].to_numpy() == flags).all()


def test_histogram_cutoff_true_outliers_are_subset_of_cutoff_false():
    # Skewed common values plus three planted rare pairs.
    rng = np.random.default_rng(3)
    weights = 0.7 ** np.arange(12)
    weights /= weights.sum()
    a = rng.choice([f"a{i}" for i in range(12)], 3000, p=weights).astype(object)
    b = rng.choice([f"b{i}" for i in range(12)], 3000, p=weights).astype(object)
    a[:3] = b[:3] = ["r1", "r2", "r3"]
    frame = pd.DataFrame({"a": a, "b": b})
    strict = (
        detect(frame, ["a", "b"], method="histogram").annotated["isOutlier"].to_numpy()
    )
    loose = detect(frame, ["a", "b"], cutoff=False, method="histogram").annotated[
        "isOutlier"
    ]
    loose = loose.to_numpy()
    assert loose.sum() > strict.sum() > 0
    assert not (strict & ~loose).any()


def test_histogram_pthresh_flags_probability_below(events):
    result = detect(events, ["Name", "host"], pthresh=0.1, method="histogram")
    probability = np.exp(result.annotated["log_event_prob"])
    assert (
        result.annotated["isOutlier"].tolist()
        == (probability < 0.1).astype(int).tolist()
    )
    assert result.summary["thresh"] == pytest.approx(math.log(0.1))


def test_histogram_probable_cause_set_on_outliers_only(events):
    result = detect(events, ["Name", "host"], pthresh=0.1, method="histogram")
    annotated = result.annotated
    outlier = annotated["isOutlier"] == 1
    assert annotated.loc[outlier, "probable_cause"].tolist() == ["Name"]
    assert (annotated.loc[~outlier, "probable_cause"] == "").all()
    assert annotated.loc[outlier, "probable_cause_freq"].tolist() == [1 / 8]
    assert annotated.loc[~outlier, "probable_cause_freq"].isna().all()


def test_histogram_probable_cause_ties_go_to_first_listed_field():
    frame = pd.DataFrame({"a": ["x"] * 9 + ["rare"], "b": ["y"] * 9 + ["odd"]})
    for fields in (["a", "b"], ["b", "a"]):
        result = detect(frame, fields, pthresh=0.5, method="histogram")
        assert result.outliers()["probable_cause"].tolist() == [fields[0]]


def test_histogram_missing_and_empty_values_are_one_value_and_keep_rows():
    frame = pd.DataFrame({"CommandLine": ["a", None, "", "a", np.nan, "a"]})
    result = detect(frame, ["CommandLine"], cutoff=False, method="histogram")
    assert len(result.annotated) == 6
    freqs = np.exp(result.annotated["log_event_prob"]).round(6).tolist()
    assert freqs == [0.5] * 6


def test_histogram_multivalue_lists_are_one_stable_value():
    frame = pd.DataFrame(
        {"user": [["b", "a"], ["a", "b"], "a", ["a", "a", "b"]]}, dtype=object
    )
    result = detect(frame, ["user"], cutoff=False, method="histogram")
    freqs = np.exp(result.annotated["log_event_prob"]).round(6).tolist()
    assert freqs == [0.75, 0.75, 0.25, 0.75]


def test_histogram_numeric_field_is_binned():
    frame = pd.DataFrame({"size": [str(v) for v in [10, 11, 12, 10, 11, 5000]]})
    as_text = detect(frame, ["size"], cutoff=False, method="histogram").annotated[
        "log_event_prob"
    ]
    binned = detect(
        frame, ["size"], cutoff=False, numeric_fields=["size"], method="histogram"
    )
    # Categorical: 10 and 11 occur twice, 12 and 5000 once. Binned: the
    # small sizes share a bin, 5000 sits alone.
    assert as_text.round(6).nunique() == 2
    log_prob = binned.annotated["log_event_prob"].to_numpy()
    assert log_prob[-1] == log_prob.min()
    assert np.isclose(log_prob[:5], np.log(5 / 6)).all()


def test_histogram_numeric_field_non_numbers_share_a_bin():
    frame = pd.DataFrame({"SessionId": ["0", "1", "Services", "", "0", "1"]})
    result = detect(
        frame,
        ["SessionId"],
        numeric_fields=["SessionId"],
        cutoff=False,
        method="histogram",
    )
    assert len(result.annotated) == 6
    freqs = np.exp(result.annotated["log_event_prob"]).round(6)
    assert freqs.iloc[2] == freqs.iloc[3] == round(2 / 6, 6)


def test_histogram_numeric_looking_ids_are_categories_by_default():
    frame = pd.DataFrame({"LogonId": ["0x3e7", "999", "0x3e7", "1000"]})
    result = detect(frame, ["LogonId"], cutoff=False, method="histogram")
    freqs = np.exp(result.annotated["log_event_prob"]).round(6).tolist()
    assert freqs == [0.5, 0.25, 0.5, 0.25]


def test_histogram_annotate_filter_summary_actions(events):
    result = detect(events, ["Name", "host"], pthresh=0.1, method="histogram")
    assert len(result.table("annotate")) == len(events)
    assert result.table("filter")["Name"].tolist() == ["mimikatz.exe"]
    summary = result.table("summary")
    assert list(summary.columns[:6]) == [
        "num_anomalies",
        "thresh",
        "max_logprob",
        "min_logprob",
        "1st_quartile",
        "3rd_quartile",
    ]
    assert summary["num_anomalies"].iloc[0] == 1
    with pytest.raises(ParameterError, match="action"):
        result.table("explode")


def test_histogram_output_columns_follow_input_columns(events):
    annotated = detect(events, ["Name"], method="histogram").annotated
    assert list(annotated.columns) == [
        "Name",
        "host",
        "log_event_prob",
        "probable_cause",
        "probable_cause_freq",
        "max_freq",
        "anomaly_score",
        "isOutlier",
    ]
    assert annotated.index.equals(events.index)


def test_histogram_scores_new_events_against_fitted_baseline(events):
    detector = HistogramDetector(["Name"], pthresh=0.2).fit(events)
    fresh = pd.DataFrame({"Name": ["svchost.exe", "rclone.exe"], "host": ["A", "C"]})
    log_prob = detector.score(fresh).annotated["log_event_prob"].to_numpy()
    np.testing.assert_allclose(log_prob, np.log([5 / 8, 1 / 9]))


def test_histogram_fit_score_equals_fit_then_score(events):
    detector = HistogramDetector(["Name", "host"], cutoff=False)
    together = detector.fit_score(events).annotated
    apart = detector.fit(events).score(events).annotated
    pd.testing.assert_frame_equal(together, apart)


def test_histogram_identical_events_flag_nothing():
    frame = pd.DataFrame({"Name": ["a.exe"] * 50})
    assert detect(frame, ["Name"], cutoff=False, method="histogram").num_outliers == 0


def test_histogram_empty_and_single_row_input():
    empty = pd.DataFrame({"Name": pd.Series([], dtype="string[pyarrow]")})
    result = detect(empty, ["Name"], method="histogram")
    assert result.num_events == 0 and result.num_outliers == 0
    single = detect(pd.DataFrame({"Name": ["x"]}), ["Name"], method="histogram")
    assert single.num_outliers == 0
    assert single.annotated["log_event_prob"].iloc[0] == 0.0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"fields": []}, "fields must be at least one field name"),
        ({"fields": ["Nope"]}, "names of columns in the data"),
        ({"fields": ["Name", "Name"]}, "distinct field names"),
        ({"fields": ["Name"], "pthresh": 2}, "pthresh must be a probability"),
        ({"fields": ["Name"], "numeric_fields": ["host"]}, "numeric_fields"),
    ],
)
def test_histogram_bad_parameters_name_what_is_allowed(events, params, match):
    with pytest.raises(ParameterError, match=match):
        HistogramDetector(**params).fit_score(events)


def test_histogram_relabel_changes_flags_without_rescoring(events):
    result = detect(events, ["Name", "host"], method="histogram")
    top = result.relabel(ThresholdRule("top", 1))
    assert top.outliers()["Name"].tolist() == ["mimikatz.exe"]
    assert top.annotated["anomaly_score"].equals(result.annotated["anomaly_score"])


def test_histogram_relabel_fills_probable_cause_of_new_outliers(events):
    strict = detect(events, ["Name", "host"], pthresh=0.1, method="histogram")
    loose = strict.relabel(ThresholdRule("top", 3))
    flagged = loose.outliers()
    assert len(flagged) == 3
    assert (flagged["probable_cause"] != "").all()
    assert (
        loose.annotated.loc[loose.annotated.isOutlier == 0, "probable_cause"] == ""
    ).all()
    direct = detect(
        events,
        ["Name", "host"],
        threshold={"kind": "top", "value": 3},
        method="histogram",
    )
    assert (
        flagged["probable_cause"].tolist()
        == direct.outliers()["probable_cause"].tolist()
    )
    np.testing.assert_allclose(
        flagged["probable_cause_freq"], direct.outliers()["probable_cause_freq"]
    )
