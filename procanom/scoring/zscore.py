"""Splunk ``anomalydetection method=zscore``: the ``anomalousvalue`` command.

Each field is judged on its own. A categorical value is anomalous when its
frequency is below ``pthresh``; a numeric value when the two-sided normal
probability of a value at least that many standard deviations from the
field's mean is below ``pthresh``. A field's score on an event is
``-ln(p)`` of that probability; ``annotate`` adds it as
``Anomaly_Score_Cat(field)`` or ``Anomaly_Score_Num(field)``.

Fields that cannot discriminate are dropped first, as Splunk does:

- ``minsupcount`` / ``minsupfreq``: a field present (non-empty) in fewer
  than that many events, or that share of them, is dropped;
- ``maxanofreq``: a field anomalous on more than that share of the events
  it appears in is dropped (a near-unique CommandLine is anomalous
  everywhere, so it tells nothing);
- ``minnormfreq``: a field normal on less than that share is dropped.

Rules Splunk leaves undocumented, fixed here:

- A field is numeric when named in ``numeric_fields``; every other field is
  categorical, because process data is full of numbers that are categories.
- Empty values are not counted: they neither support a field nor are
  anomalous.
- An event's ``anomaly_score`` is its largest field score, so the default
  rule "``pthresh`` on any field" is the threshold rule
  ``ThresholdRule("pthresh", pthresh)``; ``probable_cause`` is the field
  holding that score.
- Scoring events other than the fitted ones: an unseen categorical value has
  frequency ``1 / (N + 1)``; numbers use the fitted mean and deviation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from scipy.special import log_ndtr

from procanom.errors import ParameterError
from procanom.scoring._base import BaseDetector, Causes, DetectionResult
from procanom.scoring._encode import as_text_array
from procanom.scoring._tables import ValueTable, as_numbers, encode_values
from procanom.scoring.thresholds import ThresholdRule, apply_threshold

__all__ = ["ZScoreDetector"]

logger = logging.getLogger(__name__)


def _numbers(column: pd.Series) -> np.ndarray:
    return as_numbers(column)


def _normal_log_tail(z: np.ndarray) -> np.ndarray:
    """ln of the two-sided probability of a deviation of at least ``|z|``."""
    return math.log(2.0) + log_ndtr(-np.abs(z))


class ZScoreDetector(BaseDetector):
    """Splunk's ``anomalousvalue``: per-field rarity and distance from the mean.

    Parameters
    ----------
    fields : sequence of str
        Fields to judge.
    numeric_fields : sequence of str, default ()
        Fields judged by standard deviations; every other one is
        categorical.
    pthresh : float, default 0.01
        A value is anomalous when its probability is below this.
    minsupcount : int, default 100
        Fields present in fewer events are dropped.
    maxanofreq : float, default 0.05
        Fields anomalous on a larger share of their events are dropped.
    minsupfreq : float, default 0.05
        Fields present in a smaller share of the events are dropped.
    minnormfreq : float, default 0.01
        Fields normal on a smaller share of their events are dropped.
    threshold : ThresholdRule or dict, optional
        Another rule on ``anomaly_score`` (the largest field score).

    Attributes
    ----------
    kept_fields_ : list of str
        Fields that passed the support and frequency checks.
    dropped_ : dict
        ``{field: reason}`` for the fields dropped.
    """

    name = "zscore"

    def __init__(
        self,
        fields: Sequence[str] | None = None,
        numeric_fields: Sequence[str] = (),
        pthresh: float = 0.01,
        minsupcount: int = 100,
        maxanofreq: float = 0.05,
        minsupfreq: float = 0.05,
        minnormfreq: float = 0.01,
        threshold: ThresholdRule | dict | None = None,
    ) -> None:
        self.fields = fields
        self.numeric_fields = numeric_fields
        self.pthresh = pthresh
        self.minsupcount = minsupcount
        self.maxanofreq = maxanofreq
        self.minsupfreq = minsupfreq
        self.minnormfreq = minnormfreq
        self.threshold = threshold

    def _check_params(self, fields: Sequence[str]) -> None:
        for name in ("pthresh", "maxanofreq", "minsupfreq", "minnormfreq"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ParameterError(name, "a share from 0 to 1", value)
        if self.pthresh <= 0:
            raise ParameterError("pthresh", "a probability above 0", self.pthresh)
        if self.minsupcount < 0:
            raise ParameterError(
                "minsupcount", "a count of 0 or more", self.minsupcount
            )
        unknown = set(self.numeric_fields) - set(fields)
        if unknown:
            raise ParameterError(
                "numeric_fields", "a subset of the scored fields", sorted(unknown)
            )

    def _threshold_rule(self) -> ThresholdRule:
        if self.threshold is None:
            return ThresholdRule("pthresh", float(self.pthresh))
        return super()._threshold_rule()

    # Fitting --------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, fields: Sequence[str]) -> None:
        self._check_params(fields)
        n = len(frame)
        self.models_: dict[str, dict] = {}
        self.dropped_: dict[str, str] = {}
        fitted_scores = {}
        for name in fields:
            model, scores, present_mask = self._fit_field(
                frame[name], name in self.numeric_fields
            )
            self.models_[name] = model
            fitted_scores[name] = scores
            reason = self._drop_reason(model["present"], n, scores[present_mask])
            if reason:
                self.dropped_[name] = reason
        self.kept_fields_ = [f for f in fields if f not in self.dropped_]
        self.n_fit_ = n
        # Kept until the same events are scored by fit_score, then dropped.
        self._fitted_frame = (id(frame), fitted_scores)
        if self.dropped_:
            logger.info("zscore dropped fields: %s", self.dropped_)

    def _drop_reason(self, present: int, n: int, scores: np.ndarray) -> str | None:
        """Say why a field cannot discriminate, or None when it can."""
        anomalous = int((scores > -math.log(self.pthresh)).sum())
        if present < self.minsupcount:
            return f"present in {present} events, fewer than minsupcount"
        if n and present / n < self.minsupfreq:
            return f"present in {present / n:.1%} of events, below minsupfreq"
        if present and anomalous / present > self.maxanofreq:
            share = anomalous / present
            return f"anomalous in {share:.1%} of its events, above maxanofreq"
        if present and (present - anomalous) / present < self.minnormfreq:
            share = 1 - anomalous / present
            return f"normal in {share:.1%} of its events, below minnormfreq"
        return None

    def _fit_field(
        self, column: pd.Series, numeric: bool
    ) -> tuple[dict, np.ndarray, np.ndarray]:
        """Return the field's model, its scores on ``column`` and where present."""
        if numeric:
            numbers = _numbers(column)
            finite = np.isfinite(numbers)
            values = numbers[finite]
            model = {
                "numeric": True,
                "mean": float(values.mean()) if values.size else 0.0,
                "std": float(values.std()) if values.size else 0.0,
                "present": int(values.size),
            }
            return model, self._numeric_scores(numbers, model), finite
        codes, values, counts = encode_values(column)
        table = ValueTable(values, counts)
        empty = table.empty_code()
        present = int(counts.sum() - (counts[empty] if empty >= 0 else 0))
        model = {"numeric": False, "table": table, "empty": empty, "present": present}
        present_mask = codes != empty
        return model, self._category_scores(codes, present_mask, model), present_mask

    @staticmethod
    def _numeric_scores(numbers: np.ndarray, model: dict) -> np.ndarray:
        if model["std"] > 0:
            z = (numbers - model["mean"]) / model["std"]
        else:
            z = np.where(numbers == model["mean"], 0.0, np.inf)
        with np.errstate(invalid="ignore"):
            scores = -_normal_log_tail(z)
        return np.where(np.isfinite(numbers), scores, 0.0)

    @staticmethod
    def _category_scores(
        codes: np.ndarray, present_mask: np.ndarray, model: dict
    ) -> np.ndarray:
        table: ValueTable = model["table"]
        present = max(model["present"], 1)
        counts = np.where(codes >= 0, table.counts[np.maximum(codes, 0)], 0)
        p = np.where(codes >= 0, counts / present, 1.0 / (present + 1))
        return np.where(present_mask, -np.log(p), 0.0)

    def _field_scores(self, column: pd.Series, model: dict) -> np.ndarray:
        """``-ln(p)`` of each event's value in one field (0 when absent)."""
        if model["numeric"]:
            return self._numeric_scores(_numbers(column), model)
        text = as_text_array(column)
        codes = model["table"].lookup(text)
        present_mask = pc.not_equal(text, "").to_numpy(zero_copy_only=False)
        return self._category_scores(codes, present_mask.astype(bool), model)

    def field_scores(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return each used field's score (``-ln p``) for the events of ``frame``."""
        return pd.DataFrame(
            {
                f: self._field_scores(frame[f], self.models_[f])
                for f in self.kept_fields_
            },
            index=frame.index,
        )

    # Scoring --------------------------------------------------------------
    def _score(self, frame: pd.DataFrame, same_as_fit: bool = False) -> DetectionResult:
        n = len(frame)
        kept = self.kept_fields_
        cached = getattr(self, "_fitted_frame", None)
        if same_as_fit and cached is not None and cached[0] == id(frame):
            per_field = cached[1]
        else:
            per_field = {
                f: self._field_scores(frame[f], self.models_[f]) for f in self.fields_
            }
        self._fitted_frame = None
        kept_matrix = (
            np.column_stack([per_field[f] for f in kept])
            if kept and n
            else np.zeros((n, 0))
        )
        scores = kept_matrix.max(axis=1) if kept_matrix.shape[1] else np.zeros(n)
        rule = self._threshold_rule()
        is_outlier, fence = apply_threshold(scores, rule)

        # The field holding the largest score, worked out for every event
        # and shown on the flagged ones (relabel shows it on those it flags).
        cause_codes = (
            kept_matrix.argmax(axis=1) + 1 if kept_matrix.shape[1] else np.zeros(n, int)
        )
        causes = Causes(cause_codes, ["", *kept], freqs=np.exp(-scores))
        probable_cause, cause_freq = causes.shown(is_outlier)

        # Per-field scores first: the columns every method shares stay last.
        annotated = frame.copy(deep=False)
        for f in kept:
            kind = "Num" if self.models_[f]["numeric"] else "Cat"
            annotated[f"Anomaly_Score_{kind}({f})"] = per_field[f]
        annotated["log_event_prob"] = -(
            np.column_stack([per_field[f] for f in kept]).sum(axis=1)
            if kept and n
            else np.zeros(n)
        )
        annotated["probable_cause"] = probable_cause
        annotated["probable_cause_freq"] = cause_freq
        annotated["max_freq"] = (
            np.exp(-kept_matrix.min(axis=1)) if kept_matrix.shape[1] else np.ones(n)
        )
        annotated["anomaly_score"] = scores
        annotated["isOutlier"] = is_outlier.astype(np.int8)

        warnings = [f"{f} not used: {why}" for f, why in self.dropped_.items()]
        summary = {
            "num_anomalies": int(is_outlier.sum()),
            "thresh": fence.score,
            "fields_used": list(kept),
            "fields_dropped": dict(self.dropped_),
            "num_events": n,
        }
        for f in kept:
            summary[f"anomalous({f})"] = int(
                (per_field[f] > -math.log(self.pthresh)).sum()
            )
        return DetectionResult(
            annotated=annotated,
            fields=list(self.fields_),
            method=self.name,
            threshold=rule,
            fence=fence,
            summary=summary,
            warnings=warnings,
            causes=causes,
        )
