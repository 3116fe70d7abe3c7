"""What each field of a dataset holds, and whether it is worth analysing.

The field picker, the Data page and the CLI all describe fields the same
way: how often a field is present, how many distinct values it has, and a
suggested role. Fields that would only mislead a frequency method are
flagged rather than silently removed:

- internal fields (Splunk's ``_raw``, ``__mv_*``, ``punct``, ...) are hidden
  from the picker by default;
- ground-truth label columns (``is_attack``, ``label``...) are never offered,
  because scoring on them would be scoring the answer;
- constant fields and PowerShell type-name placeholders (``System.Object[]``)
  carry no information and are offered last;
- near-unique fields (most values seen once, such as raw command lines) make
  every event look rare and get a warning.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = [
    "LABEL_FIELDS",
    "NEAR_UNIQUE_SHARE",
    "is_internal_field",
    "is_label_field",
    "profile_fields",
]

#: Ground-truth columns of labelled datasets. Never offered for scoring.
LABEL_FIELDS = frozenset(
    {"is_attack", "is_simulated_attack", "label", "label_reason", "is_outlier_truth"}
)

#: Share of distinct values (over present values) above which a field is
#: called near-unique.
NEAR_UNIQUE_SHARE = 0.9

_SPLUNK_INTERNAL = frozenset(
    {
        "punct",
        "linecount",
        "splunk_server",
        "splunk_server_group",
        "timestartpos",
        "timeendpos",
        "eventtype",
        "tag",
    }
)
_TYPE_PLACEHOLDER = re.compile(r"^System\.[A-Za-z0-9_.]+(\[\])?$")
_ID_NAME = re.compile(r"(Id|ID|Guid|GUID|_id|_guid)$|^(pid|ppid|id|guid)$")


def is_internal_field(name: str) -> bool:
    """Return True for Splunk-internal fields such as ``_raw`` or ``__mv_user``.

    ``_time`` is not internal: it is the event time analysts search on.
    """
    if name == "_time":
        return False
    return name.startswith("_") or name in _SPLUNK_INTERNAL or name.startswith("date_")


def is_label_field(name: str) -> bool:
    """Return True for ground-truth label columns, which are never scored."""
    return name in LABEL_FIELDS


def _role(name: str, present: int, distinct: int, placeholder: bool) -> str:
    if name == "_time" or name.lower() in {"timestamp", "@timestamp", "utctime"}:
        return "time"
    if present == 0:
        return "empty"
    if distinct <= 1:
        return "constant"
    if placeholder:
        return "type name placeholder"
    if _ID_NAME.search(name):
        return "id"
    if distinct / present >= NEAR_UNIQUE_SHARE and present >= 20:
        return "near-unique text"
    return "category"


def profile_fields(frame: pd.DataFrame, top: int = 0) -> pd.DataFrame:
    """Describe every field of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Events; every column is considered.
    top : int, default 0
        How many of the most common values to list per field (0: none).

    Returns
    -------
    pandas.DataFrame
        One row per field, in the frame's column order, with ``field``,
        ``present`` (events with a non-empty value), ``present_pct``,
        ``empty_pct``, ``distinct``, ``role``, ``internal``, ``label``,
        ``offer`` (whether the picker offers it), ``note`` (a sentence for
        the analyst, or empty) and, with ``top``, ``top_values``.
    """
    rows = []
    total = len(frame)
    for name in frame.columns:
        column = frame[name]
        text = column.astype("string")
        present_mask = text.notna() & (text.str.len() > 0)
        present = int(present_mask.sum())
        values = text[present_mask]
        distinct = int(values.nunique())
        placeholder = bool(
            distinct and values.head(200).str.fullmatch(_TYPE_PLACEHOLDER).all()
        )
        role = _role(str(name), present, distinct, placeholder)
        internal = is_internal_field(str(name))
        label = is_label_field(str(name))
        note = ""
        if label:
            note = "Ground-truth label: never analysed."
        elif role == "near-unique text":
            share = distinct / present
            note = (
                f"{share:.0%} of its values are distinct: every event will look"
                " rare on it and it will drown the other fields."
            )
        elif role == "empty":
            note = "Empty in every event (the source may not record it)."
        elif role in {"constant", "type name placeholder"}:
            note = "Holds no information (one value, or a type name)."
        row = {
            "field": name,
            "present": present,
            "present_pct": 100.0 * present / total if total else 0.0,
            "empty_pct": 100.0 * (total - present) / total if total else 0.0,
            "distinct": distinct,
            "role": role,
            "internal": internal,
            "label": label,
            "offer": not label,
            "note": note,
        }
        if top:
            counts = values.value_counts().head(top)
            labels = counts.index.astype(str)
            row["top_values"] = list(zip(labels, counts.tolist(), strict=True))
        rows.append(row)
    return pd.DataFrame(rows)
