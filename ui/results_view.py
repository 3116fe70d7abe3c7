"""The results of a Detect: numbers, sensitivity, charts, table, detail.

Everything here works on the result already scored: a new sensitivity
re-labels events without scoring again, chart selections filter the table,
and charts are drawn from aggregates (bins, top values), never from one
point per event, so a million events stay responsive.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from procanom.allowlist import apply_allowlist, conditions_from_row
from procanom.errors import ProcanomError
from procanom.experiment import ExperimentSettings
from procanom.explain import Quoted
from procanom.export import reveal_hidden, reveal_hidden_frame
from procanom.report import score_histogram
from procanom.scoring import DetectionResult, ThresholdRule
from procanom.scoring.conditional import INHERITED_CAUSE
from procanom.scoring.thresholds import describe_threshold
from ui import resources
from ui.text import code_span, counted, literal
from ui.workspace import RunState, Workspace, sensitivity_rule

SENSITIVITY = {
    "saved": "As in the method settings",
    "auto": "Splunk's automatic rule (Q3 + 1.5 IQR)",
    "auto-strict": "Strict automatic rule (Q3 + 3 IQR)",
    "top": "The N most unusual events",
    "percent": "The p% least likely events",
    "score": "Score above a value",
}
PAGE_SIZES = (25, 100, 500)
BREAKDOWNS = ("probable_cause", "host", "User", "ParentName")
SCORE_BINS = 60
MAX_EXPLAINED_EVENTS = 2_000_000
_TALL_TABLE_PX = 35 * (PAGE_SIZES[0] + 1) + 3
_HIGHLIGHT = "background-color: #fde2e1; color: #7f1d1d"
_ACCENT = "#b3261e"
_MUTED = "#9aa0a6"


# --- The labelled result -------------------------------------------------------
def sensitivity(run: RunState) -> ThresholdRule | None:
    """The sensitivity control; None keeps the method's own threshold."""
    left, right = st.columns([2, 1])
    kind = left.selectbox(
        "Sensitivity",
        list(SENSITIVITY),
        key="exp.sensitivity",
        format_func=SENSITIVITY.get,
        help="Re-labels the scored events at once; nothing is scored again.",
    )
    if kind in {"saved", "auto", "auto-strict"}:
        return _rule_from_widgets()
    scores = run.result.annotated["anomaly_score"]
    low, high = float(scores.min()), float(scores.max())
    # A fence that flags nothing or everything is infinite: start the slider
    # at the nearest end instead.
    fence = min(max(float(run.result.fence.score), low), high)
    defaults = {"top": 20.0, "percent": 1.0, "score": fence}
    if (
        st.session_state.get("exp.sensitivity_kind") != kind
        or st.session_state.get("exp.sensitivity_value") is None
    ):
        st.session_state["exp.sensitivity_value"] = defaults[kind]
        st.session_state["exp.sensitivity_kind"] = kind
    if kind == "score":
        right.slider(
            "Score above",
            min_value=low,
            max_value=max(high, low + 1e-9),
            key="exp.sensitivity_value",
        )
    else:
        right.number_input(
            "N" if kind == "top" else "percent",
            min_value=0.0,
            max_value=None if kind == "top" else 100.0,
            step=1.0 if kind == "top" else 0.1,
            format="%.0f" if kind == "top" else "%.2f",
            key="exp.sensitivity_value",
        )
    return _rule_from_widgets()


def _rule_from_widgets() -> ThresholdRule | None:
    # The same reading of the widgets that the saved settings get.
    rule = sensitivity_rule()
    return None if rule is None else ThresholdRule.from_dict(rule)


def labelled(workspace: Workspace, rule: ThresholdRule | None) -> DetectionResult:
    """The run's result under ``rule``, with the allow-list applied.

    Computed once per sensitivity and allow-list state: the page reruns on
    every click, and at a million events relabelling is not free.
    """
    run = workspace.run
    entries = resources.get_store().list_allow_entries(
        workspace.experiment.id, include_global=True, enabled_only=True
    )
    key = (
        None if rule is None else (rule.kind, rule.value),
        tuple((e.id, e.updated_at) for e in entries),
    )
    if run.memo.get("key") != key:
        result = run.result if rule is None else run.result.relabel(rule)
        allowed, summary = apply_allowlist(result, None, entries)
        run.memo = {"key": key, "result": allowed}
        run.suppression = summary
    return run.memo["result"]


def _memo(run: RunState, name: str, compute):
    """A figure of the shown result, computed once per labelled state."""
    if name not in run.memo:
        run.memo[name] = compute()
    return run.memo[name]


# --- Numbers -----------------------------------------------------------------
def numbers(run: RunState, result: DetectionResult) -> None:
    """Outliers, Total Events, suppressed, seconds."""
    notice = st.session_state.pop("exp.notice", None)
    if notice:
        st.success(notice)
    outliers, total, suppressed, seconds = st.columns(4)
    outliers.metric("Outliers", f"{result.num_outliers:,}")
    total.metric("Total Events", f"{result.num_events:,}")
    summary = getattr(run, "suppression", None)
    suppressed.metric(
        "Suppressed",
        f"{summary.suppressed:,}" if summary else "0",
        help=summary.describe() if summary else "no allow-list rules",
    )
    seconds.metric("Seconds", f"{run.duration_s:.2f}")
    rule = _memo(
        run,
        "threshold.text",
        lambda: describe_threshold(
            result.annotated["anomaly_score"].to_numpy(),
            result.threshold,
            result.fence,
        ),
    )
    # The threshold's count is before the allow-list; say what is left.
    left = (
        f", leaving {counted(result.num_outliers, 'outlier')}"
        if summary and summary.suppressed
        else ""
    )
    st.caption(
        f"Threshold: {rule}. Allow-list: "
        + (summary.describe() if summary else "no rules")
        + f"{left}."
    )


# --- Charts ------------------------------------------------------------------
def _bar(labels, counts, title: str, colors=None) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=list(counts),
            y=[_chart_label(v) for v in labels],
            orientation="h",
            marker_color=colors or _ACCENT,
            customdata=[str(v) for v in labels],
        )
    )
    figure.update_layout(
        title=title,
        height=max(220, 28 * len(counts) + 80),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed"},
        clickmode="event+select",
    )
    return figure


def _chart_label(value: object) -> str:
    # Plotly renders a few HTML tags in labels, and these come from events.
    text = str(value)
    return html.escape(reveal_hidden(text)) if text else "(empty)"


def score_chart(result: DetectionResult) -> go.Figure:
    """Binned score distribution, outliers in colour, the fence as a line."""
    figure = go.Figure()
    # Outliers and the rest stacked: an allow-listed event above the
    # threshold is drawn as not flagged, as the numbers count it.
    edges, counts = score_histogram(result, SCORE_BINS)
    colours = {"not flagged": _MUTED, "outliers": _ACCENT}
    for name, per_bin in counts.items():
        figure.add_bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=per_bin,
            width=np.diff(edges),
            name=name,
            marker_color=colours[name],
            hovertemplate=f"score %{{x:.2f}}: %{{y:,}} {name}<extra></extra>",
        )
    if np.isfinite(result.fence.score):
        figure.add_vline(
            x=result.fence.score,
            line_dash="dash",
            line_color="#202124",
            annotation_text="threshold",
        )
    figure.update_layout(
        title="How unusual the events are (anomaly score)",
        barmode="stack",
        showlegend=False,
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"type": "log", "dtick": 1},
        dragmode="select",
        xaxis_title="anomaly score (higher is more unusual)",
        yaxis_title="events",
    )
    return figure


def charts(run: RunState, result: DetectionResult, frame: pd.DataFrame | None) -> None:
    """The linked charts; a selection becomes a filter of the table."""
    event = st.plotly_chart(
        _memo(run, "chart.score", lambda: score_chart(result)),
        key="exp.chart.score",
        on_select="rerun",
        selection_mode=("box",),
    )
    _take_score_selection(event)

    columns = st.columns(2)
    breakdowns = _memo(run, "chart.breakdowns", lambda: _breakdowns(result, frame))
    for i, (name, counts) in enumerate(breakdowns.items()):
        with columns[i % 2]:
            event = st.plotly_chart(
                _bar(counts.index, counts.to_numpy(), f"Outliers by {name}"),
                key=f"exp.chart.{name}",
                on_select="rerun",
                selection_mode=("points",),
            )
            _take_bar_selection(event, name)

    _value_chart(run, result)
    _time_chart(run, result, frame)


def _breakdowns(
    result: DetectionResult, frame: pd.DataFrame | None
) -> dict[str, pd.Series]:
    """The 15 commonest values of each breakdown field among the outliers."""
    annotated = result.annotated
    outliers = annotated[annotated["isOutlier"] == 1]
    counts = {}
    for name in BREAKDOWNS:
        if name in outliers.columns:
            source = outliers[name]
        elif frame is not None and name in frame.columns:
            source = frame.loc[outliers.index, name]
        else:
            continue
        if not source.empty:
            counts[name] = source.astype("string").fillna("").value_counts().head(15)
    return counts


def _value_chart(run: RunState, result: DetectionResult) -> None:
    field = st.selectbox("Values of a field", result.fields, key="exp.chart.field")
    counts = _memo(
        run,
        f"chart.values.{field}",
        lambda: result.annotated[field].astype("string").fillna("").value_counts(),
    )
    total = int(counts.sum()) or 1
    rare = counts[counts / total < 0.01]
    shown = pd.concat([counts.head(12), rare.tail(8)])
    shown = shown[~shown.index.duplicated()]
    colors = [_ACCENT if v / total < 0.01 else _MUTED for v in shown.to_numpy()]
    title = f"{field}: most common, then the rarest"
    st.plotly_chart(
        _bar(shown.index, shown.to_numpy(), title, colors),
        key="exp.chart.values",
    )
    st.caption(
        f"{counted(len(counts), 'distinct value')};"
        f" {len(rare):,} {'appears' if len(rare) == 1 else 'appear'} in under 1% of"
        " events (red)."
    )


def _time_chart(
    run: RunState, result: DetectionResult, frame: pd.DataFrame | None
) -> None:
    if frame is None or "_time" not in frame.columns:
        return
    flagged = result.annotated["isOutlier"].to_numpy() == 1
    outlier_times = _memo(
        run,
        "chart.times",
        lambda: pd.to_datetime(
            frame["_time"][flagged], utc=True, errors="coerce", format="ISO8601"
        ).dropna(),
    )
    if outlier_times.empty:
        return
    span = outlier_times.max() - outlier_times.min()
    rule = (
        "1min"
        if span < pd.Timedelta(hours=6)
        else ("1h" if span < pd.Timedelta(days=10) else "1D")
    )
    per_bucket = outlier_times.dt.floor(rule).value_counts().sort_index()
    figure = go.Figure(
        go.Bar(x=per_bucket.index, y=per_bucket.to_numpy(), marker_color=_ACCENT)
    )
    figure.update_layout(
        title=f"Outliers over time (per {rule})",
        height=260,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    st.plotly_chart(figure, key="exp.chart.time")


def _take_score_selection(event) -> None:
    boxes = (event or {}).get("selection", {}).get("box", []) if event else []
    if boxes:
        low, high = sorted(boxes[0]["x"])
        st.session_state["exp.filter.score"] = (low, high)


def _take_bar_selection(event, name: str) -> None:
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:
        st.session_state.setdefault("exp.filters", {})[name] = str(
            points[0].get("customdata", points[0].get("y", ""))
        )


# --- Table -----------------------------------------------------------------
def _filtered(
    result: DetectionResult, context: Callable[[], pd.DataFrame | None]
) -> pd.DataFrame:
    annotated = result.annotated
    filters = st.session_state.get("exp.filters", {})
    if not filters and "exp.filter.score" not in st.session_state:
        return annotated  # a million rows are not copied to keep them all
    mask = np.ones(len(annotated), dtype=bool)
    for name, value in filters.items():
        source = annotated if name in annotated.columns else context()
        if source is None or name not in source.columns:
            continue
        column = source.loc[annotated.index, name].astype("string").fillna("")
        mask &= (column == value).to_numpy() & (annotated["isOutlier"] == 1).to_numpy()
    if "exp.filter.score" in st.session_state:
        low, high = st.session_state["exp.filter.score"]
        scores = annotated["anomaly_score"].to_numpy()
        mask &= (scores >= low) & (scores <= high)
    return annotated[mask]


def filter_chips() -> bool:
    """The filters set by chart selections, removable; True when any is set."""
    filters = dict(st.session_state.get("exp.filters", {}))
    score = st.session_state.get("exp.filter.score")
    if not filters and score is None:
        return False
    parts = [f"{k} = {v or '(empty)'}" for k, v in filters.items()]
    parts = [literal(part) for part in parts]
    if score is not None:
        parts.append(f"score {score[0]:.2f} to {score[1]:.2f}")
    left, right = st.columns([4, 1])
    # A bar of the breakdowns counts outliers, and picks outliers.
    whom = "outliers with " if filters else "events with "
    left.info("Showing only " + whom + "; ".join(parts))
    if right.button("Clear filters", key="exp.clear_filters"):
        st.session_state.pop("exp.filters", None)
        st.session_state.pop("exp.filter.score", None)
        # The charts keep their selection too; it would set the filter again.
        for name in ("score", *BREAKDOWNS):
            st.session_state.pop(f"exp.chart.{name}", None)
        st.rerun()
    return True


def table(
    run: RunState,
    result: DetectionResult,
    context: Callable[[], pd.DataFrame | None],
) -> object | None:
    """The Data and Outliers table, outliers first, paged; returns the row picked.

    ``context()`` loads the events' columns beyond the scored ones, needed
    only to filter on them (a chart's bar of users, say).
    """
    filters = (
        tuple(sorted(st.session_state.get("exp.filters", {}).items())),
        st.session_state.get("exp.filter.score"),
    )

    def ordered() -> tuple[pd.DataFrame, np.ndarray]:
        rows = _filtered(result, context)
        order = np.lexsort(
            (-rows["anomaly_score"].to_numpy(), -rows["isOutlier"].to_numpy())
        )
        return rows, order

    shown_rows, order = _memo(run, f"table.{filters}", ordered)
    size_column, page_column, _ = st.columns([1, 1, 3])
    size = size_column.selectbox("Rows per page", PAGE_SIZES, key="exp.page_size")
    pages = max(1, -(-len(shown_rows) // size))
    if st.session_state.get("exp.page", 1) > pages:
        st.session_state["exp.page"] = 1
    page = page_column.number_input(
        f"Page (of {pages:,})", min_value=1, max_value=pages, key="exp.page"
    )
    positions = order[(page - 1) * size : page * size]
    columns = ["isOutlier", "probable_cause", "anomaly_score", *result.fields]
    # Why a score is what it is: inherited from an ancestor, never seen in
    # the baseline, or cleared by the allow-list; shown when any event has it.
    columns += _memo(run, f"table.reasons.{filters}", lambda: _reasons(shown_rows))
    page_rows = reveal_hidden_frame(shown_rows.iloc[positions][columns].copy())
    # -0.0 would read "-0.00": adding 0.0 turns it into 0.0.
    page_rows["anomaly_score"] = page_rows["anomaly_score"] + 0.0
    # The grid draws a missing value, and an empty category, as "None": these
    # columns are shown as plain text, empty where there is nothing to say.
    for column in ("probable_cause", "inherited_from", "first_seen", "suppressed_by"):
        if column in page_rows.columns:
            page_rows[column] = _as_text(page_rows[column])
    st.markdown(
        f"**Data and Outliers** ({counted(len(shown_rows), 'event')}; select a row for"
        " its detail)"
    )
    # The event number shown, so that an inherited_from value can be found.
    page_rows.index.name = "event"
    selection = st.dataframe(
        _highlight(page_rows),
        hide_index=False,
        # A page of 25 is shown whole; longer pages scroll inside the grid.
        height="content" if len(page_rows) <= PAGE_SIZES[0] else _TALL_TABLE_PX,
        on_select="rerun",
        selection_mode="single-row",
        # A new key after the rows moved under a selection (allow-listing):
        # the browser would keep the tick on whatever row is there now.
        key=table_key(),
        column_config={
            "isOutlier": st.column_config.NumberColumn("isOutlier", width="small"),
            "anomaly_score": st.column_config.NumberColumn("score", format="%.2f"),
        },
    )
    picked = selection.selection.rows if selection else []
    return page_rows.index[picked[0]] if picked else None


def _reasons(rows: pd.DataFrame) -> list[str]:
    """The reason columns that say something for at least one event."""

    def says_something(column: pd.Series) -> bool:
        if pd.api.types.is_string_dtype(column):
            return bool(column.fillna("").ne("").any())
        return bool(column.notna().any())

    return [
        name
        for name in ("inherited_from", "first_seen", "suppressed_by")
        if name in rows.columns and says_something(rows[name])
    ]


def _as_text(column: pd.Series) -> pd.Series:
    """Values as text ("" when missing; 12.0, a row label, as "12")."""

    def text(value) -> str:
        if (
            value is None
            or value is pd.NA
            or (isinstance(value, float) and np.isnan(value))
        ):
            return ""
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return pd.Series([text(v) for v in column], index=column.index, dtype="string")


def table_key() -> str:
    """The table's widget key, new each time its selection must be let go."""
    return f"exp.table.{st.session_state.get('exp.table_round', 0)}"


def _highlight(frame: pd.DataFrame):
    # An inherited score's cause is the ancestor named in inherited_from,
    # not a value of the event's own.
    causes = (
        frame["probable_cause"]
        .astype(str)
        .replace({INHERITED_CAUSE: "inherited_from"})
        .to_numpy()
    )

    def style(column: pd.Series) -> list[str]:
        if column.name == "probable_cause":
            return ["font-weight: bold" if c else "" for c in causes]
        return [_HIGHLIGHT if c == column.name else "" for c in causes]

    return frame.style.apply(style, axis=0).format(
        {"anomaly_score": "{:.3f}"}, na_rep=""
    )


# --- Detail of one event -------------------------------------------------------
def detail(
    workspace: Workspace, result: DetectionResult, frame: pd.DataFrame | None, row
) -> None:
    """One event: its explanation, values, raw record, relatives and feedback."""
    from procanom.explain import explain

    st.markdown(f"#### Event {row}")
    if frame is None:
        st.info("Too many events to explain here; narrow the search first.")
        return
    explanation = explain(result, frame, row)
    st.markdown(explanation_markdown(explanation))

    values, tree = st.columns([3, 2])
    with values:
        # A field judged in several parts (given the name, the path...)
        # contributes their sum.
        contributions: dict[str, float] = {}
        for part in explanation.contributions:
            contributions[part.field] = contributions.get(part.field, 0.0) + part.share
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "field": v.field,
                        "value": reveal_hidden(str(v.value)),
                        "events with it": v.count,
                        "share": v.count / max(v.total, 1),
                        "hosts": v.hosts,
                        "contribution": contributions.get(v.field, 0.0),
                    }
                    for v in explanation.values
                ]
            ),
            hide_index=True,
            column_config={
                "share": st.column_config.NumberColumn(format="percent"),
                "contribution": st.column_config.ProgressColumn(
                    min_value=0.0, max_value=1.0, format="percent"
                ),
            },
        )
    with tree:
        st.plotly_chart(_tree_chart(explanation, frame, row), key="exp.chart.tree")

    rarest = explanation.rarest_value
    with st.expander("Raw event"):
        st.json(
            {
                k: (None if pd.isna(v) else reveal_hidden(str(v)))
                for k, v in frame.loc[row].items()
            }
        )
    if rarest is not None:
        _where_else(frame, rarest.field, rarest.value)
    _same_template(frame, row)
    _feedback(workspace, result, frame, row)


def explanation_markdown(explanation) -> str:
    """An explanation for the page: its words escaped, event values as code."""
    return "  \n".join(
        "".join(
            code_span(piece.text) if isinstance(piece, Quoted) else literal(piece)
            for piece in line
        )
        for line in explanation.lines()
    )


def _where_else(frame: pd.DataFrame, field: str, value: str) -> None:
    column = frame[field].astype("string").fillna("")
    same = frame[column == value]
    st.markdown(
        f"**Where else {literal(field)} = this value appears**"
        f" ({counted(len(same), 'event')})"
    )
    facts = []
    for name in ("host", "User"):
        if name in same.columns:
            facts.append(f"{same[name].nunique():,} {name} value(s)")
    if "_time" in same.columns and same["_time"].notna().any():
        facts.append(
            f"first seen {same['_time'].min()}, last seen {same['_time'].max()}"
        )
    if facts:
        st.caption("; ".join(facts))
    st.dataframe(reveal_hidden_frame(same.head(20)), hide_index=True)


def _same_template(frame: pd.DataFrame, row) -> None:
    """Events whose command line has this one's shape (ids, paths, numbers aside)."""
    if "CommandLine" not in frame.columns:
        return
    from procanom.normalize import normalize_command_line

    templates = normalize_command_line(frame["CommandLine"])
    template = templates.loc[row]
    if pd.isna(template) or not str(template):
        return
    same = frame[(templates == template).to_numpy()]
    st.markdown(f"**Similar events: same command-line template** ({len(same):,})")
    st.caption("Template:")
    st.code(reveal_hidden(str(template)[:1000]), language=None)
    st.dataframe(reveal_hidden_frame(same.head(20)), hide_index=True)


def _tree_chart(explanation, frame: pd.DataFrame, row) -> go.Figure:
    nodes = []
    if explanation.parent:
        nodes.append(("parent", explanation.parent))
    nodes.append(("event", {"row": row, **{"Name": frame.loc[row].get("Name", "")}}))
    for child in explanation.children:
        nodes.append(("child", child))
    level = {"parent": 0, "event": 1, "child": 2}
    x, y, text, colors = [], [], [], []
    per_level: dict[int, int] = {}
    for kind, node in nodes:
        depth = level[kind]
        per_level[depth] = per_level.get(depth, 0) + 1
        x.append(per_level[depth])
        y.append(-depth)
        text.append(_chart_label(node.get("Name") or node.get("row")))
        colors.append(_ACCENT if kind == "event" else _MUTED)
    edges_x, edges_y = [], []
    event_index = next(i for i, (k, _) in enumerate(nodes) if k == "event")
    for i, (kind, _) in enumerate(nodes):
        if kind != "event":
            edges_x += [x[i], x[event_index], None]
            edges_y += [y[i], y[event_index], None]
    figure = go.Figure(
        [
            go.Scatter(x=edges_x, y=edges_y, mode="lines", line_color=_MUTED),
            go.Scatter(
                x=x,
                y=y,
                mode="markers+text",
                text=text,
                textposition="top center",
                marker={"size": 16, "color": colors},
            ),
        ]
    )
    figure.update_layout(
        title="Process tree",
        showlegend=False,
        height=260,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_visible=False,
        yaxis_visible=False,
    )
    return figure


def _feedback(
    workspace: Workspace, result: DetectionResult, frame: pd.DataFrame, row
) -> None:
    values = conditions_from_row(frame.loc[row], result.fields)
    st.markdown("**This is expected**: stop flagging it")
    # Outside the form, so the values below follow the fields picked.
    fields = st.multiselect(
        "Match on",
        result.fields,
        default=result.fields,
        key=f"exp.fb.fields.{row}",
        help="Fewer fields allow more: only Name allows that program anywhere.",
    )
    with st.form("exp.feedback", clear_on_submit=True):
        match = st.radio(
            "Values",
            ["literal", "pattern"],
            horizontal=True,
            format_func={
                "literal": "exactly these values",
                "pattern": "as patterns (* matches anything)",
            }.get,
        )
        with st.expander("Values to match (edit to widen a pattern)"):
            edited = {
                name: st.text_input(
                    name, value=values[name], key=f"exp.fb.{row}.{name}"
                )
                for name in fields
            }
        scope = st.radio(
            "For",
            ["experiment", "global"],
            horizontal=True,
            format_func={
                "experiment": "this experiment",
                "global": "every experiment",
            }.get,
        )
        reason = st.text_input("Why is it expected?")
        if not st.form_submit_button("Add to the allow-list"):
            return
    if not fields or not reason.strip():
        st.error("Pick at least one field and say why.")
        return
    conditions = {name: edited[name] for name in fields}
    if match == "pattern" and all(set(v) <= {"*"} for v in conditions.values()):
        st.error("Those patterns match every event; keep at least one value.")
        return
    try:
        resources.get_store().add_allow_entry(
            conditions,
            scope=scope,
            experiment_id=workspace.experiment.id if scope == "experiment" else None,
            match=match,
            reason=reason.strip(),
            author=resources.analyst(),
        )
    except ProcanomError as error:
        st.error(literal(error))
        return
    # Said beside the numbers after the rerun (a toast would be lost in it).
    st.session_state["exp.notice"] = (
        "Added to the allow-list: matching events are no longer flagged and"
        " are counted as suppressed."
    )
    # The table drops the suppressed rows: a kept row selection would point
    # at another event.
    rounds = st.session_state.get("exp.table_round", 0)
    st.session_state["exp.table_round"] = rounds + 1
    st.rerun()


def events_frame(workspace: Workspace) -> pd.DataFrame | None:
    """Every column of the scored events, for explanations (None when too many).

    Loaded on first need (a selected row, a download), once per run.
    """
    run = workspace.run
    if run.events is None and run.result.num_events <= MAX_EXPLAINED_EVENTS:
        run.events = _search(run)
    return run.events


def context_frame(workspace: Workspace) -> pd.DataFrame:
    """The few columns the charts and filters use beyond the scored fields."""
    run = workspace.run
    if run.events is not None:
        return run.events
    if "context" not in run.memo_run:
        info = resources.get_library().get(run.dataset_id)
        wanted = [c for c in (*BREAKDOWNS, "_time") if c in info.columns]
        run.memo_run["context"] = _search(run, wanted) if wanted else None
    return run.memo_run["context"]


def _search(run: RunState, columns: list[str] | None = None) -> pd.DataFrame | None:
    # The run's own selection, even if the widgets moved since.
    settings = ExperimentSettings.from_dict(run.settings)
    frame = resources.get_library().search(
        run.dataset_id, settings.query, settings.time_range, columns=columns
    )
    if len(frame) != run.result.num_events:
        # The dataset changed under the run (re-ingested, mapping edited).
        st.warning("The data changed since this run: press Detect Outliers again.")
        return None
    # Rows line up with the scored events: same search, same file order.
    frame.index = run.result.annotated.index
    return frame
