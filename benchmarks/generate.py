"""Synthetic process events at any scale, resampled from real ones.

The real public exports in ``shared/data`` hold about 1,700 process starts
from a dozen hosts. Benchmarks need a million or more, with the shape a
fleet gives: thousands of hosts of very uneven activity, a few hundred
image names, about a thousand image paths and command lines that are mostly
unique. :func:`make_events` builds such a frame by resampling the real
events and varying them:

- ``host``: about 2,000 names built from the real ones with a numeric
  suffix (``MKT17``, ``WORKSTATION42``), drawn with Zipf popularity
  (weight ``1 / rank``), so a few hosts are busy and most are quiet.
- ``Name``: the real image names plus about 150 plausible variants
  (``procdump64.exe``, ``SVCHOST.EXE``, ``setup (1).exe``); a few percent
  of events use a variant. About 300 distinct names on a million events.
- ``Path``: the real directory of the image, or for a few percent of events
  one of the image's alternative installs (a user's ``Downloads`` or
  ``Temp``, a versioned ``Program Files`` folder, ``SysWOW64``...). About
  1,000 distinct paths on a million events.
- ``CommandLine`` and ``ParentCommandLine``: the real command line with its
  volatile tokens redrawn at random in the same shape: GUIDs, long hex ids,
  decimal numbers (process ids, ports, handles, counters), temporary file
  names and AppX ids. Only about a fifth of the real events carry such a
  token, so events are resampled with those templates weighted up until
  they make 70% of events; then more than 60% of command lines are unique.
- ``User``: accounts of the real domains with numeric suffixes (Zipf
  popularity too); the built-in service accounts are kept as they are.
- ``ProcessId``, ``ParentProcessId``: random multiples of 4, as Windows
  gives them. ``_time``: ISO-8601 UTC with milliseconds, increasing, about
  one million events a day from 2024-01-01.

Every column is text, ``pandas.StringDtype("pyarrow")``. The same ``n`` and
``seed`` give the same frame, and the command line writes the same rows in
chunks, so a 10-million-row CSV never has to fit in memory at once.

Usage::

    python benchmarks/generate.py 10000000 events.csv --seed 0
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["COLUMNS", "make_events", "iter_event_tables", "shared_data_dir"]

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The columns of a generated frame, in order.
COLUMNS = (
    "_time",
    "host",
    "User",
    "Name",
    "Path",
    "CommandLine",
    "ProcessId",
    "ParentProcessId",
    "ParentName",
    "ParentPath",
    "ParentCommandLine",
)

SOURCES = (
    "eval/otrf_sysmon1_process_events_labelled.csv",
    "winhostmon_process_sample.csv",
)
TEMPLATE_COLUMNS = (
    "host",
    "User",
    "Name",
    "Path",
    "CommandLine",
    "ParentName",
    "ParentPath",
    "ParentCommandLine",
)

CHUNK_ROWS = 1_000_000
N_HOSTS = 2_000
N_USERS = 1_500
N_NAME_VARIANTS = 150
N_PATHS_TARGET = 1_000
NAME_VARIANT_RATE = 0.06
PATH_VARIANT_RATE = 0.08
VOLATILE_SHARE = 0.70
MAX_TOKENS = 4  # volatile tokens redrawn per command line; later ones stay
EVENTS_PER_DAY = 1_000_000
START = np.datetime64("2024-01-01T00:00:00", "ms")
_NO_SEPARATOR = pa.scalar("", pa.large_string())
_Z = pa.scalar("Z", pa.large_string())

#: Volatile tokens of a command line, most specific first.
TOKEN_RE = re.compile(
    r"(?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}"
    r"-[0-9A-Fa-f]{12})"
    r"|(?<=AppX)(?P<appx>[a-z0-9]{32})"
    r"|(?i:(?<=\\temp\\))(?P<temp>[A-Za-z0-9_~\-]{3,})"
    r"|(?<![\w.\-])(?P<hex>(?=[0-9A-Fa-f]*[0-9])(?=[0-9A-Fa-f]*[A-Fa-f])"
    r"[0-9A-Fa-f]{8,})(?![\w.])"
    r"|(?<![\w.\-])(?P<num>[1-9][0-9]+)(?![\w.])"
)

#: Character classes of the random token patterns (see ``_token_pattern``).
ALPHABETS = {
    "h": b"0123456789abcdef",
    "H": b"0123456789ABCDEF",
    "d": b"0123456789",
    "D": b"123456789",
    "a": b"abcdefghijklmnopqrstuvwxyz0123456789",
}

SERVICE_ACCOUNT_RE = re.compile(r"^(NT AUTHORITY|NT SERVICE|Window Manager|Font Dr)")

NAME_VARIANT_FORMS = (
    "{stem}64{ext}",
    "{stem}32{ext}",
    "{stem}_x64{ext}",
    "{stem}Setup{ext}",
    "{stem}Helper{ext}",
    "{stem} (1){ext}",
    "{stem}_old{ext}",
    "{STEM}{EXT}",
    "{lower}",
)

ALT_DIR_FORMS = (
    "C:\\Users\\{user}\\Downloads",
    "C:\\Users\\{user}\\AppData\\Local\\Temp",
    "C:\\Users\\{user}\\AppData\\Local\\Temp\\{rand}",
    "C:\\Users\\{user}\\AppData\\Roaming\\{vendor}",
    "C:\\Program Files\\{vendor}\\{version}",
    "C:\\Program Files (x86)\\{vendor}\\{version}",
    "C:\\ProgramData\\{vendor}\\{version}",
    "C:\\Windows\\Temp\\{rand}",
    "C:\\Windows\\SysWOW64",
)
VENDORS = (
    "Microsoft\\Edge\\Application",
    "Microsoft\\EdgeUpdate",
    "Microsoft Monitoring Agent\\Agent",
    "Microsoft Office\\root\\Office16",
    "Google\\Chrome\\Application",
    "Mozilla Firefox",
    "7-Zip",
    "Notepad++",
    "Zoom\\bin",
    "Windows Defender\\Platform",
)


def shared_data_dir(shared_dir: Path | None = None) -> Path:
    """Return the folder of the real exports (``<shared>/data``).

    Parameters
    ----------
    shared_dir : pathlib.Path, optional
        The shared folder; by default ``$PROCANOM_SHARED`` or the ``shared``
        folder beside the repository.
    """
    if shared_dir is None:
        shared_dir = Path(
            os.environ.get("PROCANOM_SHARED", REPO_ROOT.parent / "shared")
        )
    return Path(shared_dir) / "data"


# Reading the real events ----------------------------------------------------
def _read_templates(data_dir: Path) -> pa.Table:
    """Read the real events' template columns as one text table."""
    tables = []
    for relative in SOURCES:
        path = data_dir / relative
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: the real process events are needed to generate "
                "benchmark events; pass --shared (shared_dir=) or set "
                "PROCANOM_SHARED to the folder holding data/"
            )
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.large_string() for c in TEMPLATE_COLUMNS},
                strings_can_be_null=False,
            ),
        )
        columns = {}
        for name in TEMPLATE_COLUMNS:
            if name in table.column_names:
                columns[name] = table[name].combine_chunks()
            else:  # the WinHostMon sample has no parent command line
                columns[name] = pa.array([""] * table.num_rows, pa.large_string())
        tables.append(pa.table(columns))
    return pa.concat_tables(tables)


# Random text, vectorised -----------------------------------------------------
def _random_text(rng: np.random.Generator, pattern: str, count: int) -> pa.Array:
    """Return ``count`` random strings shaped like ``pattern``.

    Each character of ``pattern`` is a class of :data:`ALPHABETS` or a
    literal, so ``"hhhh-hh"`` gives strings such as ``"3fa0-9c"``.
    """
    width = len(pattern)
    chars = np.empty((count, width), dtype=np.uint8)
    classes = np.array(list(pattern))
    for cls in np.unique(classes):
        positions = np.flatnonzero(classes == cls)
        if cls in ALPHABETS:
            alphabet = np.frombuffer(ALPHABETS[cls], dtype=np.uint8)
            picks = rng.integers(0, len(alphabet), size=(count, len(positions)))
            chars[:, positions] = alphabet[picks]
        else:
            chars[:, positions] = ord(cls)
    offsets = np.arange(count + 1, dtype=np.int64) * width
    return pa.LargeStringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())
    )


def _token_pattern(kind: str, token: str) -> str:
    """Return the random pattern that replaces one volatile token."""
    if kind in ("guid", "hex"):
        cls = "H" if any(c.isupper() for c in token) else "h"
        return "".join("-" if c == "-" else cls for c in token)
    if kind == "num":
        return "D" + "d" * (len(token) - 1)
    return "a" * len(token)  # temp file names and AppX ids


def _zipf_weights(n: int, exponent: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def _split_user(user: str) -> tuple[str, str]:
    domain, _, name = user.rpartition("\\")
    return domain, name


# The pools: hosts, users, names, paths, command-line templates ---------------
@dataclass
class _CommandTemplates:
    """Command lines split into literal pieces and volatile token slots."""

    literals: list[pa.Array]  # MAX_TOKENS + 1 arrays, one value per template
    patterns: list[str]  # the distinct token patterns
    slot_pattern: np.ndarray  # (templates, MAX_TOKENS) pattern index, -1 = none
    volatile: np.ndarray  # (templates,) bool: has at least one token

    @classmethod
    def build(cls, lines: list[str]) -> _CommandTemplates:
        pattern_ids: dict[str, int] = {}
        literals = [[] for _ in range(MAX_TOKENS + 1)]
        slot_pattern = np.full((len(lines), MAX_TOKENS), -1, dtype=np.int64)
        for t, line in enumerate(lines):
            pieces, last = [], 0
            for slot, match in enumerate(TOKEN_RE.finditer(line)):
                if slot == MAX_TOKENS:
                    break
                pieces.append(line[last : match.start()])
                pattern = _token_pattern(match.lastgroup, match.group())
                slot_pattern[t, slot] = pattern_ids.setdefault(
                    pattern, len(pattern_ids)
                )
                last = match.end()
            pieces.append(line[last:])
            pieces += [""] * (MAX_TOKENS + 1 - len(pieces))
            # The tail after the last redrawn token goes into the last piece.
            for i, piece in enumerate(pieces[:MAX_TOKENS]):
                literals[i].append(piece)
            literals[MAX_TOKENS].append("".join(pieces[MAX_TOKENS:]))
        return cls(
            literals=[pa.array(values, pa.large_string()) for values in literals],
            patterns=list(pattern_ids),
            slot_pattern=slot_pattern,
            volatile=(slot_pattern >= 0).any(axis=1),
        )

    def render(self, rng: np.random.Generator, template: np.ndarray) -> pa.Array:
        """Return one command line per row of ``template``, tokens redrawn."""
        index = pa.array(template)
        parts = [self.literals[0].take(index)]
        for slot in range(MAX_TOKENS):
            pattern_of_row = self.slot_pattern[template, slot]
            used = np.flatnonzero(pattern_of_row >= 0)
            # One pool per slot: "" first, then fresh tokens for the rows
            # that have this slot, in row order.
            pool = [pa.array([""], pa.large_string())]
            pick = np.zeros(len(template), dtype=np.int64)
            next_offset = 1
            for pattern_id in np.unique(pattern_of_row[used]):
                rows = used[pattern_of_row[used] == pattern_id]
                pool.append(_random_text(rng, self.patterns[pattern_id], len(rows)))
                pick[rows] = next_offset + np.arange(len(rows))
                next_offset += len(rows)
            parts.append(pa.concat_arrays(pool).take(pa.array(pick)))
            parts.append(self.literals[slot + 1].take(index))
        return pc.binary_join_element_wise(*parts, _NO_SEPARATOR)


@dataclass
class _Pools:
    """Everything drawn once per seed; chunks of rows sample from it."""

    templates: pa.Table
    template_weights: np.ndarray
    commands: _CommandTemplates
    command_of_template: np.ndarray
    parent_commands: _CommandTemplates
    parent_command_of_template: np.ndarray
    hosts: pa.Array
    host_weights: np.ndarray
    users: pa.Array
    user_weights: np.ndarray
    user_is_service: np.ndarray  # per template: keep the real account
    names: pa.Array  # real names, then variants
    name_of_template: np.ndarray
    variant_offsets: np.ndarray  # CSR: variants of each real name
    variant_ids: np.ndarray
    dir_of_template: pa.Array  # real directory (with trailing backslash)
    paths: pa.Array  # alternative install paths
    alt_offsets: np.ndarray  # CSR: alternative paths of each name id
    alt_ids: np.ndarray

    @classmethod
    def build(cls, templates: pa.Table, seed: int) -> _Pools:
        rng = np.random.default_rng([seed, 0x5EED])
        rows = templates.to_pydict()

        # Command lines: weight the volatile templates up (see module notes).
        commands, command_of_template = _unique_templates(rows["CommandLine"])
        parents, parent_of_template = _unique_templates(rows["ParentCommandLine"])
        volatile = commands.volatile[command_of_template]
        share = volatile.mean()
        boost = 1.0
        if 0 < share < VOLATILE_SHARE:
            boost = VOLATILE_SHARE * (1 - share) / ((1 - VOLATILE_SHARE) * share)
        weights = np.where(volatile, boost, 1.0)

        hosts = _host_names(sorted(set(rows["host"])), N_HOSTS)
        hosts = [hosts[i] for i in rng.permutation(len(hosts))]  # rank by chance
        users, service = _user_names(rows["User"], N_USERS, rng)

        # Names: the real ones, then variants of them; each event may use a
        # variant of its real name.
        real_names = sorted(set(rows["Name"]))
        name_id = {name: i for i, name in enumerate(real_names)}
        variants = _name_variants(real_names, N_NAME_VARIANTS, rng)
        all_names = real_names + [v for _, v in variants]
        variant_parent = np.array([p for p, _ in variants], dtype=np.int64)
        order = np.argsort(variant_parent, kind="stable")
        variant_offsets = np.searchsorted(
            variant_parent[order], np.arange(len(real_names) + 1)
        )
        variant_ids = len(real_names) + order

        # Paths: the real directory of each event, plus alternative installs
        # for about as many paths again, spread over the names by popularity.
        dirs = [
            path[: len(path) - len(path.rpartition("\\")[2])] for path in rows["Path"]
        ]
        name_of_template = np.array([name_id[n] for n in rows["Name"]])
        popularity = np.bincount(name_of_template, weights, len(all_names))
        popularity[len(real_names) :] = NAME_VARIANT_RATE * popularity[variant_parent]
        n_real_paths = len(set(zip(dirs, rows["Name"], strict=True))) + len(variants)
        alt_name, alt_path = _alt_paths(
            all_names, popularity, max(N_PATHS_TARGET - n_real_paths, 0), users, rng
        )
        order = np.argsort(alt_name, kind="stable")
        alt_offsets = np.searchsorted(alt_name[order], np.arange(len(all_names) + 1))

        return cls(
            templates=templates,
            template_weights=weights / weights.sum(),
            commands=commands,
            command_of_template=command_of_template,
            parent_commands=parents,
            parent_command_of_template=parent_of_template,
            hosts=pa.array(hosts, pa.large_string()),
            host_weights=_zipf_weights(len(hosts)),
            users=pa.array(users, pa.large_string()),
            user_weights=_zipf_weights(len(users)),
            user_is_service=np.array(service, dtype=bool),
            names=pa.array(all_names, pa.large_string()),
            name_of_template=name_of_template,
            variant_offsets=variant_offsets,
            variant_ids=variant_ids,
            dir_of_template=pa.array(dirs, pa.large_string()),
            paths=pa.array(alt_path, pa.large_string()),
            alt_offsets=alt_offsets,
            alt_ids=order,
        )


def _unique_templates(lines: list[str]) -> tuple[_CommandTemplates, np.ndarray]:
    distinct, inverse = np.unique(np.array(lines, dtype=object), return_inverse=True)
    return _CommandTemplates.build(list(distinct)), inverse.astype(np.int64)


def _host_names(real: list[str], count: int) -> list[str]:
    """Return ``count`` distinct host names: real stems with numeric suffixes."""
    stems = sorted({re.sub(r"(-[A-Z0-9]{7}|\d+)$", "", h) or h for h in real})
    stems = [s if not s.endswith("DESKTOP") else s + "-" for s in stems]
    return [f"{stems[i % len(stems)]}{i // len(stems) + 1}" for i in range(count)]


def _user_names(
    real: list[str], count: int, rng: np.random.Generator
) -> tuple[list[str], list[bool]]:
    """Return a pool of accounts like the real ones, and which real ones to keep."""
    service = [bool(SERVICE_ACCOUNT_RE.match(u)) or u.endswith("$") for u in real]
    people = sorted({u for u, s in zip(real, service, strict=True) if not s and u})
    pool = []
    for i in range(count):
        domain, name = _split_user(people[i % len(people)])
        pool.append(f"{domain}\\{name}{i // len(people) + 1}" if domain else name)
    order = rng.permutation(count)  # popular accounts from every domain
    return [pool[i] for i in order], service


def _name_variants(
    names: list[str], count: int, rng: np.random.Generator
) -> list[tuple[int, str]]:
    """Return ``count`` (real name index, variant) pairs, all distinct."""
    taken = set(names)
    variants: list[tuple[int, str]] = []
    while len(variants) < count:
        parent = int(rng.integers(len(names)))
        name = names[parent]
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        ext = "." + ext if dot else ""
        form = NAME_VARIANT_FORMS[int(rng.integers(len(NAME_VARIANT_FORMS)))]
        variant = form.format(
            stem=stem, ext=ext, STEM=stem.upper(), EXT=ext.upper(), lower=name.lower()
        )
        if variant not in taken:
            taken.add(variant)
            variants.append((parent, variant))
    return variants


def _alt_paths(
    names: list[str],
    popularity: np.ndarray,
    count: int,
    users: list[str],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[str]]:
    """Return ``count`` alternative install paths and the name id of each."""
    weights = np.sqrt(popularity)  # rare names get some too, busy ones more
    weights /= weights.sum()
    owners: list[int] = []
    paths: list[str] = []
    taken: set[str] = set()
    while len(paths) < count:
        batch = 2 * (count - len(paths)) + 16
        owner = rng.choice(len(names), size=batch, p=weights)
        form = rng.integers(len(ALT_DIR_FORMS), size=batch)
        user = rng.integers(len(users), size=batch)
        vendor = rng.integers(len(VENDORS), size=batch)
        version = rng.integers(1, 130, size=(batch, 3))
        rand = _random_text(rng, "a" * 8, batch).to_pylist()
        for i in range(batch):
            folder = ALT_DIR_FORMS[form[i]].format(
                user=_split_user(users[user[i]])[1],
                vendor=VENDORS[vendor[i]],
                version=".".join(map(str, version[i])),
                rand=rand[i],
            )
            path = f"{folder}\\{names[owner[i]]}"
            if path not in taken and len(paths) < count:
                taken.add(path)
                owners.append(int(owner[i]))
                paths.append(path)
    return np.array(owners, dtype=np.int64), paths


# Rows -------------------------------------------------------------------------
def _pick_from_csr(
    rng: np.random.Generator, offsets: np.ndarray, keys: np.ndarray
) -> np.ndarray:
    """Return a random item index per key in a CSR layout; -1 where none."""
    start, stop = offsets[keys], offsets[keys + 1]
    size = stop - start
    pick = start + np.floor(rng.random(len(keys)) * size).astype(np.int64)
    return np.where(size > 0, pick, -1)


def _chunk(pools: _Pools, seed: int, index: int, first_row: int, n: int) -> pa.Table:
    """Generate rows ``first_row .. first_row + n`` as an Arrow table."""
    rng = np.random.default_rng([seed, index])
    template = rng.choice(len(pools.template_weights), size=n, p=pools.template_weights)
    take = pa.array(template)

    host = pools.hosts.take(
        pa.array(rng.choice(len(pools.hosts), size=n, p=pools.host_weights))
    )
    drawn_user = pools.users.take(
        pa.array(rng.choice(len(pools.users), size=n, p=pools.user_weights))
    )
    real_user = pools.templates["User"].combine_chunks().take(take)
    user = pc.if_else(pa.array(pools.user_is_service[template]), real_user, drawn_user)

    # A few events run a variant of their image, a few from another folder.
    name_id = pools.name_of_template[template]
    variant = _pick_from_csr(rng, pools.variant_offsets, name_id)
    use_variant = (variant >= 0) & (rng.random(n) < NAME_VARIANT_RATE)
    name_id = np.where(use_variant, pools.variant_ids[np.maximum(variant, 0)], name_id)
    name = pools.names.take(pa.array(name_id))
    alt = _pick_from_csr(rng, pools.alt_offsets, name_id)
    use_alt = (alt >= 0) & (rng.random(n) < PATH_VARIANT_RATE)
    real_path = pc.binary_join_element_wise(
        pools.dir_of_template.take(take), name, _NO_SEPARATOR
    )
    alt_path = pools.paths.take(pa.array(pools.alt_ids[np.maximum(alt, 0)]))
    path = pc.if_else(pa.array(use_alt), alt_path, real_path)

    command = pools.commands.render(rng, pools.command_of_template[template])
    parent_command = pools.parent_commands.render(
        rng, pools.parent_command_of_template[template]
    )
    pids = rng.integers(1, 16384, size=(2, n)) * 4

    offsets = rng.random(n) * (n * 86_400_000 / EVENTS_PER_DAY)
    offsets.sort()
    millis = first_row * 86_400_000 // EVENTS_PER_DAY + offsets.astype(np.int64)
    stamps = np.datetime_as_string(START + millis.astype("timedelta64[ms]"), unit="ms")

    columns = {
        "_time": pc.binary_join_element_wise(
            pc.cast(pa.array(stamps), pa.large_string()), _Z, _NO_SEPARATOR
        ),
        "host": host,
        "User": user,
        "Name": name,
        "Path": path,
        "CommandLine": command,
        "ProcessId": pc.cast(pa.array(pids[0]), pa.large_string()),
        "ParentProcessId": pc.cast(pa.array(pids[1]), pa.large_string()),
        "ParentName": pools.templates["ParentName"].combine_chunks().take(take),
        "ParentPath": pools.templates["ParentPath"].combine_chunks().take(take),
        "ParentCommandLine": parent_command,
    }
    return pa.table({k: pc.cast(v, pa.large_string()) for k, v in columns.items()})


def iter_event_tables(
    n: int,
    seed: int = 0,
    *,
    shared_dir: Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pa.Table]:
    """Yield the rows of :func:`make_events` as Arrow tables of ``chunk_rows``.

    Parameters
    ----------
    n : int
        Total number of events.
    seed : int, default 0
        The same seed gives the same rows.
    shared_dir : pathlib.Path, optional
        The shared folder holding ``data/``; see :func:`shared_data_dir`.
    chunk_rows : int, default 1,000,000
        Rows per table. Part of the seed: another chunk size gives other rows.
    """
    if n < 0:
        raise ValueError(f"n must be a count of events, 0 or more; got {n!r}")
    pools = _Pools.build(_read_templates(shared_data_dir(shared_dir)), seed)
    for index, first_row in enumerate(range(0, n, chunk_rows)):
        yield _chunk(pools, seed, index, first_row, min(chunk_rows, n - first_row))


def make_events(
    n: int, seed: int = 0, *, shared_dir: Path | None = None
) -> pd.DataFrame:
    """Return ``n`` synthetic process events resampled from the real ones.

    Parameters
    ----------
    n : int
        Number of events.
    seed : int, default 0
        The same ``n`` and ``seed`` give the same frame.
    shared_dir : pathlib.Path, optional
        The shared folder holding ``data/``; by default ``$PROCANOM_SHARED``
        or the ``shared`` folder beside the repository.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`, each ``pandas.StringDtype("pyarrow")``.

    Examples
    --------
    >>> events = make_events(1000, seed=1)
    >>> events.shape
    (1000, 11)
    """
    tables = list(iter_event_tables(n, seed, shared_dir=shared_dir))
    if tables:
        table = pa.concat_tables(tables)
    else:
        table = pa.table({c: pa.array([], pa.large_string()) for c in COLUMNS})
    # Arrow data is immutable, so the frame wraps the buffers without a copy.
    return pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(table[name]) for name in COLUMNS}
    )


def main(argv: list[str] | None = None) -> int:
    """Write generated events to a CSV file; see the module notes."""
    parser = argparse.ArgumentParser(
        description="Write N synthetic process events, resampled from the real "
        "exports in shared/data, to a CSV file."
    )
    parser.add_argument("n", type=int, help="number of events")
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--shared", type=Path, default=None, help="the shared folder holding data/"
    )
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error(f"N must be 0 or more; got {args.n}")

    start = time.perf_counter()
    schema = pa.schema([(c, pa.large_string()) for c in COLUMNS])
    try:
        with pacsv.CSVWriter(args.out, schema) as writer:
            for table in iter_event_tables(args.n, args.seed, shared_dir=args.shared):
                writer.write_table(table)
    except OSError as error:  # no real events to resample, or cannot write
        print(f"error: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    size = args.out.stat().st_size / 2**20
    print(f"wrote {args.n:,} events to {args.out} ({size:,.1f} MiB) in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
