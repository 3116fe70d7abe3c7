"""Writing results out: CSV a spreadsheet cannot execute, JSON, terminal text.

A command line captured from a compromised host can hold anything. Results
leave procanom in forms where that text stays text:

- CSV: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return would be read as a formula by Excel, LibreOffice or
  Google Sheets. Such cells get a leading apostrophe (the spreadsheet
  convention for "this is text"). Numeric columns are left alone, so scores
  such as ``-12.5`` stay numbers.
- JSON: standard escaping; non-finite numbers become ``null``.
- Terminal: line breaks are shown as ``\\n``, and control characters
  (escape sequences that could recolour or rewrite the screen) as below.
- Screens (the app, the HTML report, the terminal): invisible characters
  are shown as ``<U+202E>``. A right-to-left override makes
  ``x<U+202E>exe.txt`` read as ``xtxt.exe``, the classic disguise of a
  program as a document; zero-width characters make two different values
  look the same. An analyst must see them, since they are a finding in
  themselves. Files (CSV, JSON, Parquet) keep the value exactly as read.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "defuse_formula",
    "json_summary",
    "reveal_hidden",
    "reveal_hidden_frame",
    "to_csv",
    "to_json",
    "to_terminal",
    "with_event_numbers",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters that draw nothing or reorder what follows: C0 and C1 controls
# other than tab and line breaks, bidirectional controls and marks, zero-width
# and other format characters (the Unicode category Cf), line and paragraph
# separators, and the byte-order mark.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u061c\u115f\u1160\u17b4\u17b5"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f"
    "\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def defuse_formula(value: object) -> object:
    """Return ``value`` made safe to open in a spreadsheet.

    Examples
    --------
    >>> defuse_formula("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> defuse_formula("cmd.exe")
    'cmd.exe'
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


EVENT_COLUMN = "event"


def with_event_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with its index as a first column, ``event``.

    The number is the one the results page shows and ``inherited_from``
    refers to, so a row of a file can be found again. A column already
    called ``event`` in the data is left as it is and the number goes in
    ``procanom_event``.
    """
    name = EVENT_COLUMN if EVENT_COLUMN not in frame.columns else "procanom_event"
    numbered = frame.copy(deep=False)
    numbered.insert(0, name, frame.index.to_numpy())
    return numbered


def to_csv(frame: pd.DataFrame) -> str:
    """Return ``frame`` as CSV text with every text cell defused.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    str
        CSV with a header row, ``\\r\\n`` line ends (what spreadsheets
        expect), every field that needs it quoted.
    """
    safe = frame.copy()
    for column in _text_columns(safe):
        values = safe[column].astype(object)
        safe[column] = values.map(defuse_formula, na_action="ignore")
    return safe.to_csv(index=False, lineterminator="\r\n")


def json_summary(summary: dict) -> dict:
    """Return a result's ``summary`` as JSON-able plain data (NaN as None)."""
    return {key: _json_value(value) for key, value in summary.items()}


def _json_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value if isinstance(value, int | bool | str) else str(value)


def to_json(frame: pd.DataFrame, **extra: object) -> str:
    """Return ``frame`` as a JSON document ``{"results": [...], **extra}``.

    The shape matches Splunk's JSON export, so the output reads back into
    procanom (and most tools that read Splunk exports).
    """
    columns = list(frame.columns)
    rows = [
        {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.astype(object).itertuples(index=False, name=None)
    ]
    return json.dumps({**extra, "results": rows}, ensure_ascii=False, indent=1)


def reveal_hidden(text: str) -> str:
    """Return ``text`` with each invisible character shown as ``<U+XXXX>``.

    Examples
    --------
    >>> reveal_hidden("invoice\u202eexe.txt")
    'invoice<U+202E>exe.txt'
    >>> reveal_hidden("cmd.exe /c dir")
    'cmd.exe /c dir'
    """
    return _HIDDEN.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def reveal_hidden_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with :func:`reveal_hidden` applied to its text cells.

    Only columns that hold such a character are copied, so the usual frame,
    with none, comes back as it is.
    """
    changed = {}
    for name in _text_columns(frame):
        column = frame[name]
        text = column.astype("string")
        hidden = text.str.contains(_HIDDEN, na=False).to_numpy(dtype=bool)
        if hidden.any():
            revealed = (
                column.astype(object)
                if isinstance(column.dtype, pd.CategoricalDtype)
                else column.copy()
            )
            revealed.iloc[hidden] = text[hidden].map(reveal_hidden).to_numpy()
            changed[name] = revealed
    return frame.assign(**changed) if changed else frame


def to_terminal(value: object) -> str:
    """Return ``value`` as text safe to print in a terminal."""
    text = "" if value is None or value is pd.NA else str(value)
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return reveal_hidden(text.replace("\t", " "))
