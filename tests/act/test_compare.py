"""Comparing runs: outlier keys, new/gone/still, and keys kept in the store."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from procanom.compare import compare_outliers, new_rows, outlier_keys
from procanom.errors import NotFoundError, ParameterError
from procanom.store import ExperimentStore, RunRecord
from procanom.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate


def outliers(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["Name", "host", "anomaly_score", "isOutlier"])
    return frame.astype({"Name": "string", "host": "string"})


OLD = outliers(
    [
        ("a.exe", "WS1", 9.0, 1),
        ("a.exe", "WS1", 9.0, 1),
        ("b.exe", "WS1", 8.0, 1),
        ("c.exe", "WS2", 7.0, 1),
        ("svchost.exe", "WS1", 0.1, 0),
    ]
)
NEW = outliers(
    [
        ("a.exe", "WS1", 9.5, 1),
        ("b.exe", "WS1", 8.0, 1),
        ("b.exe", "WS2", 8.0, 1),
        ("d.exe", "WS1", 6.0, 1),
        (None, "WS1", 5.0, 1),
    ]
)


def test_outlier_keys_count_duplicates_and_skip_unflagged_rows():
    keys = outlier_keys(OLD, ["Name"])
    assert keys.attrs["key_fields"] == ["Name", "host"]
    assert keys[["Name", "host", "count"]].values.tolist() == [
        ["a.exe", "WS1", 2],
        ["b.exe", "WS1", 1],
        ["c.exe", "WS2", 1],
    ]
    assert keys["anomaly_score"].tolist() == [9.0, 8.0, 7.0]


def test_compare_outliers_new_gone_still_and_changed_counts():
    comparison = compare_outliers(OLD, NEW, ["Name"])

    assert comparison.key_fields == ["Name", "host"]
    # The same name on another host is a new outlier.
    assert comparison.new_outliers[["Name", "host"]].astype(object).fillna(
        "NA"
    ).values.tolist() == [["b.exe", "WS2"], ["d.exe", "WS1"], ["NA", "WS1"]]
    assert comparison.gone_outliers[["Name", "host"]].values.tolist() == [
        ["c.exe", "WS2"]
    ]
    assert comparison.still[["Name", "count_old", "count_new"]].values.tolist() == [
        ["a.exe", 2, 1],
        ["b.exe", 1, 1],
    ]
    assert comparison.counts_changed[["Name", "change"]].values.tolist() == [
        ["a.exe", -1]
    ]
    assert comparison.describe() == (
        "3 new, 1 gone, 2 still flagged (1 with a changed count)"
    )


def test_compare_outliers_missing_values_match_each_other():
    old = outliers([(None, "WS1", 5.0, 1)])
    comparison = compare_outliers(old, NEW, ["Name"])
    assert comparison.counts["still"] == 1
    assert comparison.still["Name"].isna().all()


def test_compare_outliers_without_host_on_one_side_matches_on_fields():
    old = OLD.drop(columns=["host"])
    comparison = compare_outliers(old, NEW, ["Name"])
    assert comparison.key_fields == ["Name"]
    assert comparison.counts == {"new": 2, "gone": 1, "still": 2, "counts_changed": 2}
    assert "host" in comparison.warnings[0]


def test_compare_outliers_needs_the_fields():
    with pytest.raises(ParameterError, match="Parent"):
        compare_outliers(OLD, NEW, ["Parent"])


def test_new_rows_marks_keys_the_previous_run_lacked():
    flagged = NEW[NEW["isOutlier"] == 1]
    assert new_rows(flagged, OLD, ["Name"]).tolist() == [False, False, True, True, True]
    assert new_rows(flagged, None, ["Name"]).all()


# -- in the store --------------------------------------------------------------------


def saved_run(store, **overrides):
    experiment = store.create_experiment("e", settings={"fields": ["Name"]})
    values = {
        "id": None,
        "experiment_id": experiment.id,
        "started_at": "",
        "duration_s": 1.0,
        "procanom_version": "test",
        "settings": {"fields": ["Name"]},
        "data_fingerprint": "f",
        "rows_read": 5,
        "rows_skipped": 0,
        "total_events": 5,
        "num_outliers": 4,
        "threshold": None,
    }
    values.update(overrides)
    return store.add_run(RunRecord(**values))


def test_store_run_outliers_compare_two_saved_runs(store):
    old_run = saved_run(store)
    new_run = saved_run(store)
    info = store.save_run_outliers(old_run.id, OLD)
    store.save_run_outliers(new_run.id, NEW)

    assert (info.outliers, info.distinct_keys, info.stored_keys) == (4, 3, 3)
    assert not info.truncated
    stored_old = store.run_outliers(old_run.id)
    stored_new = store.run_outliers(new_run.id)
    from_frames = compare_outliers(OLD, NEW, ["Name"])
    from_store = compare_outliers(stored_old, stored_new, ["Name"])
    assert from_store.counts == from_frames.counts
    pd.testing.assert_frame_equal(from_store.new_outliers, from_frames.new_outliers)
    assert stored_new["Name"].isna().sum() == 1


def test_store_run_outliers_are_cut_to_the_most_anomalous(store, caplog):
    run = saved_run(store)
    many = outliers([(f"p{i}.exe", "WS1", float(i), 1) for i in range(50)])

    info = store.save_run_outliers(run.id, many, limit=10)

    assert info.truncated and info.stored_keys == 10 and info.distinct_keys == 50
    assert "kept the 10 most anomalous" in caplog.text
    kept = store.run_outliers(run.id)
    assert kept["Name"].tolist() == [f"p{i}.exe" for i in range(49, 39, -1)]
    assert kept.attrs["truncated"] is True
    comparison = compare_outliers(kept, many, ["Name"])
    assert "kept only its 10 most anomalous" in comparison.warnings[0]


def test_store_run_outliers_saved_again_replace_the_first(store):
    run = saved_run(store)
    store.save_run_outliers(run.id, OLD)
    store.save_run_outliers(run.id, NEW)
    assert len(store.run_outliers(run.id)) == 5


def test_store_run_without_kept_outliers_is_not_found(store):
    run = saved_run(store)
    assert store.run_outlier_set(run.id) is None
    with pytest.raises(NotFoundError, match="no stored outliers"):
        store.run_outliers(run.id)
    with pytest.raises(NotFoundError, match="nope"):
        store.save_run_outliers("nope", OLD)


def test_store_run_outliers_go_with_their_run(store):
    run = saved_run(store)
    store.save_run_outliers(run.id, OLD)
    store.delete_experiment(run.experiment_id)
    with store._read("count") as conn:
        left = conn.execute("SELECT COUNT(*) FROM run_outliers").fetchone()[0]
    assert left == 0


def test_store_version_2_database_gains_the_triage_tables(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "procanom.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    migrate(raw, path, MIGRATIONS[:2])
    raw.execute(
        "INSERT INTO experiments (id, title, settings, created_at, updated_at) "
        "VALUES ('old2', 'from v2', '{}', '2024', '2024')"
    )
    raw.close()

    store = ExperimentStore(data_dir)

    assert SCHEMA_VERSION >= 3
    entry = store.add_allow_entry({"Name": "a.exe"}, experiment_id="old2")
    assert store.list_allow_entries("old2") == [entry]
    assert store.add_alert_rule("old2", threshold=1).threshold == 1
