"""One schema for process events, whatever wrote them.

Readers hand over flat text frames; :func:`to_process_events` keeps the
process creations among them (Sysmon event 1, Security 4688, or every row of
a plain process export), maps the columns onto :data:`PROCESS_FIELDS`, and
normalises times, ids, accounts and hosts so that events from different
sources compare equal. The mapping is a :class:`FieldMapping` the analyst can
inspect, save and edit.

Sources recognised: Sysmon (flat, EVTX/XML-flattened, winlogbeat
``event_data.*`` and ``winlog.event_data.*``), Security 4688, Splunk
WinHostMon, PowerShell ``Get-Process`` and ``Win32_Process``, Splunk CIM
Endpoint.Processes, Elastic ECS, osquery ``processes`` and Defender
``DeviceProcessEvents``.

Known limits, where they matter:

* Accounts are kept as each source writes them. 4688 names SYSTEM by the
  machine account (``CORP\\WKS-1$``) where Sysmon writes
  ``NT AUTHORITY\\SYSTEM``; a merged pair keeps Sysmon's, but a lone 4688
  row scores as a different user. Well-known SIDs are not translated.
* Elastic Defend and Auditbeat frames that carry no ``event.code`` are kept
  whole: ``event.type``/``event.action`` are not yet used to pick the
  process starts, so their end and inventory events stay in as rows.
* Only Sysmon 1 and Security 4688 records are merged; two exports of the
  same process in other forms (a CSV plus an EVTX of the same host) are
  not recognised as duplicates.
* Several files are mapped each on its own (``file_column``), so the
  record-time zone offset is estimated per host within one file: a host
  whose Security log comes in a file without any of its Sysmon events
  takes the offset the file's other hosts agree on, or none. EVTX and
  event XML times are UTC by definition and need no offset.
"""

from __future__ import annotations

from procanom.schema._convert import ProcessEvents, to_process_events
from procanom.schema._events import no_process_events_error
from procanom.schema._mapping import (
    FIELD_ALIASES,
    PROCESS_FIELDS,
    FieldMapping,
    detect_mapping,
)

__all__ = [
    "FIELD_ALIASES",
    "PROCESS_FIELDS",
    "FieldMapping",
    "ProcessEvents",
    "detect_mapping",
    "no_process_events_error",
    "to_process_events",
]
