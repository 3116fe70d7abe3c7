"""Splunk ``anomalydetection method=histogram``, value for value.

An event's probability is the product, over the chosen fields, of the
frequency of the event's value in that field; ``log_event_prob`` is its
natural log (lower is more anomalous) and ``anomaly_score`` its negation
(higher is more anomalous). The threshold rules are in
:mod:`procanom.scoring.thresholds`; ``cutoff=False`` reproduces Splunk's
``Q1 - 1.5 * IQR`` of ``log_event_prob`` exactly.

Rules Splunk leaves undocumented, fixed here:

- Every field is categorical unless named in ``numeric_fields``: process
  data is full of numbers that are categories (session ids, event codes,
  logon ids). Missing, empty and multivalue values follow
  :mod:`procanom.scoring._encode`.
- A numeric field is binned into a histogram over its finite values, with
  numpy's ``"auto"`` bin edges (the larger of the Sturges and
  Freedman-Diaconis counts) capped at 100 bins; bins are closed on the
  left, the last one on both sides. Values that are not numbers (missing
  ones included) share one extra bin of their own.
- ``probable_cause`` is the field whose value has the lowest frequency; ties
  go to the field listed first. It is set on outliers and empty on other
  events, as MLTK's ``isOutlier`` rule expects; so is
  ``probable_cause_freq``. ``max_freq`` is set on every event.
- Scoring events other than the fitted ones: a value never seen in the
  baseline (or a number outside the fitted bins) gets the frequency it would
  have had if seen once, ``1 / (N + 1)`` for a baseline of ``N`` events, so
  unseen values are the rarest possible without making the product zero.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.errors import ParameterError
from procanom.scoring._base import (
    BaseDetector,
    Causes,
    DetectionResult,
    summary_thresh,
)
from procanom.scoring._encode import as_text_array, encode_column
from procanom.scoring.thresholds import ThresholdRule, apply_threshold

__all__ = ["HistogramDetector", "MAX_BINS"]

logger = logging.getLogger(__name__)

MAX_BINS = 100


@dataclass
class _FieldModel:
    """What was learned about one field: its values (or bins) and counts."""

    numeric: bool
    values: pa.Array | None  # distinct text values, categorical fields
    edges: np.ndarray | None  # bin edges, numeric fields
    counts: np.ndarray  # events per value or bin (numeric: last slot = not a number)
    fit_codes: np.ndarray  # codes of the fitted events, reused when scoring them


def _bin_codes(numbers: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Return the bin index of each number; -1 outside the edges, nbins for NaN."""
    nbins = len(edges) - 1
    codes = np.searchsorted(edges, numbers, side="right") - 1
    codes[numbers == edges[-1]] = nbins - 1  # the last bin is closed on the right
    codes[(numbers < edges[0]) | (numbers > edges[-1])] = -1
    codes[np.isnan(numbers)] = nbins
    return codes


def _bin_edges(numbers: np.ndarray) -> np.ndarray:
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    edges = np.histogram_bin_edges(finite, bins="auto")
    if len(edges) - 1 > MAX_BINS:
        edges = np.histogram_bin_edges(finite, bins=MAX_BINS)
    return edges


def _as_numbers(column: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


class HistogramDetector(BaseDetector):
    """Splunk's histogram method: the product of per-field value frequencies.

    Parameters
    ----------
    fields : sequence of str
        Fields to score, in priority order for ``probable_cause`` ties.
    numeric_fields : sequence of str, default ()
        Fields to bin as numbers; every other field is categorical.
    cutoff : bool, default True
        Splunk's ``cutoff``: True for the strict automatic fence, False for
        exactly ``Q1 - 1.5 * IQR`` of ``log_event_prob``.
    pthresh : float, optional
        Splunk's ``pthresh``: flag events whose probability is below it.
        Overrides ``cutoff``.
    threshold : ThresholdRule or dict, optional
        Any other rule (top N, percent, score). Overrides ``cutoff`` and
        ``pthresh``.

    Attributes
    ----------
    fields_ : list of str
        The fitted fields.
    n_events_ : int
        Number of baseline events.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"Name": ["svchost.exe"] * 9 + ["mimikatz.exe"]})
    >>> result = HistogramDetector(["Name"], cutoff=False).fit_score(events)
    >>> result.outliers()["Name"].tolist()
    ['mimikatz.exe']
    """

    name = "histogram"

    def __init__(
        self,
        fields: Sequence[str] | None = None,
        numeric_fields: Sequence[str] = (),
        cutoff: bool = True,
        pthresh: float | None = None,
        threshold: ThresholdRule | dict | None = None,
    ) -> None:
        self.fields = fields
        self.numeric_fields = numeric_fields
        self.cutoff = cutoff
        self.pthresh = pthresh
        self.threshold = threshold

    # Fitting --------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, fields: Sequence[str]) -> None:
        unknown = set(self.numeric_fields) - set(fields)
        if unknown:
            raise ParameterError(
                "numeric_fields", "a subset of the scored fields", sorted(unknown)
            )
        self.models_ = {
            name: self._fit_field(frame[name], name in self.numeric_fields)
            for name in fields
        }

    @staticmethod
    def _fit_field(column: pd.Series, numeric: bool) -> _FieldModel:
        if not numeric:
            encoded = encode_column(column)
            return _FieldModel(
                False, encoded.values, None, encoded.counts, encoded.codes
            )
        numbers = _as_numbers(column)
        edges = _bin_edges(numbers)
        codes = _bin_codes(numbers, edges)
        counts = np.bincount(codes, minlength=len(edges))  # last slot: not a number
        return _FieldModel(True, None, edges, counts, codes)

    # Scoring --------------------------------------------------------------
    def _codes_for(self, frame: pd.DataFrame, name: str) -> np.ndarray:
        """Codes of ``frame``'s values in the fitted model; -1 for unseen ones."""
        model = self.models_[name]
        if model.numeric:
            return _bin_codes(_as_numbers(frame[name]), model.edges)
        found = pc.index_in(as_text_array(frame[name]), value_set=model.values)
        return pc.fill_null(found, -1).to_numpy().astype(np.int64, copy=False)

    def _log_frequencies(
        self, frame: pd.DataFrame, same_as_fit: bool
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the log frequency of every event's value, and the value codes.

        The logs form a (fields, events) matrix: logs are taken once per
        distinct value, then gathered per event, and one row per field keeps
        every later reduction a fast pass over rows. The codes (-1 for values
        unseen in the baseline) give exact frequencies where they are shown.
        """
        n_fit = self.n_events_
        log_unseen = -math.log(n_fit + 1)
        logs = np.empty((len(self.fields_), len(frame)), dtype=np.float64)
        all_codes = []
        for j, name in enumerate(self.fields_):
            model = self.models_[name]
            with np.errstate(divide="ignore"):
                table = np.log(model.counts) - math.log(max(n_fit, 1))
            codes = model.fit_codes if same_as_fit else self._codes_for(frame, name)
            if same_as_fit:
                np.take(table, codes, out=logs[j])
            else:
                logs[j] = np.where(codes >= 0, table[np.maximum(codes, 0)], log_unseen)
            all_codes.append(codes)
        return logs, all_codes

    def _cause_frequencies(
        self, cause_index: np.ndarray, codes: list[np.ndarray]
    ) -> np.ndarray:
        """Frequency of each event's probable-cause value, as count / N.

        Taken from the counts rather than from the logs, so the frequency
        shown is exactly the one Splunk shows.
        """
        n_fit = max(self.n_events_, 1)
        freqs = np.full(len(cause_index), 1.0 / (self.n_events_ + 1))
        for j, name in enumerate(self.fields_):
            rows = np.flatnonzero(cause_index == j)
            value_codes = codes[j][rows]
            seen = value_codes >= 0
            freqs[rows[seen]] = self.models_[name].counts[value_codes[seen]] / n_fit
        return freqs

    def _score(self, frame: pd.DataFrame, same_as_fit: bool = False) -> DetectionResult:
        fields = self.fields_
        logs, codes = self._log_frequencies(frame, same_as_fit)
        n = len(frame)

        log_prob = logs.sum(axis=0)
        scores = -log_prob
        rule = self._threshold_rule()
        is_outlier, fence = apply_threshold(scores, rule)

        # The rarest value has the lowest log frequency; argmin keeps the
        # first field listed on ties. Worked out for every event, shown on
        # outliers only (and by relabel on the events it flags).
        cause_index = logs.argmin(axis=0)
        causes = Causes(
            codes=cause_index + 1,
            categories=["", *fields],
            freqs=self._cause_frequencies(cause_index, codes),
        )
        probable_cause, cause_freq = causes.shown(is_outlier)

        annotated = frame.copy(deep=False)
        annotated["log_event_prob"] = log_prob
        annotated["probable_cause"] = probable_cause
        annotated["probable_cause_freq"] = cause_freq
        annotated["max_freq"] = np.exp(logs.max(axis=0)) if n else np.zeros(0)
        annotated["anomaly_score"] = scores
        annotated["isOutlier"] = is_outlier.astype(np.int8)

        summary = {
            "num_anomalies": int(is_outlier.sum()),
            "thresh": summary_thresh(fence, on_log_prob=True),
            "max_logprob": float(log_prob.max()) if n else math.nan,
            "min_logprob": float(log_prob.min()) if n else math.nan,
            "1st_quartile": -fence.q3,
            "3rd_quartile": -fence.q1,
            "num_events": n,
        }
        return DetectionResult(
            annotated=annotated,
            fields=list(fields),
            method=self.name,
            threshold=rule,
            fence=fence,
            summary=summary,
            causes=causes,
            log_prob_thresh=True,
        )
