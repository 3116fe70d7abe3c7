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
