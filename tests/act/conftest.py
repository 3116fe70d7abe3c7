"""Fixtures for acting on outliers: a store, small results, a local webhook."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from act_helpers import FIELDS, SAMPLE

from procanom.alerts import ALERT_DIRS_ENV
from procanom.experiment import DataSource, ExperimentSettings
from procanom.io import LoadedEvents, read_upload
from procanom.samples import SAMPLES
from procanom.scoring import DetectionResult, detect
from procanom.store import ExperimentStore


@pytest.fixture(autouse=True)
def no_alert_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Alert files go only where each test says, whatever the shell sets."""
    monkeypatch.delenv(ALERT_DIRS_ENV, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExperimentStore]:
    """A fresh store in a temporary data folder."""
    opened = ExperimentStore(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def sample_events() -> LoadedEvents:
    """The bundled OTRF sample, read as the app and the runner read it."""
    sample = SAMPLES[SAMPLE]
    return read_upload([(sample.filename, sample.path.read_bytes())])


@pytest.fixture(scope="session")
def sample_result(sample_events: LoadedEvents) -> DetectionResult:
    """The histogram result on Name and ParentName of the sample."""
    return detect(sample_events.frame, FIELDS, method="histogram")


@pytest.fixture
def sample_settings() -> ExperimentSettings:
    """Settings scoring the bundled sample on Name and ParentName."""
    return ExperimentSettings(
        data_source=DataSource("sample", SAMPLE), fields=FIELDS, method="histogram"
    )


@dataclass
class Webhook:
    """A local HTTP server answering POSTs with scripted statuses."""

    url: str
    statuses: list[int]
    delay_s: float = 0.0
    requests: list[dict] = field(default_factory=list)

    @property
    def accepted(self) -> list[dict]:
        """The requests answered with a 2xx status."""
        return [r for r in self.requests if 200 <= r["status"] < 300]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A webhook on 127.0.0.1 at a random port; set ``.statuses`` to script it.

    Statuses are used in order (0: an answer that is not HTTP); once used up,
    it answers 200.
    """
    hook = Webhook(url="", statuses=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            status = hook.statuses.pop(0) if hook.statuses else 200
            time.sleep(hook.delay_s)
            hook.requests.append(
                {
                    "status": status,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "json": json.loads(body),
                }
            )
            if status == 0:  # not HTTP at all
                self.wfile.write(b"garbage\r\n\r\n")
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/SECRET"
    yield hook
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
