"""One column naming for Windows event records, from EVTX and from XML.

Both readers bring a record to the shape the ``evtx`` package renders as
JSON (``{"Event": {"System": {...}, "EventData": {...}}}``, attributes
under ``#attributes``, element text with attributes under ``#text``) and
flatten it here, so the same event gives the same columns whichever way it
was exported: ``Event.System.EventID``, ``Event.System.Provider.Name``,
``Event.System.TimeCreated.SystemTime``, ``Event.EventData.Image``.
"""

from __future__ import annotations

from collections.abc import Mapping

from procanom.io._frame import join_multivalue, scalar_text


def flatten_event(record: Mapping[str, object]) -> dict[str, str | None]:
    """Flatten an event record into dotted names with text values.

    An element's attributes become columns under its name
    (``Event.System.Execution.ProcessID``); an element with both text and
    attributes gives its text under its own name, so ``EventID`` is a plain
    value even when it carries ``Qualifiers``. Repeated elements become one
    multivalue value.
    """
    out: dict[str, str | None] = {}
    _walk(record, "", out)
    return out


def _walk(node: object, path: str, out: dict) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if type(value) is str and key[:1] != "#":
                out[f"{path}.{key}" if path else key] = value
            elif key == "#attributes" and isinstance(value, dict):
                for attribute, text in value.items():
                    out[f"{path}.{attribute}"] = scalar_text(text)
            elif key == "#text":
                if isinstance(value, list):
                    out[path] = join_multivalue(value)
                else:
                    out[path] = scalar_text(value)
            else:
                _walk(value, f"{path}.{key}" if path else key, out)
        if not node:
            out[path] = None
    elif isinstance(node, list):
        if all(not isinstance(item, (dict, list)) for item in node):
            out[path] = join_multivalue(node)
            return
        # Repeated complex elements: flatten each, then merge per column.
        parts: dict[str, list] = {}
        for item in node:
            one: dict[str, str | None] = {}
            _walk(item, path, one)
            for key, value in one.items():
                parts.setdefault(key, []).append(value)
        for key, values in parts.items():
            out[key] = join_multivalue(values)
    else:
        out[path] = scalar_text(node)
