"""Where "unusual" starts: threshold rules shared by every method.

Every method produces an ``anomaly_score`` (higher is more anomalous) and a
rule turns scores into ``isOutlier``. The rules, in the words an analyst
picks them by:

``auto``
    Splunk's ``cutoff=false`` fence, on the score's upper side:
    ``Q3 + 1.5 * IQR`` of all scores, quartiles by linear interpolation
    (numpy's default). For the histogram method, whose score is
    ``-log_event_prob``, this is exactly ``Q1 - 1.5 * IQR`` of
    ``log_event_prob``.
``auto-strict``
    The default, Splunk's ``cutoff=true`` in spirit (Splunk does not publish
    its rule): Tukey's *far out* fence, ``Q3 + 3 * IQR``. Since the IQR is
    never negative, its outliers are always a subset of ``auto``'s.
``pthresh``
    Splunk's ``pthresh=P`` for the histogram method: outlier when the event's
    probability is below ``P``, i.e. ``score > -ln(P)``.
``top``
    The ``N`` most unusual events: every event scoring at or above the
    ``N``-th highest score. Ties at the boundary are all included, so the
    count can exceed ``N`` rather than split identical events.
``percent``
    The ``p`` percent least likely events (``ceil(n * p / 100)`` events, same
    tie rule).
``score``
    A fixed score: outlier when ``score > value``.

Outliers are always strictly above the fence. For ``top`` and ``percent`` the
fence sits just below the last score asked for, so that score is flagged;
for the other rules an event exactly on the fence is not, and data where
every event looks alike flags nothing. :func:`describe_threshold` says which,
with the ties counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procanom.errors import ParameterError

__all__ = [
    "THRESHOLD_KINDS",
    "Fence",
    "ThresholdRule",
    "apply_threshold",
    "describe_threshold",
]

THRESHOLD_KINDS = ("auto", "auto-strict", "pthresh", "top", "percent", "score")
_FENCE_MULTIPLIER = {"auto": 1.5, "auto-strict": 3.0}


@dataclass(frozen=True)
class ThresholdRule:
    """How scores become outliers.

    Parameters
    ----------
    kind : {"auto", "auto-strict", "pthresh", "top", "percent", "score"}
        The rule; see the module notes.
    value : float, optional
        ``P`` for ``pthresh`` (0 < P <= 1), ``N`` for ``top`` (>= 0), the
        percentage for ``percent`` (0 to 100), the score for ``score``.
        Unused by the automatic rules.
    """

    kind: str = "auto-strict"
    value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in THRESHOLD_KINDS:
            raise ParameterError(
                "threshold", "one of " + ", ".join(THRESHOLD_KINDS), self.kind
            )
        if self.kind in _FENCE_MULTIPLIER:
            return
        if self.value is None or not math.isfinite(float(self.value)):
            raise ParameterError(
                f"threshold value for {self.kind!r}", "a finite number", self.value
            )
        checks = {
            "pthresh": (0 < self.value <= 1, "a probability above 0 and at most 1"),
            "top": (self.value >= 0, "a count of 0 or more"),
            "percent": (0 <= self.value <= 100, "a percentage from 0 to 100"),
        }
        ok, allowed = checks.get(self.kind, (True, ""))
        if not ok:
            raise ParameterError(self.kind, allowed, self.value)

    @classmethod
    def from_splunk(cls, cutoff: bool = True, pthresh: float | None = None):
        """Build the rule Splunk's ``cutoff`` and ``pthresh`` options describe."""
        if pthresh is not None:
            return cls("pthresh", float(pthresh))
        return cls("auto-strict" if cutoff else "auto")

    def to_dict(self) -> dict:
        """Return the rule as plain data for saving."""
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_dict(cls, data: dict) -> ThresholdRule:
        """Rebuild a rule saved by :meth:`to_dict`."""
        return cls(str(data.get("kind", "auto-strict")), data.get("value"))

    def describe(self) -> str:
        """Return the rule in plain words."""
        if self.kind == "auto":
            return "Splunk's automatic fence (Q3 + 1.5 IQR, cutoff=false)"
        if self.kind == "auto-strict":
            return "strict automatic fence (Q3 + 3 IQR, cutoff=true)"
        return {
            "pthresh": f"event probability below {self.value:g}",
            "top": f"the {self.value:g} most unusual events",
            "percent": f"the {self.value:g}% least likely events",
            "score": f"anomaly score above {self.value:g}",
        }[self.kind]


@dataclass(frozen=True)
class Fence:
    """A threshold resolved on one set of scores.

    Attributes
    ----------
    score : float
        Outliers are events whose score is strictly greater.
    q1, q3 : float
        Quartiles of the scores the fence was computed on (NaN when empty).
    """

    score: float
    q1: float
    q3: float


def resolve_fence(scores: np.ndarray, rule: ThresholdRule) -> Fence:
    """Resolve ``rule`` on ``scores`` to a numeric fence.

    Parameters
    ----------
    scores : numpy.ndarray
        Anomaly scores, higher is more anomalous.
    rule : ThresholdRule

    Returns
    -------
    Fence
    """
    if scores.size == 0:
        return Fence(math.inf, math.nan, math.nan)
    q1, q3 = (float(q) for q in np.percentile(scores, [25, 75]))

    if rule.kind in _FENCE_MULTIPLIER:
        fence = q3 + _FENCE_MULTIPLIER[rule.kind] * (q3 - q1)
    elif rule.kind == "pthresh":
        fence = -math.log(rule.value)
    elif rule.kind == "score":
        fence = float(rule.value)
    else:
        fence = _fence_for_count(scores, _asked(rule, scores.size))
    return Fence(fence, q1, q3)


def _asked(rule: ThresholdRule, size: int) -> int:
    # The number of events a ranked rule (top, percent) asks for.
    if rule.kind == "top":
        return int(rule.value)
    return math.ceil(size * rule.value / 100.0)


def _fence_for_count(scores: np.ndarray, count: int) -> float:
    # The fence sits just below the count-th highest score, so that every
    # event tied with it is flagged too.
    if count <= 0:
        return math.inf
    if count >= scores.size:
        return -math.inf
    kth = np.partition(scores, scores.size - count)[scores.size - count]
    return float(np.nextafter(kth, -math.inf))


def apply_threshold(
    scores: np.ndarray, rule: ThresholdRule
) -> tuple[np.ndarray, Fence]:
    """Flag the events whose score is above the fence ``rule`` resolves to.

    Returns
    -------
    is_outlier : numpy.ndarray of bool
    fence : Fence
    """
    fence = resolve_fence(scores, rule)
    return scores > fence.score, fence


def describe_threshold(
    scores: np.ndarray, rule: ThresholdRule, fence: Fence | None = None
) -> str:
    """Return the rule and what it flagged among ``scores``, in plain words.

    The words follow the comparison: a ranked rule (``top``, ``percent``)
    flags scores *at or above* the last one asked for, and says how many
    more were flagged because they tie with it; the other rules flag scores
    strictly *above* the fence. A rule that flags nothing, or every event,
    says so instead of naming an infinite fence.

    Parameters
    ----------
    scores : numpy.ndarray
        The anomaly scores the rule labelled (before any allow-list).
    rule : ThresholdRule
    fence : Fence, optional
        The fence ``rule`` resolved to on ``scores``; computed when omitted.

    Returns
    -------
    str

    Examples
    --------
    >>> scores = np.array([1.0, 2.0, 3.0, 3.0, 5.0])
    >>> describe_threshold(scores, ThresholdRule("top", 2))
    'the 2 most unusual events — 3 flagged: 2 asked for, 1 more ties with the \
last (anomaly score at or above 3)'
    >>> describe_threshold(scores, ThresholdRule("score", 2.5))
    'anomaly score above 2.5'
    >>> describe_threshold(scores, ThresholdRule("top", 0))
    'the 0 most unusual events — nothing flagged'
    >>> describe_threshold(scores, ThresholdRule("top", 9))
    'the 9 most unusual events — every event flagged'
    """
    scores = np.asarray(scores, dtype=np.float64)
    fence = fence if fence is not None else resolve_fence(scores, rule)
    flagged = scores > fence.score
    count, size = int(flagged.sum()), int(scores.size)
    ranked = rule.kind in ("top", "percent")

    if count == 0:
        bound = "nothing flagged"
        if math.isfinite(fence.score) and rule.kind != "score":
            bound += f" (no anomaly score above {fence.score:.4g})"
    elif count == size:
        bound = "every event flagged"
    elif ranked:
        bound = f"anomaly score at or above {float(scores[flagged].min()):.4g}"
    elif rule.kind == "score":
        return rule.describe()  # its own words already give the bound
    else:
        bound = f"anomaly score above {fence.score:.4g}"

    # Ties with the last event asked for are flagged too: say how many.
    asked = _asked(rule, size) if ranked else count
    if count > asked:
        ties = count - asked
        tie = "ties" if ties == 1 else "tie"
        counted = f"{count:,} flagged: {asked:,} asked for, {ties:,} more {tie} with"
        if count == size:
            bound = f"every event flagged ({counted} the last)"
        else:
            bound = f"{counted} the last ({bound})"
    return f"{rule.describe()} — {bound}"
