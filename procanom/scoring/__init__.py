"""Scoring methods: how unusual is each process event.

Every method is a scikit-learn style estimator with ``fit`` and ``score``,
returns a :class:`DetectionResult`, and writes ``anomaly_score`` (higher is
more anomalous) and ``isOutlier``. :func:`detect` is the one-call form.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from procanom.errors import ParameterError
from procanom.scoring._base import ACTIONS, SCORE_COLUMNS, BaseDetector, DetectionResult
from procanom.scoring.conditional import ConditionalDetector
from procanom.scoring.histogram import HistogramDetector
from procanom.scoring.iqr import IQRDetector
from procanom.scoring.thresholds import THRESHOLD_KINDS, ThresholdRule
from procanom.scoring.zscore import ZScoreDetector

__all__ = [
    "ACTIONS",
    "DEFAULT_METHOD",
    "METHODS",
    "SCORE_COLUMNS",
    "THRESHOLD_KINDS",
    "BaseDetector",
    "ConditionalDetector",
    "DetectionResult",
    "HistogramDetector",
    "IQRDetector",
    "ThresholdRule",
    "ZScoreDetector",
    "detect",
    "make_detector",
]

#: Every method by the name the CLI, the app and saved experiments use.
METHODS: dict[str, type[BaseDetector]] = {
    HistogramDetector.name: HistogramDetector,
    ConditionalDetector.name: ConditionalDetector,
    ZScoreDetector.name: ZScoreDetector,
    IQRDetector.name: IQRDetector,
}

#: The method used when none is named. ``conditional`` ranks real attacks
#: better than Splunk's histogram on every labelled lab (benchmarks/accuracy.py);
#: ask for ``method="histogram"`` to reproduce Splunk's anomalydetection.
DEFAULT_METHOD = "conditional"


def make_detector(method: str = DEFAULT_METHOD, **params: object) -> BaseDetector:
    """Build the detector named ``method`` with its parameters.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    **params
        The method's parameters (``fields``, ``cutoff``, ``pthresh``, ...).
    """
    try:
        cls = METHODS[method]
    except KeyError:
        raise ParameterError("method", "one of " + ", ".join(METHODS), method) from None
    accepted = set(cls._get_param_names())
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ParameterError(
            f"parameters of method {method!r}",
            "among " + ", ".join(sorted(accepted)),
            unknown,
        )
    return cls(**params)


def detect(
    events: pd.DataFrame,
    fields: Sequence[str],
    method: str = DEFAULT_METHOD,
    **params: object,
) -> DetectionResult:
    """Score ``events`` against themselves, as Splunk's experiment does.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per process event.
    fields : sequence of str
        The fields to analyse.
    method : str, default "conditional"
        A key of :data:`METHODS`; ``"histogram"`` is Splunk's method.
    **params
        The method's parameters, e.g. ``cutoff=False``, ``pthresh=0.01``,
        ``numeric_fields=["ProcessId"]``.

    Returns
    -------
    DetectionResult
        ``.annotated`` holds every event with its score; ``.table(action)``
        gives Splunk's ``annotate``, ``filter`` and ``summary`` outputs.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"Name": ["svchost.exe"] * 9 + ["mimikatz.exe"]})
    >>> detect(events, ["Name"], method="histogram", cutoff=False).num_outliers
    1
    """
    return make_detector(method, fields=list(fields), **params).fit_score(events)
