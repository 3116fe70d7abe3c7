"""Helpers shared by the tests of acting on outliers."""

from __future__ import annotations

import pandas as pd

from procanom.scoring import DetectionResult, detect

SAMPLE = "otrf-sysmon"
FIELDS = ["Name", "ParentName"]


def small_result(rows: list[dict], fields: list[str], **params) -> DetectionResult:
    """Score hand-written events (all text, as read from a file)."""
    frame = pd.DataFrame(rows).astype("string")
    return detect(frame, fields, **params)
