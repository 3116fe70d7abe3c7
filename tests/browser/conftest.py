"""A real app server and a real headless Chromium, started by the tests.

Playwright cannot download its own browser here, so the tests drive
Debian's ``chromium`` (``scripts/test`` installs it). Without it, the browser
tests are skipped with that reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_server import running_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app on a free port with an empty data folder, for the session."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    log_path = tmp_path_factory.mktemp("logs") / "streamlit.log"
    with running_app(data_dir, log_path) as url:
        yield {"url": url, "data_dir": data_dir}


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page, 1400 x 1000."""
    from playwright.sync_api import expect

    # CI machines are small and busy: a page may take seconds to settle.
    expect.set_options(timeout=30_000)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots the browser tests save."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
