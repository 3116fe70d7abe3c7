"""The shared fault cases that concern scoring, on every method they apply to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procanom.scoring import METHODS, detect, make_detector


def test_case12_quoting_style_alone_never_makes_an_outlier(shared_cases):
    frame = pd.read_csv(shared_cases / "case12_quoted_vs_unquoted_exe.csv")
    same_program = frame["CommandLine"].str.contains("app.exe")
    for cutoff in (True, False):
        result = detect(
            frame, ["host", "CommandLine"], method="conditional", cutoff=cutoff
        )
        annotated = result.annotated
        assert annotated.loc[same_program, "CommandLine_template"].nunique() == 1
        assert annotated.loc[same_program, "anomaly_score"].nunique() == 1
        assert not annotated.loc[same_program, "isOutlier"].any()
        # The raw values stay as they were.
        assert annotated["CommandLine"].tolist() == frame["CommandLine"].tolist()


def test_case12_without_normalisation_quoting_splits_the_program(shared_cases):
    frame = pd.read_csv(shared_cases / "case12_quoted_vs_unquoted_exe.csv")
    result = detect(
        frame, ["host", "CommandLine"], method="conditional", normalize=False
    )
    same_program = frame["CommandLine"].str.contains("app.exe")
    assert result.annotated.loc[same_program, "anomaly_score"].nunique() > 1


def test_case16_normalised_command_lines_leave_certutil_the_single_outlier(
    shared_cases,
):
    frame = pd.read_csv(shared_cases / "case16_high_cardinality_cmdline.csv")
    result = detect(frame, ["host", "Name", "CommandLine"], method="conditional")
    assert result.num_outliers == 1
    assert result.outliers()["Name"].tolist() == ["certutil.exe"]
    templates = result.annotated["CommandLine_template"]
    assert templates[frame["Name"] == "updater.exe"].nunique() == 1
    assert frame["CommandLine"].nunique() == len(frame)  # raw values all unique


def test_case16_command_line_alone_is_not_an_outlier_everywhere(shared_cases):
    frame = pd.read_csv(shared_cases / "case16_high_cardinality_cmdline.csv")
    result = detect(frame, ["CommandLine"], method="conditional", cutoff=False)
    assert result.num_outliers == 1
    assert result.outliers()["Name"].tolist() == ["certutil.exe"]


@pytest.mark.parametrize(
    ("method", "params"),
    [("conditional", {}), ("histogram", {}), ("zscore", {"minsupcount": 10})],
)
def test_case17_numeric_looking_values_are_categories(shared_cases, method, params):
    frame = pd.read_csv(
        shared_cases / "case17_numeric_looking_categoricals.csv", dtype=str
    )
    fields = ["host", "Name", "SessionId", "LogonId", "MandatoryLabel", "EventCode"]
    result = detect(frame, fields, method=method, **params)
    scores = result.annotated["anomaly_score"]
    # "0x3e7" and "999" are the same number but different written values;
    # as categories, the two cmd.exe events are the rarest.
    cmd = frame["Name"] == "cmd.exe"
    if method == "zscore":
        # anomalousvalue judges one field at a time: the cmd.exe sessions
        # ("2", "Services") are each as rare as an explorer.exe logon id.
        assert scores[cmd].min() >= scores[~cmd].max() - 1e-9
    else:
        assert scores[cmd].min() > scores[~cmd].max()


def test_case17_logon_ids_are_not_normalised_into_one_number(shared_cases):
    frame = pd.read_csv(
        shared_cases / "case17_numeric_looking_categoricals.csv", dtype=str
    )
    detector = make_detector("conditional", fields=["Name", "LogonId"]).fit(frame)
    assert len(detector.tables_["LogonId"].values) == frame["LogonId"].nunique()


@pytest.mark.parametrize("method", list(METHODS))
def test_case18_mixed_types_score_without_conversion_errors(shared_cases, method):
    frame = pd.read_csv(shared_cases / "case18_mixed_types_display.csv")
    result = make_detector(method, fields=list(frame.columns)).fit_score(frame)
    assert len(result.annotated) == len(frame)
    assert np.isfinite(result.annotated["anomaly_score"].to_numpy(float)).all()


def test_case18_iqr_ignores_text_in_a_numeric_column(shared_cases):
    frame = pd.read_csv(
        shared_cases / "case18_mixed_types_display.csv",
        dtype=str,
        keep_default_na=False,
    )
    result = detect(frame, ["CPU"], method="iqr")
    na_row = frame.index[frame["CPU"] == "n/a"][0]
    assert result.annotated.loc[na_row, "anomaly_score"] == 0.0


@pytest.mark.parametrize("method", list(METHODS))
def test_case13c_a_list_value_does_not_break_scoring(shared_cases, method):
    frame = pd.read_json(shared_cases / "case13c_json_array.json")
    assert isinstance(frame["user"].iloc[0], list)
    fields = ["process_name", "parent_process_name", "user"]
    result = make_detector(method, fields=fields).fit_score(frame)
    assert len(result.annotated) == 2
    assert np.isfinite(result.annotated["anomaly_score"].to_numpy(float)).all()
