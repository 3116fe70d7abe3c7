"""Threshold rules turn scores into outliers the way their names say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from procanom.errors import ParameterError
from procanom.scoring.thresholds import (
    ThresholdRule,
    apply_threshold,
    describe_threshold,
)

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


# SCORES sorted from the top: 30, 30, 20, 4, 3, 3, 2, 2, 1, 1.
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            ThresholdRule("top", 5),
            "the 5 most unusual events — 6 flagged: 5 asked for, 1 more ties with"
            " the last (anomaly score at or above 3)",
        ),
        (
            ThresholdRule("top", 7),
            "the 7 most unusual events — 8 flagged: 7 asked for, 1 more ties with"
            " the last (anomaly score at or above 2)",
        ),
        (
            ThresholdRule("top", 1),
            "the 1 most unusual events — 2 flagged: 1 asked for, 1 more ties with"
            " the last (anomaly score at or above 30)",
        ),
        (
            ThresholdRule("top", 3),
            "the 3 most unusual events — anomaly score at or above 20",
        ),
        (
            ThresholdRule("percent", 50),
            "the 50% least likely events — 6 flagged: 5 asked for, 1 more ties with"
            " the last (anomaly score at or above 3)",
        ),
        (ThresholdRule("top", 0), "the 0 most unusual events — nothing flagged"),
        (ThresholdRule("percent", 0), "the 0% least likely events — nothing flagged"),
        (ThresholdRule("top", 10), "the 10 most unusual events — every event flagged"),
        (
            ThresholdRule("top", 5000),
            "the 5000 most unusual events — every event flagged",
        ),
        (ThresholdRule("score", 20), "anomaly score above 20"),
        (ThresholdRule("score", 30), "anomaly score above 30 — nothing flagged"),
        (ThresholdRule("score", 0), "anomaly score above 0 — every event flagged"),
        (
            ThresholdRule("pthresh", 0.01),
            "event probability below 0.01 — anomaly score above 4.605",
        ),
    ],
)
def test_describe_threshold_matches_what_was_flagged(rule, expected):
    assert describe_threshold(SCORES, rule) == expected


def test_describe_threshold_counts_ties_among_many_equal_scores():
    scores = np.array([3.922] * 10 + [1.0] * 90)
    text = describe_threshold(scores, ThresholdRule("top", 5))
    assert text.endswith(
        "10 flagged: 5 asked for, 5 more tie with the last"
        " (anomaly score at or above 3.922)"
    )
    flat = np.full(4, 2.0)
    assert describe_threshold(flat, ThresholdRule("top", 1)).endswith(
        "every event flagged (4 flagged: 1 asked for, 3 more tie with the last)"
    )


def test_describe_threshold_says_at_or_above_only_when_the_last_is_flagged():
    # The ranked rules flag the score they name; the others flag only above it.
    flags, fence = apply_threshold(SCORES, ThresholdRule("top", 3))
    assert SCORES[flags].min() == 20 and fence.score < 20
    flags, fence = apply_threshold(SCORES, ThresholdRule("auto"))
    assert "anomaly score above" in describe_threshold(
        SCORES, ThresholdRule("auto"), fence
    )
    assert not (SCORES[~flags] > fence.score).any()


def test_describe_threshold_without_scores_says_nothing_flagged():
    text = describe_threshold(np.array([]), ThresholdRule("auto"))
    assert text.endswith("— nothing flagged")
