"""Allow-lists: outliers an analyst has marked as expected.

An entry names conditions on event fields, ``{"Name": "ccmexec.exe"}`` (one
value), ``{"Name": "ccmexec.exe", "ParentName": "services.exe"}`` (a
combination) or every field of one outlier, and why it is expected. An
event matches when **every** condition matches:

``match="literal"``
    The whole value, ignoring case (Unicode case folding: Windows names and
    paths are not case-sensitive, nor is Splunk's ``field=value``). A
    condition of ``""`` matches an empty or missing value.
``match="pattern"``
    The whole value against a glob where ``*`` stands for any run of
    characters, including none and line breaks, ignoring case; every other
    character (``?``, ``%``, ``.``) is itself. This is Splunk's ``WILDCARD``
    lookup matching, so the same file works in both. A missing value reads
    as empty, so ``*`` matches it.

Entries apply to one experiment or, with ``scope="global"``, to all.
:func:`apply_allowlist` turns off ``isOutlier`` for matching events and
names the entries in a ``suppressed_by`` column; scores and frequencies do
not change (a suppressed event still counts in the histogram it was scored
against), only the flags do.

CSV for Splunk
--------------
:func:`allowlist_to_csv` writes a file Splunk can use as a lookup table.
Columns: one per field named in any entry's conditions (in order of first
appearance), then ``match``, ``reason``, ``author``, ``scope``,
``created_at`` and ``enabled`` (``1`` or ``0``). A field an entry does not
constrain holds ``*``. To use it in Splunk, upload it as a lookup file and
define it in ``transforms.conf``::

    [procanom_allowlist]
    filename = procanom_allowlist.csv
    match_type = WILDCARD(Name), WILDCARD(ParentName)
    case_sensitive_match = false

then ``| lookup procanom_allowlist Name ParentName OUTPUT reason enabled
| where isnull(reason) OR enabled!="1"`` keeps the events no enabled entry
covers. Splunk reads every value as a wildcard pattern, so a literal entry
whose value holds ``*`` matches more in Splunk than in procanom.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or
an apostrophe gets a leading apostrophe (a spreadsheet would otherwise run
it as a formula); :func:`allowlist_from_csv` removes it again. Such a value
will not match in Splunk as written.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.errors import InputFileError, ParameterError
from procanom.export import FORMULA_PREFIXES
from procanom.scoring import DetectionResult
from procanom.store.triage import ALLOW_MATCHES, ALLOW_SCOPES, AllowEntry

__all__ = [
    "ANY_VALUE",
    "CSV_META_COLUMNS",
    "LOOKUP_FILE",
    "LOOKUP_NAME",
    "SUPPRESSED_BY_COLUMN",
    "AllowEntry",
    "SuppressionSummary",
    "allowlist_from_csv",
    "allowlist_to_csv",
    "apply_allowlist",
    "conditions_from_row",
    "entry_mask",
    "like_pattern",
]

logger = logging.getLogger(__name__)

SUPPRESSED_BY_COLUMN = "suppressed_by"
CSV_META_COLUMNS = ("match", "reason", "author", "scope", "created_at", "enabled")
#: What a CSV cell holds for a field an entry does not constrain.
ANY_VALUE = "*"
#: The Splunk lookup the CSV is uploaded as, and its file.
LOOKUP_NAME = "procanom_allowlist"
LOOKUP_FILE = f"{LOOKUP_NAME}.csv"

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def like_pattern(value: str, match: str = "literal") -> str:
    r"""Return the SQL ``LIKE`` pattern (``\`` escapes) matching like an entry.

    Examples
    --------
    >>> like_pattern(r"C:\Users\*\100%.exe", "pattern")
    'C:\\\\Users\\\\%\\\\100\\%.exe'
    >>> like_pattern("a*b_c")
    'a*b\\_c'
    """

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    if match == "pattern":
        return "%".join(escape(part) for part in value.split("*"))
    return escape(value)


def _arrow_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    # Missing values read as empty: "" (literal) or "*" (pattern) match them.
    array = pa.array(values.astype("string[pyarrow]").array)
    return pc.fill_null(array, "")


def entry_mask(
    entry: AllowEntry,
    frame: pd.DataFrame,
    cache: dict[str, pa.Array | pa.ChunkedArray] | None = None,
) -> np.ndarray:
    """Return which rows of ``frame`` match every condition of ``entry``.

    Parameters
    ----------
    entry : AllowEntry
    frame : pandas.DataFrame
        Events; a condition on a column it lacks matches no row.
    cache : dict, optional
        Columns already converted for matching, shared between entries.

    Returns
    -------
    numpy.ndarray of bool
        Computed whether or not the entry is enabled.
    """
    cache = {} if cache is None else cache
    mask = np.ones(len(frame), dtype=bool)
    for name, wanted in entry.conditions.items():
        if name not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        if name not in cache:
            cache[name] = _arrow_text(frame[name])
        # Arrow's LIKE runs in RE2: whole value, Unicode case folding, and
        # "%" crosses line breaks, as Splunk's wildcard lookups do.
        hits = pc.match_like(
            cache[name], like_pattern(str(wanted), entry.match), ignore_case=True
        )
        mask &= hits.to_numpy(zero_copy_only=False).astype(bool)
    return mask


def conditions_from_row(
    row: Mapping[str, object] | pd.Series, fields: Sequence[str]
) -> dict[str, str]:
    """Return literal conditions matching one event's values in ``fields``.

    The usual way to allow-list one outlier: every analysed field, as it is
    (add ``"host"`` to the fields to limit it to one machine). A missing
    value becomes ``""``, which matches missing or empty values.
    """
    conditions = {}
    for name in fields:
        value = row.get(name) if hasattr(row, "get") else row[name]
        missing = value is None or value is pd.NA
        missing = missing or (isinstance(value, float) and np.isnan(value))
        conditions[name] = "" if missing else str(value)
    return conditions


@dataclass
class SuppressionSummary:
    """What an allow-list did to a result.

    Attributes
    ----------
    suppressed : int
        Events that were outliers and are not any more.
    by_entry : dict of str to int
        Outliers each entry matched (an event matched by two entries counts
        for both), for every enabled entry checked.
    entries_checked : int
        Enabled entries applied.
    warnings : list of str
        Entries that could not match (a field not in the data).
    """

    suppressed: int = 0
    by_entry: dict[str, int] = field(default_factory=dict)
    entries_checked: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rules_matched(self) -> int:
        """Entries that matched at least one outlier."""
        return sum(1 for count in self.by_entry.values() if count)

    def describe(self) -> str:
        """Return the summary in words, e.g. ``"14 suppressed by 3 rules"``."""
        if not self.entries_checked:
            return "no allow-list rules"
        if not self.suppressed:
            rules = "rule" if self.entries_checked == 1 else "rules"
            return f"none suppressed ({self.entries_checked} {rules} checked)"
        rules = "rule" if self.rules_matched == 1 else "rules"
        return f"{self.suppressed:,} suppressed by {self.rules_matched} {rules}"

    def to_dict(self) -> dict:
        """Return the summary as JSON-able data."""
        return {
            "suppressed": self.suppressed,
            "by_entry": dict(self.by_entry),
            "entries_checked": self.entries_checked,
            "warnings": list(self.warnings),
        }


def _condition_frame(
    candidates: pd.DataFrame,
    frame: pd.DataFrame | None,
    entries: Sequence[AllowEntry],
) -> tuple[pd.DataFrame, list[str]]:
    """Return the outlier rows with every column the entries name, if found."""
    wanted = {name for entry in entries for name in entry.conditions}
    missing = sorted(wanted - set(candidates.columns))
    if not missing or frame is None:
        return candidates, missing
    extra = [name for name in missing if name in frame.columns]
    if extra and frame.index.is_unique and candidates.index.isin(frame.index).all():
        # Fields that were not scored may be absent from a trimmed result;
        # the result keeps the events' index, so they are looked up there.
        candidates = candidates.join(frame.loc[candidates.index, extra])
        missing = [name for name in missing if name not in extra]
    return candidates, missing


def apply_allowlist(
    result: DetectionResult,
    frame: pd.DataFrame | None = None,
    entries: Iterable[AllowEntry] = (),
) -> tuple[DetectionResult, SuppressionSummary]:
    """Turn off ``isOutlier`` for events an allow-list entry covers.

    Parameters
    ----------
    result : DetectionResult
        Not modified.
    frame : pandas.DataFrame, optional
        The events ``result`` was scored on, for conditions on columns the
        result lacks; ``result.annotated`` holds every input column, so this
        is only needed for trimmed results.
    entries : iterable of AllowEntry
        Disabled entries are skipped.

    Returns
    -------
    (DetectionResult, SuppressionSummary)
        The result with the same scores and threshold, suppressed events'
        ``isOutlier`` set to 0, a ``suppressed_by`` column (matching entry
        ids joined by ``,``; empty when not suppressed), and ``summary``'s
        ``num_anomalies`` and ``num_suppressed`` updated.
    """
    active = [entry for entry in entries if entry.enabled]
    # Columns are replaced below, never written in place: a shallow copy
    # spares copying every event's values at a million events.
    annotated = result.annotated.copy(deep=False)
    flagged = np.flatnonzero(annotated["isOutlier"].to_numpy() == 1)
    if not active:
        # Nothing to match: the events to look at need not be gathered.
        flagged = flagged[:0]
    candidates, missing = _condition_frame(annotated.iloc[flagged], frame, active)

    summary = SuppressionSummary(entries_checked=len(active))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    matched_by: list[list[str]] = [[] for _ in flagged]
    for number, entry in enumerate(active, start=1):
        label = entry.id or f"new-{number}"
        absent = [name for name in entry.conditions if name in missing]
        if absent:
            summary.warnings.append(
                f"allow-list entry {label} names {', '.join(absent)}, which the"
                " data does not have; it suppresses nothing"
            )
        mask = entry_mask(entry, candidates, columns)
        summary.by_entry[label] = int(mask.sum())
        for position in np.flatnonzero(mask):
            matched_by[position].append(label)

    hit = np.fromiter((bool(ids) for ids in matched_by), dtype=bool, count=len(flagged))
    suppressed_rows = flagged[hit]
    summary.suppressed = len(suppressed_rows)

    flags = annotated["isOutlier"].to_numpy().copy()
    flags[suppressed_rows] = 0
    annotated["isOutlier"] = flags
    annotated[SUPPRESSED_BY_COLUMN] = _suppressed_by(
        len(annotated), suppressed_rows, [",".join(ids) for ids in matched_by if ids]
    )

    for warning in summary.warnings:
        logger.warning("%s", warning)
    logger.info(
        "allow-list: %s (%d outliers left)", summary.describe(), int(flags.sum())
    )
    return (
        DetectionResult(
            annotated=annotated,
            fields=list(result.fields),
            method=result.method,
            threshold=result.threshold,
            fence=result.fence,
            summary={
                **result.summary,
                "num_anomalies": int(flags.sum()),
                "num_suppressed": summary.suppressed,
            },
            seconds=result.seconds,
            warnings=[*result.warnings, *summary.warnings],
            # Kept, so relabelling this result shows fresh causes too.
            causes=result.causes,
            log_prob_thresh=result.log_prob_thresh,
        ),
        summary,
    )


def _suppressed_by(
    n: int, rows: np.ndarray, labels: list[str]
) -> pd.api.extensions.ExtensionArray:
    """``n`` labels, empty but at ``rows``, built by Arrow rather than as objects."""
    values = pa.array(["", *labels], pa.string())
    which = np.zeros(n, dtype=np.int64)
    which[rows] = np.arange(1, len(labels) + 1)
    return pd.arrays.ArrowStringArray(values.take(pa.array(which)))


# -- CSV -----------------------------------------------------------------------------


def _defuse(value: str) -> str:
    if value.startswith((*FORMULA_PREFIXES, "'")):
        return "'" + value
    return value


def _restore(value: str) -> str:
    return value[1:] if value.startswith("'") else value


def allowlist_to_csv(entries: Sequence[AllowEntry]) -> str:
    """Return allow-list entries as a CSV lookup table (see the module notes).

    Raises
    ------
    ParameterError
        If a condition names a field called like a metadata column
        (``reason``, ``scope``...), or a literal condition is exactly ``*``
        (which the file uses for "any value").
    """
    fields: list[str] = []
    for entry in entries:
        for name in entry.conditions:
            if name in CSV_META_COLUMNS:
                raise ParameterError(
                    f"allow-list entry {entry.id} field",
                    "a name other than " + ", ".join(CSV_META_COLUMNS),
                    name,
                )
            if entry.match == "literal" and entry.conditions[name] == ANY_VALUE:
                raise ParameterError(
                    f"allow-list entry {entry.id} condition on {name}",
                    "a value other than a lone '*' in a literal entry",
                    ANY_VALUE,
                )
            if name not in fields:
                fields.append(name)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_defuse(name) for name in [*fields, *CSV_META_COLUMNS]])
    for entry in entries:
        values = [entry.conditions.get(name, ANY_VALUE) for name in fields]
        meta = [
            entry.match,
            entry.reason,
            entry.author,
            entry.scope,
            entry.created_at,
            "1" if entry.enabled else "0",
        ]
        writer.writerow([_defuse(str(v)) for v in [*values, *meta]])
    return out.getvalue()


def _flag(value: str, source: str, line: int) -> bool:
    text = value.strip().lower()
    if text in _TRUE or text == "":
        return True
    if text in _FALSE:
        return False
    raise InputFileError(
        source, f"column enabled holds {value!r}; expected 1 or 0", line
    )


def allowlist_from_csv(
    text: str,
    *,
    experiment_id: str | None = None,
    author: str = "",
    source: str = "allow-list CSV",
    problems: list[str] | None = None,
) -> list[AllowEntry]:
    """Read allow-list entries from a CSV lookup table.

    Every column not in :data:`CSV_META_COLUMNS` is a field; ``*`` in it means
    "any value". Missing metadata columns take defaults: ``match`` is
    ``pattern`` for a row holding ``*`` in a condition and ``literal``
    otherwise, ``scope`` is ``experiment`` when ``experiment_id`` is given
    and ``global`` otherwise, ``author`` is ``author``, ``enabled`` is 1, and
    ``created_at`` is the time of saving.

    Parameters
    ----------
    text : str
        The file's text.
    experiment_id : str, optional
        The experiment that entries with scope ``experiment`` belong to.
    author : str
        Author of rows that name none.
    source : str
        The file's name, for messages.
    problems : list of str, optional
        When given, a row that cannot be read is skipped and described here
        (``"line 7: column match holds 'glob'; ..."``) instead of stopping
        the import; the rows after text that is not CSV at all are not read,
        and that is said too.

    Returns
    -------
    list of AllowEntry
        Not saved yet (``id`` None); pass them to
        :meth:`~procanom.store.ExperimentStore.add_allow_entries`.

    Raises
    ------
    InputFileError
        If the header cannot be used; and, unless ``problems`` is given,
        naming the line and column of a value that cannot be read, a row
        with no condition (it would suppress every outlier), or an entry
        scoped to an experiment when ``experiment_id`` is not given.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [_restore(name.strip()) for name in next(reader)]
    except StopIteration:
        raise InputFileError(source, "is empty; expected a header row") from None
    fields = [name for name in header if name and name not in CSV_META_COLUMNS]
    if not fields:
        raise InputFileError(
            source,
            "has no field columns; expected columns named after event fields"
            " besides " + ", ".join(CSV_META_COLUMNS),
            1,
        )

    entries = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            if problems is None:
                raise InputFileError(
                    source, f"is not readable as CSV ({error})", start
                ) from None
            problems.append(
                f"line {start}: not readable as CSV ({error}); the rows after it"
                " were not read"
            )
            break
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            entries.append(
                _entry_from_row(
                    header, fields, row, start, experiment_id, author, source
                )
            )
        except InputFileError as error:
            if problems is None:
                raise
            problems.append(f"line {error.line}: {error.problem}")
    logger.info("read %d allow-list entries from %s", len(entries), source)
    return entries


def _entry_from_row(
    header: list[str],
    fields: list[str],
    row: list[str],
    line: int,
    experiment_id: str | None,
    author: str,
    source: str,
) -> AllowEntry:
    """One CSV record, starting on ``line``, as an entry."""
    if len(row) != len(header):
        raise InputFileError(
            source, f"has {len(row)} values; the header has {len(header)}", line
        )
    record = {name: _restore(cell) for name, cell in zip(header, row, strict=True)}
    conditions = {name: record[name] for name in fields if record[name] != ANY_VALUE}
    if not conditions:
        raise InputFileError(
            source,
            "has no condition (every field is '*'); it would suppress every outlier",
            line,
        )
    match = record.get("match", "").strip().lower() or (
        "pattern" if any("*" in v for v in conditions.values()) else "literal"
    )
    if match not in ALLOW_MATCHES:
        raise InputFileError(
            source,
            f"column match holds {match!r}; expected " + " or ".join(ALLOW_MATCHES),
            line,
        )
    scope = record.get("scope", "").strip().lower() or (
        "experiment" if experiment_id else "global"
    )
    if scope not in ALLOW_SCOPES:
        raise InputFileError(
            source,
            f"column scope holds {scope!r}; expected " + " or ".join(ALLOW_SCOPES),
            line,
        )
    if scope == "experiment" and not experiment_id:
        raise InputFileError(
            source,
            "holds an entry for one experiment; import it into an experiment",
            line,
        )
    return AllowEntry(
        id=None,
        scope=scope,
        experiment_id=experiment_id if scope == "experiment" else None,
        conditions=conditions,
        match=match,
        reason=record.get("reason", ""),
        author=record.get("author", "") or author,
        created_at=record.get("created_at", "").strip(),
        enabled=_flag(record.get("enabled", ""), source, line),
    )
