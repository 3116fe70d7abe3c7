"""Show SPL: the Splunk pipeline, and a command that reproduces the page."""

from __future__ import annotations

import json
import shlex

import pytest

from procanom.cli import main as cli_main
from procanom.experiment import DataSource, ExperimentSettings, run_settings
from procanom.io import read_events
from procanom.samples import SAMPLES
from procanom.spl import to_cli, to_spl

FIELDS = ["Name", "Path", "CommandLine", "host"]


@pytest.mark.parametrize(
    "settings",
    [
        ExperimentSettings(
            data_source=DataSource("sample", "otrf-sysmon"), fields=FIELDS
        ),
        ExperimentSettings(
            data_source=DataSource("sample", "otrf-sysmon"),
            fields=FIELDS,
            params={"cutoff": False, "pthresh": None},
            query="host=MKT01 OR host=DC01",
        ),
        ExperimentSettings(
            data_source=DataSource("sample", "otrf-sysmon"),
            fields=["Name", "ParentName"],
            params={"cutoff": True, "pthresh": 0.0005},
            query='NOT User="NT AUTHORITY\\\\SYSTEM"',
            time_range={"preset": "7d"},
        ),
        ExperimentSettings(
            data_source=DataSource("sample", "mstic-host"),
            fields=["Name", "ProcessId"],
            field_types={"ProcessId": "numeric"},
            params={"cutoff": False, "pthresh": None},
        ),
    ],
)
def test_cli_command_reproduces_the_page(settings, tmp_path):
    events = read_events(SAMPLES[settings.data_source.name].path).frame
    expected = run_settings(settings, events)

    out = tmp_path / "out.json"
    args = [*shlex.split(to_cli(settings, []))[1:], "--format", "json", "-o", str(out)]
    assert cli_main(args) == 0
    payload = json.loads(out.read_text())
    flags = [row["isOutlier"] for row in payload["results"]]
    assert flags == expected.annotated["isOutlier"].tolist()
    assert payload["summary"]["thresh"] == pytest.approx(expected.summary["thresh"])


def test_spl_is_commented_and_quotes_field_names():
    settings = ExperimentSettings(
        fields=["Name", 'Process "Command" Line'],
        query="Name=cmd*",
        method="histogram",
        params={"cutoff": False, "pthresh": None},
    )
    spl = to_spl(settings)
    assert spl.count("```") >= 8
    assert "search Name=cmd*" in spl
    assert (
        '| anomalydetection method=histogram action=annotate cutoff=false "Name"'
        ' "Process \\"Command\\" Line"' in spl
    )
    assert '| eval isOutlier=if(probable_cause != "", "1", "0")' in spl


def test_spl_pthresh_replaces_cutoff():
    settings = ExperimentSettings(fields=["Name"], params={"pthresh": 0.01})
    assert "pthresh=0.01" in to_spl(settings)
    assert "cutoff=" not in to_spl(settings)


def test_cli_and_python_with_the_allowlist_reproduce_the_page(tmp_path, monkeypatch):
    from procanom.allowlist import allowlist_to_csv, apply_allowlist
    from procanom.snippets import to_python
    from procanom.store import AllowEntry

    settings = ExperimentSettings(
        data_source=DataSource("sample", "otrf-sysmon"),
        fields=FIELDS,
        params={"cutoff": False, "pthresh": None},
    )
    events = read_events(SAMPLES["otrf-sysmon"].path).frame
    scored = run_settings(settings, events)
    outlier = scored.outliers().iloc[0]
    entries = [
        AllowEntry(None, "experiment", "e1", {"Name": str(outlier["Name"])}),
        AllowEntry(None, "global", None, {"Path": "C:\\Windows\\*"}, "pattern"),
    ]
    expected, summary = apply_allowlist(scored, events, entries)
    assert summary.suppressed > 0
    monkeypatch.chdir(tmp_path)
    (tmp_path / "allow.csv").write_text(allowlist_to_csv(entries), encoding="utf-8")

    command = to_cli(settings, [], "allow.csv")
    assert command.endswith("--allowlist allow.csv")
    args = [*shlex.split(command)[1:], "--format", "json", "-o", "out.json"]
    assert cli_main(args) == 0
    payload = json.loads((tmp_path / "out.json").read_text())
    flags = [row["isOutlier"] for row in payload["results"]]
    assert flags == expected.annotated["isOutlier"].tolist()

    namespace: dict = {}
    exec(compile(to_python(settings, [], "allow.csv"), "<snippet>", "exec"), namespace)
    assert namespace["result"].num_outliers == expected.num_outliers

    spl = to_spl(settings, allowlist_fields=["Name", "Path"])
    assert '| lookup procanom_allowlist "Name" "Path" OUTPUT reason' in spl
    assert "| eval isOutlier=if(isnotnull(allow_reason)" in spl
