"""Scoring through the library gives the bits procanom.scoring.detect gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procanom.errors import ParameterError
from procanom.experiment import ExperimentSettings, run_settings
from procanom.io import read_events

SETTINGS = [
    {"fields": ["Name"]},
    {"fields": ["Name", "ParentName", "User"], "params": {"cutoff": False}},
    {"fields": ["Path", "CommandLine", "host"], "params": {"cutoff": True}},
    {"fields": ["ParentPath", "IntegrityLevel"], "params": {"pthresh": 0.001}},
    {
        "fields": ["Name", "ProcessId"],
        "field_types": {"ProcessId": "numeric"},
        "params": {"cutoff": False},
    },
    {"fields": ["Name", "User"], "params": {"threshold": {"kind": "top", "value": 7}}},
    {
        "fields": ["ParentName", "Name"],
        "params": {"threshold": {"kind": "percent", "value": 5}},
    },
    {"fields": ["Name", "User"], "query": "NOT Name=svchost.exe", "params": {}},
    {"fields": ["Name"], "time_range": {"preset": "1h"}, "params": {"cutoff": False}},
    {"fields": ["Name"], "query": "Name=nothing-matches-this"},
]


@pytest.fixture(scope="module")
def otrf_library(tmp_path_factory, shared_data):
    from procanom.library import DatasetLibrary

    path = shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv"
    library = DatasetLibrary(tmp_path_factory.mktemp("data"))
    info = library.ingest(path, "otrf")
    yield library, info.id, read_events(path).frame
    library.close()


@pytest.mark.parametrize("raw", SETTINGS)
def test_library_score_matches_detect_bit_for_bit(otrf_library, raw):
    library, dataset_id, frame = otrf_library
    # Splunk's method, computed in DuckDB.
    settings = ExperimentSettings.from_dict({"method": "histogram", **raw})
    expected = run_settings(settings, frame)

    got = library.score(dataset_id, settings)

    ours, theirs = got.annotated, expected.annotated
    assert ours.index.tolist() == theirs.index.tolist()
    for column in (
        "log_event_prob",
        "anomaly_score",
        "max_freq",
        "probable_cause_freq",
    ):
        np.testing.assert_array_equal(
            ours[column].to_numpy(), theirs[column].to_numpy()
        )
    np.testing.assert_array_equal(ours["isOutlier"], theirs["isOutlier"])
    assert ours["probable_cause"].astype(str).tolist() == (
        theirs["probable_cause"].astype(str).tolist()
    )
    for field in settings.fields:
        pd.testing.assert_series_equal(ours[field], theirs[field])
    assert got.fence == expected.fence
    assert got.threshold == expected.threshold
    pd.testing.assert_frame_equal(got.table("summary"), expected.table("summary"))


OTHER_METHODS = [
    # The default method; the OTRF events link to their parents by GUID.
    {"fields": ["ParentName", "Name", "host", "User"]},
    {"fields": ["ParentPath", "Path", "CommandLine"], "method": "conditional"},
    {"fields": ["Name", "host"], "method": "conditional", "params": {"link": "pid"}},
    {"fields": ["ProcessId"], "method": "zscore", "query": "NOT Name=svchost.exe"},
    {"fields": ["ProcessId"], "method": "iqr"},
]


@pytest.mark.parametrize("raw", OTHER_METHODS)
def test_library_score_other_methods_match_run_settings(otrf_library, raw):
    library, dataset_id, frame = otrf_library
    settings = ExperimentSettings.from_dict(raw)
    expected = run_settings(settings, frame)

    got = library.score(dataset_id, settings)

    ours, theirs = got.annotated, expected.annotated
    assert ours.index.tolist() == theirs.index.tolist()
    np.testing.assert_array_equal(
        ours["anomaly_score"].to_numpy(), theirs["anomaly_score"].to_numpy()
    )
    np.testing.assert_array_equal(ours["isOutlier"], theirs["isOutlier"])
    for column in ("inherited_from", "probable_cause"):
        if column in theirs:
            assert ours[column].astype(str).tolist() == (
                theirs[column].astype(str).tolist()
            )


def test_library_score_accepts_saved_settings_dict(otrf_library):
    library, dataset_id, frame = otrf_library

    got = library.score(dataset_id, {"fields": "Name, User", "params": {}})

    assert got.num_events == len(frame)
    assert got.fields == ["Name", "User"]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"fields": []}, "at least one field"),
        ({"fields": ["Nope"]}, "names of columns"),
        (ExperimentSettings(fields=["Name", "Name"]), "distinct"),
        ({"fields": ["Name"], "method": "nope"}, "method"),
    ],
)
def test_library_score_refuses_bad_settings(otrf_library, raw, match):
    library, dataset_id, _ = otrf_library

    with pytest.raises(ParameterError, match=match):
        library.score(dataset_id, raw)


# -- templates made once per dataset ---------------------------------------------

CONDITIONAL = [
    {"fields": ["ParentPath", "Path", "CommandLine", "host"]},
    {"fields": ["ParentName", "Name", "ParentCommandLine"], "query": "host=*"},
    # A role given by hand asks for templates of another kind.
    {"fields": ["Name", "Computer"], "params": {"roles": {"Computer": "path"}}},
]
CONDITIONAL = [{"method": "conditional", **raw} for raw in CONDITIONAL]


def _assert_same_scores(got, expected):
    ours, theirs = got.annotated, expected.annotated
    # The library reads the scored fields and the link columns only.
    assert set(ours.columns) <= set(theirs.columns)
    assert [c for c in theirs.columns if c.endswith("_template")] == [
        c for c in ours.columns if c.endswith("_template")
    ]
    assert ours.index.tolist() == theirs.index.tolist()
    for column in ("anomaly_score", "event_score", "max_freq"):
        np.testing.assert_array_equal(ours[column], theirs[column])
    np.testing.assert_array_equal(ours["isOutlier"], theirs["isOutlier"])
    for column in ours.columns:
        if column.endswith("_template") or column in ("inherited_from",):
            assert ours[column].astype(str).tolist() == (
                theirs[column].astype(str).tolist()
            )


def _no_templating(monkeypatch):
    """Make templating names, paths and command lines fail loudly."""
    from procanom import normalize

    def refuse(values):
        raise AssertionError("templates were made while scoring")

    for kind in ("name", "path", "command_line"):
        monkeypatch.setitem(normalize._TEMPLATERS, kind, refuse)


@pytest.mark.parametrize("raw", CONDITIONAL)
def test_library_score_conditional_reads_templates_made_at_ingest(
    tmp_path, otrf, monkeypatch, raw
):
    from procanom.library import DatasetLibrary

    frame = read_events(otrf).frame
    settings = ExperimentSettings.from_dict(raw)
    expected = run_settings(settings, frame)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        if "roles" in raw.get("params", {}):
            got = library.score(info.id, settings)  # made on first use, kept
        _no_templating(monkeypatch)
        got = library.score(info.id, settings)

    _assert_same_scores(got, expected)


def _drop_template_tables(library, dataset_id):
    """Make a dataset look ingested by a version that kept no templates."""
    import duckdb

    from procanom.library._templates import templates_folder

    path = library.folder / library._catalogue.get(dataset_id).file
    library._readers.forget(path=path)
    conn = duckdb.connect(str(path))
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'tpl_%'"
            ).fetchall()
        ]
        for name in tables:
            conn.execute(f"DROP TABLE {name}")
    finally:
        conn.close()
    assert tables
    return path, templates_folder(path)


def test_library_score_makes_and_keeps_templates_for_older_datasets(
    tmp_path, otrf, monkeypatch
):
    from procanom.library import DatasetLibrary

    frame = read_events(otrf).frame
    settings = ExperimentSettings.from_dict(CONDITIONAL[0])
    expected = run_settings(settings, frame)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        path, folder = _drop_template_tables(library, info.id)

        first = library.score(info.id, settings)
        kept = sorted(p.name for p in folder.glob("*.parquet"))
        assert len(kept) == 3  # ParentPath, Path, CommandLine

        _no_templating(monkeypatch)
        again = library.score(info.id, settings)

        library.delete(info.id)
        assert not folder.exists()
        assert not path.exists()

    _assert_same_scores(first, expected)
    _assert_same_scores(again, expected)


def test_library_score_ignores_templates_made_by_other_rules(
    tmp_path, otrf, monkeypatch
):
    from procanom.library import DatasetLibrary, _templates

    frame = read_events(otrf).frame
    settings = ExperimentSettings.from_dict(CONDITIONAL[0])
    expected = run_settings(settings, frame)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        # Rules changed since ingest: the kept tables no longer count.
        monkeypatch.setattr(_templates, "template_fingerprint", lambda: "0" * 12)
        got = library.score(info.id, settings)
        path = library.folder / library._catalogue.get(info.id).file
        names = [p.name for p in _templates.templates_folder(path).glob("*")]

    assert names and all("000000000000" in name for name in names)
    _assert_same_scores(got, expected)


def test_library_ingest_keeps_templates_of_names_paths_and_command_lines(
    tmp_path, otrf
):
    import duckdb

    from procanom.library import DatasetLibrary
    from procanom.normalize import template_fingerprint

    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        path = library.folder / library._catalogue.get(info.id).file
        layout = dict(library._catalogue.get(info.id).layout.visible)
        library.close()
        conn = duckdb.connect(str(path), read_only=True)
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM duckdb_tables()"
            ).fetchall()
        }
        conn.close()

    fingerprint = template_fingerprint()
    for field, kind in [
        ("Name", "name"),
        ("Path", "path"),
        ("CommandLine", "command_line"),
        ("ParentName", "name"),
        ("ParentPath", "path"),
        ("ParentCommandLine", "command_line"),
    ]:
        assert f"tpl_{layout[field]}_{kind}_{fingerprint}" in tables
    assert not any(f"tpl_{layout['host']}_" in name for name in tables)
