"""Why an event was flagged, in numbers an analyst can check.

For one scored event, :func:`explain` gathers:

- its score and whether it was flagged, and the rule that decided;
- each field's contribution to the score (for the combination-aware method,
  each term: a value judged against another field's value);
- the rarest value and the rarest combination of two values, in plain
  words: "``cmd.exe`` with ParentName ``w3wp.exe``: 1 of 40,213 events, on
  1 of 312 hosts, first seen 2024-05-01 10:02";
- the events that started it and that it started, where the data links
  them (:mod:`procanom.scoring.tree`), and the ancestor it inherited its
  score from.

Every count is a fresh count over the frame passed in, compared the way the
method compared values: as templates when the method normalised them
(:mod:`procanom.normalize`), else exactly as written (the empty value and
multivalue rules of :mod:`procanom.scoring._encode`). When the method was
fitted on another frame (a baseline), the counts still describe the frame
passed in, so an explanation never shows a number the analyst cannot
reproduce with a filter.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from procanom.errors import ParameterError
from procanom.normalize import normalize
from procanom.scoring._base import DetectionResult
from procanom.scoring._encode import as_text_array
from procanom.scoring.conditional import INHERITED_CAUSE
from procanom.scoring.roles import field_roles, template_kind
from procanom.scoring.thresholds import describe_threshold
from procanom.scoring.tree import _as_times, link_parents

__all__ = [
    "Combination",
    "Contribution",
    "Explanation",
    "Piece",
    "Quoted",
    "ValueCount",
    "explain",
    "explain_outliers",
]

logger = logging.getLogger(__name__)

_HOST_COLUMNS = ("host", "Computer", "ComputerName", "hostname", "dvc")
_TIME_COLUMNS = ("_time", "UtcTime", "TimeGenerated", "TimeCreated", "time")
_SHOWN_FIELDS = ("Name", "CommandLine", "host", "User")
_MAX_CHILDREN = 10


@dataclass(frozen=True)
class Quoted:
    """A value from the events inside an explanation's words.

    Event values can hold anything (a command line is written by whoever
    started the process), so a renderer shows ``text`` literally, set apart
    from the words around it.

    Attributes
    ----------
    text : str
        The value, shortened to its first characters and ``(empty)`` when
        empty.
    """

    text: str


#: A part of an explanation's line: words, or a quoted event value.
Piece = str | Quoted


@dataclass
class ValueCount:
    """How common one value of one field is in the frame.

    Attributes
    ----------
    field : str
    value : str
        The value as written in the event (empty string when missing).
    key : str
        The value as the method compared it (its template, or ``value``).
    count : int
        Events holding ``key`` in ``field``.
    total : int
        Events in the frame.
    hosts : int or None
        Distinct hosts among those events (None without a host column).
    total_hosts : int or None
        Distinct hosts in the frame.
    first_seen : str or None
        Earliest time among those events (None without a time column).
    """

    field: str
    value: str
    key: str
    count: int
    total: int
    hosts: int | None = None
    total_hosts: int | None = None
    first_seen: str | None = None

    def pieces(self) -> list[Piece]:
        """The sentence as words and :class:`Quoted` values (see ``text``)."""
        shown: list[Piece] = [f"{self.field} ", _quote(self.value)]
        if self.key != self.value and self.key:
            shown += [" (as ", _quote(self.key), ")"]
        spread = _spread(
            self.count, self.total, self.hosts, self.total_hosts, self.first_seen
        )
        return [*shown, f": {spread}"]

    def text(self) -> str:
        return _render(self.pieces())


@dataclass
class Combination:
    """How common two values are together in the frame.

    Attributes
    ----------
    first, second : ValueCount
        The two values, each with its own count.
    together : int
        Events holding both.
    hosts : int or None
        Distinct hosts among those events.
    first_seen : str or None
        Earliest time among those events.
    """

    first: ValueCount
    second: ValueCount
    together: int
    hosts: int | None = None
    first_seen: str | None = None

    def pieces(self) -> list[Piece]:
        """The sentence as words and :class:`Quoted` values (see ``text``)."""
        a, b = self.first, self.second
        spread = _spread(
            self.together, a.total, self.hosts, a.total_hosts, self.first_seen
        )
        if b.count == 1:
            share = "the only event"
        elif self.together == b.count:
            share = f"all {b.count:,} events"
        else:
            share = f"{self.together:,} of the {b.count:,} events"
        return [
            f"{a.field} ",
            _quote(a.key or a.value),
            f" with {b.field} ",
            _quote(b.key or b.value),
            f": {spread} ({share} with that {b.field})",
        ]

    def text(self) -> str:
        return _render(self.pieces())


@dataclass
class Contribution:
    """One part of the event's score.

    Attributes
    ----------
    field : str
        The field judged.
    given : str or None
        The field it was judged against (combination-aware terms).
    surprisal : float
        The part's value: ``-ln`` of the (conditional) frequency, or the
        method's own per-field score.
    share : float
        Share of the sum of all parts (0 to 1).
    """

    field: str
    given: str | None
    surprisal: float
    share: float

    @property
    def label(self) -> str:
        return self.field if self.given is None else f"{self.field} given {self.given}"


@dataclass
class Explanation:
    """Why one event scored as it did. See the module notes.

    Attributes
    ----------
    row : object
        The event's index label in the frame.
    method : str
    score : float
        ``anomaly_score`` (higher is more unusual).
    is_outlier : bool
    rule : str
        The threshold rule and what it flagged, in words
        (:func:`procanom.scoring.thresholds.describe_threshold`).
    probable_cause : str
    contributions : list of Contribution
        Largest first.
    values : list of ValueCount
        Every scored field's value with its count, rarest first.
    rarest_combination : Combination or None
    inherited_from : object or None
        Index label of the ancestor whose score the event inherited.
    parent : dict or None
        The parent event (index label and a few fields), when in the frame.
    children : list of dict
        Events it started (at most ten).
    first_seen_fields : list of str
        Fields whose value the baseline never held (detection windows).
    """

    row: object
    method: str
    score: float
    is_outlier: bool
    rule: str
    probable_cause: str
    contributions: list[Contribution] = field(default_factory=list)
    values: list[ValueCount] = field(default_factory=list)
    rarest_combination: Combination | None = None
    inherited_from: object | None = None
    parent: dict | None = None
    children: list[dict] = field(default_factory=list)
    first_seen_fields: list[str] = field(default_factory=list)

    @property
    def rarest_value(self) -> ValueCount | None:
        return self.values[0] if self.values else None

    def to_dict(self) -> dict:
        """Return the explanation as plain data (JSON-able)."""
        data = asdict(self)
        data["row"] = _plain(self.row)
        data["inherited_from"] = _plain(self.inherited_from)
        data["rarest_value"] = asdict(self.rarest_value) if self.rarest_value else None
        return data

    def lines(self) -> list[list[Piece]]:
        """Return the explanation as lines of words and :class:`Quoted` values.

        For a renderer that sets event values apart its own way (a page's
        code spans); :meth:`text` puts them between backticks.
        """
        verdict = "flagged" if self.is_outlier else "not flagged"
        lines: list[list[Piece]] = [
            [f"Event {self.row}: score {self.score:.3g}, {verdict} ({self.rule})."]
        ]
        inherited = self.inherited_from is not None
        if self.probable_cause == INHERITED_CAUSE and inherited:
            lines.append(
                [
                    f"Probable cause: inherited from ancestor event"
                    f" {self.inherited_from}, an unusual process higher in its"
                    " tree; its own values did not make the score."
                ]
            )
        elif self.probable_cause:
            # The cause is the field of the largest single part (below, the
            # first contribution); a field judged in several parts may add
            # more in all, which the contributions show.
            largest = next(
                (c for c in self.contributions if c.field == self.probable_cause),
                None,
            )
            part = f": {largest.label}" if largest and largest.given else ""
            lines.append(
                [
                    f"Probable cause: {self.probable_cause} (the score's largest"
                    f" part{part})."
                ]
            )
        if self.rarest_value is not None:
            # By plain frequency: it may be another field than the cause,
            # when a value is rare only given the others (its parent, host).
            lines.append(
                ["Rarest value on its own: ", *self.rarest_value.pieces(), "."]
            )
        if self.rarest_combination is not None:
            lines.append(
                ["Rarest combination: ", *self.rarest_combination.pieces(), "."]
            )
        if self.contributions:
            parts = ", ".join(
                f"{c.label} {c.share:.0%}"
                for c in self.contributions
                if c.share >= 0.005
            )
            lines.append([f"Contributions: {parts}."])
        if self.first_seen_fields:
            lines.append(
                [
                    "Never seen in the baseline: "
                    + ", ".join(self.first_seen_fields)
                    + "."
                ]
            )
        if inherited and self.probable_cause != INHERITED_CAUSE:
            lines.append(
                [
                    f"Score inherited from ancestor event {self.inherited_from}, "
                    "an unusual process higher in its tree."
                ]
            )
        if self.parent is not None:
            lines.append(["Started by: ", *_describe_event(self.parent), "."])
        if self.children:
            line: list[Piece] = [f"Started {len(self.children)} event(s): "]
            for i, child in enumerate(self.children):
                line += ["; "] if i else []
                line += _describe_event(child)
            lines.append([*line, "."])
        return lines

    def text(self) -> str:
        """Return the explanation in plain words, one fact per line.

        Event values are quoted in backticks.
        """
        return "\n".join(_render(line) for line in self.lines())


# Formatting helpers -----------------------------------------------------------
def _quote(value: str, width: int = 80) -> Quoted:
    text = value if value else "(empty)"
    if len(text) > width:
        text = text[: width - 1] + "…"
    return Quoted(text)


def _render(pieces: Sequence[Piece]) -> str:
    return "".join(p if isinstance(p, str) else f"`{p.text}`" for p in pieces)


def _spread(
    count: int,
    total: int,
    hosts: int | None,
    total_hosts: int | None,
    first: str | None,
) -> str:
    text = f"{count:,} of {total:,} events"
    if hosts is not None and total_hosts is not None:
        text += f", on {hosts:,} of {total_hosts:,} hosts"
    if first:
        text += f", first seen {first}"
    return text


def _describe_event(event: dict) -> list[Piece]:
    pieces: list[Piece] = [f"event {event['row']}"]
    for key, value in event.items():
        if key != "row":
            pieces += [f" {key} ", _quote(str(value), 60)]
    return pieces


def _display(value: object) -> str:
    """An event's raw value as text, by the value rules of scoring."""
    if isinstance(value, list | tuple | set | np.ndarray):
        return "\n".join(sorted({str(v) for v in value if v is not None}))
    if (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or value is pd.NA
    ):
        return ""
    return str(value)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


# Fresh counting ----------------------------------------------------------------
class _Counter:
    """Counts of a frame's values, computed once per field (or pair of fields).

    Each field's values are factorised once; counts, host spreads and first
    times are then one grouped pass each, so explaining a thousand events of
    a million costs about as much as explaining one.
    """

    def __init__(self, frame: pd.DataFrame, result: DetectionResult) -> None:
        self.frame = frame
        self.n = len(frame)
        self.normalized = bool(result.summary.get("normalized", False))
        roles = getattr(result.model, "roles_", None)
        self.roles = roles or field_roles([str(f) for f in result.fields])
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._stats: dict[tuple[str, ...], tuple] = {}
        host = next((c for c in _HOST_COLUMNS if c in frame.columns), None)
        self.hosts = None
        self.total_hosts = None
        if host is not None:
            folded = normalize(frame[host], "text")
            self.hosts = pd.factorize(folded)[0]
            self.total_hosts = len(np.unique(self.hosts))
        time = next((c for c in _TIME_COLUMNS if c in frame.columns), None)
        self.times = None
        if time is not None:
            # Naive UTC datetime64: grouping on it stays vectorised.
            when = _as_times(frame[time]).dt.tz_convert(None)
            self.times = when.to_numpy(dtype="datetime64[ns]")

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (code of each event's key, distinct keys) for ``column``."""
        if column not in self._codes:
            kind = (
                template_kind(self.roles.get(column, "other"))
                if self.normalized
                else None
            )
            if kind is None:
                keys = pd.Series(as_text_array(self.frame[column]).to_pylist())
            else:
                keys = normalize(self.frame[column], kind)
            codes, uniques = pd.factorize(keys)
            self._codes[column] = (codes, np.asarray(uniques, dtype=object))
        return self._codes[column]

    def _grouped(self, key: tuple[str, ...], codes: np.ndarray) -> tuple:
        """Counts, host spreads and first times per code, computed once."""
        if key not in self._stats:
            size = int(codes.max()) + 1 if len(codes) else 0
            counts = np.bincount(codes, minlength=size)
            hosts = None
            if self.hosts is not None:
                pairs = pd.DataFrame({"c": codes, "h": self.hosts}).drop_duplicates()
                hosts = np.bincount(pairs["c"].to_numpy(), minlength=size)
            first = None
            if self.times is not None:
                times = pd.Series(self.times).groupby(codes).min()
                first = times.reindex(range(size)).to_numpy()
            self._stats[key] = (counts, hosts, first)
        return self._stats[key]

    def _spread_of(self, stats: tuple, code: int) -> tuple[int, int | None, str | None]:
        counts, hosts, first = stats
        seen = None
        if first is not None and not pd.isna(first[code]):
            seen = pd.Timestamp(first[code]).strftime("%Y-%m-%d %H:%M:%S")
        return int(counts[code]), None if hosts is None else int(hosts[code]), seen

    def value(self, column: str, position: int) -> ValueCount:
        codes, uniques = self.codes(column)
        code = int(codes[position])
        count, hosts, seen = self._spread_of(self._grouped((column,), codes), code)
        raw = _display(self.frame[column].iat[position])
        return ValueCount(
            column,
            raw,
            str(uniques[code]),
            count,
            self.n,
            hosts,
            self.total_hosts,
            seen,
        )

    def combination(
        self, first: ValueCount, second: ValueCount, position: int
    ) -> Combination:
        a, _ = self.codes(first.field)
        b, _ = self.codes(second.field)
        pair = (first.field, second.field)
        if pair not in self._stats:
            joint = pd.factorize(a.astype(np.int64) * (int(b.max()) + 1) + b)[0]
            self._stats[pair] = (joint, *self._grouped((*pair, ""), joint))
        joint, *stats = self._stats[pair]
        together, hosts, seen = self._spread_of(tuple(stats), int(joint[position]))
        return Combination(first, second, together, hosts, seen)


# Contributions -----------------------------------------------------------------
def _method_parts(
    result: DetectionResult, frame: pd.DataFrame, positions: Sequence[int]
) -> list[list[tuple[str, str | None, float]]] | None:
    """The method's own score parts for the events at ``positions``, in one pass.

    None when the method does not expose its parts (the histogram), in
    which case each field's ``-ln`` frequency is used.
    """
    model = result.model
    rows = frame.iloc[list(positions)]
    if model is not None and hasattr(model, "term_values") and hasattr(model, "terms_"):
        values = model.term_values(rows).to_numpy()
        terms = model.terms_
        return [
            [(t.field, t.given, float(v)) for t, v in zip(terms, row, strict=True)]
            for row in values
        ]
    if model is not None and hasattr(model, "field_scores"):
        table = model.field_scores(rows)
        columns = list(table.columns)
        return [
            [(f, None, float(v)) for f, v in zip(columns, row, strict=True)]
            for row in table.to_numpy()
        ]
    return None


def _contributions(
    result: DetectionResult,
    position: int,
    counter: _Counter,
    parts: list[tuple[str, str | None, float]] | None,
) -> list[Contribution]:
    if parts is None:
        # The histogram's own rule: -ln of each value's frequency.
        parts = []
        for f in result.fields:
            count = counter.value(f, position).count
            parts.append((f, None, -math.log(count / counter.n) if counter.n else 0.0))
    total = sum(max(v, 0.0) for _, _, v in parts)
    contributions = [
        Contribution(f, g, v, (max(v, 0.0) / total) if total > 0 else 0.0)
        for f, g, v in parts
    ]
    return sorted(contributions, key=lambda c: -c.surprisal)


def _rarest_combination(
    values: list[ValueCount],
    contributions: list[Contribution],
    counter: _Counter,
    position: int,
) -> Combination | None:
    by_field = {v.field: v for v in values}
    # The combination the method itself judged most unusual, when it judged any.
    for c in contributions:
        if c.given is not None and c.field in by_field and c.given in by_field:
            return counter.combination(by_field[c.field], by_field[c.given], position)
    candidates = [v for v in values if v.key != ""][:4]
    best = None
    for a, b in itertools.combinations(candidates, 2):
        combo = counter.combination(a, b, position)
        if best is None or combo.together < best.together:
            best = combo
    return best


def _event_summary(frame: pd.DataFrame, position: int) -> dict:
    row = frame.iloc[position]
    event = {"row": _plain(frame.index[position])}
    for column in _SHOWN_FIELDS:
        if column in frame.columns and not pd.isna(row[column]):
            event[column] = str(row[column])
    return event


# Public API -------------------------------------------------------------------
def _position(frame: pd.DataFrame, row_index: object) -> int:
    try:
        position = frame.index.get_loc(row_index)
    except KeyError:
        raise ParameterError(
            "row_index",
            f"a label of the frame's index (0 to {len(frame) - 1})",
            row_index,
        ) from None
    if not isinstance(position, int | np.integer):
        raise ParameterError(
            "row_index", "a label that occurs once in the index", row_index
        )
    return int(position)


def _check_frame(result: DetectionResult, frame: pd.DataFrame) -> None:
    if len(frame) != len(result.annotated) or not frame.index.equals(
        result.annotated.index
    ):
        raise ParameterError(
            "frame",
            f"the {len(result.annotated)} events that were scored, in the same order",
            f"{len(frame)} events",
        )
    missing = [f for f in result.fields if f not in frame.columns]
    if missing:
        raise ParameterError("frame", "the scored fields", f"missing {missing}")


def _explain_at(
    result: DetectionResult,
    frame: pd.DataFrame,
    position: int,
    counter: _Counter,
    parents: np.ndarray,
    parts: list[tuple[str, str | None, float]] | None,
    rule: str,
) -> Explanation:
    annotated = result.annotated.iloc[position]
    values = sorted(
        (counter.value(f, position) for f in result.fields),
        key=lambda v: (
            v.count if v.key != "" else math.inf,
            result.fields.index(v.field),
        ),
    )
    contributions = _contributions(result, position, counter, parts)
    first_seen = str(annotated.get("first_seen", "") or "")
    inherited = annotated.get("inherited_from", None)
    parent = (
        _event_summary(frame, int(parents[position]))
        if parents[position] >= 0
        else None
    )
    child_rows = np.flatnonzero(parents == position)[:_MAX_CHILDREN]
    cause = annotated.get("probable_cause", "")
    return Explanation(
        row=_plain(frame.index[position]),
        method=result.method,
        score=float(annotated["anomaly_score"]),
        is_outlier=bool(annotated["isOutlier"] == 1),
        rule=rule,
        probable_cause="" if pd.isna(cause) else str(cause),
        contributions=contributions,
        values=values,
        rarest_combination=_rarest_combination(
            values, contributions, counter, position
        ),
        inherited_from=None if inherited is None or pd.isna(inherited) else inherited,
        parent=parent,
        children=[_event_summary(frame, int(c)) for c in child_rows],
        first_seen_fields=[f.strip() for f in first_seen.split(",") if f.strip()],
    )


def _rule_text(result: DetectionResult) -> str:
    scores = result.annotated["anomaly_score"].to_numpy()
    return describe_threshold(scores, result.threshold, result.fence)


def explain(
    result: DetectionResult, frame: pd.DataFrame, row_index: object
) -> Explanation:
    """Explain the score of one event.

    Parameters
    ----------
    result : DetectionResult
        The scoring of ``frame``.
    frame : pandas.DataFrame
        The events that were scored (same rows, same order, same index).
    row_index : object
        The event's label in ``frame.index``.

    Returns
    -------
    Explanation
    """
    _check_frame(result, frame)
    position = _position(frame, row_index)
    counter = _Counter(frame, result)
    parts = _method_parts(result, frame, [position])
    return _explain_at(
        result,
        frame,
        position,
        counter,
        link_parents(frame),
        None if parts is None else parts[0],
        _rule_text(result),
    )


def explain_outliers(
    result: DetectionResult,
    frame: pd.DataFrame,
    limit: int | None = 20,
    rows: Sequence[object] | None = None,
) -> list[Explanation]:
    """Explain the flagged events, most unusual first.

    Parameters
    ----------
    result : DetectionResult
    frame : pandas.DataFrame
        The events that were scored.
    limit : int or None, default 20
        At most this many explanations (None for all flagged events).
    rows : sequence, optional
        Explain these index labels instead of the flagged events.

    Returns
    -------
    list of Explanation
    """
    _check_frame(result, frame)
    if limit is not None and limit < 0:
        raise ParameterError("limit", "a count of 0 or more, or None", limit)
    if rows is None:
        flagged = result.annotated[result.annotated["isOutlier"] == 1]
        order = np.argsort(-flagged["anomaly_score"].to_numpy(), kind="stable")
        rows = list(flagged.index[order])
    rows = list(rows)[:limit] if limit is not None else list(rows)
    counter = _Counter(frame, result)
    parents = link_parents(frame)
    positions = [_position(frame, r) for r in rows]
    parts = _method_parts(result, frame, positions) if positions else None
    rule = _rule_text(result)
    explanations = [
        _explain_at(
            result,
            frame,
            p,
            counter,
            parents,
            None if parts is None else parts[i],
            rule,
        )
        for i, p in enumerate(positions)
    ]
    logger.info(
        "explained %d of %d flagged events", len(explanations), result.num_outliers
    )
    return explanations
