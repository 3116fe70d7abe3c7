"""Turning a frame of events into one row per process start."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.errors import ParameterError
from procanom.schema._events import select_process_events
from procanom.schema._mapping import (
    FIELD_ALIASES,
    PROCESS_FIELDS,
    ColumnIndex,
    FieldMapping,
    detect_mapping,
)
from procanom.schema._recipes import Recipe, parse_recipe
from procanom.schema._times import format_times, parse_times
from procanom.schema._values import (
    STRING,
    accounts,
    basenames,
    counted,
    decimal_ids,
    first_set,
    hex_logon_ids,
    integrity_levels,
    is_unset,
    log_names,
    short_hosts,
)

logger = logging.getLogger(__name__)

#: Sysmon and 4688 records of one process are at most this far apart.
MERGE_WINDOW = pd.Timedelta(seconds=2)

#: Column that keeps ``_time`` as written when some of it could not be read.
TIME_AS_WRITTEN = "_time (as written)"

# Derived fields are computed in this order: hosts before times (offsets are
# per host), paths before the names taken from them, EventSource last.
_EVAL_ORDER = (
    "host",
    "_time",
    *(f for f in PROCESS_FIELDS if f not in ("host", "_time", "Name", "ParentName")),
    "Name",
    "ParentName",
)
_ID_FIELDS = ("ProcessId", "ParentProcessId")
_TIME_ZONE_STEP = pd.Timedelta(minutes=15)
_TIME_ZONE_SLACK = pd.Timedelta(minutes=2)
_OFFSET_AGREEMENT = 0.8


@dataclass
class ProcessEvents:
    """Process-creation events in the common schema.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per process start: the :data:`PROCESS_FIELDS` that hold a
        value (or were in the input) first, then the input's other columns
        unchanged. Every column is ``string[pyarrow]``; the index is the
        input's, so rows can be traced back.
    mapping : FieldMapping
        The mapping applied (detected, or the one passed in); with several
        files, each file's own in ``mapping.files`` where they differ.
    other_events : dict of str to int
        Records set aside because they are not process creations, counted by
        ``"channel/event id"`` (``"Security/4624"``).
    warnings : list of str
        Plain sentences: what looked wrong and what was done about it. Each
        starts with the file's name when the file is known.
    duplicates_merged : int
        Security 4688 records folded into the Sysmon record of the same
        process.
    other_events_by_file : dict of str to dict
        ``other_events`` per file, for every file that is known by name.
    """

    frame: pd.DataFrame
    mapping: FieldMapping
    other_events: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    duplicates_merged: int = 0
    other_events_by_file: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class _Part:
    """One file's rows, mapped on their own."""

    name: str | None
    out: pd.DataFrame
    times: pd.Series
    hosts: pd.Series
    mapping: FieldMapping
    other_events: dict[str, int]
    warnings: list[str]


def to_process_events(
    frame: pd.DataFrame,
    mapping: FieldMapping | Mapping | None = None,
    *,
    deduplicate: bool = True,
    file_column: str | None = None,
    source: str | None = None,
) -> ProcessEvents:
    """Keep the process creations of ``frame`` and map them onto the schema.

    Parameters
    ----------
    frame : pandas.DataFrame
        Events as read, text columns (other dtypes are converted to text).
    mapping : FieldMapping or dict, optional
        The mapping to apply exactly, e.g. ``FieldMapping.from_dict(saved)``;
        a file listed in its ``files`` gets its own entry there. Detected
        with :func:`detect_mapping` when None, from the columns that hold a
        value in the process rows (of each file, with ``file_column``).
    deduplicate : bool, default True
        Fold a Security 4688 record into the Sysmon 1 record of the same
        process (same host and process id, start times at most 2 seconds
        apart): the Sysmon row is kept, its empty cells are filled from the
        4688 row, and its ``EventSource`` becomes ``sysmon+security``. With
        several files, a 4688 record of one file folds into the Sysmon
        record of another.
    file_column : str, optional
        The column naming the file each row was read from. Each file's rows
        are then kept, mapped and timed on their own, exactly as if that
        file had been read alone (its own mapping, its own per-host time
        zones), and the results put back together in row order; only the
        Sysmon/4688 folding looks across files.
    source : str, optional
        Without ``file_column``: the file the whole frame was read from.
        Warnings then start with its name.

    Returns
    -------
    ProcessEvents

    Raises
    ------
    ParameterError
        If ``frame`` is not a DataFrame with distinct column names,
        ``mapping`` is neither a FieldMapping nor a dict of that shape, or
        ``file_column`` is not one of ``frame``'s columns.

    Notes
    -----
    Values are normalised: ``_time`` to UTC ``YYYY-MM-DDTHH:MM:SS.fffZ``,
    process ids to decimal text, ``LogonId`` to lower-case hex, integrity
    labels and SIDs to Sysmon's names (``High``). ``Name`` and
    ``ParentName`` are kept as the source writes them; where a source has
    none, they are the file name of ``Path`` and ``ParentPath``. Times that
    cannot be read leave ``_time`` empty and are counted in a warning; the
    column they came from is kept as written.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError("frame", "a pandas DataFrame", type(frame).__name__)
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise ParameterError("frame", "columns with distinct names", duplicated)
    if mapping is not None and not isinstance(mapping, FieldMapping):
        mapping = FieldMapping.from_dict(mapping)
    if file_column is not None and file_column not in frame.columns:
        raise ParameterError(
            "file_column",
            f"one of the frame's columns {list(frame.columns)}",
            file_column,
        )

    # Work on positions so that a duplicated or odd index cannot misalign
    # rows; the caller's labels are put back at the end.
    labels = frame.index
    frame = _as_text(frame)
    parts = [
        _map_part(
            piece,
            name,
            None if mapping is None else mapping.for_file(name),
            set(frame.columns),
            file_column,
        )
        for name, piece in _split_files(frame, file_column, source)
    ]

    if len(parts) == 1:
        out, times, hosts = parts[0].out, parts[0].times, parts[0].hosts
    else:
        out, times, hosts = _combine(frame, parts)
    merged = 0
    if deduplicate:
        out, merged = _merge_duplicates(out, times, hosts)
    out.index = labels.take(out.index.to_numpy())

    if mapping is None:
        if len(parts) == 1:
            mapping = parts[0].mapping
        else:
            mapping = FieldMapping.per_file({p.name: p.mapping for p in parts})
    other_events: dict[str, int] = {}
    for part in parts:
        for key, count in part.other_events.items():
            other_events[key] = other_events.get(key, 0) + count
    other_events = dict(sorted(other_events.items(), key=lambda kv: -kv[1]))
    by_file = {p.name: p.other_events for p in parts if p.name is not None}
    warnings = [w for p in parts for w in p.warnings]
    logger.info(
        "%d process events from %d records in %d part(s) (%d set aside, "
        "%d duplicates merged)",
        len(out),
        len(frame),
        len(parts),
        sum(other_events.values()),
        merged,
    )
    return ProcessEvents(out, mapping, other_events, warnings, merged, by_file)


def _split_files(
    frame: pd.DataFrame, file_column: str | None, source: str | None
) -> list[tuple[str | None, pd.DataFrame]]:
    """Cut ``frame`` into one piece per file, in order of first appearance.

    Each piece's columns are those that hold a value in it, so another
    file's columns cannot change what this one's are taken to mean. The
    pieces' index is their rows' positions in ``frame``.
    """
    if file_column is None:
        return [(source, frame)]
    codes, uniques = pd.factorize(frame[file_column], use_na_sentinel=False)
    names = [None if pd.isna(u) else str(u) for u in uniques]
    if len(names) <= 1:
        return [(names[0] if names else source, frame)]

    # Which files hold a value in each column, from one pass per column.
    holds = {
        name: np.bincount(codes[column.notna().to_numpy()], minlength=len(names)) > 0
        for name, column in frame.items()
    }
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    pieces = []
    for i, name in enumerate(names):
        positions = order[bounds[i] : bounds[i + 1]]
        columns = [c for c in frame.columns if holds[c][i]]
        pieces.append((name, frame.iloc[positions][columns]))
    return pieces


def _map_part(
    frame: pd.DataFrame,
    name: str | None,
    mapping: FieldMapping | None,
    known: set[str],
    file_column: str | None,
) -> _Part:
    """Keep and map the process creations of one file's rows.

    ``known`` holds every column of the whole input, of which ``frame``
    may keep only those with a value.
    """
    keep, other_events, warnings = select_process_events(
        frame, ColumnIndex(frame.columns)
    )
    events = frame.loc[keep.to_numpy()]

    if mapping is None:
        filled = [c for c in events.columns if events[c].notna().any()]
        mapping = detect_mapping(filled if len(events) else list(events.columns))
        logger.info(
            "detected mapping of %s: %s", name or "the frame", mapping.to_dict()
        )
    else:
        # A column the file has can be empty in these rows (one chunk of a
        # large file): it is then empty here too, not missing.
        empty_here = [
            c for c in mapping.input_columns() if c in known and c not in events
        ]
        if empty_here:
            nothing = pd.Series(pd.NA, index=events.index, dtype=STRING)
            events = events.assign(**dict.fromkeys(empty_here, nothing))
    builder = _Builder(events, mapping, warnings)
    builder.build()
    if len(events):
        program = _program_warning(events, mapping, file_column)
        if program:
            warnings.append(program)

    out = _assemble(events, builder)
    if name is not None:
        warnings = [f"{name}: {w}" for w in warnings]
    return _Part(
        name,
        out,
        builder.times,
        builder.host_keys(),
        mapping,
        other_events,
        warnings,
    )


#: The fields that say which program ran; without one, nothing can be scored.
_PROGRAM_FIELDS = ("Name", "Path", "CommandLine")
#: How many column names a warning lists.
_LISTED_COLUMNS = 12


def _program_warning(
    events: pd.DataFrame, mapping: FieldMapping, file_column: str | None
) -> str | None:
    """Say so when no column gives the program (Name, Path or CommandLine)."""
    mapped = mapping.fields()
    if any(f in mapped for f in _PROGRAM_FIELDS):
        return None
    columns = [
        str(c) for c in events.columns if c != file_column and events[c].notna().any()
    ]
    listed = ", ".join(columns[:_LISTED_COLUMNS]) or "none holding a value"
    if len(columns) > _LISTED_COLUMNS:
        listed += f" and {len(columns) - _LISTED_COLUMNS} more"
    expected = ", ".join(
        dict.fromkeys(a for f in _PROGRAM_FIELDS for a in FIELD_ALIASES[f])
    )
    others = [f for f in mapped if f != "EventSource"]
    if others:
        lead = (
            "No column maps to Name, Path or CommandLine, the process fields that "
            f"name the program (columns map only to {', '.join(others)})"
        )
    else:
        lead = "No column maps to a process field"
    n = len(events)
    return (
        f"{lead}: the columns are {listed}; expected columns such as {expected}. "
        f"The {counted(n, 'row')} {_was(n)} kept, but nothing in "
        f"{'it' if n == 1 else 'them'} says which program ran: map a column to "
        "Name, Path or CommandLine, or export the process fields."
    )


def _combine(
    frame: pd.DataFrame, parts: list[_Part]
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Put the files' events back together in row order.

    Columns as one file alone would give them: the process fields first,
    then the input's columns in their order; a file without a column is
    empty there.
    """
    present = {c for p in parts for c in p.out.columns}
    fields = [f for f in PROCESS_FIELDS if f in present or f in frame.columns]
    extra = [TIME_AS_WRITTEN] if TIME_AS_WRITTEN in present else []
    columns = list(dict.fromkeys([*fields, *extra, *map(str, frame.columns)]))

    positions = np.concatenate([p.out.index.to_numpy() for p in parts])
    order = np.argsort(positions, kind="stable")
    data = {}
    for name in columns:
        chunks = []
        for part in parts:
            if name in part.out.columns:
                chunk = part.out[name].array.__arrow_array__()
                chunks.extend(c.cast(pa.large_string()) for c in chunk.chunks)
            else:
                chunks.append(pa.nulls(len(part.out), pa.large_string()))
        combined = pa.chunked_array(chunks, pa.large_string()).take(order)
        data[name] = pd.array(combined.combine_chunks(), dtype=STRING)
    out = pd.DataFrame(data, index=pd.Index(positions[order]))
    times = pd.concat([p.times for p in parts]).iloc[order]
    hosts = pd.concat([p.hosts for p in parts]).iloc[order]
    return out, times, hosts


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` as contiguous ``string[pyarrow]`` columns on a RangeIndex.

    Frames built by concatenation hold thousands of small Arrow chunks per
    column, which makes every later take and filter slow; one chunk each
    keeps them fast.
    """
    converted = {}
    for name, column in frame.items():
        if column.dtype != STRING:
            if pd.api.types.is_float_dtype(column.dtype):
                whole = column.dropna()
                if (whole == whole.round()).all():
                    column = column.astype("Int64")
            column = column.astype(STRING)
        chunks = column.array.__arrow_array__()
        if chunks.num_chunks > 1:
            column = pd.Series(pd.array(chunks.combine_chunks(), dtype=STRING))
        converted[str(name)] = column.array
    return pd.DataFrame(converted, index=pd.RangeIndex(len(frame)))


class _Builder:
    """Computes the process fields of one frame from one mapping."""

    def __init__(self, events: pd.DataFrame, mapping: FieldMapping, warnings: list):
        self.events = events
        self.mapping = mapping
        self.warnings = warnings
        self.targets: dict[str, pd.Series] = {}
        self.times = pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns, UTC]")
        self.time_as_written: pd.Series | None = None

    def build(self) -> None:
        """Compute every process field the mapping names, in dependency order."""
        named = set(self.mapping.sources) | set(self.mapping.derived)
        unknown = sorted(named - set(PROCESS_FIELDS))
        if unknown:
            which = (
                "is not a process field"
                if len(unknown) == 1
                else ("are not process fields")
            )
            self.warnings.append(
                f"The mapping names {', '.join(map(repr, unknown))}, which {which} "
                f"(expected one of {', '.join(PROCESS_FIELDS)}); ignored."
            )

        for target in _EVAL_ORDER:
            if target == "_time":
                self._build_time()
                continue
            value = self._source(target)
            recipe = self._recipe(target)
            if recipe is not None:
                fill = self._derive(target, recipe)
                if fill is not None:
                    value = fill if value is None else _fill_unset(value, fill)
            if value is not None:
                self.targets[target] = self._normalise(target, value)

    # -- inputs ------------------------------------------------------------

    def _column(self, target: str, name: str, role: str) -> pd.Series | None:
        if name in self.events.columns:
            return self.events[name]
        self.warnings.append(
            f"The mapping {role} {target} from column {name!r}, which this data "
            f"does not have; {target} gets no values from it."
        )
        return None

    def _source(self, target: str) -> pd.Series | None:
        name = self.mapping.sources.get(target)
        return None if name is None else self._column(target, name, "takes")

    def _recipe(self, target: str) -> Recipe | None:
        text = self.mapping.derived.get(target)
        if text is None:
            return None
        try:
            return parse_recipe(text)
        except ValueError as exc:
            self.warnings.append(
                f"The mapping's recipe for {target} was not applied: {exc}."
            )
            return None

    def _inputs(self, target: str, recipe: Recipe) -> list[pd.Series] | None:
        found = [self._column(target, c, "derives") for c in recipe.inputs()]
        found = [s for s in found if s is not None]
        return found or None

    # -- derivations -------------------------------------------------------

    def _derive(self, target: str, recipe: Recipe) -> pd.Series | None:
        index = self.events.index
        kind = recipe.kind
        if kind == "shifted":
            self.warnings.append(
                f"The mapping's recipe for {target}, {recipe.text!r}, applies to "
                "_time only; not applied."
            )
            return None
        if kind == "constant":
            return pd.Series(recipe.columns[0], index=index, dtype=STRING)
        if kind == "basename":
            name = recipe.columns[0]
            if name in self.targets:
                return basenames(self.targets[name])
            source = self._column(target, name, "derives")
            return None if source is None else basenames(source)
        if kind == "account":
            pairs = []
            for domain, user in zip(
                recipe.columns[::2], recipe.columns[1::2], strict=True
            ):
                user_col = self._column(target, user, "derives")
                if user_col is None:
                    continue
                domain_col = self._column(target, domain, "derives") if domain else None
                pairs.append((domain_col, user_col))
            return accounts(pairs, index) if pairs else None
        columns = self._inputs(target, recipe)
        if columns is None:
            return None
        if kind == "first_set":
            return first_set(columns, index)
        if kind == "short_host":
            return short_hosts(columns[0])
        return log_names(columns, index)

    def _normalise(self, target: str, value: pd.Series) -> pd.Series:
        if target in _ID_FIELDS:
            value, bad = decimal_ids(value)
            if bad:
                values = counted(bad, f"{target} value")
                self.warnings.append(
                    f"{values} {_was(bad, 'is')} neither a decimal nor a 0x-hex "
                    "number; kept as written."
                )
        elif target == "LogonId":
            value = hex_logon_ids(value)
        elif target == "IntegrityLevel":
            value = integrity_levels(value)
        return value.astype(STRING)

    # -- times -------------------------------------------------------------

    def _build_time(self) -> None:
        name = self.mapping.sources.get("_time")
        source = self._source("_time")
        if source is not None:
            self.times = self._parse(name, source)
            if name == "_time" and self.times.isna().sum() > source.isna().sum():
                self.time_as_written = source
        recipe = self._recipe("_time")
        if recipe is not None:
            if recipe.kind == "shifted":
                self._shift_record_times(recipe)
            elif recipe.kind == "first_set":
                for col in self._inputs("_time", recipe) or []:
                    self.times = self.times.fillna(self._parse(col.name, col))
            else:
                self.warnings.append(
                    f"The mapping's recipe for _time, {recipe.text!r}, does not give "
                    "times; not applied."
                )
        if source is not None or recipe is not None:
            self.targets["_time"] = format_times(self.times)

    def _parse(
        self, name: str, text: pd.Series, *, warn_zone: bool = True
    ) -> pd.Series:
        parsed = parse_times(text)
        if parsed.unreadable:
            bad = text[text.notna() & (text.str.strip() != "") & parsed.values.isna()]
            self.warnings.append(
                f"{counted(parsed.unreadable, 'value')} of {name!r} could not be read "
                f"as a time (for example {bad.iloc[0]!r}); _time is empty there and "
                f"{name!r} is kept as written."
            )
        zoneless = int(parsed.zoneless.sum())
        if zoneless and warn_zone and not _is_utc_by_definition(name):
            self.warnings.append(
                f"{counted(zoneless, 'value')} of {name!r} {_was(zoneless, 'name')} no "
                "time zone; read as UTC."
            )
        if parsed.ambiguous_day_month:
            self.warnings.append(
                f"{counted(parsed.ambiguous_day_month, 'date')} in {name!r} could be "
                "day/month or month/day; read as month/day."
            )
        return parsed.values

    def _shift_record_times(self, recipe: Recipe) -> None:
        """Fill times from a record-time column, aligned per host to the reference.

        Shippers often write the record time in the collector's local zone
        while labelling it UTC (OTRF's ``TimeCreated`` is one example). Rows
        that have both times show the offset; it is a whole number of
        quarter hours, the same for every row of a host. The rows that have
        only the record time (Security 4688 beside Sysmon 1) are moved by it.
        """
        record_name, ref_name = recipe.columns
        record = self._column("_time", record_name, "derives")
        ref = self._column("_time", ref_name, "derives")
        if record is None:
            return
        need = self.times.isna() & record.notna()
        if not need.any():
            return
        record_times = self._parse(record_name, record, warn_zone=False)
        if ref is None or ref_name == self.mapping.sources.get("_time"):
            ref_times = self.times
        else:
            ref_times = parse_times(ref).values

        hosts = self.host_keys()
        offsets = _host_offsets(ref_times, record_times, hosts)
        codes, uniques = pd.factorize(hosts)
        nat = np.timedelta64("NaT")
        per_host = np.array(
            [
                offsets[str(h)].to_timedelta64() if str(h) in offsets else nat
                for h in uniques
            ],
            dtype="timedelta64[ns]",
        )
        shift = pd.Series(per_host[codes], index=hosts.index)
        known = shift.notna()
        shifted = record_times + shift.fillna(pd.Timedelta(0))
        self.times = self.times.where(~need, shifted)

        for offset, group in _group_hosts(offsets, hosts[need]).items():
            if offset == pd.Timedelta(0):
                continue
            moved = int((need & hosts.isin(group)).sum())
            self.warnings.append(
                f"{record_name!r} differs from {ref_name!r} by a constant "
                f"{_hours(offset)} on {_names(group)}; {counted(moved, 'event')} "
                f"without {ref_name!r} {_was(moved)} shifted by that amount to UTC."
            )
        # A record time that is UTC by definition (EVTX's SystemTime) needs
        # no check: only a zone a shipper chose can be wrong.
        unaligned = need & ~known
        if unaligned.any() and not _is_utc_by_definition(record_name):
            n = int(unaligned.sum())
            self.warnings.append(
                f"{counted(n, 'event')} {_was(n, 'take')} the time from "
                f"{record_name!r} as written (read as UTC): no event of their host "
                f"has both {record_name!r} and {ref_name!r} to check its zone."
            )

    def host_keys(self) -> pd.Series:
        """Return the short upper-case host of every row (``""`` when unknown)."""
        host = self.targets.get("host")
        if host is None:
            return pd.Series("", index=self.events.index, dtype=STRING)
        return short_hosts(host).fillna("")


def _is_utc_by_definition(name: str) -> bool:
    lower = name.lower()
    return lower.endswith("utctime") or lower.endswith("systemtime")


def _fill_unset(value: pd.Series, fill: pd.Series) -> pd.Series:
    """Take ``fill`` where ``value`` is unset and ``fill`` has something."""
    return value.where(~is_unset(value) | fill.isna(), fill).astype(STRING)


def _host_offsets(
    ref: pd.Series, record: pd.Series, hosts: pd.Series
) -> dict[str, pd.Timedelta]:
    """Estimate, per host, the zone offset that takes record times to ``ref``.

    A host gets an offset when at least 80% of its rows with both times agree
    on one whole number of quarter hours (within two minutes). Hosts without
    such rows take the offset every estimated host agrees on, if they do.
    """
    both = (ref.notna() & record.notna()).to_numpy()
    if not both.any():
        return {}
    diff = (ref - record)[both]
    steps = (diff / _TIME_ZONE_STEP).round()
    close = (diff - steps * _TIME_ZONE_STEP).abs() <= _TIME_ZONE_SLACK
    table = pd.DataFrame({"host": hosts[both].to_numpy(), "steps": steps.to_numpy()})
    rows_per_host = table["host"].value_counts()
    votes = table[close.to_numpy()].value_counts().reset_index(name="votes")
    best = votes.sort_values("votes", ascending=False, kind="stable").drop_duplicates(
        "host"
    )
    best = best[best["votes"] >= _OFFSET_AGREEMENT * best["host"].map(rows_per_host)]
    result = {
        str(h): int(n) * _TIME_ZONE_STEP
        for h, n in zip(best["host"], best["steps"], strict=True)
    }
    distinct = set(result.values())
    if len(distinct) == 1:
        common = distinct.pop()
        for host in hosts.unique():
            result.setdefault(str(host), common)
    return result


def _group_hosts(offsets: dict, hosts: pd.Series) -> dict[pd.Timedelta, list[str]]:
    groups: dict[pd.Timedelta, list[str]] = {}
    for host in hosts.unique():
        if str(host) in offsets:
            groups.setdefault(offsets[str(host)], []).append(str(host))
    return groups


def _was(n: int, verb: str = "was") -> str:
    """Agree ``verb`` (was, is, take...) with a count of ``n``."""
    plural = {"was": "were", "is": "are"}
    if n == 1:
        return verb if verb in plural else verb + "s"
    return plural.get(verb, verb)


def _hours(offset: pd.Timedelta) -> str:
    sign = "-" if offset < pd.Timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds() // 60)
    return f"{sign}{minutes // 60}:{minutes % 60:02d}"


def _names(hosts: list[str]) -> str:
    shown = [h or "(no host)" for h in hosts[:5]]
    more = f" and {len(hosts) - 5} more hosts" if len(hosts) > 5 else ""
    return ("host " if len(hosts) == 1 else "hosts ") + ", ".join(shown) + more


def _assemble(events: pd.DataFrame, builder: _Builder) -> pd.DataFrame:
    """Put the process fields first, then the input's other columns."""
    columns: dict[str, pd.Series] = {}
    for target in PROCESS_FIELDS:
        value = builder.targets.get(target)
        if value is not None and value.notna().any():
            columns[target] = value
        elif target in events.columns:
            columns[target] = value if value is not None else events[target]
    if builder.time_as_written is not None:
        columns[TIME_AS_WRITTEN] = builder.time_as_written
    for name in events.columns:
        if name not in columns:
            columns[name] = events[name]
    out = pd.DataFrame(columns, index=events.index)
    return out.astype(STRING) if len(out.columns) else out


def _merge_duplicates(
    out: pd.DataFrame, times: pd.Series, hosts: pd.Series
) -> tuple[pd.DataFrame, int]:
    """Fold each 4688 row into the Sysmon row of the same process.

    Pairs are matched on host and process id, then by the closest start time
    within :data:`MERGE_WINDOW`; each row takes part in at most one pair.
    """
    if "EventSource" not in out.columns or "ProcessId" not in out.columns:
        return out, 0
    source = out["EventSource"]
    is_sysmon = (source == "sysmon").fillna(False).to_numpy()
    is_security = (source == "security").fillna(False).to_numpy()
    if not (is_sysmon.any() and is_security.any()):
        return out, 0

    # Host and process id as one integer key: merging on it is far faster
    # than on two text columns.
    host_codes = pd.factorize(hosts)[0].astype(np.int64)
    pid_codes, pid_values = pd.factorize(out["ProcessId"])
    rows = pd.DataFrame(
        {
            "pos": np.arange(len(out)),
            "key": host_codes * (len(pid_values) + 1) + pid_codes,
            "time": times.dt.tz_localize(None).to_numpy(),
        }
    )
    rows = rows[(pid_codes >= 0) & rows["time"].notna().to_numpy()]
    sysmon = rows[is_sysmon[rows["pos"]]]
    security = rows[is_security[rows["pos"]]]
    pairs = security.merge(sysmon, on="key", suffixes=("_sec", "_sys"))
    pairs["gap"] = (pairs["time_sys"] - pairs["time_sec"]).abs()
    pairs = pairs[pairs["gap"] <= MERGE_WINDOW].sort_values("gap", kind="stable")
    pairs = pairs.drop_duplicates("pos_sec").drop_duplicates("pos_sys")
    if pairs.empty:
        return out, 0

    # The Sysmon row of each pair keeps its own values and takes the 4688
    # row's where it has none. Only columns with such gaps are touched, and
    # only at the pairs' rows, so wide text columns are copied once.
    pairs = pairs.sort_values("pos_sys")
    sys_pos = pairs["pos_sys"].to_numpy()
    sec_pos = pairs["pos_sec"].to_numpy()
    drop = np.zeros(len(out), dtype=bool)
    drop[sec_pos] = True
    paired = np.zeros(len(out), dtype=bool)
    paired[sys_pos] = True
    kept = np.flatnonzero(~drop)
    mask = pa.array(paired[kept])

    columns = {}
    for name, column in out.items():
        values = column.array.__arrow_array__().combine_chunks()
        own = values.take(kept)
        gaps = values.take(sys_pos)
        if gaps.null_count:
            filled = pc.coalesce(gaps, values.take(sec_pos))
            own = pc.replace_with_mask(own, mask, filled)
        if name == "EventSource":
            both = pa.array(["sysmon+security"] * len(sys_pos), type=own.type)
            own = pc.replace_with_mask(own, mask, both)
        columns[name] = pd.array(own, dtype=STRING)
    return pd.DataFrame(columns, index=out.index[kept]), len(pairs)
