"""The ``procanom`` command line.

A thin layer over the package: it parses arguments with click, calls the
same functions the app calls, and turns procanom's errors into one line on
stderr with exit status 2. It holds no logic of its own.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import pandas as pd

import procanom
from procanom import export
from procanom.errors import ParameterError, ProcanomError, QueryError
from procanom.experiment import (
    DataSource,
    ExperimentSettings,
    parse_field_list,
    run_settings,
)
from procanom.samples import SAMPLES
from procanom.scoring import ACTIONS, METHODS, ThresholdRule
from procanom.scoring.thresholds import describe_threshold

__all__ = ["main", "cli"]

logger = logging.getLogger(__name__)

_TABLE_WIDTH = 60
# The experiment id given to experiment-scoped entries of an --allowlist file.
_ALLOWLIST_RUN = "procanom-detect"


def _param_options(items: Sequence[str]) -> dict:
    """``NAME=VALUE`` pairs as method parameters; values read as JSON if they can."""
    params = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError("--param", "NAME=VALUE, e.g. alpha=2", item)
        try:
            params[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            params[name.strip()] = text
    return params


def _detect_result(
    settings: ExperimentSettings,
    events: pd.DataFrame,
    baseline_files: Sequence[str],
    model_path: str | None,
):
    """Score against itself, a baseline read from files, or a saved model."""
    from procanom.experiment import fit_baseline, score_against
    from procanom.io import read_events

    if baseline_files and model_path:
        raise ParameterError("--baseline or --model", "one of the two", "both")
    if model_path:
        from procanom.scoring.persist import detector_from_dict

        try:
            model = json.loads(Path(model_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ParameterError(
                "--model", "a model file written by --save-model", model_path
            ) from error
        detector = detector_from_dict(model)
        fitted = list(getattr(detector, "fields_", None) or detector.fields or [])
        if fitted and fitted != list(settings.fields):
            # A model scores the fields it was fitted on; say so, not silently.
            click.echo(
                "procanom: warning: the model was fitted on "
                + export.to_terminal(", ".join(fitted))
                + "; it scores those, not --fields",
                err=True,
            )
        return score_against(detector, settings, events)
    if baseline_files:
        baseline = read_events(list(baseline_files)).frame
        return score_against(fit_baseline(settings, baseline), settings, events)
    return run_settings(settings, events)


def _save_model(result, path: str) -> None:
    from procanom.scoring.persist import detector_to_dict

    if result.model is None:
        raise ParameterError("--save-model", "a method that keeps a model", path)
    Path(path).write_text(json.dumps(detector_to_dict(result.model)), encoding="utf-8")
    logger.info("model written to %s", path)


def _check_method_params(method: str, items: Sequence[str]) -> None:
    from procanom.scoring import METHODS

    accepted = set(METHODS[method]._get_param_names()) - {"fields"}
    unknown = sorted(set(_param_options(items)) - accepted)
    if unknown:
        raise ParameterError(
            f"--param for method {method!r}",
            "one of " + ", ".join(sorted(accepted)),
            unknown,
        )


def _threshold_option(value: str | None) -> dict | None:
    if not value:
        return None
    kind, _, number = value.partition(":")
    try:
        rule = ThresholdRule(kind, float(number) if number else None)
    except ValueError as error:
        if isinstance(error, ParameterError):
            raise
        raise ParameterError("--threshold", "KIND or KIND:NUMBER", value) from None
    return rule.to_dict()


def _render(frame: pd.DataFrame, fmt: str, extra: dict) -> str:
    if fmt == "csv":
        return export.to_csv(frame)
    if fmt == "json":
        return export.to_json(frame, **extra) + "\n"
    if frame.empty:
        return "(no events)\n"

    def cell(value: object) -> object:
        # A gap (an event with no ancestor in inherited_from) reads empty.
        if value is None or value is pd.NA:
            return ""
        if isinstance(value, str):
            return export.to_terminal(value)[:_TABLE_WIDTH]
        return value

    shown = frame.astype(object).map(cell)
    shown.columns = [export.to_terminal(c) for c in shown.columns]
    return shown.to_string(index=False, na_rep="") + "\n"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(procanom.__version__, prog_name="procanom")
@click.option("-v", "--verbose", count=True, help="Log what is read and chosen.")
def cli(verbose: int) -> None:
    """Find the Windows processes that do not belong."""
    level = logging.WARNING if not verbose else logging.INFO
    logging.basicConfig(level=level, format="procanom: %(levelname)s: %(message)s")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--sample",
    type=click.Choice(sorted(SAMPLES)),
    help="Score a bundled sample instead of files.",
)
@click.option("--fields", "fields_text", help="Fields to analyse, comma-separated.")
@click.option(
    "--field", "field_list", multiple=True, help="A field to analyse (repeatable)."
)
@click.option(
    "--method",
    type=click.Choice(sorted(METHODS)),
    default=None,
    help="Scoring method [default: the package default].",
)
@click.option(
    "--action", type=click.Choice(ACTIONS), default="annotate", show_default=True
)
@click.option(
    "--cutoff/--no-cutoff",
    default=None,
    help="Strict automatic threshold (Q3 + 3 IQR) or Splunk's Q1 - 1.5 IQR"
    " [default: the method's own; for histogram, --cutoff].",
)
@click.option("--pthresh", type=float, help="Flag events with probability below P.")
@click.option(
    "--threshold",
    "threshold_text",
    help="KIND[:N]: auto, auto-strict, top:N, percent:P, score:S, pthresh:P.",
)
@click.option(
    "--param",
    "param_items",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of the method, e.g. --param alpha=2 (repeatable).",
)
@click.option(
    "--baseline",
    "baseline_files",
    multiple=True,
    type=click.Path(exists=True),
    help="Fit on these events (repeatable), score FILE... against them;"
    " values never seen in the baseline are first seen.",
)
@click.option("--baseline-search", default="", help="Search selecting the baseline.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Score against a model saved with --save-model.",
)
@click.option(
    "--save-model",
    "save_model_path",
    type=click.Path(dir_okay=False),
    help="Write the fitted model here as JSON (plain data, no pickle).",
)
@click.option(
    "--allowlist",
    "allowlist_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Clear the outliers an allow-list CSV covers (as the app's Allow-list"
    " page exports it); they still count in the frequencies.",
)
@click.option("--numeric", multiple=True, help="Treat this field as numeric.")
@click.option("--search", "query", default="", help="Splunk-style search filter.")
@click.option(
    "--time-range",
    default="all",
    help="15m, 1h, 24h, 7d, 30d, all or custom (with --earliest/--latest).",
)
@click.option("--earliest", help="Custom range start (ISO-8601).")
@click.option("--latest", help="Custom range end (ISO-8601).")
@click.option(
    "--relative-to",
    type=click.Choice(["latest", "now"]),
    default="latest",
    show_default=True,
    help="Relative ranges end at the latest event, or now.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "table"]),
    default="csv",
    show_default=True,
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout."
)
def detect(
    files: Sequence[str],
    sample: str | None,
    fields_text: str | None,
    field_list: Sequence[str],
    method: str | None,
    action: str,
    cutoff: bool | None,
    pthresh: float | None,
    threshold_text: str | None,
    param_items: Sequence[str],
    baseline_files: Sequence[str],
    baseline_search: str,
    model_path: str | None,
    save_model_path: str | None,
    allowlist_path: str | None,
    numeric: Sequence[str],
    query: str,
    time_range: str,
    earliest: str | None,
    latest: str | None,
    relative_to: str,
    fmt: str,
    output: str | None,
) -> None:
    """Score process events in FILE... and print them with their scores.

    The output has every input column, then log_event_prob, probable_cause,
    probable_cause_freq, max_freq, anomaly_score (higher is more anomalous)
    and isOutlier.
    """
    from procanom.io import read_events
    from procanom.scoring import DEFAULT_METHOD

    fields = parse_field_list(fields_text) + [
        f for f in field_list if f not in parse_field_list(fields_text)
    ]
    if not fields:
        raise ParameterError("--fields", "at least one field name", "nothing")
    if bool(files) == bool(sample):
        raise ParameterError("FILE... or --sample", "one of the two", "neither or both")
    if sample:
        files = [str(SAMPLES[sample].path)]
    method = method or DEFAULT_METHOD
    _check_method_params(method, param_items)
    params: dict = {**_param_options(param_items), "cutoff": cutoff, "pthresh": pthresh}
    threshold = _threshold_option(threshold_text)
    if threshold:
        params["threshold"] = threshold
    settings = ExperimentSettings(
        data_source=DataSource("sample", sample)
        if sample
        else DataSource("file", ",".join(Path(f).name for f in files)),
        query=query,
        time_range={
            "preset": time_range,
            "earliest": earliest,
            "latest": latest,
            "relative_to": relative_to,
        },
        fields=fields,
        field_types={name: "numeric" for name in numeric},
        method=method,
        params=params,
        baseline={"name": ",".join(Path(f).name for f in baseline_files)}
        | {"query": baseline_search}
        if baseline_files
        else None,
    )

    loaded = read_events(list(files))
    for warning in loaded.report.warnings:
        click.echo(f"procanom: warning: {warning}", err=True)
    result = _detect_result(settings, loaded.frame, baseline_files, model_path)
    if save_model_path:
        _save_model(result, save_model_path)
    if allowlist_path:
        result = _allowed(result, loaded.frame, allowlist_path)
    table = result.table(action)
    extra = {
        "summary": export.json_summary(result.summary),
        "rows_read": loaded.report.rows_read,
        "rows_skipped": loaded.report.rows_skipped,
    }
    text = _render(table, fmt, extra)
    if output:
        Path(output).write_text(text, encoding="utf-8", newline="")
    else:
        click.echo(text, nl=False)
    # The rule in the words the results page uses: ties, nothing flagged...
    rule = describe_threshold(
        result.annotated["anomaly_score"].to_numpy(), result.threshold, result.fence
    )
    click.echo(
        f"procanom: {result.num_outliers} outliers in {result.num_events} events"
        f" ({rule})",
        err=True,
    )


def _allowed(result, frame, path: str):
    """``result`` with the outliers the allow-list file covers cleared."""
    from procanom.allowlist import allowlist_from_csv, apply_allowlist

    text = Path(path).read_text(encoding="utf-8-sig")
    # Entries the page scoped to its experiment apply to this command's run.
    entries = allowlist_from_csv(text, experiment_id=_ALLOWLIST_RUN, source=path)
    result, summary = apply_allowlist(result, frame, entries)
    for warning in summary.warnings:
        click.echo(f"procanom: warning: {export.to_terminal(warning)}", err=True)
    click.echo(f"procanom: allow-list: {summary.describe()}", err=True)
    return result


def _data_dir(value: str | None) -> Path:
    import os

    return Path(value or os.environ.get("PROCANOM_DATA_DIR") or "data")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--dataset", "name", required=True, help="Name shown for the dataset.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Data folder [default: $PROCANOM_DATA_DIR or ./data, as the app].",
)
def ingest(paths: Sequence[str], name: str, data_dir: str | None) -> None:
    """Keep PATH... as a dataset the app lists, searchable at any size.

    The files are copied into the data folder's store (so the app lists the
    dataset) and their events into its DuckDB library.
    """
    from procanom.library import DatasetLibrary
    from procanom.store import ExperimentStore

    folder = _data_dir(data_dir)
    with ExperimentStore(folder) as store, DatasetLibrary(folder) as library:
        info = library.add_to_store(store, list(paths), name)
    for warning in info.warnings:
        click.echo(f"procanom: warning: {warning}", err=True)
    click.echo(info.summary())


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Data folder [default: $PROCANOM_DATA_DIR or ./data, as the app].",
)
def datasets(data_dir: str | None) -> None:
    """List the datasets of the library, newest first."""
    from procanom.library import DatasetLibrary

    with DatasetLibrary(_data_dir(data_dir)) as library:
        for info in library.list():
            span = f"{info.time_min or '?'} .. {info.time_max or '?'}"
            click.echo(f"{info.summary()}; {span}")


@cli.command("run")
@click.argument("experiment")
@click.option(
    "--data",
    "data_paths",
    multiple=True,
    type=click.Path(),
    help="Score this file or folder instead of the saved data (repeatable).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="The app's data folder [default: $PROCANOM_DATA_DIR, else ./data].",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the outliers here."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "parquet"]),
    help="Format of --output [default: from its extension, else csv].",
)
def run_command(
    experiment: str,
    data_paths: Sequence[str],
    data_dir: str | None,
    output: str | None,
    fmt: str | None,
) -> None:
    """Re-run the saved EXPERIMENT (an id or an exact title) and alert on it.

    Reads the experiment's saved data source (or --data), applies its search,
    fields, method and allow-list, records the run in its history, and sends
    the alerts its rules fire. Exit status: 0 no alert fired, 1 an alert
    fired, 2 an error.
    """
    from procanom import report, runner

    store = runner.open_store(data_dir)
    chosen = runner.resolve_experiment(store, experiment)
    outcome = runner.run_experiment(store, chosen.id, data_paths=list(data_paths))
    for warning in outcome.warnings:
        click.echo(f"procanom: warning: {export.to_terminal(warning)}", err=True)
    if output:
        explanations = report.explanations_for(outcome.result)
        report.write_outliers(outcome.result, output, fmt, explanations)

    result = outcome.result
    click.echo(
        f"procanom: run {outcome.run.id} of {export.to_terminal(chosen.title)!r}:"
        f" {result.num_outliers} outliers in {result.num_events} events;"
        f" allow-list: {outcome.suppressed.describe()}",
        err=True,
    )
    for decision in outcome.alerts:
        state = "fired" if decision.fired else "quiet"
        click.echo(
            f"procanom: alert {decision.rule_id} {state}:"
            f" {export.to_terminal(decision.reason)}",
            err=True,
        )
    for delivery in outcome.deliveries:
        detail = f" ({export.to_terminal(delivery.error)})" if delivery.error else ""
        click.echo(
            f"procanom: delivery to {export.to_terminal(delivery.destination)}:"
            f" {delivery.status} after {delivery.attempts} attempt(s){detail}",
            err=True,
        )
    # 1 tells a scheduler that an alert fired; main() returns it.
    return 1 if outcome.fired else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input)."""
    try:
        status = cli.main(args=argv, prog_name="procanom", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        click.echo("procanom: aborted", err=True)
        return 2
    except click.ClickException as error:
        click.echo(f"procanom: {error.format_message()}", err=True)
        return 2
    except QueryError as error:
        click.echo(f"procanom: --search: {error}", err=True)
        return 2
    except ProcanomError as error:
        click.echo(f"procanom: {error}", err=True)
        return 2
    except OSError as error:
        click.echo(f"procanom: {error.filename or ''}: {error.strerror}", err=True)
        return 2
    except Exception as error:
        # A scheduler reads 1 as an alert: anything unforeseen must be 2.
        logger.info("unexpected error", exc_info=True)
        click.echo(
            f"procanom: unexpected error ({type(error).__name__}: {error});"
            " run with -v for the traceback, and please report it",
            err=True,
        )
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
