"""Helpers shared by the AppTest tests of the pages."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def button(app: AppTest, label: str):
    """The button (or form submit button) with this label."""
    return next(b for b in app.button if b.label == label)


def metric(app: AppTest, label: str) -> int:
    """The value of the metric with this label, as a number."""
    value = next(m.value for m in app.metric if m.label == label)
    return int(str(value).replace(",", ""))
