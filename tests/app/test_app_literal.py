"""Text from events and users is shown literally, never rendered."""

from __future__ import annotations

import pytest

from ui.text import literal


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "**bold** _it_ `code` $x^2$",
        'cmd.exe /c "echo | findstr #1"',
        "C:\\Users\\*\\AppData",
    ],
)
def test_literal_escapes_every_markdown_special(text):
    escaped = literal(text)
    # Every special character is preceded by a backslash...
    unescaped = escaped.replace("\\\\", "").replace("\\", "")
    assert unescaped == text.replace("\\", "")
    # ...so nothing markdown acts on is left bare.
    for special in "<>[]*_`$|#":
        assert special not in escaped.replace("\\" + special, "")


def test_literal_names_characters_that_reorder_or_hide_text():
    # Shown as is, "x\u202eexe.txt" reads "xtxt.exe".
    assert literal("x\u202eexe.txt") == "x<U+202E>exe.txt".replace("<", "\\<").replace(
        ">", "\\>"
    )
    assert "\u200b" not in literal("svc\u200bhost.exe")


def test_shown_by_names_invisible_characters_in_options():
    from ui.text import shown_by

    titles = {"e1": "Hunt \u202eexe.txt"}
    assert shown_by(titles.get)("e1") == "Hunt <U+202E>exe.txt"
