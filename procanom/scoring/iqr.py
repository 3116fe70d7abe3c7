"""Splunk ``anomalydetection method=iqr``: the ``outlier`` command.

For each numeric field, a value is an outlier above ``Q3 + param * IQR``
(and, with ``uselower=True``, below ``Q1 - param * IQR``), quartiles of the
field's numbers in the baseline. Splunk's two actions are kept:
``transform`` clips each outlying value to the bound it crossed (prefixed
with ``000`` when ``mark=True``), ``remove`` drops the events holding an
outlying value. ``annotate``, ``filter`` and ``summary`` work as for every
other method.

Rules Splunk leaves undocumented, fixed here:

- A value that is not a number (text, missing) is never an outlier and is
  left as it is by ``transform``.
- ``anomaly_score`` is how far the event's most outlying value lies beyond
  the quartiles, in IQRs: ``(x - Q3) / IQR`` above (and ``(Q1 - x) / IQR``
  below with ``uselower``), the largest over the fields. An event is an
  outlier when that exceeds ``param``: the rule ``ThresholdRule("score",
  param)``. Values between the quartiles score 0. When a field's IQR is
  zero, any value beyond the quartiles is as good as infinitely far.
- Quartiles use linear interpolation (numpy's default).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from procanom.errors import ParameterError
from procanom.scoring._base import ACTIONS, BaseDetector, Causes, DetectionResult
from procanom.scoring._tables import as_numbers
from procanom.scoring.thresholds import ThresholdRule, apply_threshold

__all__ = ["IQRDetector", "OutlierResult", "IQR_ACTIONS"]

logger = logging.getLogger(__name__)

#: Actions of Splunk's ``outlier`` command, beside the shared ones.
IQR_ACTIONS = ("transform", "remove")


@dataclass
class OutlierResult(DetectionResult):
    """A :class:`DetectionResult` that also offers ``transform`` and ``remove``."""

    bounds: dict | None = None
    mark: bool = False

    def table(self, action: str = "annotate") -> pd.DataFrame:
        """Return Splunk's output for ``action``.

        Parameters
        ----------
        action : {"annotate", "filter", "summary", "transform", "remove"}
        """
        if action == "remove":
            return self.annotated[self.annotated["isOutlier"] == 0]
        if action == "transform":
            return self._transformed()
        if action not in ACTIONS:
            raise ParameterError(
                "action", "one of " + ", ".join((*ACTIONS, *IQR_ACTIONS)), action
            )
        return super().table(action)

    def relabel(self, threshold: ThresholdRule) -> OutlierResult:
        """Return the same scores under another threshold, without rescoring."""
        base = super().relabel(threshold)
        return OutlierResult(
            **{**base.__dict__, "bounds": self.bounds, "mark": self.mark}
        )

    def _transformed(self) -> pd.DataFrame:
        out = self.annotated.copy()
        for field, (lower, upper) in (self.bounds or {}).items():
            numbers = pd.Series(as_numbers(out[field]), index=out.index)
            high = numbers > upper
            low = (
                numbers < lower
                if lower is not None
                else pd.Series(False, index=out.index)
            )
            if not (high.any() or low.any()):
                continue
            column = out[field].astype(object)
            prefix = "000" if self.mark else ""
            column[high] = (
                [f"{prefix}{upper:g}"] * int(high.sum()) if self.mark else upper
            )
            if lower is not None:
                column[low] = (
                    [f"{prefix}{lower:g}"] * int(low.sum()) if self.mark else lower
                )
            out[field] = column
        return out


class IQRDetector(BaseDetector):
    """Splunk's ``outlier``: numbers beyond the interquartile fences.

    Parameters
    ----------
    fields : sequence of str
        Numeric fields to judge.
    param : float, default 2.5
        Fence multiplier: ``Q3 + param * IQR``.
    uselower : bool, default False
        Also flag values below ``Q1 - param * IQR``.
    mark : bool, default False
        With ``table("transform")``, prefix clipped values with ``000``.
    threshold : ThresholdRule or dict, optional
        Another rule on ``anomaly_score`` (distance beyond the quartiles in
        IQRs). Overrides ``param`` as the outlier rule.
    """

    name = "iqr"

    def __init__(
        self,
        fields: Sequence[str] | None = None,
        param: float = 2.5,
        uselower: bool = False,
        mark: bool = False,
        threshold: ThresholdRule | dict | None = None,
    ) -> None:
        self.fields = fields
        self.param = param
        self.uselower = uselower
        self.mark = mark
        self.threshold = threshold

    def _threshold_rule(self) -> ThresholdRule:
        if self.threshold is None:
            return ThresholdRule("score", float(self.param))
        return super()._threshold_rule()

    def _fit(self, frame: pd.DataFrame, fields: Sequence[str]) -> None:
        if not (isinstance(self.param, int | float) and self.param >= 0):
            raise ParameterError("param", "a number of 0 or more", self.param)
        self.quartiles_: dict[str, tuple[float, float]] = {}
        self.not_numeric_: list[str] = []
        for name in fields:
            numbers = as_numbers(frame[name])
            finite = numbers[np.isfinite(numbers)]
            if finite.size == 0:
                self.not_numeric_.append(name)
                self.quartiles_[name] = (math.nan, math.nan)
                continue
            q1, q3 = (float(q) for q in np.percentile(finite, [25, 75]))
            self.quartiles_[name] = (q1, q3)
        if self.not_numeric_:
            logger.info("iqr: no numbers in %s", ", ".join(self.not_numeric_))

    def _field_scores(self, column: pd.Series, name: str) -> np.ndarray:
        q1, q3 = self.quartiles_[name]
        numbers = as_numbers(column)
        scores = np.zeros(len(numbers))
        finite = np.isfinite(numbers)
        if math.isnan(q1) or not finite.any():
            return scores
        # A zero IQR makes any step beyond the quartiles "infinitely" far; a
        # tiny divisor keeps that order without infinities in the output.
        iqr = max(q3 - q1, 1e-12 * max(1.0, abs(q3)))
        values = numbers[finite]
        field_scores = (values - q3) / iqr
        if self.uselower:
            field_scores = np.maximum(field_scores, (q1 - values) / iqr)
        # Values between the quartiles (and missing ones) are not outlying at all.
        scores[finite] = np.maximum(field_scores, 0.0)
        return scores

    def field_scores(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return each field's distance beyond the quartiles, in IQRs (0 inside)."""
        return pd.DataFrame(
            {f: self._field_scores(frame[f], f) for f in self.fields_},
            index=frame.index,
        )

    def bounds(self) -> dict[str, tuple[float | None, float]]:
        """Return each numeric field's (lower or None, upper) fence."""
        out = {}
        for name, (q1, q3) in self.quartiles_.items():
            if math.isnan(q1):
                continue
            iqr = q3 - q1
            lower = q1 - self.param * iqr if self.uselower else None
            out[name] = (lower, q3 + self.param * iqr)
        return out

    def _score(self, frame: pd.DataFrame, same_as_fit: bool = False) -> DetectionResult:
        n = len(frame)
        fields = self.fields_
        matrix = (
            np.column_stack([self._field_scores(frame[f], f) for f in fields])
            if n
            else np.zeros((0, len(fields)))
        )
        scores = matrix.max(axis=1) if n else np.zeros(0)
        rule = self._threshold_rule()
        is_outlier, fence = apply_threshold(scores, rule)

        # The most outlying field, for every event; shown on the flagged ones.
        cause = matrix.argmax(axis=1) if n else np.zeros(0, int)
        causes = Causes(cause + 1, ["", *fields])
        probable_cause, cause_freq = causes.shown(is_outlier)
        annotated = frame.copy(deep=False)
        annotated["log_event_prob"] = np.nan
        annotated["probable_cause"] = probable_cause
        annotated["probable_cause_freq"] = cause_freq
        annotated["max_freq"] = np.nan
        annotated["anomaly_score"] = scores
        annotated["isOutlier"] = is_outlier.astype(np.int8)

        warnings = [
            f"{name} holds no numbers; the iqr method judges numeric fields only"
            for name in self.not_numeric_
        ]
        bounds = self.bounds()
        summary = {
            "num_anomalies": int(is_outlier.sum()),
            "thresh": fence.score,
            "num_events": n,
        }
        for name, (lower, upper) in bounds.items():
            summary[f"upper({name})"] = upper
            if lower is not None:
                summary[f"lower({name})"] = lower
        return OutlierResult(
            annotated=annotated,
            fields=list(fields),
            method=self.name,
            threshold=rule,
            fence=fence,
            summary=summary,
            warnings=warnings,
            causes=causes,
            bounds=bounds,
            mark=bool(self.mark),
        )
