"""Saved models: plain JSON-able data, identical scores after reloading."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from procanom.errors import ParameterError
from procanom.scoring import BaseDetector, ConditionalDetector, HistogramDetector
from procanom.scoring.persist import detector_from_dict, detector_to_dict


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2)
    baseline = pd.DataFrame(
        {
            "Name": rng.choice(["a.exe", "b.exe", "c.exe"], 300),
            "Handles": rng.normal(100, 10, 300),
        }
    )
    window = pd.DataFrame(
        {"Name": ["a.exe", "new.exe", None], "Handles": [100, 1e6, 95]}
    )
    return baseline, window


def test_persist_histogram_with_a_numeric_field_reloads_to_identical_scores(frames):
    baseline, window = frames
    detector = HistogramDetector(["Name", "Handles"], numeric_fields=["Handles"])
    detector.fit(baseline)
    data = json.loads(json.dumps(detector_to_dict(detector)))
    assert data["format"] == "procanom-model"
    reloaded = detector_from_dict(data)
    pd.testing.assert_frame_equal(
        detector.score(window).annotated, reloaded.score(window).annotated
    )
    assert HistogramDetector.from_dict(data).fields_ == ["Name", "Handles"]


def test_persist_keeps_parameters_and_threshold(frames):
    baseline, _ = frames
    detector = ConditionalDetector(
        ["Name"], alpha=1.5, threshold={"kind": "top", "value": 2}
    )
    data = detector.fit(baseline).to_dict()
    reloaded = BaseDetector.from_dict(data)
    assert reloaded.alpha == 1.5
    assert reloaded.threshold == {"kind": "top", "value": 2}


def test_persist_refuses_unfitted_and_damaged_models(frames):
    with pytest.raises(ParameterError, match="fitted"):
        ConditionalDetector(["Name"]).to_dict()
    baseline, _ = frames
    data = ConditionalDetector(["Name"]).fit(baseline).to_dict()
    with pytest.raises(ParameterError, match="model"):
        detector_from_dict({**data, "format": "pickle"})
    with pytest.raises(ParameterError, match="version"):
        detector_from_dict({**data, "version": 99})
    broken = json.loads(json.dumps(data))
    del broken["fitted"]["tables"]
    with pytest.raises(ParameterError, match="damaged"):
        detector_from_dict(broken)
    with pytest.raises(ParameterError, match="histogram"):
        HistogramDetector.from_dict(data)
