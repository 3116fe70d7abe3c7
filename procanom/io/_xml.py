"""Windows event XML: ``wevtutil qe ... /f:xml`` and Event Viewer's "Save as XML".

``wevtutil`` writes ``<Event>`` elements one after another with no root
element; Event Viewer wraps them in ``<Events>``. Both are read as a
stream with xmltodict, and each event is brought to the shape the
``evtx`` package gives, so the columns match those of the same events read
from an EVTX file (``<Data Name="Image">`` becomes ``Event.EventData.Image``).
"""

from __future__ import annotations

import logging
import re
from xml.parsers.expat import ExpatError

from procanom.errors import InputFileError
from procanom.io._events import flatten_event
from procanom.io._frame import table_from_rows
from procanom.io._report import SkippedRow
from procanom.io._types import ParsedFile

logger = logging.getLogger(__name__)

# The declaration names the file's original encoding, which no longer holds
# for the decoded text; expat would refuse a UTF-16 one.
_DECLARATION = re.compile(r"<\?xml[^>]*\?>")
_FIRST_ELEMENT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_PROLOG = re.compile(r"\s*(?:<!--.*?-->\s*|<\?.*?\?>\s*|<!DOCTYPE[^>]*>\s*)*", re.S)

# XML 1.0 cannot carry most control characters, yet event data holds them
# and exporters write them raw. They travel through the parser as private
# use characters and are put back in the values afterwards.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_TO_PRIVATE = {c: 0xF700 + c for c in range(32) if c not in (9, 10, 13)}
_PRIVATE_TO_CONTROL = {v: k for k, v in _CONTROL_TO_PRIVATE.items()}
# A parser turns a raw CR into LF; written as a reference it stays a CR.
# That is only possible where no CR sits inside a tag.
_CR_IN_MARKUP = re.compile(r"<[^>]*\r")


def read_event_xml(text: str, name: str) -> ParsedFile:
    """Read Windows events written as XML.

    Parameters
    ----------
    text : str
        The decoded file.
    name : str
        The file's name, for messages.

    Returns
    -------
    ParsedFile
        Format ``event-xml``.

    Raises
    ------
    InputFileError
        When the XML is broken before the first complete event.
    """
    import xmltodict

    body = _DECLARATION.sub("", text)
    # Space around the root would become text outside it once CRs are
    # written as references; line breaks are kept for expat's line numbers.
    stripped = body.strip()
    head = body[: len(body) - len(body.lstrip())]
    body = "\n" * head.count("\n") + stripped
    first = _FIRST_ELEMENT.match(body, _PROLOG.match(body).end())
    if first is None:
        raise InputFileError(name, "holds no XML elements")
    if first.group(1).rsplit(":", 1)[-1] == "Event":
        # wevtutil output: events with no root. Wrapping on the same line
        # keeps expat's line numbers those of the file.
        body = "<Events>" + body + "</Events>"

    controls = _CONTROL.search(body) is not None
    if controls:
        body = body.translate(_CONTROL_TO_PRIVATE)
    if "\r" in body and not _CR_IN_MARKUP.search(body):
        body = body.replace("\r", "&#13;")

    rows: list[dict[str, str | None]] = []
    others: dict[str, int] = {}

    def on_item(path: list, item: object) -> bool:
        tag = path[-1][0].rsplit(":", 1)[-1]
        if tag == "Event":
            row = flatten_event({"Event": _evtx_shape(item)})
            if controls:
                row = {
                    k: v.translate(_PRIVATE_TO_CONTROL) if v else v
                    for k, v in row.items()
                }
            rows.append(row)
        else:
            others[tag] = others.get(tag, 0) + 1
        return True

    skipped: list[SkippedRow] = []
    warnings: list[str] = []
    try:
        xmltodict.parse(
            body,
            item_depth=2,
            item_callback=on_item,
            strip_whitespace=False,
            force_list=("Data",),
            disable_entities=True,
        )
    except ExpatError as exc:
        line = getattr(exc, "lineno", None)
        if not rows:
            raise InputFileError(
                name, f"is not well-formed XML ({_expat_reason(exc)})", line
            ) from None
        lines = text.splitlines()
        snippet = lines[line - 1] if line and line <= len(lines) else ""
        skipped.append(SkippedRow(name, line or 0, _expat_reason(exc), snippet))
        warnings.append(
            f"{name}: the XML breaks off at line {line:,} ({_expat_reason(exc)}); "
            f"the {len(rows):,} events before that point were read."
        )
    if others:
        logger.debug("%s: ignored non-event elements %s", name, others)
    if not rows:
        warnings.append(f"{name} holds no <Event> records.")
    return ParsedFile(table_from_rows(rows), "event-xml", skipped, warnings)


def _expat_reason(exc: ExpatError) -> str:
    return str(exc).split(":", 1)[0]


def _evtx_shape(node: object) -> object:
    """Bring xmltodict's output to the shape of the evtx package's JSON."""
    if node is None:
        return None
    if isinstance(node, str):
        return None if _layout_only(node) else node
    if isinstance(node, list):
        return [_evtx_shape(item) for item in node]

    attributes = {k[1:]: v for k, v in node.items() if k.startswith("@")}
    text = node.get("#text")
    shaped: dict[str, object] = {}
    if attributes:
        shaped["#attributes"] = attributes
    for key, value in node.items():
        if key.startswith("@") or key == "#text":
            continue
        if key == "EventData" and isinstance(value, dict):
            shaped[key] = _event_data(value)
        else:
            shaped[key] = _evtx_shape(value)

    has_children = len(shaped) > (1 if attributes else 0)
    if text is not None and not (_layout_only(text) and (attributes or has_children)):
        if not shaped:
            return text
        shaped["#text"] = text
    return shaped or None


def _event_data(node: dict) -> object:
    """Turn ``<Data Name="X">v</Data>`` elements into ``{"X": "v"}``.

    An empty named ``<Data>`` is an empty value, as EVTX renders it; data
    without names (classic event log entries) stay a list under ``Data``.
    """
    shaped: dict[str, object] = {}
    unnamed: list[object] = []
    for item in node.get("Data") or []:
        if isinstance(item, dict) and "@Name" in item:
            shaped[item["@Name"]] = item.get("#text") or ""
        elif isinstance(item, dict):
            unnamed.append(item.get("#text"))
        else:
            unnamed.append(item)
    if unnamed:
        shaped["Data"] = unnamed
    for key, value in node.items():
        if key not in ("Data", "#text") and not key.startswith("@"):
            shaped[key] = _evtx_shape(value)
    return shaped or None


def _layout_only(text: str) -> bool:
    """Say whether text is only the indentation of pretty-printed XML."""
    return "\n" in text and not text.strip()
