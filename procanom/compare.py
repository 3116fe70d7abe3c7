"""Comparing the outliers of two runs: which are new, gone, or still there.

An outlier is "the same" in two runs when its values in the experiment's
fields are the same, with ``host`` added when both runs have that column (a
rare parent on a new machine is news even if another machine had it). The
key is the tuple of those values, compared as text, case and all; a missing
value equals a missing value. Events sharing a key are counted, so "3 events
of this combination, 5 last time" shows as a changed count.

The outliers of a run can be the scored frame (``isOutlier`` picks the
rows), the outlier rows only, or the keys a run left in the store
(:meth:`procanom.store.ExperimentStore.run_outliers`), which is how two saved
runs compare without their data.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from procanom.errors import ParameterError

__all__ = [
    "HOST_COLUMN",
    "Comparison",
    "compare_outliers",
    "key_columns",
    "new_rows",
    "outlier_keys",
]

logger = logging.getLogger(__name__)

HOST_COLUMN = "host"

# Stands for a missing value while grouping and joining: NA never equals NA
# in pandas comparisons, but two runs missing the same field agree.
_MISSING = "\x00<missing>"


def key_columns(columns: Sequence[str], fields: Sequence[str]) -> list[str]:
    """Return the columns identifying an outlier: the fields, then ``host``."""
    keys = list(dict.fromkeys(fields))
    if HOST_COLUMN in columns and HOST_COLUMN not in keys:
        keys.append(HOST_COLUMN)
    return keys


def _is_key_frame(frame: pd.DataFrame) -> bool:
    return "key_fields" in frame.attrs or (
        "count" in frame.columns and "isOutlier" not in frame.columns
    )


def _key_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return frame[list(columns)].astype("string").fillna(_MISSING)


def outlier_keys(frame: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    """Return the distinct outlier keys of a run with their counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        Scored events (rows with ``isOutlier == 1`` are taken), outlier rows,
        or keys already counted (a ``count`` column, no ``isOutlier``).
    fields : sequence of str
        The experiment's fields.

    Returns
    -------
    pandas.DataFrame
        The key columns (text; missing values as ``<NA>``), ``count`` (events
        with the key) and ``anomaly_score`` (the highest among them), most
        anomalous first. ``attrs["key_fields"]`` names the key columns.

    Raises
    ------
    ParameterError
        If a field is not a column of ``frame``.
    """
    fields = list(dict.fromkeys(fields))
    if not fields:
        raise ParameterError("fields", "at least one field to compare on", fields)
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:20]))
        raise ParameterError(
            "fields", f"columns of the outliers (they have: {have})", missing
        )
    counted = _is_key_frame(frame)
    rows = frame
    if not counted and "isOutlier" in frame.columns:
        rows = frame[frame["isOutlier"].to_numpy() == 1]

    columns = key_columns(list(rows.columns), fields)
    keys = _key_text(rows, columns)
    keys["count"] = rows["count"].to_numpy(dtype="int64") if counted else 1
    if "anomaly_score" in rows.columns:
        keys["anomaly_score"] = rows["anomaly_score"].to_numpy(
            dtype="float64", na_value=math.nan
        )
    else:
        keys["anomaly_score"] = math.nan
    grouped = (
        keys.groupby(columns, sort=False, dropna=False)
        .agg(count=("count", "sum"), anomaly_score=("anomaly_score", "max"))
        .reset_index()
    )
    grouped = grouped.sort_values(
        ["anomaly_score", "count"],
        ascending=False,
        na_position="last",
        kind="stable",
        ignore_index=True,
    )
    for column in columns:
        grouped[column] = grouped[column].astype("string").replace(_MISSING, pd.NA)
    grouped["count"] = grouped["count"].astype("int64")
    grouped.attrs["key_fields"] = columns
    for name in ("run_id", "outliers", "distinct_keys", "stored_keys", "truncated"):
        if name in frame.attrs:
            grouped.attrs[name] = frame.attrs[name]
    return grouped


def _aligned_keys(
    old: pd.DataFrame, new: pd.DataFrame, fields: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    old_keys = outlier_keys(old, fields)
    new_keys = outlier_keys(new, fields)
    if old_keys.attrs["key_fields"] != new_keys.attrs["key_fields"]:
        # Only one side knows the host: compare on the fields alone.
        old_keys = outlier_keys(_without_host(old_keys, fields), fields)
        new_keys = outlier_keys(_without_host(new_keys, fields), fields)
    return old_keys, new_keys, list(new_keys.attrs["key_fields"])


def _without_host(keys: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    if HOST_COLUMN in fields or HOST_COLUMN not in keys.columns:
        return keys
    dropped = keys.drop(columns=[HOST_COLUMN])
    dropped.attrs = {k: v for k, v in keys.attrs.items() if k != "key_fields"}
    dropped.attrs["key_fields"] = [
        c for c in keys.attrs["key_fields"] if c != HOST_COLUMN
    ]
    return dropped


@dataclass
class Comparison:
    """How the outliers of two runs differ.

    Attributes
    ----------
    key_fields : list of str
        The columns an outlier was matched on.
    new_outliers : pandas.DataFrame
        Keys flagged now and not before: key columns, ``count``,
        ``anomaly_score``; most anomalous first.
    gone_outliers : pandas.DataFrame
        Keys flagged before and not now (same columns, the old run's values).
    still : pandas.DataFrame
        Keys flagged in both: key columns, ``count_old``, ``count_new``,
        ``score_old``, ``score_new``.
    counts_changed : pandas.DataFrame
        The rows of ``still`` whose event count changed, with ``change``
        (new minus old).
    warnings : list of str
        Why the comparison may be incomplete (a run kept only part of its
        outliers, only one run had ``host``).
    """

    key_fields: list[str]
    new_outliers: pd.DataFrame
    gone_outliers: pd.DataFrame
    still: pd.DataFrame
    counts_changed: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Number of keys in each group."""
        return {
            "new": len(self.new_outliers),
            "gone": len(self.gone_outliers),
            "still": len(self.still),
            "counts_changed": len(self.counts_changed),
        }

    def describe(self) -> str:
        """Return the comparison in one sentence."""
        counts = self.counts
        return (
            f"{counts['new']:,} new, {counts['gone']:,} gone, {counts['still']:,}"
            f" still flagged ({counts['counts_changed']:,} with a changed count)"
        )


def _truncation_warning(keys: pd.DataFrame, which: str) -> list[str]:
    if not keys.attrs.get("truncated"):
        return []
    return [
        f"the {which} run kept only its {keys.attrs['stored_keys']:,} most anomalous"
        f" outlier keys of {keys.attrs['distinct_keys']:,}; outliers outside them"
        " may show as new or gone"
    ]


def compare_outliers(
    old: pd.DataFrame, new: pd.DataFrame, fields: Sequence[str]
) -> Comparison:
    """Compare the outliers of an older and a newer run.

    Parameters
    ----------
    old, new : pandas.DataFrame
        Each run's outliers, as :func:`outlier_keys` accepts them.
    fields : sequence of str
        The experiment's fields; ``host`` is added when both have it.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> old = pd.DataFrame({"Name": ["a.exe", "b.exe"], "isOutlier": [1, 1]})
    >>> new = pd.DataFrame({"Name": ["b.exe", "c.exe"], "isOutlier": [1, 1]})
    >>> compare_outliers(old, new, ["Name"]).describe()
    '1 new, 1 gone, 1 still flagged (0 with a changed count)'
    """
    old_keys, new_keys, columns = _aligned_keys(old, new, fields)
    warnings = _truncation_warning(old_keys, "older") + _truncation_warning(
        new_keys, "newer"
    )
    one_sided_host = HOST_COLUMN in old.columns or HOST_COLUMN in new.columns
    if HOST_COLUMN not in columns and one_sided_host:
        warnings.append(
            "only one run has a host column; outliers were matched on the fields alone"
        )

    joined = pd.merge(
        _with_text_keys(old_keys, columns),
        _with_text_keys(new_keys, columns),
        on=[_text_name(c) for c in columns],
        how="outer",
        suffixes=("_old", "_new"),
        indicator=True,
        sort=False,
    )
    for column in columns:
        joined[column] = (
            joined[_text_name(column)].astype("string").replace(_MISSING, pd.NA)
        )
    side = joined["_merge"].to_numpy()

    def part(which: str, suffix: str) -> pd.DataFrame:
        rows = joined[side == which]
        out = rows[columns].copy()
        out["count"] = rows[f"count{suffix}"].to_numpy(dtype="int64")
        out["anomaly_score"] = rows[f"anomaly_score{suffix}"].to_numpy(dtype="float64")
        return out.sort_values(
            ["anomaly_score", "count"],
            ascending=False,
            na_position="last",
            kind="stable",
            ignore_index=True,
        )

    both = joined[side == "both"]
    still = both[columns].copy()
    still["count_old"] = both["count_old"].to_numpy(dtype="int64")
    still["count_new"] = both["count_new"].to_numpy(dtype="int64")
    still["score_old"] = both["anomaly_score_old"].to_numpy(dtype="float64")
    still["score_new"] = both["anomaly_score_new"].to_numpy(dtype="float64")
    still = still.sort_values(
        "score_new",
        ascending=False,
        na_position="last",
        kind="stable",
        ignore_index=True,
    )
    changed = still[still["count_old"] != still["count_new"]].copy()
    changed["change"] = changed["count_new"] - changed["count_old"]

    comparison = Comparison(
        key_fields=columns,
        new_outliers=part("right_only", "_new"),
        gone_outliers=part("left_only", "_old"),
        still=still,
        counts_changed=changed.reset_index(drop=True),
        warnings=warnings,
    )
    logger.info("compared runs on %s: %s", ", ".join(columns), comparison.describe())
    return comparison


def _text_name(column: str) -> str:
    return f"\x00key:{column}"


def _with_text_keys(keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    text = _key_text(keys, columns)
    text.columns = [_text_name(c) for c in columns]
    return pd.concat(
        [text, keys[["count", "anomaly_score"]].reset_index(drop=True)], axis=1
    )


def new_rows(
    frame: pd.DataFrame, previous: pd.DataFrame | None, fields: Sequence[str]
) -> np.ndarray:
    """Return, for each row of ``frame``, whether ``previous`` lacks its key.

    Parameters
    ----------
    frame : pandas.DataFrame
        Outlier rows of the newer run.
    previous : pandas.DataFrame or None
        The older run's outliers (any form :func:`outlier_keys` accepts);
        None: every row is new.
    fields : sequence of str

    Returns
    -------
    numpy.ndarray of bool
    """
    if previous is None:
        return np.ones(len(frame), dtype=bool)
    previous_keys = outlier_keys(previous, fields)
    columns = key_columns(list(frame.columns), fields)
    # Only one side knows the host: match on the fields alone.
    columns = [c for c in columns if c in previous_keys.attrs["key_fields"]]
    mine = pd.MultiIndex.from_frame(_key_text(frame, columns))
    known = pd.MultiIndex.from_frame(_key_text(previous_keys, columns))
    return ~mine.isin(known)
