"""Headless runs: run_experiment and ``procanom run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from act_helpers import FIELDS, SAMPLE

from procanom.alerts import DeliveryOptions
from procanom.cli import main
from procanom.errors import NotFoundError, ParameterError, StoreError
from procanom.experiment import (
    DataSource,
    ExperimentSettings,
    fingerprint,
    run_settings,
)
from procanom.runner import open_store, resolve_experiment, run_experiment
from procanom.samples import SAMPLES

FAST = DeliveryOptions(attempts=2, timeout_s=1.0, backoff_s=0.01, max_seconds=3.0)


@pytest.fixture
def experiment(store, sample_settings):
    return store.create_experiment("Rare parents", settings=sample_settings.to_dict())


def test_run_experiment_records_the_run_and_its_outlier_keys(
    store, experiment, sample_events, sample_settings
):
    outcome = run_experiment(store, experiment.id, now="2025-05-01T08:00:00")

    expected = run_settings(sample_settings, sample_events.frame)
    np.testing.assert_array_equal(
        outcome.result.annotated["isOutlier"], expected.annotated["isOutlier"]
    )
    (run,) = store.list_runs(experiment.id)
    assert run == outcome.run
    assert run.started_at == "2025-05-01T08:00:00.000000+00:00"
    assert (run.total_events, run.num_outliers) == (1316, expected.num_outliers)
    assert run.rows_read == sample_events.report.rows_read
    # The same fingerprint the app gives the same source and search.
    settings = sample_settings
    assert run.data_fingerprint == fingerprint(
        ["sample", SAMPLE, settings.query, str(settings.time_range)]
    )
    keys = store.run_outliers(run.id)
    assert int(keys["count"].sum()) == expected.num_outliers
    assert keys.attrs["key_fields"] == [*FIELDS, "host"]
    assert outcome.previous_run_id is None and outcome.comparison is None
    assert not outcome.fired


def test_run_experiment_applies_the_allow_list(store, experiment, sample_result):
    name = sample_result.outliers()["Name"].value_counts().index[0]
    count = int((sample_result.outliers()["Name"] == name).sum())
    store.add_allow_entry({"Name": name}, experiment_id=experiment.id, reason="ok")
    store.add_allow_entry({"Name": "no-such.exe"}, scope="global")
    other = store.create_experiment("other")
    store.add_allow_entry({"Name": "*"}, experiment_id=other.id, match="pattern")

    outcome = run_experiment(store, experiment.id)

    assert outcome.suppressed.suppressed == count
    assert outcome.run.num_outliers == sample_result.num_outliers - count
    assert outcome.run.summary["allowlist"]["suppressed"] == count
    assert "suppressed_by" in outcome.result.annotated


def test_run_experiment_second_run_compares_and_alerts_only_on_new(
    store, experiment, tmp_path
):
    store.add_alert_rule(
        experiment.id,
        threshold=0,
        only_new=True,
        destinations=[{"type": "file", "path": "alerts.jsonl"}],
    )
    first = run_experiment(store, experiment.id)
    second = run_experiment(store, experiment.id)

    assert first.fired and not second.fired
    assert "all count as new" in first.alerts[0].reason
    assert second.previous_run_id == first.run.id
    assert second.comparison.counts["new"] == 0
    assert second.comparison.counts["gone"] == 0
    assert second.run.summary["compared_with"]["run_id"] == first.run.id
    kept = store.data_dir / "alerts" / "alerts.jsonl"
    lines = kept.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == [first.run.id]


def test_run_experiment_with_a_dead_webhook_keeps_the_run(store, experiment, dead_url):
    store.add_alert_rule(
        experiment.id, threshold=0, destinations=[{"type": "webhook", "url": dead_url}]
    )
    outcome = run_experiment(store, experiment.id, delivery_options=FAST)

    assert outcome.fired
    (delivery,) = outcome.failed_deliveries
    assert delivery.attempts == 2
    assert store.get_run(outcome.run.id) == outcome.run


def test_run_experiment_refuses_an_alert_file_outside_the_allowed_folders(
    store, experiment, tmp_path, capsys, monkeypatch
):
    outside = tmp_path / "etc" / "passwd_test_alerts.jsonl"
    # Saved while the admin allowed that folder, which is no longer allowed.
    monkeypatch.setenv("PROCANOM_ALERT_DIRS", str(outside.parent))
    store.add_alert_rule(
        experiment.id,
        threshold=0,
        destinations=[{"type": "file", "path": str(outside)}],
    )
    monkeypatch.delenv("PROCANOM_ALERT_DIRS")

    outcome = run_experiment(store, experiment.id)

    assert outcome.fired
    (delivery,) = outcome.failed_deliveries
    assert str(outside) in delivery.error and "PROCANOM_ALERT_DIRS" in delivery.error
    assert store.get_run(outcome.run.id) == outcome.run
    assert not outside.parent.exists()

    status = main(["run", experiment.id, "--data-dir", str(store.data_dir)])
    assert status == 1
    err = capsys.readouterr().err
    assert "failed after 0 attempt(s)" in err
    assert str(store.data_dir / "alerts") in err
    assert not outside.parent.exists()


def test_run_experiment_on_given_files(store, experiment, tmp_path):
    source = pd.read_csv(SAMPLES[SAMPLE].path, dtype=str).head(300)
    path = tmp_path / "today.csv"
    source.to_csv(path, index=False)

    outcome = run_experiment(store, experiment.id, data_paths=[path])

    assert outcome.run.total_events == 300
    assert outcome.run.summary["data_files"] == ["today.csv"]
    saved_source = run_experiment(store, experiment.id)
    assert outcome.run.data_fingerprint != saved_source.run.data_fingerprint


def test_run_experiment_on_a_stored_dataset(store):
    dataset = store.save_dataset_paths("otrf", [SAMPLES[SAMPLE].path])
    settings = ExperimentSettings(
        data_source=DataSource("dataset", "otrf", dataset.id), fields=FIELDS
    )
    experiment = store.create_experiment("from a dataset", settings=settings.to_dict())

    outcome = run_experiment(store, experiment.id)

    assert outcome.run.total_events == 1316
    assert outcome.run.data_fingerprint == fingerprint(
        ["dataset", dataset.id, "", str(settings.time_range)]
    )


def test_run_experiment_on_an_unstored_file_asks_for_data(store):
    source = DataSource("file", "a.csv")
    settings = ExperimentSettings(data_source=source, fields=FIELDS)
    experiment = store.create_experiment("imported", settings=settings.to_dict())
    with pytest.raises(ParameterError, match="--data"):
        run_experiment(store, experiment.id)
    assert store.list_runs(experiment.id) == []


def test_run_experiment_scores_files_against_a_saved_model(
    store, sample_events, tmp_path
):
    persist = pytest.importorskip("procanom.scoring.persist")
    from procanom.scoring import make_detector

    detector = make_detector("histogram", fields=FIELDS).fit(sample_events.frame)
    source = DataSource("sample", SAMPLE)
    settings = ExperimentSettings(data_source=source, fields=FIELDS)
    experiment = store.create_experiment(
        "baseline",
        settings={**settings.to_dict(), "model": persist.detector_to_dict(detector)},
    )
    today = pd.read_csv(SAMPLES[SAMPLE].path, dtype=str).head(40)
    path = tmp_path / "today.csv"
    today.to_csv(path, index=False)

    outcome = run_experiment(store, experiment.id, data_paths=[path])

    from procanom.io import read_events

    expected = detector.score(read_events(path).frame)
    np.testing.assert_allclose(
        outcome.result.annotated["anomaly_score"], expected.annotated["anomaly_score"]
    )
    assert outcome.run.summary["model"] is True


def test_run_experiment_with_a_baseline_scores_its_source_through_the_model(
    store, sample_events
):
    from procanom.experiment import fit_baseline, score_against
    from procanom.scoring.persist import detector_to_dict

    settings = ExperimentSettings(
        data_source=DataSource("sample", SAMPLE),
        query="host=MKT01",
        fields=FIELDS,
        method="conditional",
        baseline={"dataset_id": "sample-" + SAMPLE, "query": "NOT host=MKT01"},
    )
    detector = fit_baseline(settings, sample_events.frame)
    experiment = store.create_experiment(
        "against last month",
        settings={**settings.to_dict(), "model": detector_to_dict(detector)},
    )

    outcome = run_experiment(store, experiment.id)

    expected = score_against(detector, settings, sample_events.frame)
    np.testing.assert_allclose(
        outcome.result.annotated["anomaly_score"], expected.annotated["anomaly_score"]
    )
    assert outcome.run.summary["model"] is True


def test_resolve_experiment_by_id_or_exact_title(store, experiment):
    assert resolve_experiment(store, experiment.id) == experiment
    assert resolve_experiment(store, "Rare parents") == experiment
    with pytest.raises(NotFoundError, match="rare parents"):
        resolve_experiment(store, "rare parents")
    store.create_experiment("Rare parents")
    with pytest.raises(NotFoundError, match="2 experiments are titled"):
        resolve_experiment(store, "Rare parents")


def test_open_store_refuses_a_folder_without_a_store(tmp_path):
    with pytest.raises(StoreError, match="no procanom store"):
        open_store(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()


# -- the command line --------------------------------------------------------------


def test_cli_run_exits_0_and_writes_the_outliers(store, experiment, tmp_path, capsys):
    output = tmp_path / "out.json"
    status = main(
        ["run", "Rare parents", "--data-dir", str(store.data_dir), "-o", str(output)]
    )
    assert status == 0
    written = json.loads(output.read_text(encoding="utf-8"))
    (run,) = store.list_runs(experiment.id)
    assert len(written["results"]) == run.num_outliers
    assert f"run {run.id} of 'Rare parents'" in capsys.readouterr().err


def test_cli_run_exits_1_when_an_alert_fires(store, experiment, tmp_path, capsys):
    store.add_alert_rule(
        experiment.id, threshold=0, destinations=[{"type": "file", "path": "a.jsonl"}]
    )
    output = tmp_path / "out.csv"
    status = main(
        [
            "run",
            experiment.id,
            "--data-dir",
            str(store.data_dir),
            "-o",
            str(output),
            "--format",
            "csv",
        ]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "fired" in err and "delivered after 1 attempt(s)" in err
    assert output.read_text(encoding="utf-8-sig").startswith("event,_time,")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "nope"], "no experiment has the id or title 'nope'"),
        (["run", "Rare parents", "--data", "missing.csv"], "missing.csv"),
    ],
)
def test_cli_run_exits_2_with_one_line(store, experiment, args, words, capsys):
    status = main([*args, "--data-dir", str(store.data_dir)])
    err = capsys.readouterr().err
    assert status == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1


def test_cli_run_reads_the_data_dir_from_the_environment(
    store, experiment, monkeypatch
):
    monkeypatch.setenv("PROCANOM_DATA_DIR", str(store.data_dir))
    assert main(["run", "Rare parents"]) == 0
    monkeypatch.setenv("PROCANOM_DATA_DIR", str(store.data_dir / "elsewhere"))
    assert main(["run", "Rare parents"]) == 2


def test_cli_run_process_exit_status_is_1_on_alert(store, experiment):
    store.add_alert_rule(experiment.id, threshold=0)
    environment = {**os.environ, "PROCANOM_DATA_DIR": str(store.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "procanom", "run", "Rare parents"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=Path(__file__).parent,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "fired" in done.stderr
