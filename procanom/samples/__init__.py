"""Real process events bundled with procanom, so a new user sees results at once.

See ``README.md`` in this folder for origin, licence and attribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SAMPLES", "DEFAULT_SAMPLE", "Sample", "sample_path"]

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sample:
    """A bundled sample file and what it holds."""

    key: str
    filename: str
    title: str
    description: str

    @property
    def path(self) -> Path:
        """Where the file is on disk."""
        return _HERE / self.filename


SAMPLES: dict[str, Sample] = {
    sample.key: sample
    for sample in (
        Sample(
            "otrf-sysmon",
            "otrf_sysmon_process_creation.csv",
            "OTRF Sysmon process creation (1,316 events, 5 labs)",
            "Sysmon event 1 from OTRF Security-Datasets: real lab background"
            " activity with attack simulations mixed in. MIT, OTRF.",
        ),
        Sample(
            "mstic-host",
            "mstic_host_process_starts.csv",
            "MSTIC host process starts (363 events, 1 host)",
            "Security 4688 starts on one test VM, including an alert-simulation"
            " script. MIT, Microsoft MSTIC (msticpy).",
        ),
    )
}

DEFAULT_SAMPLE = "otrf-sysmon"


def sample_path(key: str) -> Path:
    """Return the file of the bundled sample ``key``."""
    from procanom.errors import ParameterError

    if key not in SAMPLES:
        raise ParameterError("sample", "one of " + ", ".join(SAMPLES), key)
    return SAMPLES[key].path
