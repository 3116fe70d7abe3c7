"""Outliers leaving procanom: CSV, JSON, Parquet, and a one-file HTML report.

The tabular exports hold the outlier events, most anomalous first, with
every column of the result and, when given, an ``explanation`` column (the
text of :mod:`procanom.explain`, where that module is installed). CSV goes
through :func:`procanom.export.to_csv`, so no cell runs as a spreadsheet
formula.

:func:`html_report` writes one self-contained HTML file: the run's numbers,
a histogram of scores with the threshold, the outliers by probable cause
(plotly, with plotly.js inlined so it opens offline, about 4 MB), and the
table of the most anomalous outliers with their explanations. Every value
from the events goes through :func:`html.escape`; chart labels too, since
plotly reads a few HTML tags in labels. Invisible characters, such as a
right-to-left override that disguises a program's name, are shown as
``<U+202E>`` (:func:`procanom.export.reveal_hidden`). Scores are binned before charting,
so the file's size does not grow with the number of events.
"""

from __future__ import annotations

import html
import io
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import procanom
from procanom import export
from procanom.compare import key_columns
from procanom.errors import ParameterError, ProcanomError
from procanom.scoring import DetectionResult
from procanom.scoring.thresholds import describe_threshold

if TYPE_CHECKING:
    from procanom.store import Experiment, RunRecord

__all__ = [
    "EXPLANATION_COLUMN",
    "FORMATS",
    "explanations_for",
    "export_outliers",
    "html_report",
    "outliers_frame",
    "score_histogram",
    "write_outliers",
]

logger = logging.getLogger(__name__)

FORMATS = ("csv", "json", "parquet")
EXPLANATION_COLUMN = "explanation"
#: Outliers listed in the HTML report's table.
REPORT_ROWS = 500
#: Bars in the HTML report's score histogram.
HISTOGRAM_BINS = 60
#: Longest cell shown in the HTML table (the exports keep everything).
CELL_LIMIT = 400


def explanations_for(
    result: DetectionResult, frame: pd.DataFrame | None = None, limit: int = 1000
) -> Any:
    """Return explanations of the top outliers, or None where unavailable.

    Uses :func:`procanom.explain.explain_outliers` when that module exists;
    a failure there is logged and the exports go on without explanations.
    """
    try:
        from procanom.explain import explain_outliers
    except ImportError:
        logger.debug("procanom.explain is not available; no explanations")
        return None
    try:
        return explain_outliers(
            result, frame if frame is not None else result.annotated, limit
        )
    except Exception as error:  # explanations enrich an export; never block it
        logger.warning("could not explain the outliers: %s", error)
        logger.debug("explanation failure", exc_info=True)
        return None


def _explanation_text(item: object) -> str:
    if item is None:
        return ""
    text = getattr(item, "text", None)
    return str(text() if callable(text) else item)


def _explanation_column(outliers: pd.DataFrame, explanations: object) -> list[str]:
    """Match explanations to outlier rows by the rows' index."""
    if isinstance(explanations, Mapping):
        return [_explanation_text(explanations.get(i)) for i in outliers.index]
    by_index: dict[object, object] = {}
    ordered: list[object] = []
    for item in explanations or ():
        index = next(
            (getattr(item, a) for a in ("index", "row", "event") if hasattr(item, a)),
            None,
        )
        if index is not None and not callable(index):
            by_index[index] = item
        else:
            ordered.append(item)
    if by_index:
        return [_explanation_text(by_index.get(i)) for i in outliers.index]
    # Without an index, explanations follow the outliers, most anomalous first.
    texts = [_explanation_text(item) for item in ordered]
    return texts[: len(outliers)] + [""] * max(0, len(outliers) - len(texts))


def outliers_frame(
    result: DetectionResult,
    explanations: object = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Return the outlier events, most anomalous first.

    Parameters
    ----------
    result : DetectionResult
    explanations : mapping or sequence, optional
        Explanations keyed by the events' index, or objects with an
        ``index`` attribute, or a list in the order of the outliers (most
        anomalous first); each an object with ``text()`` or plain text.
    limit : int, optional
        Keep only this many.

    Returns
    -------
    pandas.DataFrame
        ``event`` (the number the page shows, see
        :func:`procanom.export.with_event_numbers`), every column of the
        result, and ``explanation`` when given.
    """
    outliers = result.outliers().sort_values(
        "anomaly_score", ascending=False, kind="stable"
    )
    if limit is not None:
        outliers = outliers.head(limit)
    outliers = outliers.copy()
    if explanations is not None:
        outliers[EXPLANATION_COLUMN] = pd.array(
            _explanation_column(outliers, explanations), dtype="string"
        )
    return export.with_event_numbers(outliers)


def export_outliers(
    result: DetectionResult, fmt: str = "csv", explanations: object = None
) -> bytes:
    """Return the outliers as a file's bytes.

    Parameters
    ----------
    result : DetectionResult
    fmt : {"csv", "json", "parquet"}
        CSV is formula-safe (UTF-8 with a byte-order mark, which Excel needs
        to read non-ASCII text); JSON is ``{"summary": ..., "results": [...]}``.
    explanations : optional
        As for :func:`outliers_frame`.
    """
    if fmt not in FORMATS:
        raise ParameterError("format", "one of " + ", ".join(FORMATS), fmt)
    frame = outliers_frame(result, explanations)
    if fmt == "csv":
        return export.to_csv(frame).encode("utf-8-sig")
    if fmt == "json":
        summary = export.json_summary(result.summary)
        return export.to_json(frame, summary=summary).encode("utf-8")
    buffer = io.BytesIO()
    # Categories become plain text: a reader needs no pandas to read them.
    plain = frame.reset_index(drop=True)
    for column in plain.columns:
        if isinstance(plain[column].dtype, pd.CategoricalDtype):
            plain[column] = plain[column].astype("string")
    plain.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def write_outliers(
    result: DetectionResult,
    path: str | Path,
    fmt: str | None = None,
    explanations: object = None,
) -> Path:
    """Write the outliers to ``path``; the format defaults to its extension.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".")
        fmt = suffix if suffix in FORMATS else "csv"
    path.write_bytes(export_outliers(result, fmt, explanations))
    logger.info("wrote %d outliers to %s as %s", result.num_outliers, path, fmt)
    return path


# -- HTML --------------------------------------------------------------------------


def _cell(value: object, limit: int = CELL_LIMIT) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(export.reveal_hidden(text))


def score_histogram(
    result: DetectionResult, bins: int = HISTOGRAM_BINS
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Bin the finite scores: the bin edges, and counts of each kind of event.

    Returns
    -------
    (numpy.ndarray, dict)
        ``bins + 1`` edges (none without a finite score), and the counts per
        bin of ``"not flagged"`` and ``"outliers"`` events, in that order,
        to be stacked: an allow-listed event is not flagged wherever its
        score lies, as the numbers count it.
    """
    scores = result.annotated["anomaly_score"].to_numpy(dtype=float, na_value=np.nan)
    flagged = result.annotated["isOutlier"].to_numpy() == 1
    finite = np.isfinite(scores)
    if not finite.any():
        return np.zeros(0), {"not flagged": np.zeros(0), "outliers": np.zeros(0)}
    edges = np.histogram_bin_edges(scores[finite], bins=bins)
    return edges, {
        name: np.histogram(scores[mask], bins=edges)[0]
        for name, mask in (
            ("not flagged", finite & ~flagged),
            ("outliers", finite & flagged),
        )
    }


def _score_chart(result: DetectionResult) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    edges, counts = score_histogram(result)
    if len(edges):
        centers = (edges[:-1] + edges[1:]) / 2
        width = float(edges[1] - edges[0])
        colours = {"not flagged": "#8da0cb", "outliers": "#d95f02"}
        for name, per_bin in counts.items():
            figure.add_bar(
                x=centers, y=per_bin, width=width, name=name, marker_color=colours[name]
            )
    fence = result.fence.score
    if math.isfinite(fence):
        figure.add_vline(
            x=fence,
            line_dash="dash",
            line_color="#333",
            annotation_text=f"threshold {fence:.3g}",
        )
    figure.update_layout(
        barmode="stack",
        title="Anomaly scores (higher is more anomalous)",
        xaxis_title="anomaly_score",
        yaxis_title="events",
        yaxis_type="log",
        height=360,
        margin={"t": 50, "b": 40, "l": 60, "r": 20},
    )
    return figure


def _cause_chart(result: DetectionResult) -> Any:
    import plotly.graph_objects as go

    causes = result.outliers()["probable_cause"].astype("string").fillna("")
    counts = causes.replace("", "(none)").value_counts().head(30).sort_values()
    figure = go.Figure(
        go.Bar(
            x=counts.to_numpy().tolist(),
            # Plotly reads some HTML in labels; field names come from the data.
            y=[html.escape(export.reveal_hidden(str(label))) for label in counts.index],
            orientation="h",
            marker_color="#d95f02",
        )
    )
    figure.update_layout(
        title="Outliers by probable cause",
        xaxis_title="outliers",
        height=max(240, 40 + 24 * len(counts)),
        margin={"t": 50, "b": 40, "l": 160, "r": 20},
    )
    return figure


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td { max-width: 32rem; overflow-wrap: anywhere; }
td.explain { min-width: 24rem; white-space: pre-line; overflow-wrap: normal; }
.numbers td:first-child { font-weight: 600; }
.note { color: #666; font-size: 0.85rem; }
"""


def _rule_text(result: DetectionResult) -> str:
    # The words of the results page, so a rule that flags nothing, or flags
    # ties beyond what was asked, reads the same in the report.
    scores = result.annotated["anomaly_score"].to_numpy()
    return describe_threshold(scores, result.threshold, result.fence)


def _numbers(
    experiment: Experiment | None, run: RunRecord | None, result: DetectionResult
) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        ("Experiment", experiment.title if experiment else "(unsaved)"),
        ("Experiment id", experiment.id if experiment else ""),
        ("Run", run.id if run else "(not saved)"),
        ("Started", run.started_at if run else ""),
        ("Method", result.method),
        ("Fields", ", ".join(result.fields)),
        ("Threshold", _rule_text(result)),
        ("Events", f"{result.num_events:,}"),
        ("Outliers", f"{result.num_outliers:,}"),
    ]
    suppressed = result.summary.get("num_suppressed")
    if suppressed is not None:
        rows.append(("Suppressed by the allow-list", f"{int(suppressed):,}"))
    if run is not None:
        rows += [
            ("Rows read", f"{run.rows_read:,}"),
            ("Rows skipped", f"{run.rows_skipped:,}"),
            ("Data fingerprint", run.data_fingerprint),
        ]
    rows.append(("procanom", procanom.__version__))
    return rows


def _table(result: DetectionResult, explanations: object, limit: int) -> str:
    outliers = outliers_frame(result, explanations, limit)
    columns = ["anomaly_score", "probable_cause"]
    columns += key_columns(list(outliers.columns), result.fields)
    columns += [c for c in ("_time", EXPLANATION_COLUMN) if c in outliers.columns]
    columns = list(dict.fromkeys(columns))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    explained = [c == EXPLANATION_COLUMN for c in columns]
    for row in outliers[columns].astype(object).itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="explain">{_cell(v, 4 * CELL_LIMIT)}</td>'
            if is_explanation
            else f"<td>{_cell(v)}</td>"
            for v, is_explanation in zip(row, explained, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def html_report(
    experiment: Experiment | None,
    run: RunRecord | None,
    result: DetectionResult,
    explanations: object = None,
    *,
    max_rows: int = REPORT_ROWS,
) -> str:
    """Return a self-contained HTML report of one run.

    Parameters
    ----------
    experiment : Experiment or None
    run : RunRecord or None
        The saved run; None for a result not saved yet.
    result : DetectionResult
    explanations : optional
        As for :func:`outliers_frame`.
    max_rows : int, default 500
        Outliers listed in the table, most anomalous first.

    Returns
    -------
    str
        A complete HTML document with plotly.js inlined (opens offline).

    Raises
    ------
    ProcanomError
        If plotly is not installed.
    """
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise ProcanomError(
            "the HTML report draws its charts with plotly, which is not installed;"
            " install it with: pip install 'procanom[app]'"
        ) from None

    title = experiment.title if experiment else "procanom result"
    numbers = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_cell(value)}</td></tr>"
        for name, value in _numbers(experiment, run, result)
    )
    score_html = _score_chart(result).to_html(
        full_html=False, include_plotlyjs=True, config={"displaylogo": False}
    )
    cause_html = (
        _cause_chart(result).to_html(
            full_html=False, include_plotlyjs=False, config={"displaylogo": False}
        )
        if result.num_outliers
        else '<p class="note">No outliers.</p>'
    )
    shown = min(max_rows, result.num_outliers)
    note = (
        f"The {shown:,} most anomalous of {result.num_outliers:,} outliers; the CSV,"
        " JSON and Parquet exports hold them all."
        if shown < result.num_outliers
        else f"All {result.num_outliers:,} outliers, most anomalous first."
    )
    warnings = "".join(f"<li>{_cell(w)}</li>" for w in result.warnings)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(export.reveal_hidden(title))} · procanom report</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(export.reveal_hidden(title))}</h1>",
        f'<table class="numbers">{numbers}</table>',
        f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else "",
        "<h2>Score distribution</h2>",
        score_html,
        "<h2>Outliers by probable cause</h2>",
        cause_html,
        "<h2>Outliers</h2>",
        f'<p class="note">{html.escape(note)}</p>',
        _table(result, explanations, max_rows),
        "</body></html>",
    ]
    document = "\n".join(parts)
    logger.info(
        "HTML report of %d outliers: %.1f MB", shown, len(document.encode()) / 1e6
    )
    return document
