"""The results page through AppTest: sensitivity, detail, feedback, compare,
alerts, chart filters and method parameters, on the bundled sample."""

from __future__ import annotations

import re

import pytest
from app_helpers import button, metric
from streamlit.testing.v1 import AppTest

from procanom.experiment import DEFAULT_FIELDS, ExperimentSettings
from procanom.explain import Explanation, ValueCount
from procanom.scoring import ThresholdRule
from procanom.scoring.conditional import INHERITED_CAUSE
from procanom.store import ExperimentStore
from ui.results_view import PAGE_SIZES, explanation_markdown
from ui.text import code_span

TIMEOUT = 60


def _labelled(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _detected(repo_root, method: str = "histogram") -> AppTest:
    """A new experiment on the sample, scored with ``method`` (Splunk's rule)."""
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Results")
    app = button(app, "Create").click().run()
    app.selectbox(key="exp.method").select(method).run()
    if method == "histogram":
        app.checkbox(key="exp.cutoff").uncheck().run()
    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception
    return app


def _explanations(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if m.value.startswith("Event ")]


def _select_row(app: AppTest, position: int = 0) -> AppTest:
    app.session_state["exp.table.0"] = {
        "selection": {"rows": [position], "columns": [], "cells": []}
    }
    return app.run()


def test_results_sensitivity_relabels_without_scoring_again(repo_root, data_dir):
    app = _detected(repo_root)
    seconds = next(m.value for m in app.metric if m.label == "Seconds")
    app.selectbox(key="exp.sensitivity").select("top").run()
    app.number_input(key="exp.sensitivity_value").set_value(5.0).run()
    assert not app.exception, app.exception
    scored = app.session_state["workspace"].run.result
    expected = scored.relabel(ThresholdRule("top", 5)).num_outliers
    assert metric(app, "Outliers") == expected
    assert next(m.value for m in app.metric if m.label == "Seconds") == seconds
    assert not any("changed since this run" in i.value for i in app.info)


def _threshold_caption(app: AppTest) -> str:
    (caption,) = [c.value for c in app.caption if c.value.startswith("Threshold:")]
    return caption


def test_results_sensitivity_top_n_says_how_many_tie(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    app.selectbox(key="exp.sensitivity").select("top").run()
    app.number_input(key="exp.sensitivity_value").set_value(5.0).run()
    assert not app.exception, app.exception

    flagged = metric(app, "Outliers")
    scored = app.session_state["workspace"].run.result.relabel(ThresholdRule("top", 5))
    lowest = scored.outliers()["anomaly_score"].min()
    assert flagged > 5  # the sample's fifth score is shared
    caption = _threshold_caption(app)
    assert re.search(
        rf"{flagged} flagged: 5 asked for, {flagged - 5} more ties? with the last",
        caption,
    )
    assert f"anomaly score at or above {lowest:.4g}" in caption


@pytest.mark.parametrize(
    ("count", "words"), [(0.0, "nothing flagged"), (5000.0, "every event flagged")]
)
def test_results_sensitivity_top_n_at_the_ends_says_so(
    repo_root, data_dir, count, words
):
    app = _detected(repo_root)
    app.selectbox(key="exp.sensitivity").select("top").run()
    app.number_input(key="exp.sensitivity_value").set_value(count).run()
    assert not app.exception, app.exception
    caption = _threshold_caption(app)
    assert words in caption
    assert "inf" not in caption


def test_results_selected_row_shows_its_explanation(repo_root, data_dir):
    app = _select_row(_detected(repo_root))
    assert not app.exception, app.exception
    (text,) = _explanations(app)
    assert "Rarest value" in text and "flagged" in text
    # Rendered as markdown: values are code spans, not backticks in plain text.
    assert re.search(r"Rarest value on its own: \w+ (`+) .+? \1: \d", text)
    assert not [t for t in app.text if t.value.startswith("Event ")]
    assert any("Where else" in m.value for m in app.markdown)
    assert any("same command-line template" in m.value for m in app.markdown)


def test_results_feedback_suppresses_the_event_and_counts_it(repo_root, data_dir):
    app = _select_row(_detected(repo_root))
    before = metric(app, "Outliers")
    _labelled(app.text_input, "Why is it expected?").input("build tooling")
    app = button(app, "Add to the allow-list").click().run()
    assert not app.exception, app.exception

    assert metric(app, "Outliers") == before - 1
    assert metric(app, "Suppressed") == 1
    assert any("Added to the allow-list" in m.value for m in app.success)
    # The selection is let go: the rows moved, it would name another event.
    assert not _explanations(app)
    (entry,) = ExperimentStore(data_dir).list_allow_entries()
    assert entry.reason == "build tooling" and entry.match == "literal"
    assert set(entry.conditions) == set(DEFAULT_FIELDS)
    # Show SPL reproduces the page: the allow-list comes along.
    code = "\n".join(c.value for c in app.code)
    assert "| lookup procanom_allowlist" in code
    assert "--allowlist procanom_allowlist.csv" in code
    assert "apply_allowlist(result, events, entries)" in code


def test_results_feedback_as_pattern_widens_the_match(repo_root, data_dir):
    app = _select_row(_detected(repo_root))
    app = _labelled(app.multiselect, "Match on").set_value(["Path"]).run()
    # Only the fields matched on are offered to edit.
    assert [box.label for box in _value_boxes(app)] == ["Path"]
    _labelled(app.radio, "Values").set_value("pattern")
    _value_boxes(app)[0].input("C:\\Windows\\System32\\*")
    _labelled(app.text_input, "Why is it expected?").input("System32 is ours")
    app = button(app, "Add to the allow-list").click().run()
    assert not app.exception, app.exception
    (entry,) = ExperimentStore(data_dir).list_allow_entries()
    assert entry.match == "pattern"
    assert entry.conditions == {"Path": "C:\\Windows\\System32\\*"}
    assert metric(app, "Suppressed") > 1


def test_results_feedback_refuses_a_pattern_matching_everything(repo_root, data_dir):
    app = _select_row(_detected(repo_root))
    app = _labelled(app.multiselect, "Match on").set_value(["Name"]).run()
    _labelled(app.radio, "Values").set_value("pattern")
    _value_boxes(app)[0].input("*")
    _labelled(app.text_input, "Why is it expected?").input("all fine")
    app = button(app, "Add to the allow-list").click().run()
    assert any("every event" in e.value for e in app.error)
    assert ExperimentStore(data_dir).list_allow_entries() == []


def _value_boxes(app: AppTest) -> list:
    """The feedback form's boxes holding the values to match."""
    return [box for box in app.text_input if box.key and box.key.startswith("exp.fb.")]


def _view(app: AppTest, name: str) -> AppTest:
    app.session_state["exp.view"] = name
    return app.run()


def test_results_compare_with_the_saved_run(repo_root, data_dir):
    app = _detected(repo_root)
    app = app.button(key="exp.save").click().run()
    app = _view(app, "Compare runs")
    assert not app.exception, app.exception
    (sentence,) = [m.value for m in app.markdown if m.value.startswith("**0 new")]
    still = int(re.search(r"([\d,]+) still flagged", sentence).group(1))
    assert still > 0
    labels = [t.label for t in app.tabs]
    assert labels == [
        "New (0)",
        "Gone (0)",
        f"Still flagged ({still})",
        "Count changed (0)",
    ]
    assert len(app.tabs[2].dataframe[0].value) == still


def test_results_alert_rule_says_whether_it_would_fire(repo_root, data_dir):
    app = _detected(repo_root)
    app = app.button(key="exp.save").click().run()
    app = _view(app, "Alerts")
    outliers = metric(app, "Outliers")
    _labelled(app.number_input, "Alert when outliers exceed").set_value(outliers - 1)
    _labelled(app.text_input, "Or append to a file (JSON lines)").input("alerts.jsonl")
    app = button(app, "Add rule").click().run()
    assert not app.exception, app.exception
    assert any("would fire" in c.value for c in app.caption)
    (rule,) = ExperimentStore(data_dir).list_alert_rules(
        ExperimentStore(data_dir).list_experiments()[0].id
    )
    assert rule.threshold == outliers - 1


def _unescaped(text: str) -> str:
    # The page escapes markdown characters; the paths in these tests hold none
    # but "_" and ".".
    return text.replace("\\", "")


def test_results_alert_rule_refuses_a_file_outside_the_alerts_folder(
    repo_root, data_dir, monkeypatch
):
    monkeypatch.delenv("PROCANOM_ALERT_DIRS", raising=False)
    app = _detected(repo_root)
    app = app.button(key="exp.save").click().run()
    app = _view(app, "Alerts")
    assert any(
        f"kept in {data_dir.resolve() / 'alerts'}" in _unescaped(c.value)
        for c in app.caption
    )

    _labelled(app.text_input, "Or append to a file (JSON lines)").input(
        "/etc/passwd_test_alerts.jsonl"
    )
    app = button(app, "Add rule").click().run()

    assert not app.exception, app.exception
    (error,) = [_unescaped(e.value) for e in app.error]
    assert "'/etc/passwd_test_alerts.jsonl'" in error
    assert str(data_dir.resolve() / "alerts") in error
    assert "PROCANOM_ALERT_DIRS" in error
    store = ExperimentStore(data_dir)
    assert store.list_alert_rules(store.list_experiments()[0].id) == []


def test_results_alert_rule_saved_with_an_outside_file_is_flagged(
    repo_root, data_dir, monkeypatch, tmp_path
):
    allowed = tmp_path / "shared-alerts"
    monkeypatch.setenv("PROCANOM_ALERT_DIRS", str(allowed))
    app = _detected(repo_root)
    app = app.button(key="exp.save").click().run()
    store = ExperimentStore(data_dir)
    experiment_id = store.list_experiments()[0].id
    # Saved while the admin still allowed /etc, then no longer allowed.
    import os

    monkeypatch.setenv("PROCANOM_ALERT_DIRS", os.pathsep.join(["/etc", str(allowed)]))
    store.add_alert_rule(
        experiment_id,
        destinations=[{"type": "file", "path": "/etc/passwd_test_alerts.jsonl"}],
    )
    monkeypatch.setenv("PROCANOM_ALERT_DIRS", str(allowed))
    app = _view(app, "Alerts")

    assert not app.exception, app.exception
    (warning,) = [_unescaped(w.value) for w in app.warning if "Not written" in w.value]
    assert "'/etc/passwd_test_alerts.jsonl'" in warning and str(allowed) in warning
    assert any(f"allowed inside {allowed}" in _unescaped(c.value) for c in app.caption)


def test_results_chart_filter_narrows_the_table(repo_root, data_dir):
    app = _detected(repo_root)
    app.session_state["exp.filters"] = {"probable_cause": "Path"}
    app.run()
    assert not app.exception, app.exception
    (heading,) = [m.value for m in app.markdown if m.value.startswith("**Data and")]
    shown = int(heading.split("(")[1].split(" ")[0].replace(",", ""))
    assert 0 < shown < metric(app, "Outliers")
    chip = "Showing only outliers with probable\\_cause = Path"
    assert any(chip in i.value for i in app.info)


def test_results_method_parameters_are_saved_and_reopened(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    app.number_input(key="exp.param_box.conditional.alpha").set_value(2.0).run()
    app = app.button(key="exp.detect").click().run()
    app = app.button(key="exp.save").click().run()
    assert not app.exception, app.exception
    (summary,) = ExperimentStore(data_dir).list_experiments()
    settings = ExperimentStore(data_dir).get_experiment(summary.id).settings
    assert settings["method"] == "conditional"
    assert settings["params"]["alpha"] == 2.0

    reopened = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    reopened.query_params["id"] = summary.id
    reopened.switch_page("pages/experiment.py").run()
    assert reopened.number_input(key="exp.param_box.conditional.alpha").value == 2.0
    assert any("--param alpha=2.0" in c.value for c in reopened.code)


def test_results_sensitivity_is_saved_with_the_experiment(repo_root, data_dir):
    app = _detected(repo_root)
    app.selectbox(key="exp.sensitivity").select("top").run()
    app.number_input(key="exp.sensitivity_value").set_value(7.0).run()
    app = app.button(key="exp.save").click().run()
    (summary,) = ExperimentStore(data_dir).list_experiments()
    settings = ExperimentStore(data_dir).get_experiment(summary.id).settings
    assert settings["params"]["threshold"] == {"kind": "top", "value": 7.0}
    scored = app.session_state["workspace"].run.result
    expected = scored.relabel(ThresholdRule("top", 7)).num_outliers
    assert summary.last_outliers == expected


def test_results_baseline_scores_against_it_and_saves_the_model(repo_root, data_dir):
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Baseline")
    app = button(app, "Create").click().run()
    app.text_input(key="exp.query").input("host=MKT01").run()
    app.selectbox(key="exp.baseline").select("sample-otrf-sysmon").run()
    app.text_input(key="exp.baseline_query").input("NOT host=MKT01").run()
    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception
    result = app.session_state["workspace"].run.result
    assert result.annotated["first_seen"].astype(bool).any()

    app = app.button(key="exp.save").click().run()
    (summary,) = ExperimentStore(data_dir).list_experiments()
    settings = ExperimentStore(data_dir).get_experiment(summary.id).settings
    assert settings["baseline"]["query"] == "NOT host=MKT01"
    assert settings["model"]["method"] == "conditional"


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("name=cmd.exe", "did you mean Name?"),
        ("index=main Name=cmd.exe", "selects data in Splunk"),
        ("Nonexistent=foo", "no event can match it"),
    ],
)
def test_search_names_fields_the_data_does_not_have(repo_root, data_dir, query, hint):
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Search hints")
    app = button(app, "Create").click().run()
    app.text_input(key="exp.query").input(query).run()
    assert not app.exception, app.exception
    assert any(hint in w.value for w in app.warning)


def test_save_keeps_no_run_made_with_other_settings(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    app.number_input(key="exp.param_box.conditional.alpha").set_value(0.5).run()
    app = app.button(key="exp.save").click().run()
    assert not app.exception, app.exception
    assert any("were not kept as a run" in w.value for w in app.warning)
    store = ExperimentStore(data_dir)
    (summary,) = store.list_experiments()
    assert store.list_runs(summary.id) == []
    assert store.get_experiment(summary.id).settings["params"] == {"alpha": 0.5}


def test_draft_notice_right_after_the_first_detect(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    assert any("Draft" in w.value for w in app.warning)
    app = app.button(key="exp.save").click().run()
    assert not any("Draft" in w.value for w in app.warning)


def _table(app: AppTest):
    """The results table: its rows as sent, and the cells highlighted red."""
    (table,) = [d for d in app.dataframe if "probable_cause" in d.value.columns]
    styles = table.proto.arrow_data.styler.styles
    red = next(rule for rule in styles.split("}") if "background-color" in rule)
    cells = {
        (int(row), int(col)) for row, col in re.findall(r"_row(\d+)_col(\d+)", red)
    }
    return table.value, cells


def test_results_table_shows_no_none_and_marks_inherited_scores(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    app.selectbox(key="exp.page_size").select(max(PAGE_SIZES)).run()
    assert not app.exception, app.exception
    rows, red = _table(app)

    for column in ("probable_cause", "inherited_from"):
        assert rows[column].dtype == "string" and not rows[column].isna().any()
    # Without a baseline nothing is first seen, and nothing is allow-listed:
    # columns empty for every event are left out.
    assert "first_seen" not in rows and "suppressed_by" not in rows
    assert "-0.0" not in {str(score) for score in rows["anomaly_score"]}
    quiet = rows[rows["isOutlier"] == 0]
    assert len(quiet) and (quiet["probable_cause"] == "").all()
    assert (quiet["inherited_from"] != "").any()  # inherited, yet not flagged

    # An inherited score is blamed on its ancestor, and that cell is the red one.
    flagged = rows[rows["isOutlier"] == 1]
    inherited = flagged["inherited_from"] != ""
    assert inherited.any() and (~inherited).any()
    assert (flagged.loc[inherited, "probable_cause"] == INHERITED_CAUSE).all()
    assert (flagged.loc[~inherited, "probable_cause"] != INHERITED_CAUSE).all()
    columns = list(rows.columns)
    expected = {
        (i, columns.index("inherited_from" if inherited.iloc[i] else cause))
        for i, cause in enumerate(flagged["probable_cause"])
    }
    assert red == expected


def test_experiment_list_shows_the_last_run_in_minutes_utc(repo_root, data_dir):
    app = _detected(repo_root)
    app.button(key="exp.save").click().run()
    listing = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    listing.run()
    assert not listing.exception, listing.exception
    (last,) = [c.value for c in listing.caption if c.value.startswith("Last run")]
    assert re.fullmatch(r"Last run \d{4}-\d\d-\d\d \d\d:\d\d UTC", last)


@pytest.mark.parametrize(
    "value",
    [
        "plain.exe",
        "`closing` and ``two``",
        "`",
        "ends with a tick`",
        "[click](javascript:alert(1)) <b>x</b> **bold** $x^2$ :red[x]",
        "two\nlines\r\n# heading\u2028- item",
        " padded ",
        "invoice\u202eexe.txt",
    ],
)
def test_code_span_shows_any_value_literally(value):
    span = code_span(value)
    fence = re.match(r"`+", span).group()
    inner = span[len(fence) : -len(fence)]
    # One line, closed only by its own fence, and the value whole inside it.
    assert span.endswith(fence) and "\n" not in span and "\r" not in span
    assert not re.search(f"(?<!`){fence}(?!`)", inner)
    # Line breaks become spaces; what draws nothing or reorders is named.
    flat = re.sub(r"[\n\r]", " ", value)
    flat = flat.replace("\u2028", "<U+2028>").replace("\u202e", "<U+202E>")
    assert inner == f" {flat} "


def test_explanation_markdown_escapes_words_and_quotes_values():
    explanation = Explanation(
        row=3,
        method="histogram",
        score=9.5,
        is_outlier=True,
        rule="anomaly score above 2",
        probable_cause="Name",
        values=[ValueCount("Name", "`x` [a](javascript:1)", "k", 1, 10)],
    )
    markdown = explanation_markdown(explanation)
    assert "`" not in explanation_markdown(
        Explanation(3, "histogram", 9.5, True, "anomaly score above 2", "Name")
    )
    assert "Rarest value on its own: Name `` `x` [a](javascript:1) ``" in markdown
    assert markdown.count("  \n") == len(explanation.lines()) - 1


def test_results_alert_rule_can_count_inherited_outliers(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    app = app.button(key="exp.save").click().run()
    app = _view(app, "Alerts")
    causes = _labelled(app.multiselect, "Only these probable causes")
    assert INHERITED_CAUSE in causes.options
    causes.select(INHERITED_CAUSE)
    _labelled(app.text_input, "Or append to a file (JSON lines)").input("a.jsonl")
    app = button(app, "Add rule").click().run()
    assert not app.exception, app.exception
    store = ExperimentStore(data_dir)
    (rule,) = store.list_alert_rules(store.list_experiments()[0].id)
    assert rule.only_causes == [INHERITED_CAUSE]
    flagged = app.session_state["workspace"].run.result.outliers()
    inherited = int((flagged["probable_cause"] == INHERITED_CAUSE).sum())
    assert any(
        f"{inherited} outliers with probable cause" in c.value for c in app.caption
    )


def test_results_every_event_export_carries_the_other_columns(tmp_path):
    from procanom.library import DatasetLibrary
    from procanom.samples import SAMPLES
    from ui.act_view import scored_events

    settings = ExperimentSettings(fields=["Name", "Path"], method="conditional")
    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest([SAMPLES["otrf-sysmon"].path], "sample")
        result = library.score(info.id, settings)
        events = library.search(info.id)

    exported = scored_events(result, events)

    assert {"User", "ParentName", "ParentCommandLine"} <= set(exported.columns)
    assert len(exported) == result.num_events
    assert exported["isOutlier"].is_monotonic_decreasing
    # Values sit on their own event's row.
    row = exported.index[0]
    assert exported.loc[row, "User"] == events.loc[row, "User"]
    # The event number the page shows comes first, so a row can be found.
    assert (exported["event"] == exported.index).all()
    bare = scored_events(result, None)
    assert list(bare.columns) == ["event", *result.annotated.columns]


def test_results_export_says_how_many_outliers_are_explained(
    repo_root, data_dir, monkeypatch
):
    import ui.act_view

    monkeypatch.setattr(ui.act_view, "EXPLAINED_IN_EXPORTS", 10)
    app = _view(_detected(repo_root, method="conditional"), "Export")

    assert not app.exception, app.exception
    assert any("10 most anomalous" in c.value for c in app.caption)


def test_results_show_a_disguised_name_for_what_it_is(repo_root, data_dir):
    rows = ["Name,Path,host"]
    rows += ["cmd.exe,C:\\Windows\\System32\\cmd.exe,ws1"] * 40
    rows += ["invoice\u202eexe.txt,C:\\Users\\a\\invoice\u202eexe.txt,ws1"]
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Disguise")
    app = button(app, "Create").click().run()
    app.radio(key="exp.source_kind").set_value("dataset").run()
    upload = "\n".join(rows).encode("utf-8")
    app.file_uploader(key="exp.upload").upload("disguise.csv", upload, "text/csv")
    app = app.run()
    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception

    table, _ = _table(app)
    assert table["Name"].iloc[0] == "invoice<U+202E>exe.txt"
    app = _select_row(app, 0)
    assert not app.exception, app.exception
    page = " ".join(m.value for m in app.markdown)
    assert "\u202e" not in page and "<U+202E>" in page
    detail = next(d.value for d in app.dataframe if "contribution" in d.value.columns)
    assert "\u202e" not in "".join(detail["value"])


def test_results_parameter_out_of_range_says_where_and_resets(repo_root, data_dir):
    app = _detected(repo_root, method="conditional")
    app.number_input(key="exp.param_box.conditional.alpha").set_value(0.0).run()
    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception
    (error,) = [e.value for e in app.error]
    assert error.startswith("alpha must be a number above 0; got 0.0.")
    assert "conditional parameters" in error and "Reset to defaults" in error

    app = app.button(key="exp.param_reset").click().run()
    assert app.number_input(key="exp.param_box.conditional.alpha").value == 3.0
    app = app.button(key="exp.detect").click().run()
    assert not app.error and metric(app, "Outliers") > 0
