"""Turning a text export's bytes into text: byte-order marks, UTF-16, fallbacks.

Windows tools write text in several encodings: Windows PowerShell 5.1's ``>``
and ``Out-File`` write UTF-16 LE with a byte-order mark, ``Export-Csv``
writes ASCII (non-ASCII characters become ``?``), other tools write UTF-8
with or without a mark, and older tools write the ANSI code page
(Windows-1252 in the West). The mark, when present, decides; otherwise the
pattern of NUL bytes reveals UTF-16, and strict UTF-8 is tried before the
Windows-1252 fallback.
"""

from __future__ import annotations

import codecs
import logging
from dataclasses import dataclass

from procanom.errors import InputFileError

logger = logging.getLogger(__name__)

# Longest BOM first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]

# Bytes looked at to recognise BOM-less UTF-16 and binary content.
_SNIFF_BYTES = 64 * 1024


@dataclass
class DecodedText:
    """Text and how it was decoded.

    Attributes
    ----------
    text : str
        The decoded text, without a byte-order mark.
    encoding : str
        The encoding in words for the report (``utf-8 with BOM``, ...).
    codec : str
        The Python codec used.
    warning : str or None
        A sentence for the report when the encoding was a guess.
    """

    text: str
    encoding: str
    codec: str
    warning: str | None = None


def detect_bom(data: bytes) -> tuple[str, int] | None:
    """Return the codec a byte-order mark names and the mark's length."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    return None


def sniff_utf16(data: bytes) -> str | None:
    """Recognise BOM-less UTF-16 from where the NUL bytes fall.

    Text that is mostly ASCII, written as UTF-16 LE, has a NUL in every odd
    byte and (almost) none in the even ones; big-endian is the mirror image.
    """
    sample = data[: _SNIFF_BYTES - _SNIFF_BYTES % 2]
    half = len(sample) // 2
    if half < 2:
        return None
    nul_even = sample[0::2].count(0)
    nul_odd = sample[1::2].count(0)
    if nul_odd >= 0.3 * half and nul_even <= 0.05 * half:
        return "utf-16-le"
    if nul_even >= 0.3 * half and nul_odd <= 0.05 * half:
        return "utf-16-be"
    return None


def decode_text(data: bytes, name: str, encoding: str | None = None) -> DecodedText:
    """Decode a text export, detecting its encoding.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.
    encoding : str, optional
        A Python codec to use instead of detecting one.

    Returns
    -------
    DecodedText

    Raises
    ------
    InputFileError
        When ``encoding`` is given and cannot decode the file, or when the
        content is binary rather than text.
    """
    if encoding is not None:
        return _decode_forced(data, name, encoding)

    bom = detect_bom(data)
    if bom is not None:
        codec, skip = bom
        text, warning = _decode_lenient(data[skip:], codec, name)
        return DecodedText(text, f"{codec} with BOM", codec, warning)

    codec = sniff_utf16(data)
    if codec is not None:
        text, warning = _decode_lenient(data, codec, name)
        return DecodedText(text, codec, codec, warning)

    if b"\x00" in data[:_SNIFF_BYTES]:
        raise _not_text(name)
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    if _looks_binary(data[:_SNIFF_BYTES]):
        raise _not_text(name)
    return _decode_fallback(data, name, bad_at)


def _decode_forced(data: bytes, name: str, encoding: str) -> DecodedText:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputFileError(
            name, f"unknown text encoding {encoding!r}; use a Python codec name"
        ) from None
    bom = detect_bom(data)
    if bom is not None and bom[0].startswith(codec.replace("-sig", "")):
        data = data[bom[1] :]
    try:
        return DecodedText(data.decode(codec), encoding, codec)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            name,
            f"is not valid {encoding}: byte {exc.start} ({data[exc.start]:#04x}) "
            "cannot be decoded; choose another encoding or let procanom detect it",
        ) from None


def _decode_lenient(data: bytes, codec: str, name: str) -> tuple[str, str | None]:
    try:
        return data.decode(codec), None
    except UnicodeDecodeError as exc:
        text = data.decode(codec, errors="replace")
        bad = text.count("\ufffd")
        return text, (
            f"{name}: {bad:,} byte sequence(s) are not valid {codec} (first at "
            f"byte {exc.start:,}); they were replaced by '\ufffd'."
        )


def _decode_fallback(data: bytes, name: str, bad_at: int) -> DecodedText:
    # Windows-1252 decodes almost any byte string, so it is the safe
    # default for exports from Western Windows machines; the few undefined
    # bytes mean it is something else, and charset-normalizer guesses what.
    try:
        text = data.decode("cp1252")
        codec = "cp1252"
        label = "windows-1252"
    except UnicodeDecodeError:
        codec = _guess_codec(data) or "latin-1"
        text = data.decode(codec, errors="replace")
        label = codec
    warning = (
        f"{name} is not valid UTF-8 (first bad byte at offset {bad_at:,}); it "
        f"was read as {label}. If names or paths look wrong, save the export "
        "as UTF-8 and load it again."
    )
    return DecodedText(text, label, codec, warning)


def _guess_codec(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: the fallback still reads the file
        return None
    best = from_bytes(data[: 1024 * 1024]).best()
    return best.encoding if best is not None else None


def _looks_binary(sample: bytes) -> bool:
    """Say whether bytes are too full of control characters to be text."""
    if not sample:
        return False
    controls = sum(sample.count(b) for b in range(32) if b not in (9, 10, 12, 13))
    return controls > 0.05 * len(sample)


def _not_text(name: str) -> InputFileError:
    return InputFileError(
        name,
        "does not look like a process export: it is binary, but not EVTX, "
        "Parquet, gzip or zip. Expected CSV/TSV, JSON, Windows event XML, "
        "EVTX or Parquet.",
    )
