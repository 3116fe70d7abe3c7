"""Keeping the process-creation records of a frame of Windows events.

Sysmon event 1 (Microsoft-Windows-Sysmon/Operational) and Security 4688 are
process creations; everything else is counted by ``channel/event id`` and set
aside. A frame without an event id column (a plain process export) is kept
whole.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from procanom.errors import InputFileError
from procanom.schema._mapping import EVENT_ID_ALIASES, LOG_ALIASES, ColumnIndex
from procanom.schema._values import (
    by_unique,
    classify_log,
    counted,
    empty,
    is_unset,
)

logger = logging.getLogger(__name__)

#: Key used in ``other_events`` when no column names the log.
NO_CHANNEL = "(no channel)"

#: How many distinct event kinds a "no process events" warning lists.
_LISTED_KINDS = 8


def select_process_events(
    frame: pd.DataFrame, index: ColumnIndex
) -> tuple[pd.Series, dict[str, int], list[str]]:
    """Mark the process-creation rows of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Text columns, as the readers produce them.
    index : ColumnIndex
        Alias lookup over ``frame``'s columns.

    Returns
    -------
    keep : pandas.Series of bool
        True for the rows to keep.
    other_events : dict of str to int
        The other rows, counted by ``"channel/event id"``.
    warnings : list of str
        A warning when the frame holds events but none is a process creation.

    Notes
    -----
    A row is kept when it has no event id; when its log is Sysmon and its id
    is 1; when its id is 4688 and its log is Security or not named; or when
    its id is 1, no column names its log, and it carries Sysmon's ``Image``
    or ``ProcessGuid`` (a Sysmon export without the channel column).
    """
    keep = pd.Series(True, index=frame.index)
    id_columns = index.find_all(EVENT_ID_ALIASES)
    if not id_columns:
        return keep, {}, []

    ids = empty(frame.index)
    for col in id_columns:
        ids = ids.where(ids.notna() | is_unset(frame[col]), frame[col].str.strip())
    ids = by_unique(ids, lambda v: v.str.replace(r"\.0+$", "", regex=True))

    log_columns = index.find_all(LOG_ALIASES)
    kind = empty(frame.index)
    channel = empty(frame.index)
    for col in log_columns:
        kind = kind.where(kind.notna(), classify_log(frame[col]))
        channel = channel.where(channel.notna() | is_unset(frame[col]), frame[col])
    sysmon_marks = index.find_all(("Image", "ProcessGuid"))
    has_sysmon_fields = pd.Series(False, index=frame.index)
    for col in sysmon_marks:
        has_sysmon_fields |= ~is_unset(frame[col])

    is_one = (ids == "1").fillna(False)
    is_4688 = (ids == "4688").fillna(False)
    keep = (
        ids.isna()
        | (is_one & (kind == "sysmon").fillna(False))
        | (is_4688 & (kind == "security").fillna(False))
        | (is_4688 & kind.isna())
        | (is_one & kind.isna() & has_sysmon_fields)
    )

    other = ~keep
    other_events: dict[str, int] = {}
    if other.any():
        keys = channel[other].fillna(NO_CHANNEL).str.strip() + "/" + ids[other]
        counts = keys.value_counts(sort=True)
        other_events = {str(k): int(v) for k, v in counts.items()}

    warnings = []
    if len(frame) and not keep.any():
        subject = (
            "Its one event is not"
            if len(frame) == 1
            else f"None of the {len(frame):,} events is"
        )
        warnings.append(
            f"{subject} a process creation (Sysmon event 1 or Security 4688);"
            f" {'it is' if len(frame) == 1 else 'they are'}: {_kinds(other_events)}."
        )
    logger.info(
        "event ids in %s: %d of %d rows are process creations",
        "/".join(id_columns),
        int(keep.sum()),
        len(frame),
    )
    return keep, other_events, warnings


def no_process_events_error(
    files: Sequence[str], other_events_by_file: Mapping[str, Mapping[str, int]]
) -> InputFileError:
    """Return the error for files that hold no process event at all.

    Parameters
    ----------
    files : sequence of str
        Every file read, in order.
    other_events_by_file : dict
        File -> its records that are not process creations, counted by
        ``"channel/event id"`` (:attr:`ProcessEvents.other_events_by_file`).
        A file missing here held no records.

    Returns
    -------
    InputFileError
        Naming the files and, for each, what it holds instead.
    """
    what = "(a Sysmon event 1, a Security 4688, or a row of a process export)"
    held = []
    for name in files:
        kinds = other_events_by_file.get(name) or {}
        records = sum(kinds.values())
        many = counted(records, "record")
        if not records:
            held.append((name, 0, "no records"))
        elif len(files) == 1:
            are = "is" if records == 1 else "are"
            held.append((name, records, f"its {many} {are} {_kinds(kinds)}"))
        else:
            held.append(
                (
                    name,
                    records,
                    f"{many}, none of them a process creation: {_kinds(kinds)}",
                )
            )

    if len(files) == 1:
        ((name, records, text),) = held
        problem = (
            f"holds no process events {what}: {text}"
            if records
            else f"holds no records, so no process events {what}"
        )
    else:
        listed = "; ".join(f"{name} holds {text}" for name, _, text in held)
        problem = f"no process events in these files {what}: {listed}"
    if any(records for _, records, _ in held):
        problem += (
            ". Add the files that hold the process starts (Sysmon Operational, "
            "or Security with process creation auditing on)"
        )
    shown = ", ".join(files[:_LISTED_FILES])
    if len(files) > _LISTED_FILES:
        shown += f" and {len(files) - _LISTED_FILES} more files"
    return InputFileError(shown or "(no file)", problem + ".")


#: How many files the no-process-events error names before counting the rest.
_LISTED_FILES = 10


def _kinds(counts: Mapping[str, int]) -> str:
    """List event kinds with their counts, the most common first."""
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    listed = ", ".join(f"{k} ({v:,})" for k, v in ranked[:_LISTED_KINDS])
    more = len(counts) - _LISTED_KINDS
    if more > 0:
        listed += f" and {more} more"
    return listed
