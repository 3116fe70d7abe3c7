"""The whole experiment flow, driven through Streamlit's AppTest.

Create, pick the sample and fields, Detect, Save, reopen in a fresh session
(as after a server restart), reload a run from the history. The numbers on
the page must equal what ``procanom detect`` prints for the same settings.
"""

from __future__ import annotations

import json
import time

from app_helpers import button, metric
from streamlit.testing.v1 import AppTest

from procanom.cli import main as cli_main
from procanom.experiment import DEFAULT_FIELDS
from procanom.samples import SAMPLES
from procanom.store import ExperimentStore

FIELDS = list(DEFAULT_FIELDS)
TIMEOUT = 60


def _app(repo_root) -> AppTest:
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    return app.run()


def _cli_counts(tmp_path, *args: str) -> dict:
    out = tmp_path / "cli.json"
    status = cli_main(
        [
            "detect",
            str(SAMPLES["otrf-sysmon"].path),
            "--fields",
            ",".join(FIELDS),
            "--format",
            "json",
            "--output",
            str(out),
            *args,
        ]
    )
    assert status == 0
    payload = json.loads(out.read_text())
    outliers = sum(row["isOutlier"] for row in payload["results"])
    return {"outliers": outliers, "total": len(payload["results"])}


def _create(app: AppTest, title: str) -> AppTest:
    app.text_input(key="new.title").input(title)
    app.text_area(key="new.description").input("Which processes do not belong?")
    return button(app, "Create").click().run()


def test_app_flow_create_detect_save_reopen_history(repo_root, data_dir, tmp_path):
    app = _app(repo_root)
    assert not app.exception
    app = _create(app, 'Rogue "processes" on lab hosts')
    assert not app.exception, app.exception
    assert app.title[0].value == 'Rogue "processes" on lab hosts'
    assert app.multiselect(key="exp.fields").value == FIELDS

    # Splunk's method and rule (cutoff off), then Detect.
    app.selectbox(key="exp.method").select("histogram").run()
    app.checkbox(key="exp.cutoff").uncheck().run()
    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception
    expected = _cli_counts(tmp_path, "--method", "histogram", "--no-cutoff")
    assert metric(app, "Outliers") == expected["outliers"] > 0
    assert metric(app, "Total Events") == expected["total"] == 1316
    assert any("Draft" in w.value for w in app.warning)

    app = app.button(key="exp.save").click().run()
    assert not app.exception, app.exception
    assert not any("Draft" in w.value for w in app.warning)

    store = ExperimentStore(data_dir)
    (summary,) = store.list_experiments()
    assert summary.last_outliers == expected["outliers"]
    assert summary.last_total == 1316
    saved = store.get_experiment(summary.id)
    assert saved.settings["params"]["cutoff"] is False
    assert saved.settings["fields"] == FIELDS

    # A fresh session, as after a restart: everything as it was.
    reopened = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    reopened.query_params["id"] = summary.id
    reopened.switch_page("pages/experiment.py").run()
    assert not reopened.exception, reopened.exception
    assert reopened.multiselect(key="exp.fields").value == FIELDS
    assert reopened.checkbox(key="exp.cutoff").value is False
    history = reopened.dataframe[-1].value
    assert history["outliers"].tolist() == [expected["outliers"]]
    # It opens on its results, scored again with the saved settings: that
    # is its saved run, not a draft.
    assert metric(reopened, "Outliers") == expected["outliers"]
    assert not any("Draft" in w.value for w in reopened.warning)

    # Reload the run from the history: it re-runs with the same answer.
    reopened.checkbox(key="exp.cutoff").check().run()
    reopened = reopened.button(key="exp.load_run").click().run()
    assert not reopened.exception, reopened.exception
    assert reopened.checkbox(key="exp.cutoff").value is False
    assert metric(reopened, "Outliers") == expected["outliers"]


def test_app_flow_strict_default_matches_cli(repo_root, data_dir, tmp_path):
    app = _create(_app(repo_root), "Default threshold")
    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception
    expected = _cli_counts(tmp_path)
    assert metric(app, "Outliers") == expected["outliers"]
    assert metric(app, "Total Events") == expected["total"]


def test_app_bad_search_points_at_the_problem(repo_root, data_dir):
    app = _create(_app(repo_root), "Bad search")
    app.text_input(key="exp.query").input('Name="unterminated').run()
    assert not app.exception
    assert any("Search" in e.value for e in app.error)


def test_app_splunk_in_list_gets_a_hint(repo_root, data_dir):
    app = _create(_app(repo_root), "Splunk habits")
    app.text_input(key="exp.query").input("Name IN (cmd.exe, whoami.exe)").run()
    assert not app.exception
    assert any("Name=a OR Name=b" in w.value for w in app.warning)


def test_app_opening_data_prepares_its_templates_in_the_background(repo_root, data_dir):
    from procanom.library import LIBRARY_FOLDER

    _create(_app(repo_root), "Templates ahead")

    # The sample's names, paths and command lines, made while the analyst
    # picks fields, so the first Detect of the default method reads them.
    folder = data_dir / LIBRARY_FOLDER
    for _ in range(100):
        kept = {p.name.split(".")[1] for p in folder.glob("*.templates/*.parquet")}
        if {"name", "path", "command_line"} <= kept:
            break
        time.sleep(0.1)
    assert {"name", "path", "command_line"} <= kept


def test_app_leaving_and_coming_back_keeps_the_experiment_settings(repo_root, data_dir):
    app = _create(_app(repo_root), "Come back")
    app.selectbox(key="exp.method").select("histogram").run()
    app.text_input(key="exp.query").input("Name=cmd.exe").run()

    # The sidebar to the list, then the browser's Back: no reopening.
    app.switch_page("pages/experiments.py").run()
    app.switch_page("pages/experiment.py").run()

    assert not app.exception, app.exception
    assert app.multiselect(key="exp.fields").value == FIELDS
    assert app.selectbox(key="exp.method").value == "histogram"
    assert app.text_input(key="exp.query").value == "Name=cmd.exe"


def test_app_coming_back_keeps_the_sensitivity_of_a_draft(repo_root, data_dir):
    app = _create(_app(repo_root), "Sensitivity kept")
    app = app.button(key="exp.detect").click().run()
    app.selectbox(key="exp.sensitivity").select("top").run()
    app.number_input(key="exp.sensitivity_value").set_value(7.0).run()
    flagged = metric(app, "Outliers")

    app.switch_page("pages/data.py").run()
    app.switch_page("pages/experiment.py").run()

    assert not app.exception, app.exception
    assert app.selectbox(key="exp.sensitivity").value == "top"
    assert app.number_input(key="exp.sensitivity_value").value == 7.0
    assert metric(app, "Outliers") == flagged


def test_app_link_to_an_unknown_experiment_says_so(repo_root, data_dir):
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    app.query_params["id"] = "e-gone"
    app.switch_page("pages/experiment.py").run()
    assert not app.exception, app.exception
    (warning,) = [w.value for w in app.warning]
    assert "There is no experiment 'e-gone' here" in warning
    assert "id" not in app.query_params


def test_app_experiment_list_finds_by_words_and_keeps_a_title(repo_root, data_dir):
    store = ExperimentStore(data_dir)
    store.create_experiment("Rare parents", "Office children", {"fields": ["Name"]})
    store.create_experiment("Lateral movement", "", {"fields": ["User", "host"]})
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()

    app = app.text_input(key="list.find").input("office name").run()
    titles = [m.value for m in app.markdown if m.value.startswith("**")]
    assert titles == ["**Rare parents**"]
    app = app.text_input(key="list.find").input("nothing like it").run()
    assert any("No experiment matches" in c.value for c in app.caption)

    # A blank title in Edit is refused, not silently ignored.
    app = app.text_input(key="list.find").input("").run()
    (summary,) = [s for s in store.list_experiments() if s.title == "Lateral movement"]
    app = app.toggle(key=f"edit.{summary.id}").set_value(True).run()
    (title_box,) = [t for t in app.text_input if t.value == "Lateral movement"]
    title_box.input("   ")
    app = button(app, "Save title and description").click().run()
    assert any("Give the experiment a title" in e.value for e in app.error)
    assert store.get_experiment(summary.id).title == "Lateral movement"


def test_app_search_matching_nothing_says_so_and_goes_no_further(repo_root, data_dir):
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Nothing")
    app = button(app, "Create").click().run()
    app = app.text_input(key="exp.query").input("Name=no-such-program.exe").run()
    assert not app.exception, app.exception
    assert any("No event matches" in w.value for w in app.warning)
    assert not any(b.key == "exp.detect" for b in app.button)
