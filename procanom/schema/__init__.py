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
"""

from __future__ import annotations

from procanom.schema._convert import ProcessEvents, to_process_events
from procanom.schema._mapping import PROCESS_FIELDS, FieldMapping, detect_mapping

__all__ = [
    "PROCESS_FIELDS",
    "FieldMapping",
    "ProcessEvents",
    "detect_mapping",
    "to_process_events",
]
