"""Normalising process names, paths and command lines into templates.

Two command lines that differ only in a session GUID, a process id, the
user's profile folder or the quoting of the program path are the same
behaviour. Counting them as different values makes every event unique and
every event an outlier. This module rewrites such values into *templates*:
the same value for the same behaviour, with placeholders where the varying
parts were. The raw value is never replaced: :func:`add_templates` adds new
columns (``CommandLine_template``) beside the originals.

What a template removes, in order:

- case (Windows file names and switches are case-insensitive) and runs of
  white space;
- the ``\\\\?\\`` and ``\\??\\`` prefixes, and ``\\Device\\HarddiskVolumeN\\`` and
  ``\\SystemRoot\\`` (read as drive ``C:``, where Windows lives in nearly every
  export);
- environment variables with a fixed meaning (``%SystemRoot%``,
  ``%windir%``, ``%ProgramFiles%``, ``%ProgramData%``, ``%TEMP%``, ...),
  also in their doubled ``%%SystemRoot%%`` form;
- 8.3 short names: ``PROGRA~1``, ``PROGRA~2`` and ``PROGRA~3`` become their
  long names, any other short name becomes ``<short>``;
- the user's profile folder (``C:\\Users\\alice\\`` becomes ``<userprofile>\\``,
  ``C:\\Users\\Public`` stays as it is) and temporary folders (the user's and
  Windows' ``Temp`` become ``<temp>\\``, and a file directly inside them
  ``<tmpfile>`` with its extension kept, since those names are random);
- GUIDs (``<guid>``), SIDs (``<sid>``), hexadecimal numbers (``<hex>``),
  decimal numbers (``<n>``), long base64-like blobs (``<b64>``) and
  random-looking file names that mix letters and digits (``<rand>``);
- in command lines, the program token becomes its bare file name with
  ``.exe`` added when missing, so ``"C:\\Program Files\\App\\app.exe" -x``,
  ``C:\\Program Files\\App\\app.exe -x`` and ``app -x`` share one template (the
  image path is in ``Path``); remaining double quotes are dropped.

Every rule is a regular expression run by Arrow's RE2 engine on the
*distinct* values of a column, so normalising a million events costs little
more than normalising their distinct values. The token rules (GUIDs to
quotes) cannot match across a space, so they run once per distinct
space-separated word of the distinct command lines: random ids make most
command lines unique, but their words repeat.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from procanom.scoring._encode import EncodedColumn

__all__ = [
    "FIELD_KINDS",
    "KnownTemplates",
    "encode_templates",
    "TEMPLATE_SUFFIX",
    "add_templates",
    "command_line_arguments",
    "field_kind",
    "normalize",
    "normalize_command_line",
    "normalize_name",
    "normalize_path",
    "normalize_text",
    "program_of",
    "template_column",
    "template_fingerprint",
    "template_values",
]

logger = logging.getLogger(__name__)

#: Suffix of the columns :func:`add_templates` adds.
TEMPLATE_SUFFIX = "_template"

#: Key of ``DataFrame.attrs`` where :func:`add_templates` records, for each
#: column it added, the raw field and the kind of its templates.
TEMPLATES_ATTR = "procanom_templates"

#: The kinds of field this module knows how to normalise.
FIELD_KINDS = ("name", "path", "command_line", "text")

# Rules are (RE2 pattern, replacement) pairs applied in order to lower-cased
# text. A path may start a value or follow a space, a quote, "=" or ",".
# Each group of rules has a *gate*: a cheap pattern that every value a rule
# of the group could change matches (a value the gate misses is left as it
# is by every rule of the group). Rules run on the gated values only, which
# keeps a million distinct command lines to a few seconds; since a gate
# misses only values the rules leave alone, a value's template never depends
# on the other values templated with it (tests check this on real data).
_START = r"(^|[\s\"'=,;(])"


@dataclass(frozen=True)
class _Group:
    gate: str | None
    rules: tuple[tuple[str, str], ...]


_PREFIXES = _Group(
    r"\\(?:\\\?|\?\?)\\|\\device\\harddiskvolume|\\systemroot\\",
    (
        (_START + r"\\(?:\\\?|\?\?)\\unc\\", r"\1\\\\"),
        (_START + r"\\(?:\\\?|\?\?)\\", r"\1"),
        (_START + r"\\device\\harddiskvolume\d+\\", r"\1c:\\"),
        (_START + r"\\systemroot\\", r"\1c:\\windows\\"),
    ),
)

# Environment variables whose meaning does not depend on the machine.
_ENVIRONMENT = {
    "systemroot": r"c:\\windows",
    "windir": r"c:\\windows",
    "systemdrive": "c:",
    "programfiles": r"c:\\program files",
    r"programfiles\(x86\)": r"c:\\program files (x86)",
    "programw6432": r"c:\\program files",
    "commonprogramfiles": r"c:\\program files\\common files",
    r"commonprogramfiles\(x86\)": r"c:\\program files (x86)\\common files",
    "programdata": r"c:\\programdata",
    "allusersprofile": r"c:\\programdata",
    "public": r"c:\\users\\public",
    "userprofile": "<userprofile>",
    "appdata": r"<userprofile>\\appdata\\roaming",
    "localappdata": r"<userprofile>\\appdata\\local",
    "temp": "<temp>",
    "tmp": "<temp>",
}
_ENV = _Group(
    "%", tuple((rf"%%?{name}%%?", value) for name, value in _ENVIRONMENT.items())
)

_SHORT_NAMES = _Group(
    "~",
    (
        (r"\\progra~1\\", r"\\program files\\"),
        (r"\\progra~2\\", r"\\program files (x86)\\"),
        (r"\\progra~3\\", r"\\programdata\\"),
    ),
)

_PROFILES = _Group(
    # "<temp>" and "<public>" may come from the environment rules or be in
    # the raw text: both are rewritten below, so both open the gate.
    r"\\(?:users|documents and settings|windows\\temp)\\|<userprofile>|<temp>|<public>"
    r"|~\d",
    (
        # Public is one folder shared by every user: keep it recognisable.
        (r"[a-z]:\\users\\public\\", "<public>\\\\"),
        (r"[a-z]:\\(?:users|documents and settings)\\[^\\\":]+\\", "<userprofile>\\\\"),
        ("<public>", r"c:\\users\\public"),
        (r"<userprofile>\\(?:appdata\\)?local(?: settings)?\\temp\\", "<temp>\\\\"),
        (r"[a-z]:\\windows\\temp\\", "<temp>\\\\"),
        # Any other 8.3 short name, once the known ones and profiles are done.
        (r"\\[a-z0-9_$!#&@^-]{1,6}~\d+(?:\.[a-z0-9_]{1,3})?\\", r"\\<short>\\"),
        # A file directly in a temporary folder is named at random by its maker.
        (r"<temp>\\[^\\\s\"',;]+\.([a-z0-9]{1,4})\b", r"<temp>\\<tmpfile>.\1"),
    ),
)

_TOKENS = (
    _Group(
        r"[0-9a-f]{8}-[0-9a-f]{4}-",
        (
            (
                r"\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?",
                "<guid>",
            ),
        ),
    ),
    _Group(r"s-1-\d", ((r"\bs-1-\d+(?:-\d+)+\b", "<sid>"),)),
    _Group(r"[a-z0-9+/]{32}", ((r"[a-z0-9+/]{32,}={0,2}", "<b64>"),)),
    # Decimal and hexadecimal numbers in one pass: "0x1f", "4711", "000001d8a9629c40".
    _Group(r"\d|[a-f]{8}", ((r"\b(?:0x[0-9a-f]+|\d+|[0-9a-f]{8,})\b", "<n>"),)),
    _Group(
        r"[0-9][a-z0-9]{10}|[a-z][0-9]",
        (
            (
                r"\b(?:[a-z]+[0-9]+|[0-9]+[a-z]+)[a-z0-9]{10,}\.([a-z0-9]{1,4})\b",
                r"<rand>.\1",
            ),
        ),
    ),
)

_EXECUTABLE = r"(?:exe|com|bat|cmd|scr|cpl|msc|pif)"
_PROGRAM = (
    # A program started by a relative path (".\\cmd") is the same program.
    _Group(r"^\.", ((r"^(?:\.{1,2}[\\/])+", ""),)),
    # A quoted program: keep its file name only.
    _Group(r"^\"", ((r"^\"(?:[^\"]*[\\/])?([^\"\\/]*)\"", r"\1"),)),
    # An unquoted program path, perhaps with spaces: up to the first name
    # ending in an executable extension followed by a space or the end; or,
    # without extension, the first word ("C:\\...\\net1 user").
    _Group(
        r"^(?:[a-z]:|\\|<[a-z]+>)",
        (
            (
                r"^(?:[a-z]:|\\|<[a-z]+>)[^\"]*?[\\/]([^\"\\/\s]+\."
                + _EXECUTABLE
                + r")(\s|$)",
                r"\1\2",
            ),
            (r"^(?:[a-z]:|\\|<[a-z]+>)[^\s\"]*[\\/]([^\s\"\\/.]+)(\s|$)", r"\1.exe\2"),
        ),
    ),
    # A bare program name without extension: Windows runs the .exe.
    _Group(r"^[^\s.\"\\/<>]+(?:\s|$)", ((r"^([^\s.\"\\/<>]+)(\s|$)", r"\1.exe\2"),)),
)

_SPACES = _Group(r"\s\s|[\t\n\r\f\v]", ((r"\s+", " "),))
_QUOTES = _Group('"', (('"', ""),))


def _apply(text: pa.Array, group: _Group) -> pa.Array:
    """Apply a group's rules to the values its gate lets through."""

    def rules(subset: pa.Array) -> pa.Array:
        for pattern, replacement in group.rules:
            subset = pc.replace_substring_regex(subset, pattern, replacement)
        return subset

    if group.gate is None:
        return rules(text)
    return _gated(text, group.gate, rules)


def _apply_all(text: pa.Array, groups: Iterable[_Group]) -> pa.Array:
    for group in groups:
        text = _apply(text, group)
    return text


# Any value a path rule could change matches this; most command lines do not.
_PATH_GATE = "|".join(
    f"(?:{group.gate})" for group in (_PREFIXES, _ENV, _SHORT_NAMES, _PROFILES)
)


def _lower(text: pa.Array) -> pa.Array:
    """Lower-case ``text``; Arrow's ASCII kernel is ten times faster on ASCII."""
    ascii_only = pc.string_is_ascii(text)
    if pc.all(ascii_only).as_py() is not False:
        return pc.ascii_lower(text)
    lowered = pc.ascii_lower(text)
    other = pc.invert(ascii_only)
    return pc.replace_with_mask(lowered, other, pc.utf8_lower(text.filter(other)))


def _path_rules(text: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(_lower(text))
    return _gated(text, _PATH_GATE, _path_groups)


def _path_groups(text: pa.Array) -> pa.Array:
    return _apply_all(text, (_PREFIXES, _ENV, _SHORT_NAMES, _PROFILES))


def _gated(
    text: pa.Array, gate: str, transform: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """Run ``transform`` on the values matching ``gate`` only.

    ``gate`` must match every value ``transform`` would change. When more
    than half the values match, transforming them all is cheaper than
    picking them out, and gives the same result.
    """
    if len(text) == 0:
        return text
    selected = pc.match_substring_regex(text, gate)
    hits = pc.sum(selected).as_py() or 0
    if hits == 0:
        return text
    if hits > len(text) // 2:
        return transform(text)
    changed = transform(text.filter(selected))
    return pc.replace_with_mask(text, selected, changed.cast(text.type))


def _template_name(text: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(_lower(text))
    # Some exports give a full path where the name belongs.
    text = pc.replace_substring_regex(text, r"^.*[\\/]", "")
    text = pc.replace_substring(text, '"', "")
    return pc.replace_substring_regex(text, r"^([^.]+)$", r"\1.exe")


def _template_path(text: pa.Array) -> pa.Array:
    text = _path_rules(text)
    text = _apply_all(text, _TOKENS)
    text = pc.replace_substring(text, '"', "")
    return pc.replace_substring_regex(text, r"\\([^\\.]+)$", r"\\\1.exe")


def _word_rules(words: pa.Array) -> pa.Array:
    words = _apply_all(words, _TOKENS)
    return _apply(words, _QUOTES)


def _by_word(text: pa.Array) -> pa.Array:
    r"""Run the token and quote rules once per distinct space-separated word.

    None of those rules matches a space, and a space is a non-word character
    like the ends of the text, so ``\b`` reads the same on a word alone:
    rewriting each word and joining them again gives what the rules give on
    the whole line.
    """
    if len(text) == 0:
        return text
    parts = pc.split_pattern(text, " ")
    words = pc.dictionary_encode(pc.list_flatten(parts))
    rewritten = _word_rules(words.dictionary).take(words.indices)
    lists = pa.ListArray.from_arrays(parts.offsets, rewritten)
    return pc.binary_join(lists, pa.scalar(" ", rewritten.type))


def _template_command_line(text: pa.Array) -> pa.Array:
    text = _path_rules(text)
    text = _apply_all(text, _PROGRAM)
    text = _by_word(text)
    # Command lines that differed in ids only are one line now.
    lines = pc.dictionary_encode(text)
    distinct = pc.utf8_trim_whitespace(_apply(lines.dictionary, _SPACES))
    return distinct.take(lines.indices)


def _template_text(text: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(_lower(text))
    return _apply(text, _SPACES)


_TEMPLATERS = {
    "name": _template_name,
    "path": _template_path,
    "command_line": _template_command_line,
    "text": _template_text,
}

# Values templated per thread at least: below this, starting threads costs
# more than it saves. Arrow's kernels release the GIL, so chunks run at once.
_CHUNK_MIN = 50_000


def _check_kind(kind: str) -> None:
    # Imported here: the scoring package itself imports this module.
    from procanom.errors import ParameterError

    if kind not in _TEMPLATERS:
        raise ParameterError("kind", "one of " + ", ".join(FIELD_KINDS), kind)


def template_values(values: pa.Array | pa.ChunkedArray, kind: str) -> pa.Array:
    """Return the template of each of ``values``, in order.

    Meant for distinct values (a column's dictionary, a dataset's distinct
    command lines): nothing is deduplicated here. A value's template depends
    on that value only, never on the others, so templates made once for a
    whole dataset hold for any selection of its events, and large inputs are
    split between threads.

    Parameters
    ----------
    values : pyarrow.Array or pyarrow.ChunkedArray
        Text; missing values are templated as ``""``.
    kind : {"name", "path", "command_line", "text"}

    Returns
    -------
    pyarrow.Array
        One template per value, ``large_string`` or ``string`` as the input.
    """
    _check_kind(kind)
    from procanom.scoring._encode import as_text_array

    text = as_text_array(values)
    templater = _TEMPLATERS[kind]
    workers = min(os.cpu_count() or 1, len(text) // _CHUNK_MIN)
    if workers < 2:
        return templater(text)
    bounds = np.linspace(0, len(text), workers + 1).astype(np.int64)
    chunks = [text.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(templater, chunks))
    return pa.concat_arrays([chunk.cast(done[0].type) for chunk in done])


def template_fingerprint() -> str:
    """Return a short id of the rules in force, for stored templates.

    Templates kept between runs (the dataset library keeps them per dataset)
    are only reused when made by the same rules; any change to this module
    changes the id.
    """
    return _FINGERPRINT


def _fingerprint() -> str:
    try:
        source = Path(__file__).read_bytes()
    except OSError:  # pragma: no cover - installed without sources
        source = repr(
            [_PREFIXES, _ENV, _SHORT_NAMES, _PROFILES, _TOKENS, _PROGRAM]
        ).encode()
    return hashlib.sha256(source).hexdigest()[:12]


_FINGERPRINT = _fingerprint()


@dataclass(frozen=True)
class KnownTemplates:
    """Templates made ahead for the distinct values of a column.

    A value's template depends on the value alone, so a caller that keeps
    them (the dataset library keeps them per dataset column) hands them to
    :func:`encode_templates` instead of having the rules run again.

    Attributes
    ----------
    values : pyarrow.Array
        Distinct raw values; the missing value is ``""``.
    templates : pyarrow.Array
        Distinct templates.
    template_of : numpy.ndarray
        ``int64`` position in ``templates`` of each value's template.
    """

    values: pa.Array
    templates: pa.Array
    template_of: np.ndarray

    @classmethod
    def from_table(cls, table: pa.Table) -> KnownTemplates:
        """Build from a table of ``value`` and its ``template``, one row each."""
        table = table.combine_chunks()
        values, templates = (
            _one_chunk(table.column(name)) for name in ("value", "template")
        )
        encoded = pc.dictionary_encode(templates)
        template_of = encoded.indices.to_numpy(zero_copy_only=False)
        return cls(values, encoded.dictionary, template_of.astype(np.int64))

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return self.values.nbytes + self.templates.nbytes + self.template_of.nbytes


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    # Of a combined table: one chunk, or none when it has no rows.
    return column.chunk(0) if column.num_chunks else pa.array([], column.type)


def encode_templates(
    column: pd.Series | pa.Array, kind: str, known: KnownTemplates | None = None
) -> EncodedColumn:
    """Return the templates of ``column`` as codes, distinct templates and counts.

    The same as encoding the output of :func:`normalize`
    (:func:`procanom.scoring._encode.encode_column`), templates in first-seen
    order, without building and hashing a template per event: the rules run
    once per distinct value and the distinct templates are encoded.

    Parameters
    ----------
    column : pandas.Series or pyarrow.Array
        Raw values of one field. Missing values become ``""``.
    kind : {"name", "path", "command_line", "text"}
    known : KnownTemplates, optional
        Templates already made by these rules for the column's values
        (:func:`template_fingerprint` tells the rules apart). Each event's
        value is looked up in it; should a value be missing from it, the
        rules run as without it.

    Returns
    -------
    procanom.scoring._encode.EncodedColumn
    """
    # Imported here: the scoring package itself imports this module.
    from procanom.scoring._encode import EncodedColumn, encode_column

    _check_kind(kind)
    if known is not None:
        found = _encode_known(column, known)
        if found is not None:
            return found
    raw = encode_column(column)
    templates = pc.dictionary_encode(template_values(raw.values, kind))
    # Raw values are in first-seen order, so the first raw value of each
    # template is its first event: templates keep the first-seen order.
    of_raw = templates.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = of_raw[raw.codes]
    values = templates.dictionary
    counts = np.bincount(codes, minlength=len(values)).astype(np.int64, copy=False)
    return EncodedColumn(codes=codes, values=values, counts=counts)


def _encode_known(
    column: pd.Series | pa.Array, known: KnownTemplates
) -> EncodedColumn | None:
    """:func:`encode_templates` by lookup alone; None if a value is not known."""
    from procanom.scoring._encode import EncodedColumn, text_chunks

    text = text_chunks(column)
    # One lookup per event replaces encoding the raw values and then looking
    # up the distinct ones: a single hash table, of the known values.
    found = pc.index_in(text, value_set=known.values)
    if found.null_count:
        empty = pc.index_in(pa.array([""], known.values.type), known.values)[0]
        found = pc.if_else(pc.is_null(text), empty, found)
        if found.null_count:
            return None
    if isinstance(found, pa.ChunkedArray):
        parts = [chunk.to_numpy(zero_copy_only=False) for chunk in found.chunks]
        positions = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    else:
        positions = found.to_numpy(zero_copy_only=False)
    # Numbered in order of first appearance, as encoding every event would.
    codes, first_seen = pd.factorize(known.template_of[positions])
    codes = codes.astype(np.int64, copy=False)
    values = known.templates.take(pa.array(first_seen))
    counts = np.bincount(codes, minlength=len(values)).astype(np.int64, copy=False)
    return EncodedColumn(codes=codes, values=values, counts=counts)


def _on_distinct(column: pd.Series | pa.Array, kind: str) -> pa.Array:
    """Run the ``kind`` rules once per distinct value and spread the result."""
    encoded = encode_templates(column, kind)
    return encoded.values.take(pa.array(encoded.codes))


def normalize(column: pd.Series | pa.Array, kind: str) -> pd.Series:
    """Return the template of every value of ``column``.

    Parameters
    ----------
    column : pandas.Series or pyarrow.Array
        Raw values of one field. Missing values become ``""``.
    kind : {"name", "path", "command_line", "text"}
        Which rules apply; see the module notes. ``"text"`` only folds case
        and white space.

    Returns
    -------
    pandas.Series
        Arrow-backed strings, one template per input value, with the input's
        index when it was a Series.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.Series(['"C:\\\\Windows\\\\System32\\\\reg" save X'])
    >>> normalize(raw, "command_line")[0]
    'reg.exe save x'
    """
    templates = _on_distinct(column, kind)
    index = column.index if isinstance(column, pd.Series) else None
    return pd.Series(
        templates.to_pandas(types_mapper=pd.ArrowDtype).array,
        index=index,
        dtype=pd.StringDtype("pyarrow"),
    )


def normalize_name(column: pd.Series | pa.Array) -> pd.Series:
    """Return process names case-folded, with ``.exe`` added when missing."""
    return normalize(column, "name")


def normalize_path(column: pd.Series | pa.Array) -> pd.Series:
    """Return image paths as templates (see the module notes)."""
    return normalize(column, "path")


def normalize_command_line(column: pd.Series | pa.Array) -> pd.Series:
    """Return command lines as templates (see the module notes)."""
    return normalize(column, "command_line")


def normalize_text(column: pd.Series | pa.Array) -> pd.Series:
    """Return values case-folded with white space collapsed (hosts, users)."""
    return normalize(column, "text")


_KIND_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "command_line",
        re.compile(r"(command_?line|cmd_?line|^process$|^parent_process$)"),
    ),
    ("path", re.compile(r"(path|image|exe$|^process_path$)")),
    ("name", re.compile(r"(^|_)(process_?)?name$|^name$|^parentname$")),
]


def field_kind(field: str) -> str:
    """Guess how a field should be normalised from its name.

    Parameters
    ----------
    field : str
        A column name such as ``CommandLine``, ``ParentPath``, ``Name`` or
        ``process_name``.

    Returns
    -------
    str
        ``"command_line"``, ``"path"``, ``"name"``, or ``"text"`` for any other
        field (hosts, users, ...), which is only case-folded.
    """
    lowered = field.lower()
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(lowered):
            return kind
    return "text"


def add_templates(
    frame: pd.DataFrame,
    fields: Sequence[str] | None = None,
    kinds: dict[str, str] | None = None,
    suffix: str = TEMPLATE_SUFFIX,
) -> pd.DataFrame:
    """Return ``frame`` with a template column beside each chosen field.

    Parameters
    ----------
    frame : pandas.DataFrame
        Process events.
    fields : sequence of str, optional
        Fields to normalise; by default every column whose name
        :func:`field_kind` recognises as a name, path or command line.
    kinds : dict, optional
        Overrides of :func:`field_kind`, e.g. ``{"process": "command_line"}``.
    suffix : str, default "_template"
        Appended to each field's name to name its template column.

    Returns
    -------
    pandas.DataFrame
        A shallow copy of ``frame`` with the new columns; raw values are
        untouched. ``attrs[TEMPLATES_ATTR]`` records which field and kind
        each column holds, so scoring can use the templates made here
        (once, at ingest) instead of making them again
        (:func:`template_column`). A template column is not updated when its
        raw field is edited afterwards: call this function again.
    """
    kinds = dict(kinds or {})
    if fields is None:
        fields = [
            str(c)
            for c in frame.columns
            if kinds.get(str(c), field_kind(str(c))) != "text"
            and not str(c).endswith(suffix)
        ]
    out = frame.copy(deep=False)
    made = dict(frame.attrs.get(TEMPLATES_ATTR, {}))
    for name in fields:
        kind = kinds.get(name, field_kind(name))
        out[f"{name}{suffix}"] = normalize(frame[name], kind)
        made[f"{name}{suffix}"] = [name, kind]
    out.attrs = {**frame.attrs, TEMPLATES_ATTR: made}
    logger.info("added templates for %s", ", ".join(fields) or "no field")
    return out


def template_column(frame: pd.DataFrame, field: str, kind: str) -> str | None:
    """Return the column of ``frame`` holding ``field``'s ``kind`` templates.

    Only columns :func:`add_templates` made (and recorded in
    ``frame.attrs``) count, so a column that merely has the right name is
    never taken for templates.

    Parameters
    ----------
    frame : pandas.DataFrame
    field : str
        The raw field.
    kind : {"name", "path", "command_line", "text"}

    Returns
    -------
    str or None
        The column's name, or None when there is none.
    """
    made = frame.attrs.get(TEMPLATES_ATTR) or {}
    for column, source in made.items():
        if column in frame.columns and list(source) == [field, kind]:
            return column
    return None


def program_of(templates: pd.Series | pa.Array) -> pd.Series:
    """Return the program (first token) of command-line templates."""
    text = templates if isinstance(templates, pa.Array) else pa.array(templates.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    first = pc.replace_substring_regex(text, r"\s.*$", "")
    return pd.Series(first.to_pandas(types_mapper=pd.ArrowDtype).array).astype(
        pd.StringDtype("pyarrow")
    )


def command_line_arguments(
    templates: pd.Series | pa.Array,
) -> tuple[np.ndarray, pa.Array]:
    """Split command-line templates into their argument tokens.

    The program (first token) is not an argument. Tokens are separated by
    white space; a template has as many tokens as it has words after the
    program, and a repeated token counts once.

    Parameters
    ----------
    templates : pandas.Series or pyarrow.Array
        Output of :func:`normalize_command_line`.

    Returns
    -------
    rows : numpy.ndarray
        ``int64`` index of the template each token came from.
    tokens : pyarrow.Array
        The tokens, aligned with ``rows``.
    """
    text = templates if isinstance(templates, pa.Array) else pa.array(templates.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    arguments = pc.replace_substring_regex(text, r"^\S*\s?", "")
    split = pc.split_pattern(arguments, " ")
    rows = pc.list_parent_indices(split).to_numpy(zero_copy_only=False)
    tokens = pc.list_flatten(split)
    keep = pc.not_equal(tokens, "").to_numpy(zero_copy_only=False)
    rows = rows[keep].astype(np.int64, copy=False)
    tokens = tokens.filter(pa.array(keep))
    if len(tokens):
        # A token repeated on one command line counts once for that line.
        pairs = pd.DataFrame(
            {"row": rows, "token": tokens.to_numpy(zero_copy_only=False)}
        )
        pairs = pairs.drop_duplicates()
        rows = pairs["row"].to_numpy(np.int64)
        tokens = pa.array(pairs["token"].to_numpy(object), type=pa.string())
    return rows, tokens
