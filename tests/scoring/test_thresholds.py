"""Threshold rules turn scores into outliers the way their names say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from procanom.errors import ParameterError
from procanom.scoring.thresholds import ThresholdRule, apply_threshold

SCORES = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 20.0, 30.0, 30.0])


def test_threshold_auto_is_upper_tukey_fence():
    flags, fence = apply_threshold(SCORES, ThresholdRule("auto"))
    q1, q3 = np.percentile(SCORES, [25, 75])
    assert fence.score == pytest.approx(q3 + 1.5 * (q3 - q1))
    assert flags.tolist() == (SCORES > fence.score).tolist()


def test_threshold_auto_strict_is_far_out_fence_and_subset():
    strict, fence = apply_threshold(SCORES, ThresholdRule("auto-strict"))
    loose, _ = apply_threshold(SCORES, ThresholdRule("auto"))
    q1, q3 = np.percentile(SCORES, [25, 75])
    assert fence.score == pytest.approx(q3 + 3 * (q3 - q1))
    assert not (strict & ~loose).any()


def test_threshold_pthresh_is_probability_below():
    flags, fence = apply_threshold(SCORES, ThresholdRule("pthresh", math.exp(-10)))
    assert fence.score == pytest.approx(10)
    assert flags.sum() == 3


@pytest.mark.parametrize(
    ("count", "flagged"), [(0, 0), (1, 2), (2, 2), (3, 3), (99, 10)]
)
def test_threshold_top_n_includes_ties(count, flagged):
    flags, _ = apply_threshold(SCORES, ThresholdRule("top", count))
    assert flags.sum() == flagged


def test_threshold_percent_rounds_up_to_whole_events():
    flags, _ = apply_threshold(SCORES, ThresholdRule("percent", 25))
    assert flags.sum() == 3  # ceil(2.5) events, ties at 20 none


def test_threshold_score_is_strictly_above():
    flags, _ = apply_threshold(SCORES, ThresholdRule("score", 20))
    assert flags.sum() == 2


def test_threshold_empty_scores_flag_nothing():
    flags, fence = apply_threshold(np.array([]), ThresholdRule("auto"))
    assert flags.size == 0 and fence.score == math.inf


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("nope", None),
        ("pthresh", 0),
        ("pthresh", 1.5),
        ("top", -1),
        ("percent", 101),
        ("score", None),
        ("score", float("nan")),
    ],
)
def test_threshold_rejects_bad_values(kind, value):
    with pytest.raises(ParameterError):
        ThresholdRule(kind, value)


def test_threshold_round_trips_as_plain_data():
    rule = ThresholdRule("percent", 0.1)
    assert ThresholdRule.from_dict(rule.to_dict()) == rule
    assert "0.1%" in rule.describe()
