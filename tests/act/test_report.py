"""Exports of outliers (CSV, JSON, Parquet) and the one-file HTML report."""

from __future__ import annotations

import html
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from act_helpers import small_result

from procanom.errors import ParameterError
from procanom.report import (
    explanations_for,
    export_outliers,
    html_report,
    outliers_frame,
    write_outliers,
)
from procanom.scoring import ThresholdRule

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def hostile():
    rows = [{"Name": "svchost.exe", "CommandLine": "svchost -k netsvcs"}] * 60
    rows += [{"Name": "evil.exe", "CommandLine": f"=cmd|' /C calc'!A0 {SCRIPT}"}]
    rows += [{"Name": "<b>bold</b>.exe", "CommandLine": "-enc AAAA"}]
    result = small_result(rows, ["Name", "CommandLine"], cutoff=False)
    assert result.num_outliers == 2
    return result


def test_outliers_frame_is_most_anomalous_first_with_explanations(sample_result):
    explanations = explanations_for(sample_result)
    frame = outliers_frame(sample_result, explanations)
    assert len(frame) == sample_result.num_outliers
    scores = frame["anomaly_score"].to_numpy()
    assert (np.diff(scores) <= 0).all()
    if explanations is not None:  # procanom.explain is installed
        assert frame["explanation"].str.startswith("Event ").all()
        first = explanations[0]
        assert frame.loc[first.row, "explanation"] == first.text()


def test_export_csv_is_formula_safe(hostile):
    text = export_outliers(hostile, "csv").decode("utf-8-sig")
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    assert set(frame["CommandLine"]) == {f"'=cmd|' /C calc'!A0 {SCRIPT}", "'-enc AAAA"}
    assert not frame["anomaly_score"].str.startswith("'").any()


def test_export_json_and_parquet_hold_every_outlier(hostile):
    document = json.loads(export_outliers(hostile, "json"))
    assert len(document["results"]) == 2
    assert document["summary"]["num_anomalies"] == 2
    assert document["results"][0]["CommandLine"] in {
        "-enc AAAA",
        f"=cmd|' /C calc'!A0 {SCRIPT}",
    }

    frame = pd.read_parquet(io.BytesIO(export_outliers(hostile, "parquet")))
    expected = outliers_frame(hostile).reset_index(drop=True)
    assert frame["CommandLine"].tolist() == expected["CommandLine"].tolist()
    causes = expected["probable_cause"].astype(str).tolist()
    assert frame["probable_cause"].tolist() == causes
    np.testing.assert_allclose(frame["anomaly_score"], expected["anomaly_score"])


def test_write_outliers_takes_the_format_from_the_extension(hostile, tmp_path):
    path = write_outliers(hostile, tmp_path / "o.parquet")
    assert path.read_bytes()[:4] == b"PAR1"
    text = write_outliers(hostile, tmp_path / "o.txt")
    assert text.read_bytes()[:3] == b"\xef\xbb\xbf"
    with pytest.raises(ParameterError, match="format"):
        export_outliers(hostile, "xlsx")


def test_html_report_escapes_every_event_value(hostile):
    page = html_report(None, None, hostile)

    assert SCRIPT not in page
    assert "<b>bold</b>" not in page
    assert html_escaped(SCRIPT) in page
    assert "&lt;b&gt;bold&lt;/b&gt;.exe" in page
    # The only script tags are plotly's: the library and one per chart.
    assert len(re.findall(r"<script\b", page)) <= 4


def html_escaped(text: str) -> str:
    import html

    return html.escape(text)


def test_html_report_names_characters_that_disguise_a_value():
    rows = [{"Name": "cmd.exe"}] * 30 + [{"Name": "invoice\u202eexe.txt"}]
    result = small_result(rows, ["Name"], cutoff=False)
    page = html_report(None, None, result)
    assert "\u202e" not in page
    assert "invoice&lt;U+202E&gt;exe.txt" in page


def test_html_report_escapes_field_names_in_the_charts():
    rows = [{"<img src=x onerror=alert(1)>": "a"}] * 30 + [
        {"<img src=x onerror=alert(1)>": "b"}
    ]
    result = small_result(rows, ["<img src=x onerror=alert(1)>"], cutoff=False)
    page = html_report(None, None, result)
    assert "<img src=x" not in page


def test_html_report_opens_offline_with_summary_and_charts(store, sample_result):
    experiment = store.create_experiment("Rare parents")
    page = html_report(experiment, None, sample_result, explanations_for(sample_result))

    assert page.startswith("<!DOCTYPE html>")
    assert not re.findall(r"<script[^>]*\bsrc=", page)  # nothing fetched
    assert len(page) > 1_000_000  # plotly.js is inside
    assert "Outliers by probable cause" in page
    assert f"{sample_result.num_outliers:,}" in page
    assert "Rare parents" in page


def test_html_report_size_does_not_grow_with_the_events():
    def page_size(repeats: int) -> int:
        rows = [{"Name": "svchost.exe"}] * repeats + [{"Name": "evil.exe"}]
        result = small_result(rows, ["Name"], cutoff=False)
        return len(html_report(None, None, result))

    small, large = page_size(100), page_size(200_000)
    assert abs(large - small) < 20_000


def test_html_report_lists_at_most_max_rows(sample_result):
    page = html_report(None, None, sample_result, max_rows=5)
    table = page.split("<h2>Outliers</h2>")[1]
    assert table.count("<tr>") == 6  # header and five rows
    assert f"The 5 most anomalous of {sample_result.num_outliers}" in page


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        (ThresholdRule("top", 0), "the 0 most unusual events — nothing flagged"),
        (ThresholdRule("top", 1), "2 flagged: 1 asked for, 1 more ties with the last"),
    ],
)
def test_html_report_states_the_rule_as_the_results_page_does(rule, said):
    rows = [{"Name": "svchost.exe"}] * 9 + [{"Name": "a.exe"}, {"Name": "b.exe"}]
    result = small_result(rows, ["Name"], method="histogram").relabel(rule)

    page = html_report(None, None, result)

    numbers = page.split("<h2>")[0]  # the table of numbers, before the charts
    assert html.escape(said) in numbers
    assert "inf" not in numbers
