"""Experiment settings: plain data in, the same result out."""

from __future__ import annotations

import pytest

from procanom.errors import ParameterError, QueryError
from procanom.experiment import (
    ExperimentSettings,
    fingerprint,
    parse_field_list,
    run_settings,
)
from procanom.io import read_events
from procanom.samples import SAMPLES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Name", ["Name"]),
        ("Name, Path ,,CommandLine", ["Name", "Path", "CommandLine"]),
        (["Process Command Line", 'a" "b'], ["Process Command Line", 'a" "b']),
        (["Name", "Name"], ["Name"]),
        (None, []),
    ],
)
def test_experiment_field_lists(value, expected):
    assert parse_field_list(value) == expected


def test_experiment_settings_round_trip_as_plain_data():
    settings = ExperimentSettings(
        fields=["Name", "ProcessId"],
        field_types={"ProcessId": "numeric"},
        query="host=A*",
        notes="hunt",
    )
    again = ExperimentSettings.from_dict(settings.to_dict())
    assert again == settings
    assert again.numeric_fields == ["ProcessId"]


def test_experiment_settings_tolerate_loose_shapes():
    settings = ExperimentSettings.from_dict(
        {"fields": "Name,Path", "data_source": "export.csv", "unknown": 1}
    )
    assert settings.fields == ["Name", "Path"]
    assert settings.data_source.kind == "file"
    assert settings.data_source.name == "export.csv"
    assert settings.time_range["preset"] == "all"


def test_experiment_method_params_fit_the_method():
    settings = ExperimentSettings(
        fields=["Name"], params={"cutoff": False, "pthresh": None, "bogus": 1}
    )
    assert settings.method_params() == {"cutoff": False}


def test_experiment_run_settings_selects_then_scores():
    events = read_events(SAMPLES["otrf-sysmon"].path).frame
    settings = ExperimentSettings(fields=["Name"], query="host=DC01")
    result = run_settings(settings, events)
    assert result.num_events == int((events["host"] == "DC01").sum())
    assert set(result.annotated.index) <= set(events.index)


def test_experiment_run_settings_needs_fields_and_a_valid_query():
    events = read_events(SAMPLES["mstic-host"].path).frame
    with pytest.raises(ParameterError, match="fields"):
        run_settings(ExperimentSettings(fields=[]), events)
    with pytest.raises(QueryError):
        run_settings(ExperimentSettings(fields=["Name"], query="(Name=x"), events)


def test_experiment_fingerprint_is_stable_and_order_sensitive():
    assert fingerprint(["a", b"b"]) == fingerprint(["a", b"b"])
    assert fingerprint(["a", "b"]) != fingerprint(["b", "a"])
    assert fingerprint(["ab"]) != fingerprint(["a", "b"])
