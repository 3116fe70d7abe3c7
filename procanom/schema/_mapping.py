"""The process fields, the column mapping, and how it is detected.

A :class:`FieldMapping` says, for each process field, which input column
feeds it (``sources``) and how it is computed where no column holds it or
the column is empty on a row (``derived``, a short recipe in words that
:mod:`procanom.schema._recipes` can read back). Detection works on column
names only: exact names first, then the same names in another case, then
under the data prefixes that EVTX, winlogbeat and osquery put in front
(``Event.EventData.``, ``event_data.``, ``winlog.event_data.``,
``columns.``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from procanom.errors import ParameterError

logger = logging.getLogger(__name__)

#: The process fields, named after Splunk WinHostMon ``source=process`` where
#: one exists. ``_time`` is ISO-8601 UTC text, ids are decimal text.
PROCESS_FIELDS: tuple[str, ...] = (
    "_time",
    "host",
    "Name",
    "Path",
    "CommandLine",
    "User",
    "ParentName",
    "ParentPath",
    "ParentCommandLine",
    "ProcessId",
    "ParentProcessId",
    "IntegrityLevel",
    "Hashes",
    "OriginalFileName",
    "LogonId",
    "Signer",
    "ProcessGuid",
    "ParentProcessGuid",
    "EventSource",
)

#: Prefixes under which event readers and shippers put the event's own fields.
DATA_PREFIXES: tuple[str, ...] = (
    "Event.EventData.Data.",
    "Event.EventData.",
    "EventData.",
    "winlog.event_data.",
    "event_data.",
    "columns.",
)

# Aliases per field, most specific first. A field's own name comes first, so
# an existing column of that name wins. Sources covered: Sysmon 1, Security
# 4688, WinHostMon, PowerShell Get-Process, Win32_Process, Splunk CIM
# Endpoint.Processes, Elastic ECS, osquery ``processes`` and Defender
# DeviceProcessEvents.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "Name": (
        "Name",
        "process_name",
        "process.name",
        "ProcessName",
        "process_exec",
        "FileName",
    ),
    "Path": (
        "Path",
        "Image",
        "NewProcessName",
        "process_path",
        "process.executable",
        "ExecutablePath",
        "FolderPath",
    ),
    "CommandLine": (
        "CommandLine",
        "ProcessCommandLine",
        "process",
        "process.command_line",
        "cmdline",
    ),
    "User": ("User", "UserName", "Account", "process_user", "user"),
    "ParentName": (
        "ParentName",
        "parent_process_name",
        "process.parent.name",
        "InitiatingProcessFileName",
    ),
    "ParentPath": (
        "ParentPath",
        "ParentImage",
        "ParentProcessName",
        "parent_process_path",
        "process.parent.executable",
        "InitiatingProcessFolderPath",
    ),
    "ParentCommandLine": (
        "ParentCommandLine",
        "parent_process",
        "process.parent.command_line",
        "InitiatingProcessCommandLine",
    ),
    "ProcessId": ("ProcessId", "process_id", "process.pid", "Id", "pid"),
    "ParentProcessId": (
        "ParentProcessId",
        "parent_process_id",
        "process.parent.pid",
        "parent",
        "ppid",
        "InitiatingProcessId",
        "CreatorProcessId",
    ),
    "IntegrityLevel": (
        "IntegrityLevel",
        "MandatoryLabel",
        "ProcessIntegrityLevel",
        "process_integrity_level",
        "process.Ext.token.integrity_level_name",
    ),
    "Hashes": (
        "Hashes",
        "process_hash",
        "process.hash.sha256",
        "SHA256",
        "process.hash.sha1",
        "SHA1",
        "process.hash.md5",
        "MD5",
    ),
    "OriginalFileName": (
        "OriginalFileName",
        "original_file_name",
        "process.pe.original_file_name",
        "ProcessVersionInfoOriginalFileName",
    ),
    "LogonId": (
        "LogonId",
        "TargetLogonId",
        "SubjectLogonId",
        "winlog.logon.id",
        "logon_id",
    ),
    "Signer": ("Signer", "Signature", "process.code_signature.subject_name", "signer"),
    "ProcessGuid": ("ProcessGuid", "process_guid", "process.entity_id"),
    "ParentProcessGuid": (
        "ParentProcessGuid",
        "parent_process_guid",
        "process.parent.entity_id",
    ),
    "EventSource": ("EventSource",),
}

# Aliases matched in their exact case only: in another case they name a
# different thing (Sentinel's ``Process`` is a file name, CIM's ``process``
# a command line; ``id`` is often a row number).
EXACT_CASE_ONLY = frozenset({"process", "parent_process", "Id", "parent"})

#: Columns that carry the computer name inside the event record itself.
RECORD_HOST_ALIASES: tuple[str, ...] = (
    "Event.System.Computer",
    "Computer",
    "Hostname",
    "ComputerName",
    "computer_name",
    "winlog.computer_name",
)
#: Other host columns, from inventories and SIEM schemas.
OTHER_HOST_ALIASES: tuple[str, ...] = (
    "host.name",
    "host.hostname",
    "DeviceName",
    "dest",
    "dest_nt_host",
    "CSName",
    "PSComputerName",
    "hostIdentifier",
)

#: Columns that hold the event id.
EVENT_ID_ALIASES: tuple[str, ...] = (
    "EventID",
    "EventCode",
    "Event.System.EventID",
    "Event.System.EventID.#text",
    "winlog.event_id",
    "event.code",
    "event_id",
    "System.EventID",
)
#: Columns that name the log or the provider, best first.
LOG_ALIASES: tuple[str, ...] = (
    "Channel",
    "Event.System.Channel",
    "winlog.channel",
    "LogName",
    "log_name",
    "System.Channel",
    "SourceName",
    "Event.System.Provider.#attributes.Name",
    "Event.System.Provider.@Name",
    "winlog.provider_name",
    "source_name",
    "ProviderName",
    "event.provider",
    "event.module",
    "sourcetype",
    "source",
)

# Times. Sysmon's UtcTime is UTC by definition and is the process's start;
# the record times after it are when the log entry was written, in whatever
# zone the shipper chose.
UTC_TIME_ALIASES: tuple[str, ...] = ("UtcTime",)
RECORD_TIME_ALIASES: tuple[str, ...] = (
    "TimeCreated",
    "TimeGenerated",
    "EventTime",
    "CreationDate",
    "StartTime",
    "start_time",
    "process.start",
    "@timestamp",
    "timestamp",
    "Timestamp",
    "event.created",
    "unixTime",
    "calendarTime",
    "time",
)
_SYSTEM_TIME = re.compile(r"timecreated.*systemtime$", re.IGNORECASE)

# (domain, user) column pairs that compose ``DOMAIN\user``, best first. In
# 4688 the Target account is the new process's when it differs from the
# creator; ``-`` there means "same as the Subject".
ACCOUNT_PAIRS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("TargetDomainName", "TargetUserName"), ("SubjectDomainName", "SubjectUserName")),
    (("user.domain", "user.name"),),
    (("AccountDomain", "AccountName"),),
)

# Marker columns that tell which kind of export a frame is, for EventSource
# when no column names the log.
_FAMILY_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("security", ("NewProcessId", "NewProcessName")),
    ("sysmon", ("ProcessGuid", "UtcTime", "Image")),
    ("ecs", ("process.executable", "process.name", "process.pid")),
    ("osquery", ("cmdline",)),
    ("wmi", ("ExecutablePath", "CSName")),
    ("powershell", ("ProcessName", "Id")),
    ("cim", ("process_name", "process_path", "parent_process_name")),
    ("defender", ("FolderPath", "InitiatingProcessFileName")),
)


@dataclass
class FieldMapping:
    """Which input column feeds each process field, and what was derived.

    Parameters
    ----------
    sources : dict of str to str
        Process field -> the input column whose values it takes.
    derived : dict of str to str
        Process field -> how it is computed where ``sources`` gives no value,
        as a recipe in words, e.g. ``"basename of Path"``,
        ``"first set of NewProcessId, ProcessId"``, ``"account from
        SubjectDomainName + SubjectUserName"``, ``"TimeCreated shifted per
        host to agree with UtcTime"``, ``"log name from Channel"``,
        ``"short upper-case name of Hostname"``, ``"constant sysmon"``. A
        note in parentheses at the end is for people and is ignored.
    files : dict of str to FieldMapping
        For data read from several files: file name -> the mapping of that
        file's rows, for each file whose columns are mapped otherwise than
        ``sources`` and ``derived`` say (a Sysmon EVTX file beside an OTRF
        JSON file). Files not listed take ``sources`` and ``derived``.

    Notes
    -----
    In ``basename of X``, ``X`` is the process field of that name; in every
    other recipe the names are input columns. "Set" means not missing and
    not one of ``""``, ``-``, ``0x0``, ``S-1-0-0``.
    """

    sources: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    files: dict[str, FieldMapping] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return the mapping as plain JSON-ready data.

        ``files`` appears only when some file is mapped on its own.
        """
        out: dict = {"sources": dict(self.sources), "derived": dict(self.derived)}
        if self.files:
            out["files"] = {
                name: {"sources": dict(m.sources), "derived": dict(m.derived)}
                for name, m in self.files.items()
            }
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> FieldMapping:
        """Build a mapping from :meth:`to_dict` output (or a hand-written one).

        A flat ``{field: column}`` dict is read as ``sources``.

        Raises
        ------
        ParameterError
            If ``d`` is not a dict of text to text in one of those shapes.
        """
        if isinstance(d, FieldMapping):
            return cls(dict(d.sources), dict(d.derived), dict(d.files))
        if not isinstance(d, Mapping):
            raise ParameterError("mapping", "a dict with 'sources' and 'derived'", d)
        if not set(d) & {"sources", "derived", "files"}:
            d = {"sources": d}
        parts = {}
        for key in ("sources", "derived"):
            part = d.get(key) or {}
            ok = isinstance(part, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in part.items()
            )
            if not ok:
                raise ParameterError(
                    f"mapping[{key!r}]", "a dict of field name to text", part
                )
            parts[key] = dict(part)

        files = d.get("files") or {}
        if not isinstance(files, Mapping) or not all(
            isinstance(name, str)
            and isinstance(m, Mapping)
            and set(m) <= {"sources", "derived"}
            for name, m in files.items()
        ):
            raise ParameterError(
                "mapping['files']",
                "a dict of file name to {'sources': ..., 'derived': ...}",
                files,
            )
        per_file = {name: cls.from_dict(dict(m)) for name, m in files.items()}
        return cls(parts["sources"], parts["derived"], per_file)

    @classmethod
    def per_file(cls, mappings: Mapping[str | None, FieldMapping]) -> FieldMapping:
        """Combine the mappings of several files into one.

        The mapping most files share (the first file's on a tie) becomes
        ``sources`` and ``derived``; each file mapped otherwise is listed in
        ``files``.
        """
        shared: list[tuple[FieldMapping, int]] = []
        for mapping in mappings.values():
            plain = mapping.for_file(None)
            for i, (seen, n) in enumerate(shared):
                if seen == plain:
                    shared[i] = (seen, n + 1)
                    break
            else:
                shared.append((plain, 1))
        if not shared:
            return cls()
        common = max(shared, key=lambda item: item[1])[0]
        files = {
            str(name): mapping.for_file(None)
            for name, mapping in mappings.items()
            if name is not None and mapping.for_file(None) != common
        }
        return cls(dict(common.sources), dict(common.derived), files)

    def for_file(self, name: str | None) -> FieldMapping:
        """Return the mapping applied to the rows of file ``name``."""
        if name is not None and name in self.files:
            return self.files[name]
        if self.files:
            return FieldMapping(self.sources, self.derived)
        return self

    def input_columns(self) -> list[str]:
        """Return the input columns this mapping reads (``files`` left out)."""
        from procanom.schema._recipes import parse_recipe

        columns = list(self.sources.values())
        for text in self.derived.values():
            try:
                columns.extend(parse_recipe(text).inputs())
            except ValueError:
                continue
        return list(dict.fromkeys(columns))

    def fields(self) -> list[str]:
        """Return the process fields this mapping fills, in schema order."""
        filled = set(self.sources) | set(self.derived)
        for mapping in self.files.values():
            filled |= set(mapping.sources) | set(mapping.derived)
        return [f for f in PROCESS_FIELDS if f in filled]


class ColumnIndex:
    """Look up input columns by alias: exact, other case, under a data prefix."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = [str(c) for c in columns]
        self._exact: dict[str, list[str]] = {}
        self._folded: dict[str, list[str]] = {}
        for col in self.columns:
            keys = [col] + [
                col[len(p) :]
                for p in DATA_PREFIXES
                if col.lower().startswith(p.lower())
            ]
            for key in keys:
                self._exact.setdefault(key, []).append(col)
                self._folded.setdefault(key.lower(), []).append(col)

    def find(self, alias: str) -> str | None:
        """Return the column for ``alias``, or None."""
        hits = self._exact.get(alias)
        if not hits and alias not in EXACT_CASE_ONLY:
            hits = self._folded.get(alias.lower())
        return hits[0] if hits else None

    def find_all(self, aliases: Sequence[str]) -> list[str]:
        """Return the distinct columns found for ``aliases``, in alias order."""
        found = (self.find(a) for a in aliases)
        return list(dict.fromkeys(c for c in found if c is not None))

    def system_time(self) -> str | None:
        """Return the ``TimeCreated/@SystemTime`` column of flattened event XML."""
        return next((c for c in self.columns if _SYSTEM_TIME.search(c)), None)


def detect_mapping(columns: Sequence[str]) -> FieldMapping:
    """Choose, from column names alone, where each process field comes from.

    Parameters
    ----------
    columns : sequence of str
        The input frame's column names.

    Returns
    -------
    FieldMapping

    Notes
    -----
    A column named like a process field wins over its aliases, with two
    exceptions that follow from what the sources mean:

    * When the frame has ``NewProcessId`` (Security 4688), ``ProcessId``
      is the *creator's* id there: the new process's id is ``NewProcessId``,
      falling back to ``ProcessId`` on rows without it (Sysmon rows in a
      mixed frame), and ``ParentProcessId`` falls back to ``ProcessId``.
    * When the frame holds event records (it has an event id column) that
      name their own computer (``Computer``, ``Hostname``,
      ``Event.System.Computer``...), that name wins over a ``host`` column,
      which shippers such as Logstash fill with the collector's name.

    ``host`` taken from a ``host`` column is kept as written; taken from any
    other column it becomes the short upper-case name (the FQDN stays in its
    own column).
    """
    index = ColumnIndex(columns)
    mapping = FieldMapping()

    _map_time(index, mapping)
    _map_host(index, mapping)
    for target, aliases in FIELD_ALIASES.items():
        found = index.find_all(aliases)
        if target in ("ProcessId", "ParentProcessId"):
            found = _creator_rule(index, target, found)
        if found:
            mapping.sources[target] = found[0]
        if len(found) > 1:
            mapping.derived[target] = "first set of " + ", ".join(found[1:])
            if index.find("NewProcessId") and target.endswith("ProcessId"):
                mapping.derived[target] += (
                    " (4688 writes the creator's id in ProcessId)"
                )
    _map_user(index, mapping)

    # Names come from paths where a row has no name of its own.
    for name, path in (("Name", "Path"), ("ParentName", "ParentPath")):
        if path in mapping.sources and name not in mapping.derived:
            mapping.derived[name] = f"basename of {path}"

    if "EventSource" not in mapping.sources:
        logs = index.find_all(LOG_ALIASES)
        family = _family(index)
        if logs:
            mapping.derived["EventSource"] = "log name from " + ", ".join(logs)
        elif family:
            mapping.derived["EventSource"] = f"constant {family}"

    logger.debug("detected mapping %s", mapping.to_dict())
    return mapping


def _map_time(index: ColumnIndex, mapping: FieldMapping) -> None:
    own = index.find("_time")
    utc = index.find_all(UTC_TIME_ALIASES)
    record = [c for c in [index.system_time()] if c] + index.find_all(
        RECORD_TIME_ALIASES
    )
    if own:
        mapping.sources["_time"] = own
    elif utc:
        mapping.sources["_time"] = utc[0]
        if record:
            mapping.derived["_time"] = (
                f"{record[0]} shifted per host to agree with {utc[0]}"
            )
    elif record:
        mapping.sources["_time"] = record[0]


def _map_host(index: ColumnIndex, mapping: FieldMapping) -> None:
    own = index.find("host")
    record = index.find_all(RECORD_HOST_ALIASES)
    other = index.find_all(OTHER_HOST_ALIASES)
    has_events = bool(index.find_all(EVENT_ID_ALIASES))
    if own and not (has_events and record):
        mapping.sources["host"] = own
    elif record or other:
        mapping.derived["host"] = f"short upper-case name of {(record + other)[0]}"


def _creator_rule(index: ColumnIndex, target: str, found: list[str]) -> list[str]:
    """Apply 4688's meaning of ``ProcessId`` (the creator) to the id fields."""
    new_pid = index.find("NewProcessId")
    creator = index.find("ProcessId")
    if not new_pid or not creator:
        return found
    if target == "ProcessId":
        return [new_pid, *found]
    return [*(c for c in found if c != creator), creator]


def _map_user(index: ColumnIndex, mapping: FieldMapping) -> None:
    for pairs in ACCOUNT_PAIRS:
        parts = []
        for domain_alias, user_alias in pairs:
            user = index.find(user_alias)
            if user is None:
                continue
            domain = index.find(domain_alias)
            parts.append(f"{domain} + {user}" if domain else user)
        if parts:
            mapping.derived["User"] = "account from " + ", else ".join(parts)
            return


def _family(index: ColumnIndex) -> str | None:
    for family, markers in _FAMILY_MARKERS:
        if index.find_all(markers):
            return family
    return None
