"""What every scoring method shares: input checks, thresholds and results.

A method is a scikit-learn style estimator: :meth:`BaseDetector.fit` learns
from a baseline frame, :meth:`BaseDetector.score` scores another (or the
same) frame and returns a :class:`DetectionResult`. Fitted state ends in
``_``. Scores point one way everywhere: higher ``anomaly_score`` is more
anomalous.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from procanom.errors import ParameterError
from procanom.scoring.thresholds import Fence, ThresholdRule, apply_threshold

__all__ = [
    "ACTIONS",
    "SCORE_COLUMNS",
    "BaseDetector",
    "Causes",
    "DetectionResult",
    "summary_thresh",
]

logger = logging.getLogger(__name__)

ACTIONS = ("annotate", "filter", "summary")

#: Columns every method appends, in this order, after the input columns.
SCORE_COLUMNS = (
    "log_event_prob",
    "probable_cause",
    "probable_cause_freq",
    "max_freq",
    "anomaly_score",
    "isOutlier",
)


@dataclass(frozen=True)
class Causes:
    """Every event's probable cause, whether the rule flags it or not.

    A method works out each event's cause once, when scoring; the annotated
    columns show it on flagged events only. Keeping it for every event lets
    :meth:`DetectionResult.relabel` show exactly the causes a fresh score
    under another rule would show.

    Attributes
    ----------
    codes : numpy.ndarray of int
        One code per event into ``categories``; 0 for an event without a
        cause.
    categories : list of str
        The categories of the ``probable_cause`` column, ``""`` first. Causes
        are usually field names, but need not be (the conditional method's
        ``(inherited)``).
    freqs : numpy.ndarray of float, optional
        Each event's ``probable_cause_freq``; None for a method that gives
        none (the column is then NaN).
    """

    codes: np.ndarray
    categories: list[str]
    freqs: np.ndarray | None = None

    def shown(self, flags: np.ndarray) -> tuple[pd.Categorical, np.ndarray]:
        """Return the ``probable_cause`` and ``probable_cause_freq`` columns.

        Parameters
        ----------
        flags : numpy.ndarray of bool
            Which events are flagged; the others get no cause (``""``, NaN).
        """
        flags = np.asarray(flags, dtype=bool)
        cause = pd.Categorical.from_codes(
            np.where(flags, self.codes, 0), categories=self.categories
        )
        if self.freqs is None:
            return cause, np.full(len(flags), np.nan)
        return cause, np.where(flags, self.freqs, np.nan)


def summary_thresh(fence: Fence, on_log_prob: bool = False) -> float:
    """Return the summary's ``thresh`` for ``fence``.

    Parameters
    ----------
    fence : Fence
    on_log_prob : bool, default False
        Give it on ``log_event_prob``, as Splunk's histogram method does:
        the negated fence, NaN when the fence is infinite.
    """
    if not on_log_prob:
        return fence.score
    return -fence.score if math.isfinite(fence.score) else math.nan


@dataclass
class DetectionResult:
    """The outcome of scoring a frame of events.

    Attributes
    ----------
    annotated : pandas.DataFrame
        Every input row, in input order, with the method's output columns
        appended (at least ``anomaly_score`` and ``isOutlier``).
    fields : list of str
        The fields that were scored.
    method : str
        The method's name.
    threshold : ThresholdRule
        The rule that set ``isOutlier``.
    fence : Fence
        The rule resolved on these scores.
    summary : dict
        Splunk's ``action=summary`` row (for methods that have one) plus
        ``num_events``.
    seconds : float
        Wall time of fitting and scoring.
    model : BaseDetector, optional
        The fitted detector that produced the scores, for explanations
        (:mod:`procanom.explain`); None when the result was built otherwise.
    causes : Causes, optional
        Every event's probable cause, flagged or not, so that :meth:`relabel`
        shows the causes a fresh score under the new rule would show. None
        when the result was built otherwise: relabelling then keeps the
        ``probable_cause`` columns as they are.
    log_prob_thresh : bool
        Whether ``summary["thresh"]`` is given on ``log_event_prob`` (the
        negated fence, NaN when infinite), as Splunk's histogram method
        gives it, rather than on ``anomaly_score``.
    """

    annotated: pd.DataFrame
    fields: list[str]
    method: str
    threshold: ThresholdRule
    fence: Fence
    summary: dict
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    model: BaseDetector | None = field(default=None, repr=False, compare=False)
    causes: Causes | None = field(default=None, repr=False, compare=False)
    log_prob_thresh: bool = False

    @property
    def num_outliers(self) -> int:
        """How many events are flagged."""
        return int(self.annotated["isOutlier"].sum())

    @property
    def num_events(self) -> int:
        """How many events were scored."""
        return len(self.annotated)

    def outliers(self) -> pd.DataFrame:
        """Return the flagged events only, in input order (``action=filter``)."""
        return self.annotated[self.annotated["isOutlier"] == 1]

    def table(self, action: str = "annotate") -> pd.DataFrame:
        """Return the frame Splunk's ``action=`` option would return.

        Parameters
        ----------
        action : {"annotate", "filter", "summary"}
        """
        if action == "annotate":
            return self.annotated
        if action == "filter":
            return self.outliers()
        if action == "summary":
            return pd.DataFrame([self.summary])
        raise ParameterError("action", "one of " + ", ".join(ACTIONS), action)

    def relabel(self, threshold: ThresholdRule) -> DetectionResult:
        """Return the same scores under another threshold, without rescoring.

        Flags, probable causes, their frequencies and the summary's counts
        are those a fresh score with ``threshold`` would give.
        """
        scores = self.annotated["anomaly_score"].to_numpy()
        flags, fence = apply_threshold(scores, threshold)
        annotated = self.annotated.copy()
        annotated["isOutlier"] = flags.astype(np.int8)
        if self.causes is not None:
            cause, cause_freq = self.causes.shown(flags)
            annotated["probable_cause"] = cause
            annotated["probable_cause_freq"] = cause_freq
        summary = {**self.summary, "num_anomalies": int(flags.sum())}
        if "thresh" in summary:
            summary["thresh"] = summary_thresh(fence, self.log_prob_thresh)
        return DetectionResult(
            annotated=annotated,
            fields=self.fields,
            method=self.method,
            threshold=threshold,
            fence=fence,
            summary=summary,
            seconds=self.seconds,
            warnings=list(self.warnings),
            model=self.model,
            causes=self.causes,
            log_prob_thresh=self.log_prob_thresh,
        )


class BaseDetector(BaseEstimator):
    """Base class of procanom's scoring methods.

    Subclasses set ``name`` and implement ``_fit`` and ``_score``;
    ``parameter_ranges`` gives the closed range of a parameter bounded on
    both sides, for forms that offer it.
    """

    name = "base"
    parameter_ranges: ClassVar[dict[str, tuple[float, float]]] = {}

    def _check_fields(self, frame: pd.DataFrame) -> list[str]:
        fields = list(self.fields) if self.fields else []
        if not fields:
            raise ParameterError("fields", "at least one field name", self.fields)
        if len(set(fields)) != len(fields):
            raise ParameterError("fields", "distinct field names", fields)
        missing = [f for f in fields if f not in frame.columns]
        if missing:
            available = ", ".join(map(str, frame.columns[:20]))
            raise ParameterError(
                "fields",
                f"names of columns in the data (it has: {available})",
                missing,
            )
        return fields

    def fit(self, frame: pd.DataFrame, y: object = None) -> BaseDetector:
        """Learn the method's baseline from ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame
            Baseline events; must hold every field in ``fields``.
        y : ignored
            Present for scikit-learn compatibility.

        Returns
        -------
        self
        """
        fields = self._check_fields(frame)
        self._fit(frame, fields)
        self.fields_ = fields
        self.n_events_ = len(frame)
        return self

    def score(self, frame: pd.DataFrame) -> DetectionResult:  # type: ignore[override]
        """Score ``frame`` against the fitted baseline."""
        if not hasattr(self, "fields_"):
            raise ParameterError("detector", "fitted before scoring", "not fitted")
        self._check_fields(frame)
        start = time.perf_counter()
        result = self._score(frame)
        result.seconds = time.perf_counter() - start
        result.model = self
        return result

    def fit_score(self, frame: pd.DataFrame) -> DetectionResult:
        """Fit on ``frame`` and score the same events, as Splunk does."""
        start = time.perf_counter()
        self.fit(frame)
        result = self._score(frame, same_as_fit=True)
        result.seconds = time.perf_counter() - start
        result.model = self
        logger.info(
            "%s scored %d events on %s: %d outliers (%s) in %.3f s",
            self.name,
            result.num_events,
            ", ".join(self.fields_),
            result.num_outliers,
            result.threshold.describe(),
            result.seconds,
        )
        return result

    def _threshold_rule(self) -> ThresholdRule:
        threshold = getattr(self, "threshold", None)
        if threshold is None:
            return ThresholdRule.from_splunk(
                getattr(self, "cutoff", True), getattr(self, "pthresh", None)
            )
        if isinstance(threshold, ThresholdRule):
            return threshold
        if isinstance(threshold, dict):
            return ThresholdRule.from_dict(threshold)
        raise ParameterError("threshold", "a ThresholdRule, a dict or None", threshold)

    # Plain-data form ----------------------------------------------------
    def to_dict(self) -> dict:
        """Return the fitted model as JSON-able data, for saving without pickle.

        See :mod:`procanom.scoring.persist`.
        """
        from procanom.scoring.persist import detector_to_dict

        return detector_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BaseDetector:
        """Rebuild a fitted model saved by :meth:`to_dict`."""
        from procanom.scoring.persist import detector_from_dict

        detector = detector_from_dict(data)
        if not isinstance(detector, cls):
            raise ParameterError(
                "model", f"a saved {cls.name} model", data.get("method")
            )
        return detector

    # Subclass hooks -----------------------------------------------------
    def _fit(self, frame: pd.DataFrame, fields: Sequence[str]) -> None:
        raise NotImplementedError

    def _score(self, frame: pd.DataFrame, same_as_fit: bool = False) -> DetectionResult:
        raise NotImplementedError
