"""Linking events to their parent's event, and scores along the lineage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from procanom.scoring.tree import link_description, link_parents, propagate_lineage


def test_tree_links_by_process_guid_case_insensitively():
    frame = pd.DataFrame(
        {
            "ProcessGuid": ["{A}", "{B}", "{C}", "{D}"],
            "ParentProcessGuid": [None, "{a}", "{B}", "{Z}"],
        }
    )
    assert link_parents(frame).tolist() == [-1, 0, 1, -1]
    assert link_description(frame) == "ProcessGuid -> ParentProcessGuid"


def test_tree_links_reused_pids_to_the_latest_earlier_start_on_the_same_host():
    frame = pd.DataFrame(
        {
            "host": ["A", "A", "B", "A", "A"],
            "_time": [
                "2024-01-01T10:00:00Z",
                "2024-01-01T10:05:00Z",
                "2024-01-01T10:06:00Z",
                "2024-01-01T11:00:00Z",
                "2024-01-01T11:01:00Z",
            ],
            "ProcessId": ["100", "200", "300", "100", "400"],
            "ParentProcessId": ["4", "100", "100", "4", "0x64"],  # 0x64 == 100
        }
    )
    # Event 1's parent is the first pid 100; event 4's is the pid 100 started
    # at 11:00; pid 100 on host B does not exist.
    assert link_parents(frame).tolist() == [-1, 0, -1, -1, 3]
    assert "same host" in link_description(frame)


def test_tree_without_id_columns_links_nothing():
    frame = pd.DataFrame({"Name": ["a.exe", "b.exe"]})
    assert link_parents(frame).tolist() == [-1, -1]
    assert link_description(frame) is None


def test_tree_lineage_inherits_the_highest_ancestor_score():
    scores = np.array([5.0, 1.0, 0.5, 2.0])
    parents = np.array([-1, 0, 1, -1])
    lineage, source = propagate_lineage(scores, parents, decay=1.0)
    assert lineage.tolist() == [5.0, 5.0, 5.0, 2.0]
    assert source.tolist() == [0, 0, 0, 3]
    halved, _ = propagate_lineage(scores, parents, decay=0.5)
    assert halved.tolist() == [5.0, 2.5, 1.25, 2.0]


def test_tree_lineage_survives_a_cycle_in_bad_data():
    scores = np.array([1.0, 3.0])
    parents = np.array([1, 0])
    lineage, _ = propagate_lineage(scores, parents, decay=1.0)
    assert lineage.tolist() == [3.0, 3.0]
