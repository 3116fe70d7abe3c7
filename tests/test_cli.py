"""The procanom command line: detect, output formats, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from procanom.cli import main
from procanom.samples import SAMPLES
from procanom.scoring import SCORE_COLUMNS, detect

SAMPLE = str(SAMPLES["otrf-sysmon"].path)
FIELDS = "Name,Path,CommandLine,host"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_detect_csv_has_input_columns_then_scores(capsys):
    status, out, err = _run(capsys, "detect", SAMPLE, "--fields", FIELDS)
    assert status == 0
    frame = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    assert list(frame.columns[-len(SCORE_COLUMNS) :]) == list(SCORE_COLUMNS)
    assert len(frame) == 1316
    assert "outliers in 1316 events" in err


def test_cli_detect_matches_python_api(capsys):
    status, out, _ = _run(
        capsys, "detect", SAMPLE, "--fields", FIELDS, "--no-cutoff", "--format", "json"
    )
    assert status == 0
    rows = json.loads(out)["results"]
    frame = pd.read_csv(SAMPLE, dtype="string[pyarrow]", keep_default_na=False)
    expected = detect(frame, FIELDS.split(","), cutoff=False)
    assert [r["isOutlier"] for r in rows] == expected.annotated["isOutlier"].tolist()


@pytest.mark.parametrize("action", ["filter", "summary"])
def test_cli_detect_actions(capsys, action):
    status, out, _ = _run(
        capsys,
        "detect",
        SAMPLE,
        "--fields",
        FIELDS,
        "--method",
        "histogram",
        "--action",
        action,
        "--no-cutoff",
    )
    assert status == 0
    frame = pd.read_csv(io.StringIO(out))
    if action == "summary":
        assert list(frame.columns[:6]) == [
            "num_anomalies",
            "thresh",
            "max_logprob",
            "min_logprob",
            "1st_quartile",
            "3rd_quartile",
        ]
    else:
        assert (frame["isOutlier"] == 1).all() and len(frame) > 0


def test_cli_detect_search_and_pthresh(capsys):
    status, out, _ = _run(
        capsys,
        "detect",
        SAMPLE,
        "--fields",
        "Name,ParentName",
        "--method",
        "histogram",
        "--search",
        "host=MKT01",
        "--pthresh",
        "0.001",
        "--format",
        "json",
    )
    assert status == 0
    payload = json.loads(out)
    assert {r["host"] for r in payload["results"]} == {"MKT01"}
    assert payload["summary"]["thresh"] == pytest.approx(-6.907755, abs=1e-6)


def test_cli_detect_rejects_unknown_method_parameter(capsys):
    status, _, err = _run(
        capsys, "detect", SAMPLE, "--fields", FIELDS, "--param", "nope=2"
    )
    assert status == 2
    assert "nope" in err


def test_cli_table_strips_terminal_control_characters(tmp_path, capsys):
    path = tmp_path / "evil.csv"
    path.write_text('Name,CommandLine\nx.exe,"\x1b[31mred\x1b[0m\x07"\n', "utf-8")
    status, out, _ = _run(
        capsys, "detect", str(path), "--fields", "Name", "--format", "table"
    )
    assert status == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "[31mred" in out


def test_cli_csv_output_is_formula_safe(tmp_path, capsys):
    path = tmp_path / "formula.csv"
    path.write_text('Name,CommandLine\n=cmd|calc,"+1"\nb,"@x"\n', "utf-8")
    out_path = tmp_path / "out.csv"
    status, _, _ = _run(
        capsys, "detect", str(path), "--fields", "Name", "--output", str(out_path)
    )
    assert status == 0
    with out_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["Name"] == "'=cmd|calc"
    assert rows[0]["CommandLine"] == "'+1"
    assert rows[1]["CommandLine"] == "'@x"
    assert float(rows[0]["log_event_prob"]) < 0  # numbers stay numbers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", SAMPLE], "--fields"),
        (["detect", SAMPLE, "--fields", "Nope"], "Nope"),
        (["detect", "missing.csv", "--fields", "Name"], "missing.csv"),
        (["detect", SAMPLE, "--fields", "Name", "--pthresh", "7"], "pthresh"),
        (["detect", SAMPLE, "--fields", "Name", "--method", "magic"], "magic"),
        (["detect", SAMPLE, "--fields", "Name", "--search", "(Name=x"], "--search:"),
        (["detect", SAMPLE, "--fields", "Name", "--threshold", "top:-1"], "top"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(capsys, args, message):
    status, _, err = _run(capsys, *args)
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("procanom: ")
    assert message.lower() in lines[0].lower()


def test_cli_python_dash_m_is_the_same_command(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "procanom",
            "detect",
            SAMPLE,
            "--fields",
            "Name",
            "--action",
            "summary",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("num_anomalies,")


def test_cli_detect_baseline_model_saved_and_reloaded_scores_the_same(tmp_path, capsys):
    model = tmp_path / "model.json"
    common = ["detect", SAMPLE, "--fields", "Name,ParentName", "--format", "json"]
    common += ["--search", "host=MKT01"]
    status, fitted, _ = _run(
        capsys,
        *common,
        "--baseline",
        SAMPLE,
        "--baseline-search",
        "NOT host=MKT01",
        "--save-model",
        str(model),
    )
    assert status == 0
    status, reloaded, err = _run(capsys, *common, "--model", str(model))
    assert status == 0 and "fitted on" not in err
    # Other --fields than the model's: it says which it scores.
    other = ["detect", SAMPLE, "--fields", "Name", "--model", str(model)]
    status, _, err = _run(capsys, *other)
    assert status == 0
    assert "the model was fitted on Name, ParentName; it scores those" in err

    first = json.loads(fitted)["results"]
    again = json.loads(reloaded)["results"]
    assert [r["anomaly_score"] for r in first] == [r["anomaly_score"] for r in again]
    assert json.loads(model.read_text())["method"] == "conditional"
    # Values the other hosts never ran are named as first seen.
    assert any(r["first_seen"] for r in first)


def test_cli_detect_baseline_and_model_together_are_refused(tmp_path, capsys):
    model = tmp_path / "model.json"
    model.write_text("{}")
    status, _, err = _run(
        capsys,
        *("detect", SAMPLE, "--fields", FIELDS),
        *("--baseline", SAMPLE, "--model", str(model)),
    )
    assert status == 2
    assert "--baseline or --model" in err


def test_cli_detect_baseline_search_selecting_nothing_says_so(capsys):
    status, _, err = _run(
        capsys,
        *("detect", SAMPLE, "--fields", FIELDS),
        *("--baseline", SAMPLE, "--baseline-search", "host=no-such-host"),
    )
    assert status == 2
    assert "baseline search" in err


@pytest.mark.parametrize(
    ("threshold", "said"),
    [
        ("top:0", "the 0 most unusual events — nothing flagged"),
        ("top:1", "2 flagged: 1 asked for, 1 more ties with the last"),
        ("top:99", "every event flagged"),
    ],
)
def test_cli_detect_states_the_rule_as_the_results_page_does(
    tmp_path, capsys, threshold, said
):
    path = tmp_path / "ties.csv"
    path.write_text("Name\n" + "svchost.exe\n" * 9 + "a.exe\nb.exe\n", "utf-8")
    status, _, err = _run(
        capsys,
        "detect",
        str(path),
        "--fields",
        "Name",
        "--method",
        "histogram",
        "--threshold",
        threshold,
    )
    assert status == 0
    assert said in err
    assert "inf" not in err and "anomaly_score >" not in err


def test_cli_unexpected_error_exits_2_in_one_line(monkeypatch, capsys):
    # 1 means "an alert fired" to a scheduler: a bug must not look like one.
    import procanom.io

    def broken(*args, **kwargs):
        raise TypeError("something unforeseen")

    monkeypatch.setattr(procanom.io, "read_events", broken)
    status = main(["detect", "--sample", "otrf-sysmon", "--fields", "Name"])
    assert status == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "unexpected error (TypeError: something unforeseen)" in line


def test_cli_table_shows_event_numbers_whole_and_gaps_empty(capsys):
    args = ["detect", "--sample", "otrf-sysmon", "--fields", "Name,ParentName,host"]
    status = main([*args, "--format", "table"])
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines[0].index("inherited_from")
    cells = {line[start : start + len("inherited_from")].strip() for line in lines[1:]}
    assert "" in cells and len(cells) > 2
    assert all(cell == "" or cell.isdigit() for cell in cells)
    assert not any(" None " in line for line in lines)
