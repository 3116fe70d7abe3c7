"""procanom: find the Windows processes that do not belong.

Categorical outlier detection on process events, with Splunk
``anomalydetection`` parity and methods that go beyond it.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
