"""What each field of a process event is: the program, its parent, the host.

Combination-aware scoring needs to know which field names the program
(``Name``), which names its parent (``ParentName``), and which say where and
as whom it ran (``host``, ``User``). The role is guessed from the field's
name, in the spellings of Splunk WinHostMon, Sysmon, Security 4688 exports
and Splunk's CIM; :func:`field_roles` accepts overrides for anything else.

Roles:

``name``, ``path``, ``command_line``
    The process itself.
``parent_name``, ``parent_path``, ``parent_command_line``
    The process that started it.
``host``, ``user``
    Where and as whom it ran.
``other``
    Anything else (session ids, integrity levels, event codes...). Such
    fields are compared exactly as written, never normalised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from procanom.errors import ParameterError
from procanom.normalize import field_kind

__all__ = ["ROLES", "field_roles", "template_kind"]

ROLES = (
    "name",
    "path",
    "command_line",
    "parent_name",
    "parent_path",
    "parent_command_line",
    "host",
    "user",
    "other",
)

_HOST = re.compile(
    r"^(host|hostname|host_?name|computer|computer_?name|dvc|device|dest|workstation)$"
)
_USER = re.compile(
    r"^(user|user_?name|account|account_?name|subject_?user_?name|target_?user_?name)$"
)
_PARENT = re.compile(r"^parent_?")
_NOT_PROCESS = re.compile(r"(^|_)(id|guid|pid)$|processid$|processguid$")


def _guess(field: str) -> str:
    lowered = field.lower()
    if _HOST.match(lowered):
        return "host"
    if _USER.match(lowered):
        return "user"
    if _NOT_PROCESS.search(lowered):
        return "other"
    if _PARENT.match(lowered):
        rest = _PARENT.sub("", lowered) or "name"
        kind = field_kind(rest)
        return f"parent_{kind}" if kind != "text" else "other"
    kind = field_kind(lowered)
    return kind if kind != "text" else "other"


def field_roles(
    fields: Sequence[str], overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """Return the role of each field.

    Parameters
    ----------
    fields : sequence of str
        The scored fields.
    overrides : dict, optional
        ``{field: role}`` for fields whose name does not say their role.

    Returns
    -------
    dict
        ``{field: role}``. Each role other than ``"other"`` is held by at
        most one field: the first one listed (or the one named in
        ``overrides``); later fields guessed to the same role are ``"other"``.

    Examples
    --------
    >>> field_roles(["Name", "ParentName", "host", "SessionId"])
    {'Name': 'name', 'ParentName': 'parent_name', 'host': 'host', 'SessionId': 'other'}
    """
    overrides = dict(overrides or {})
    for field, role in overrides.items():
        if role not in ROLES:
            raise ParameterError(
                f"role of {field!r}", "one of " + ", ".join(ROLES), role
            )
    roles: dict[str, str] = {}
    taken = {role for role in overrides.values() if role != "other"}
    for field in fields:
        if field in overrides:
            roles[field] = overrides[field]
            continue
        role = _guess(str(field))
        if role != "other" and role in taken:
            role = "other"
        taken.add(role)
        roles[field] = role
    return roles


def template_kind(role: str) -> str | None:
    """Return the :mod:`procanom.normalize` kind for a role, None for exact."""
    if role in ("name", "parent_name"):
        return "name"
    if role in ("path", "parent_path"):
        return "path"
    if role in ("command_line", "parent_command_line"):
        return "command_line"
    if role in ("host", "user"):
        return "text"
    return None
