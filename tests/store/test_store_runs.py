"""Runs: the history of detections saved under an experiment."""

from __future__ import annotations

import numpy as np
import pytest

from procanom.errors import NotFoundError, ParameterError


def test_store_add_run_sets_an_id_and_reads_back_equal(store, make_run):
    experiment = store.create_experiment("t")

    saved = store.add_run(make_run(experiment.id))

    assert saved.id
    assert store.get_run(saved.id) == saved
    assert saved == make_run(experiment.id, id=saved.id)


def test_store_list_runs_is_newest_first(store, make_run):
    experiment = store.create_experiment("t")
    times = [
        "2025-03-01T10:00:00.000000+00:00",
        "2025-03-03T10:00:00.000000+00:00",
        "2025-03-02T10:00:00.000000+00:00",
    ]
    for started in times:
        store.add_run(make_run(experiment.id, started_at=started))

    listed = [run.started_at for run in store.list_runs(experiment.id)]

    assert listed == sorted(times, reverse=True)


def test_store_add_run_updates_the_list_summary(store, make_run):
    experiment = store.create_experiment("t")

    store.add_run(make_run(experiment.id, num_outliers=7, total_events=500))

    summary = store.list_experiments()[0]
    assert (summary.last_outliers, summary.last_total) == (7, 500)
    assert summary.last_run_at == "2025-03-01T10:00:00.000000+00:00"
    # A run is not an edit: an open edit of the settings stays valid.
    assert summary.version == 1


def test_store_older_run_added_later_keeps_the_newest_summary(store, make_run):
    experiment = store.create_experiment("t")
    store.add_run(
        make_run(experiment.id, started_at="2025-03-05T00:00:00+00:00", num_outliers=5)
    )

    store.add_run(
        make_run(experiment.id, started_at="2025-03-01T00:00:00+00:00", num_outliers=9)
    )

    assert store.list_experiments()[0].last_outliers == 5


def test_store_add_run_fills_an_empty_start_time(store, make_run):
    experiment = store.create_experiment("t")

    saved = store.add_run(make_run(experiment.id, started_at=""))

    assert saved.started_at.endswith("+00:00")


def test_store_add_run_accepts_numpy_numbers(store, make_run):
    experiment = store.create_experiment("t")

    saved = store.add_run(
        make_run(
            experiment.id,
            num_outliers=np.int64(4),
            threshold=np.float64(0.5),
            summary={"scores": np.array([1.5, 2.5]), "n": np.int32(2)},
        )
    )

    again = store.get_run(saved.id)
    assert again.num_outliers == 4
    assert again.threshold == 0.5
    assert again.summary == {"scores": [1.5, 2.5], "n": 2}


def test_store_add_run_to_a_missing_experiment_raises_not_found(store, make_run):
    with pytest.raises(NotFoundError, match="nosuchid"):
        store.add_run(make_run("nosuchid"))


def test_store_add_run_rejects_a_summary_json_cannot_hold(store, make_run):
    experiment = store.create_experiment("t")

    with pytest.raises(ParameterError, match=r"run\.summary"):
        store.add_run(make_run(experiment.id, summary={"x": object()}))
    assert store.list_runs(experiment.id) == []


def test_store_get_missing_run_raises_not_found(store):
    with pytest.raises(NotFoundError, match="nosuchrun"):
        store.get_run("nosuchrun")
