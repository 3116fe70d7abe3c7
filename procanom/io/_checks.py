"""Signs that a text export was damaged before it reached procanom.

Two kinds of damage cannot be undone but can be pointed out: a CSV opened
and saved in Excel (long numbers turned into scientific notation, formulas
into ``#NAME?``), and an export written as ASCII, where every non-ASCII
character became ``?`` (Windows PowerShell 5.1's ``Export-Csv`` default).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

# Excel shows a number of 12 or more digits as 1.23457E+15 and saves it so.
_SCIENTIFIC = r"^[+-]?\d[.,]\d+E\+(1[1-9]|[2-9]\d|\d{3})$"
_EXCEL_ERRORS = [
    "#NAME?",
    "#VALUE!",
    "#REF!",
    "#DIV/0!",
    "#N/A",
    "#NUM!",
    "#NULL!",
    "#SPILL!",
    "#CALC!",
]

# A '?' between two letters of one word: j?rgen. Tokens that look like URLs
# or query strings, and the NT path prefixes \??\ and \\?\, do not count.
_QMARK_IN_WORD = re.compile(r"[^\W\d_]\?+[^\W\d_]")
_NOT_A_WORD = re.compile(r"[=&/%]|\\\?\?\\|\\\\\?\\")

# Distinct values examined per column; enough to find the pattern.
_MAX_VALUES = 100_000

# Rows examined: damage done to a whole file shows in its first rows, and
# scanning every row of a multi-million-row export would cost seconds.
EXCEL_CHECK_ROWS = 200_000
QMARK_CHECK_ROWS = 1_000_000


def excel_damage_warning(table: pa.Table, name: str) -> str | None:
    """Warn when a CSV looks like it went through Excel.

    Only the first 200,000 rows are examined.

    Returns
    -------
    str or None
        A sentence naming the columns and counts, or None.
    """
    table = table.slice(0, EXCEL_CHECK_ROWS)
    scientific: dict[str, str] = {}
    errors: dict[str, str] = {}
    n_scientific = n_errors = 0
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        hits = pc.match_substring_regex(column, _SCIENTIFIC, ignore_case=True)
        count = pc.sum(hits).as_py() or 0
        if count:
            n_scientific += count
            scientific[column_name] = pc.filter(column, hits)[0].as_py()
        hits = pc.is_in(column, value_set=pa.array(_EXCEL_ERRORS))
        count = pc.sum(hits).as_py() or 0
        if count:
            n_errors += count
            errors[column_name] = pc.filter(column, hits)[0].as_py()
    if not scientific and not errors:
        return None

    parts = []
    if scientific:
        examples = ", ".join(f"{c} '{v}'" for c, v in list(scientific.items())[:3])
        parts.append(
            f"{n_scientific:,} value(s) in scientific notation ({examples}): the "
            "digits of long ids and hashes are lost"
        )
    if errors:
        examples = ", ".join(f"{c} '{v}'" for c, v in list(errors.items())[:3])
        parts.append(
            f"{n_errors:,} Excel error value(s) ({examples}): the original text is gone"
        )
    return (
        f"{name} looks like it was opened and saved in Excel: "
        + "; ".join(parts)
        + ". The file was loaded as it is; use the original export if you have it."
    )


def question_mark_warning(table: pa.Table, name: str) -> str | None:
    """Warn when non-ASCII characters were probably replaced by ``?``.

    Two signs count: the same value spelled once with ``?`` and once with
    a non-ASCII character in the same place (``j?rgen`` beside
    ``jürgen``), and a ``?`` inside a word. Only the first million rows
    are examined.

    Returns
    -------
    str or None
        A sentence with the count and an example, or None.
    """
    table = table.slice(0, QMARK_CHECK_ROWS)
    found = 0
    example = None
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        has_qmark = pc.fill_null(pc.match_substring(column, "?"), False)
        if not pc.any(has_qmark).as_py():
            continue
        with_qmark = pc.unique(pc.filter(column, has_qmark)).to_pylist()[:_MAX_VALUES]

        non_ascii = pc.fill_null(
            pc.match_substring_regex(column, r"[^\x00-\x7f]"), False
        )
        ascii_forms = {}
        if pc.any(non_ascii).as_py():
            for value in pc.unique(pc.filter(column, non_ascii)).to_pylist()[
                :_MAX_VALUES
            ]:
                ascii_forms.setdefault(value.encode("ascii", "replace").decode(), value)

        for value in with_qmark:
            twin = ascii_forms.get(value)
            if twin is not None or _qmark_inside_word(value):
                found += 1
                if example is None or (twin is not None and "beside" not in example):
                    example = f"{column_name} '{value}'" + (
                        f" beside '{twin}'" if twin is not None else ""
                    )
    if not found:
        return None
    return (
        f"{name}: {found:,} distinct value(s) contain '?' where a non-ASCII "
        f"character probably stood, e.g. {example}. The export (or part of it) "
        "was likely written as ASCII, as Windows PowerShell 5.1's Export-Csv "
        "does by default; the same name spelled both ways counts as two "
        "values. Export again with -Encoding UTF8 to avoid this."
    )


def _qmark_inside_word(value: str) -> bool:
    for token in value.split():
        if (
            "?" in token
            and _QMARK_IN_WORD.search(token)
            and not _NOT_A_WORD.search(token)
        ):
            return True
    return False
