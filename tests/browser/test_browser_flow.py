"""The experiment flow through the real page, as an analyst clicks it."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from procanom.cli import main as cli_main

pytestmark = pytest.mark.browser

FIELDS = "Name,Path,CommandLine,host"


def _wait_for_app(page) -> None:
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
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
    page.goto(app_server["url"])
    _wait_for_app(page)
    page.get_by_label("Title").fill("Rogue processes in the lab")
    page.get_by_label("Description").fill("Sysmon process creation, 5 labs")
    page.get_by_role("button", name="Create").click()

    page.get_by_role("heading", name="Rogue processes in the lab").wait_for()
    page.get_by_text("cutoff (strict threshold)").click()
    _wait_for_app(page)
    page.get_by_role("button", name="Detect Outliers").click()
    page.locator("[data-testid='stMetric']").first.wait_for()
    _wait_for_app(page)

    outliers, total = _cli_outliers(tmp_path)
    assert outliers > 0 and total == 1316
    _expect_metric(page, "Outliers", outliers)
    _expect_metric(page, "Total Events", total)
    page.get_by_text("Data and Outliers").scroll_into_view_if_needed()
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
