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


def _kept(library, dataset_id):
    from procanom.library._templates import templates_folder

    path = library.folder / library._catalogue.get(dataset_id).file
    return path, templates_folder(path)


@pytest.mark.parametrize("raw", CONDITIONAL)
def test_library_score_conditional_makes_templates_once_and_keeps_them(
    tmp_path, otrf, monkeypatch, raw
):
    from procanom.library import DatasetLibrary

    frame = read_events(otrf).frame
    settings = ExperimentSettings.from_dict(raw)
    expected = run_settings(settings, frame)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        first = library.score(info.id, settings)
        _, folder = _kept(library, info.id)
        kept = list(folder.glob("*.parquet"))
    templated = [c for c in first.annotated if c.endswith("_template")]
    assert len(kept) == len(templated) > 0

    # Another library on the same folder (another process) reads them.
    _no_templating(monkeypatch)
    with DatasetLibrary(tmp_path / "data") as library:
        again = library.score(info.id, settings)

    _assert_same_scores(first, expected)
    _assert_same_scores(again, expected)


def test_library_delete_removes_kept_templates(tmp_path, otrf):
    from procanom.library import DatasetLibrary

    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        library.score(info.id, ExperimentSettings.from_dict(CONDITIONAL[0]))
        path, folder = _kept(library, info.id)
        assert any(folder.glob("*.parquet"))

        library.delete(info.id)

    assert not folder.exists()
    assert not path.exists()


def test_library_score_ignores_templates_made_by_other_rules(
    tmp_path, otrf, monkeypatch
):
    from procanom.library import DatasetLibrary, _templates

    frame = read_events(otrf).frame
    settings = ExperimentSettings.from_dict(CONDITIONAL[0])
    expected = run_settings(settings, frame)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        library.score(info.id, settings)
        # The rules changed since: those templates no longer count.
        monkeypatch.setattr(_templates, "template_fingerprint", lambda: "0" * 12)
        got = library.score(info.id, settings)
        _, folder = _kept(library, info.id)
        names = [p.name for p in folder.glob("*")]

    assert len(names) == 3
    assert all(name.endswith(".000000000000.parquet") for name in names)
    _assert_same_scores(got, expected)


def test_library_make_templates_ahead_spares_the_first_score(
    tmp_path, otrf, monkeypatch
):
    from procanom.library import DatasetLibrary

    frame = read_events(otrf).frame
    settings = ExperimentSettings.from_dict(CONDITIONAL[0])
    expected = run_settings(settings, frame)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        library.make_templates(info.id, settings.fields)
        _no_templating(monkeypatch)
        got = library.score(info.id, settings)

    _assert_same_scores(got, expected)


def test_library_make_templates_names_unknown_fields(tmp_path, otrf):
    from procanom.errors import ParameterError
    from procanom.library import DatasetLibrary

    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        with pytest.raises(ParameterError, match="NoSuchField"):
            library.make_templates(info.id, ["Name", "NoSuchField"])


def test_library_templates_asked_twice_at_once_are_made_once(
    tmp_path, otrf, monkeypatch
):
    import threading

    from procanom import normalize
    from procanom.library import DatasetLibrary

    made = []
    real = normalize._TEMPLATERS["command_line"]

    def slow(values):
        made.append(len(values))
        threading.Event().wait(0.2)  # long enough for the other to ask
        return real(values)

    monkeypatch.setitem(normalize._TEMPLATERS, "command_line", slow)
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(otrf, "otrf")
        workers = [
            threading.Thread(
                target=library.make_templates, args=(info.id, ["CommandLine"])
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert len(made) == 1
