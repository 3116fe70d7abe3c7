"""Field profiles: what the picker offers, hides and warns about."""

from __future__ import annotations

import pandas as pd
import pytest

from procanom.io import read_events
from procanom.profile import is_internal_field, profile_fields


@pytest.mark.parametrize(
    ("name", "internal"),
    [
        ("_raw", True),
        ("__mv_user", True),
        ("punct", True),
        ("date_hour", True),
        ("_time", False),
        ("Name", False),
        ("process.name", False),
    ],
)
def test_profile_internal_fields(name, internal):
    assert is_internal_field(name) is internal


def test_profile_counts_presence_and_distinct_values():
    frame = pd.DataFrame(
        {"Name": ["a", "a", "b", None], "Empty": [None, "", None, None]},
        dtype="string[pyarrow]",
    )
    profile = profile_fields(frame, top=1).set_index("field")
    assert profile.loc["Name", "present"] == 3
    assert profile.loc["Name", "present_pct"] == 75.0
    assert profile.loc["Name", "distinct"] == 2
    assert profile.loc["Name", "top_values"] == [("a", 2)]
    assert profile.loc["Empty", "role"] == "empty"


def test_profile_never_offers_labels(shared_data):
    events = read_events(shared_data / "winhostmon_process_sample.csv").frame
    profile = profile_fields(events).set_index("field")
    assert not profile.loc["is_simulated_attack", "offer"]
    assert not profile.loc["label_reason", "offer"]
    assert profile.loc["Name", "offer"]
    assert profile.loc["sourcetype", "role"] == "constant"


def test_profile_warns_on_near_unique_and_flags_ids(shared_cases):
    events = read_events(shared_cases / "case16_high_cardinality_cmdline.csv").frame
    profile = profile_fields(events).set_index("field")
    assert profile.loc["CommandLine", "role"] == "near-unique text"
    assert "distinct" in profile.loc["CommandLine", "note"]


def test_profile_type_name_placeholders_are_uninformative(shared_cases):
    events = read_events(shared_cases / "case01_ps51_typeheader.csv").frame
    roles = profile_fields(events).set_index("field")["role"]
    assert {"constant", "type name placeholder"} & set(roles)
