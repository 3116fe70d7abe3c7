"""The experiment flow through the real page, as an analyst clicks it."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from procanom.cli import main as cli_main
from procanom.experiment import DEFAULT_FIELDS

pytestmark = pytest.mark.browser

FIELDS = ",".join(DEFAULT_FIELDS)  # what a new experiment starts with


def _wait_for_app(page) -> None:
    # The app's element says whether its script is still running.
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !['running', 'rerunRequested'].includes(document.querySelector("
        "'[data-testid=\"stApp\"]').getAttribute('data-test-script-state'))"
    )


def _expect_metric(page, label: str, value: int) -> None:
    metric = page.locator("[data-testid='stMetric']").filter(has_text=label)
    expect(metric.locator("[data-testid='stMetricValue']")).to_have_text(f"{value:,}")


def _cli_outliers(tmp_path) -> tuple[int, int]:
    out = tmp_path / "cli.json"
    assert (
        cli_main(
            [
                "detect",
                "--sample",
                "otrf-sysmon",
                "--fields",
                FIELDS,
                "--method",
                "histogram",
                "--no-cutoff",
                "--format",
                "json",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads(out.read_text())["results"]
    return sum(r["isOutlier"] for r in rows), len(rows)


def test_browser_create_detect_save_reopen(app_server, page, artifacts, tmp_path):
    _create_histogram_experiment(page, app_server["url"], "Rogue processes in the lab")
    page.get_by_role("button", name="Detect Outliers").click()
    page.locator("[data-testid='stMetric']").first.wait_for()
    _wait_for_app(page)

    outliers, total = _cli_outliers(tmp_path)
    assert outliers > 0 and total == 1316
    _expect_metric(page, "Outliers", outliers)
    _expect_metric(page, "Total Events", total)
    page.locator("[class*='st-key-exp-table-']").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "experiment-results.png"), full_page=True)

    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()

    # Reopen from the list in a fresh page, as another day would.
    page.goto(app_server["url"])
    _wait_for_app(page)
    card = page.locator("[class*='st-key-card-']").filter(
        has_text="Rogue processes in the lab"
    )
    expect(card).to_contain_text(re.compile(rf"{outliers}\s*outliers of\s*1,316"))
    page.screenshot(path=str(artifacts / "experiments-list.png"), full_page=True)
    card.get_by_role("button", name="Open").click()
    page.get_by_role("heading", name="History").wait_for()
    page.get_by_role("button", name="Load this run").click()
    page.locator("[data-testid='stMetric']").first.wait_for()
    _wait_for_app(page)
    _expect_metric(page, "Outliers", outliers)


def _create_experiment(page, url: str, title: str) -> None:
    page.goto(url)
    _wait_for_app(page)
    # The form opens by itself only while there are no experiments.
    form = page.locator("details").filter(has_text="Create new experiment")
    if form.get_attribute("open") is None:
        page.get_by_text("Create new experiment").click()
    box = page.get_by_label("Title")
    box.fill(title)
    expect(box).to_have_value(title)
    page.get_by_role("button", name="Create", exact=True).click()
    try:
        page.get_by_role("heading", name=title).wait_for()
    except Exception:
        # What the page showed instead, for whoever reads the failure.
        shots = Path(__file__).resolve().parents[2] / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / f"create-{title}.png"), full_page=True)
        raise


def _create_histogram_experiment(page, url: str, title: str) -> None:
    _create_experiment(page, url, title)
    page.locator(".st-key-exp-method input").click()
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=re.compile("^histogram")).click()
    _wait_for_app(page)
    page.get_by_text("cutoff (strict threshold)").click()
    _wait_for_app(page)


def _select_first_row(page) -> None:
    # The table is a canvas: click the selection box of its first row.
    grid = page.locator("[class*='st-key-exp-table-']")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)
    _wait_for_app(page)


def test_browser_select_explain_allow_compare_export(
    app_server, page, artifacts, tmp_path
):
    _create_histogram_experiment(page, app_server["url"], "Hunt with feedback")
    page.get_by_role("button", name="Detect Outliers").click()
    page.locator("[data-testid='stMetric']").first.wait_for()
    _wait_for_app(page)
    outliers, _ = _cli_outliers(tmp_path)
    _expect_metric(page, "Outliers", outliers)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    _wait_for_app(page)

    # Selecting the most unusual event opens its detail.
    _select_first_row(page)
    page.get_by_text("Rarest value").first.wait_for()
    page.get_by_text("This is expected").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "outlier-detail.png"), full_page=True)

    # "This is expected": the event stops being flagged and is counted.
    page.get_by_label("Why is it expected?").fill("lab build tooling")
    page.get_by_role("button", name="Add to the allow-list").click()
    _wait_for_app(page)
    _expect_metric(page, "Outliers", outliers - 1)
    _expect_metric(page, "Suppressed", 1)
    expect(page.get_by_text("1 suppressed by 1 rule").first).to_be_visible()

    # Against the saved run, the suppressed event is the one gone.
    page.locator(".st-key-exp-view").get_by_text("Compare runs").click()
    _wait_for_app(page)
    expect(
        page.get_by_text(re.compile(r"^0 new, 1 gone, \d+ still flagged"))
    ).to_be_visible()
    page.screenshot(path=str(artifacts / "compare-runs.png"), full_page=True)

    # The outliers download holds what the page counts.
    page.locator(".st-key-exp-view").get_by_text("Export").click()
    _wait_for_app(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV", exact=True).click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == outliers - 1
    assert {"probable_cause", "anomaly_score"} <= set(rows[0])


def test_browser_upload_on_the_data_page(app_server, page, artifacts, shared_data):
    page.goto(app_server["url"] + "/data")
    _wait_for_app(page)
    page.get_by_text("Add data").click()
    upload = page.locator(".st-key-data-upload input[type='file']")
    upload.set_input_files(
        [
            str(shared_data / "winhostmon_process_sample.csv"),
            str(shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv"),
        ]
    )
    page.get_by_role("button", name="Add to the library").wait_for()
    page.get_by_label("Dataset name").fill("Two labs")
    page.get_by_role("button", name="Add to the library").click()
    # Both files in one dataset: 363 WinHostMon and 1,316 Sysmon events.
    expect(page.get_by_text("Added 'Two labs': 1,679 process events.")).to_be_visible(
        timeout=120_000
    )
    page.screenshot(path=str(artifacts / "data-upload.png"), full_page=True)


def test_browser_first_visit_by_a_page_url_gets_the_whole_app(page, tmp_path):
    from app_server import running_app

    # A fresh server whose first visitor comes by a bookmark to the Data page.
    with running_app(tmp_path / "data", tmp_path / "streamlit.log") as url:
        page.goto(url + "/data")

        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Allow-list")).to_be_visible()
        expect(sidebar.get_by_text("Your name")).to_be_visible()
        expect(sidebar.get_by_text("allowlist", exact=True)).to_have_count(0)


def test_browser_method_parameters_survive_a_search_error(app_server, page):
    _create_experiment(page, app_server["url"], "Search typo")

    # A search error stops the page above the method's parameter boxes...
    search = page.get_by_role("textbox", name="Search")
    search.fill('"')
    search.press("Enter")
    _wait_for_app(page)
    expect(page.get_by_text("unterminated quote").first).to_be_visible()
    search = page.get_by_role("textbox", name="Search")
    search.fill("")
    search.press("Enter")
    expect(page.get_by_text("events match")).to_be_visible(timeout=30_000)
    _wait_for_app(page)

    # ...and they come back with their values, not 0.
    page.get_by_text("conditional parameters").click()
    alpha = page.get_by_role("spinbutton", name="alpha")
    expect(alpha).to_have_value("3", timeout=30_000)
    page.get_by_role("button", name="Detect Outliers").click()
    _wait_for_app(page)
    expect(page.locator("[data-testid='stMetric']").first).to_be_visible()
    assert page.get_by_text("Detection failed").count() == 0
