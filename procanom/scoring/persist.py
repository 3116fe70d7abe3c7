"""Fitted models as plain data: save a baseline, score later, no pickle.

:func:`detector_to_dict` turns any fitted detector into a dictionary of
strings, numbers and lists that ``json.dumps`` accepts as it is;
:func:`detector_from_dict` rebuilds a detector that scores new events exactly
as the original would (the same floating-point numbers). A baseline fitted
on last month's events can thus be stored beside an experiment and applied
to today's.

The form::

    {"format": "procanom-model", "version": 1, "method": "conditional",
     "params": {...constructor parameters...},
     "fitted": {...what fitting learned...}}

Unknown methods, other versions and damaged data raise
:class:`~procanom.errors.ParameterError` naming what was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from procanom.errors import ParameterError
from procanom.scoring._base import BaseDetector
from procanom.scoring._tables import PairTable, ValueTable
from procanom.scoring.thresholds import ThresholdRule

__all__ = ["FORMAT", "VERSION", "detector_from_dict", "detector_to_dict"]

FORMAT = "procanom-model"
VERSION = 1


def _plain(value: object) -> object:
    """Turn parameter values into JSON-able data."""
    if isinstance(value, ThresholdRule):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _float_list(values: np.ndarray) -> list:
    return [
        None if not math.isfinite(v) else float(v) for v in np.asarray(values, float)
    ]


def _floats(values: list) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _opt_float(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# Histogram ------------------------------------------------------------------
def _histogram_out(detector: BaseDetector) -> dict:
    models = {}
    for name, model in detector.models_.items():
        models[name] = {
            "numeric": bool(model.numeric),
            "values": None if model.values is None else model.values.to_pylist(),
            "edges": None if model.edges is None else _float_list(model.edges),
            "counts": np.asarray(model.counts).tolist(),
        }
    return {"models": models}


def _histogram_in(detector: BaseDetector, fitted: dict) -> None:
    import pyarrow as pa

    from procanom.scoring.histogram import _FieldModel

    detector.models_ = {
        name: _FieldModel(
            numeric=m["numeric"],
            values=None if m["values"] is None else pa.array(m["values"], pa.string()),
            edges=None if m["edges"] is None else _floats(m["edges"]),
            counts=np.asarray(m["counts"], dtype=np.int64),
            fit_codes=np.zeros(0, dtype=np.int64),
        )
        for name, m in fitted["models"].items()
    }


# Conditional ----------------------------------------------------------------
def _conditional_out(detector: BaseDetector) -> dict:
    terms = [
        {"field": t.field, "given": t.given, "group": t.group, "relative": t.relative}
        for t in detector.terms_
    ]
    pairs = [
        {"field": a, "given": b, "table": table.to_dict()}
        for (a, b), table in detector.pairs_.items()
    ]
    entropy = [
        {"field": a, "given": b, "values": _float_list(h)}
        for (a, b), h in detector.entropy_.items()
    ]
    tokens = None
    if detector.tokens_ is not None:
        t = detector.tokens_
        tokens = {
            "programs": [str(p) for p in t.programs],
            "tokens": [str(k) for k in t.tokens],
            "pairs": t.pairs.to_dict(),
            "width": t.pairs.width,
            "program_counts": t.program_counts.tolist(),
            "token_counts": t.token_counts.tolist(),
            "expected": _float_list(t.expected),
            "total": t.total,
        }
    stats = None
    if detector.host_stats_ is not None:
        s = detector.host_stats_
        stats = {
            "centre": _float_list(s["centre"]),
            "scale": _float_list(s["scale"]),
            "overall_centre": _opt_float(s["overall_centre"]),
            "overall_scale": _opt_float(s["overall_scale"]),
        }
    return {
        "roles": dict(detector.roles_),
        "terms": terms,
        "tables": {f: t.to_dict() for f, t in detector.tables_.items()},
        "pairs": pairs,
        "entropy": entropy,
        "tokens": tokens,
        "n_fit": int(detector.n_fit_),
        "host_field": detector.host_field_,
        "host_stats": stats,
    }


def _conditional_in(detector: BaseDetector, fitted: dict) -> None:
    from procanom.scoring.conditional import Term, _Tokens

    detector.roles_ = dict(fitted["roles"])
    detector.terms_ = [Term(**t) for t in fitted["terms"]]
    detector.tables_ = {f: ValueTable.from_dict(t) for f, t in fitted["tables"].items()}
    detector.pairs_ = {
        (p["field"], p["given"]): PairTable.from_dict(
            p["table"], len(detector.tables_[p["given"]].values)
        )
        for p in fitted["pairs"]
    }
    detector.entropy_ = {
        (e["field"], e["given"]): _floats(e["values"]) for e in fitted["entropy"]
    }
    detector.tokens_ = None
    if fitted["tokens"] is not None:
        t = fitted["tokens"]
        detector.tokens_ = _Tokens(
            programs=pd.Index(t["programs"], dtype=object),
            tokens=pd.Index(t["tokens"], dtype=object),
            pairs=PairTable.from_dict(t["pairs"], t["width"]),
            program_counts=np.asarray(t["program_counts"], np.int64),
            token_counts=np.asarray(t["token_counts"], np.int64),
            expected=_floats(t["expected"]),
            total=int(t["total"]),
        )
    detector.n_fit_ = int(fitted["n_fit"])
    detector.host_field_ = fitted["host_field"]
    detector.host_stats_ = None
    if fitted["host_stats"] is not None:
        s = fitted["host_stats"]
        detector.host_stats_ = {
            "centre": _floats(s["centre"]),
            "scale": _floats(s["scale"]),
            "overall_centre": math.nan
            if s["overall_centre"] is None
            else s["overall_centre"],
            "overall_scale": math.nan
            if s["overall_scale"] is None
            else s["overall_scale"],
        }


# zscore and iqr ------------------------------------------------------------
def _zscore_out(detector: BaseDetector) -> dict:
    models = {}
    for name, m in detector.models_.items():
        if m["numeric"]:
            models[name] = {
                "numeric": True,
                "mean": m["mean"],
                "std": m["std"],
                "present": m["present"],
            }
        else:
            models[name] = {
                "numeric": False,
                "table": m["table"].to_dict(),
                "empty": m["empty"],
                "present": m["present"],
            }
    return {
        "models": models,
        "dropped": dict(detector.dropped_),
        "kept_fields": list(detector.kept_fields_),
        "n_fit": int(detector.n_fit_),
    }


def _zscore_in(detector: BaseDetector, fitted: dict) -> None:
    models = {}
    for name, m in fitted["models"].items():
        if m["numeric"]:
            models[name] = dict(m)
        else:
            models[name] = {**m, "table": ValueTable.from_dict(m["table"])}
    detector.models_ = models
    detector.dropped_ = dict(fitted["dropped"])
    detector.kept_fields_ = list(fitted["kept_fields"])
    detector.n_fit_ = int(fitted["n_fit"])


def _iqr_out(detector: BaseDetector) -> dict:
    return {
        "quartiles": {
            name: [_opt_float(q1), _opt_float(q3)]
            for name, (q1, q3) in detector.quartiles_.items()
        },
        "not_numeric": list(detector.not_numeric_),
    }


def _iqr_in(detector: BaseDetector, fitted: dict) -> None:
    detector.quartiles_ = {
        name: (
            math.nan if q1 is None else float(q1),
            math.nan if q3 is None else float(q3),
        )
        for name, (q1, q3) in fitted["quartiles"].items()
    }
    detector.not_numeric_ = list(fitted["not_numeric"])


_CODECS: dict[str, tuple[Callable, Callable]] = {
    "histogram": (_histogram_out, _histogram_in),
    "conditional": (_conditional_out, _conditional_in),
    "zscore": (_zscore_out, _zscore_in),
    "iqr": (_iqr_out, _iqr_in),
}


def detector_to_dict(detector: BaseDetector) -> dict:
    """Return a fitted detector as JSON-able data.

    Parameters
    ----------
    detector : BaseDetector
        A fitted detector of a method procanom ships.

    Returns
    -------
    dict
        See the module notes.
    """
    if detector.name not in _CODECS:
        raise ParameterError(
            "detector", "one of the methods " + ", ".join(_CODECS), detector.name
        )
    if not hasattr(detector, "fields_"):
        raise ParameterError("detector", "fitted before saving", "not fitted")
    encode, _ = _CODECS[detector.name]
    return {
        "format": FORMAT,
        "version": VERSION,
        "method": detector.name,
        "params": _plain(detector.get_params(deep=False)),
        "fitted": {
            "fields": list(detector.fields_),
            "n_events": int(detector.n_events_),
            **encode(detector),
        },
    }


def detector_from_dict(data: dict) -> BaseDetector:
    """Rebuild a detector saved by :func:`detector_to_dict`.

    Parameters
    ----------
    data : dict
        The saved form.

    Returns
    -------
    BaseDetector
        A fitted detector; ``score(frame)`` gives the same numbers as the
        detector that was saved.
    """
    from procanom.scoring import METHODS

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ParameterError(
            "model", f"a dictionary saved as {FORMAT!r}", type(data).__name__
        )
    if data.get("version") != VERSION:
        raise ParameterError("model version", f"{VERSION}", data.get("version"))
    method = data.get("method")
    if method not in _CODECS or method not in METHODS:
        raise ParameterError("model method", "one of " + ", ".join(_CODECS), method)
    try:
        detector = METHODS[method](**data["params"])
        fitted = data["fitted"]
        _, decode = _CODECS[method]
        decode(detector, fitted)
        detector.fields_ = list(fitted["fields"])
        detector.n_events_ = int(fitted["n_events"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ParameterError(
            "model", f"a complete saved {method} model", f"damaged data ({exc})"
        ) from exc
    return detector
