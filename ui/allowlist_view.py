"""The Allow-list page's parts: the entries, one entry's edits, adding, CSV.

Widget keys start with ``allow.``. One entry's edit widgets and delete
toggle carry its id (``allow.edit.<id>.reason``, ``allow.delete.<id>``), so
choosing another entry starts from that entry's saved values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from procanom.allowlist import (
    LOOKUP_FILE,
    LOOKUP_NAME,
    allowlist_from_csv,
    allowlist_to_csv,
)
from procanom.errors import ProcanomError
from procanom.export import reveal_hidden_frame
from procanom.schema import PROCESS_FIELDS
from procanom.store import AllowEntry
from ui import resources
from ui.text import counted, literal, shown_by

#: Filter choices besides one experiment's id.
ALL_ENTRIES = "__all__"
GLOBAL_ENTRIES = "__global__"
#: The file name the Splunk ``transforms.conf`` stanza below refers to.
CSV_NAME = LOOKUP_FILE
_IMPORT_NOTICES = "allow.import.notices"

_MATCH_LABELS = {
    "literal": "exact values (ignoring case)",
    "pattern": "patterns (* stands for any text)",
}
_FIELD_HELP = (
    "An event field, as the Experiment page names it: Name, Path, CommandLine,"
    " User, ParentName, ParentPath, ParentCommandLine, host..."
)


def experiment_titles(store) -> dict[str, str]:
    """Experiment id to title, in the order of the experiment list."""
    return {summary.id: summary.title for summary in store.list_experiments()}


def describe_conditions(entry: AllowEntry) -> str:
    """The conditions in words: ``Name is "a.exe" and Path matches "C:\\*"``."""
    verb = "matches" if entry.match == "pattern" else "is"
    parts = [
        f"{name} is empty" if value == "" else f'{name} {verb} "{value}"'
        for name, value in entry.conditions.items()
    ]
    return " and ".join(parts)


def scope_label(entry: AllowEntry, titles: dict[str, str]) -> str:
    """The experiment's title, or "All experiments"."""
    if entry.scope == "global":
        return "All experiments"
    return titles.get(entry.experiment_id or "", entry.experiment_id or "")


def _when(timestamp: str | None) -> str:
    # Stored as UTC ISO-8601 with microseconds; minutes are enough to read.
    return f"{timestamp[:16].replace('T', ' ')} UTC" if timestamp else ""


def _scope_format(titles: dict[str, str]):
    return lambda choice: (
        "All experiments" if choice == GLOBAL_ENTRIES else titles[choice]
    )


def _too_broad(conditions: dict[str, str], match: str) -> bool:
    # A pattern of only "*" matches every value, missing ones included.
    return match == "pattern" and all(not v.strip("*") for v in conditions.values())


# --- The list ----------------------------------------------------------------
def entry_list(store, titles: dict[str, str]) -> tuple[str, list[AllowEntry]]:
    """The filter and the table of entries; returns the filter and what it shows."""
    everything = store.list_allow_entries()
    if not everything:
        st.info(
            "No allow-list entries yet. They are made on the **Experiment** page:"
            " open an outlier's detail and use **This is expected** (*Add to the"
            " allow-list*). You can also add one by hand or import a CSV below."
        )

    choices = [ALL_ENTRIES, GLOBAL_ENTRIES, *titles]
    if st.session_state.get("allow.filter") not in choices:
        st.session_state["allow.filter"] = ALL_ENTRIES
    names = {ALL_ENTRIES: "All entries", GLOBAL_ENTRIES: "Entries for all experiments"}
    chosen = st.selectbox(
        "Experiment",
        choices,
        format_func=shown_by(lambda choice: names.get(choice) or titles[choice]),
        key="allow.filter",
        help="An experiment shows its own entries and those for all experiments.",
    )
    if chosen == ALL_ENTRIES:
        shown = everything
    elif chosen == GLOBAL_ENTRIES:
        shown = [entry for entry in everything if entry.scope == "global"]
    else:
        shown = store.list_allow_entries(chosen, include_global=True)

    st.subheader(f"Entries ({len(shown)})")
    if everything and not shown:
        st.caption("None apply to this experiment.")
    if shown:
        _table(shown, titles, store.allow_entry_uses())
    return chosen, shown


def _table(entries: Sequence[AllowEntry], titles: dict[str, str], uses) -> None:
    rows = []
    for entry in entries:
        use = uses.get(entry.id)
        rows.append(
            {
                "conditions": describe_conditions(entry),
                "match": entry.match,
                "scope": scope_label(entry, titles),
                "who": entry.author,
                "when": _when(entry.created_at),
                "reason": entry.reason,
                "enabled": entry.enabled,
                "matched": use.outliers if use else None,
                "last matched": _when(use.last_matched_at) if use else "",
            }
        )
    st.dataframe(
        reveal_hidden_frame(pd.DataFrame(rows).astype({"matched": "Int64"})),
        hide_index=True,
        column_config={
            "matched": st.column_config.NumberColumn(
                help="Outliers the entry cleared, summed over the saved runs that"
                " recorded it (`procanom run` records it); empty when none did."
            ),
            "enabled": st.column_config.CheckboxColumn(),
        },
    )


# --- One entry ---------------------------------------------------------------
def pick_entry(entries: Sequence[AllowEntry], titles: dict[str, str]):
    """The entry to change, chosen among those shown (None when none are)."""
    if not entries:
        return None
    ids = [entry.id for entry in entries]
    if st.session_state.get("allow.selected") not in ids:
        st.session_state["allow.selected"] = ids[0]
    labels = {
        entry.id: f"{describe_conditions(entry)[:90]} · {scope_label(entry, titles)}"
        for entry in entries
    }
    selected = st.selectbox(
        "Entry", ids, format_func=shown_by(labels.get), key="allow.selected"
    )
    return next(entry for entry in entries if entry.id == selected)


def _forget_edits(entry_id: str) -> None:
    """Drop an entry's edit widgets' state, so they show what is stored."""
    prefix = f"allow.edit.{entry_id}."
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]


def entry_detail(store, entry: AllowEntry, titles: dict[str, str]) -> None:
    """Enable or disable, delete with confirmation, and edit one entry."""
    with st.container(border=True, key=f"allow-entry-{entry.id}"):
        state = "enabled" if entry.enabled else "disabled, suppressing nothing"
        st.markdown(f"**{literal(describe_conditions(entry))}**")
        st.caption(
            f"{state.capitalize()}. Added by {entry.author or 'unknown'} on"
            f" {_when(entry.created_at)}; last changed {_when(entry.updated_at)}."
        )
        toggle, delete = st.columns(2)
        if toggle.button(
            "Disable" if entry.enabled else "Enable", key="allow.toggle_enabled"
        ):
            store.update_allow_entry(entry.id, enabled=not entry.enabled)
            _forget_edits(entry.id)
            st.rerun()
        if delete.toggle("Delete", key=f"allow.delete.{entry.id}"):
            st.warning(
                "Delete this entry? Outliers it matches are flagged again from"
                " the next run. Disabling keeps it for later instead."
            )
            if st.button("Yes, delete it", key="allow.confirm_delete"):
                store.delete_allow_entry(entry.id)
                st.session_state.pop(f"allow.delete.{entry.id}", None)
                _forget_edits(entry.id)
                st.toast("Deleted the allow-list entry.")
                st.rerun()
        _edit_form(store, entry, titles)


def _edit_form(store, entry: AllowEntry, titles: dict[str, str]) -> None:
    key = f"allow.edit.{entry.id}."
    with st.form(f"allow.edit_form.{entry.id}"):
        st.markdown("**Edit**")
        values = {
            name: st.text_input(name, value=value, key=f"{key}value.{name}")
            for name, value in entry.conditions.items()
        }
        kept = st.multiselect(
            "Keep the conditions on",
            list(entry.conditions),
            default=list(entry.conditions),
            key=f"{key}fields",
            help="Fewer conditions allow more: only Name allows that program anywhere.",
        )
        new_field, new_value = st.columns(2)
        added_field = new_field.text_input(
            "Add a condition on field", key=f"{key}new_field", help=_FIELD_HELP
        )
        added_value = new_value.text_input("with value", key=f"{key}new_value")
        match = st.radio(
            "Values are",
            list(_MATCH_LABELS),
            index=list(_MATCH_LABELS).index(entry.match),
            format_func=_MATCH_LABELS.get,
            horizontal=True,
            key=f"{key}match",
        )
        scopes = [GLOBAL_ENTRIES, *titles]
        scope = st.selectbox(
            "Applies to",
            scopes,
            index=scopes.index(entry.experiment_id or GLOBAL_ENTRIES),
            format_func=shown_by(_scope_format(titles)),
            key=f"{key}scope",
        )
        reason = st.text_area("Reason", value=entry.reason, key=f"{key}reason")
        enabled = st.checkbox("Enabled", value=entry.enabled, key=f"{key}enabled")
        if not st.form_submit_button("Save changes", type="primary"):
            return

    conditions = {name: values[name] for name in kept}
    if added_field.strip():
        conditions[added_field.strip()] = added_value
    if not _valid(conditions, match, reason):
        return
    try:
        store.update_allow_entry(
            entry.id,
            conditions=conditions,
            match=match,
            reason=reason.strip(),
            enabled=enabled,
            scope="global" if scope == GLOBAL_ENTRIES else "experiment",
            experiment_id=None if scope == GLOBAL_ENTRIES else scope,
        )
    except ProcanomError as error:
        st.error(literal(f"Not saved: {error}"))
        return
    _forget_edits(entry.id)
    st.toast("Saved the allow-list entry.")
    st.rerun()


def _valid(conditions: dict[str, str], match: str, reason: str) -> bool:
    """Show why an entry cannot be saved; True when it can."""
    if not conditions:
        st.error("Keep at least one condition: with none, every outlier matches.")
        return False
    if _too_broad(conditions, match):
        st.error(
            "A pattern of only * matches every value, so every outlier would be"
            " suppressed: give a value with more than *."
        )
        return False
    if not reason.strip():
        st.error("Say why these outliers are expected.")
        return False
    return True


# --- Adding by hand ----------------------------------------------------------
_ADD_KEYS = ("field", "value", "match", "scope", "reason")


def add_form(store, titles: dict[str, str], default_scope: str) -> None:
    """Add an entry with one condition (edit it afterwards for more)."""
    with st.expander(":material/add: Add an entry by hand"):
        with st.form("allow.add_form"):
            field_name, value = st.columns(2)
            name = field_name.text_input(
                "Field", key="allow.add.field", placeholder="Name", help=_FIELD_HELP
            )
            wanted = value.text_input(
                "Value",
                key="allow.add.value",
                help="Empty matches an empty or missing value.",
            )
            match = st.radio(
                "The value is",
                list(_MATCH_LABELS),
                format_func=_MATCH_LABELS.get,
                horizontal=True,
                key="allow.add.match",
            )
            scopes = [GLOBAL_ENTRIES, *titles]
            scope = st.selectbox(
                "Applies to",
                scopes,
                index=scopes.index(default_scope) if default_scope in scopes else 0,
                format_func=shown_by(_scope_format(titles)),
                key="allow.add.scope",
            )
            reason = st.text_input("Why is it expected?", key="allow.add.reason")
            if not st.form_submit_button("Add to the allow-list"):
                return

        if not name.strip():
            st.error("Name the field the condition is on.")
            return
        if not _valid({name.strip(): wanted}, match, reason):
            return
        try:
            store.add_allow_entry(
                {name.strip(): wanted},
                scope="global" if scope == GLOBAL_ENTRIES else "experiment",
                experiment_id=None if scope == GLOBAL_ENTRIES else scope,
                match=match,
                reason=reason.strip(),
                author=resources.analyst(),
            )
        except ProcanomError as error:
            st.error(literal(f"Not added: {error}"))
            return
        for suffix in _ADD_KEYS:
            st.session_state.pop(f"allow.add.{suffix}", None)
        st.toast("Added to the allow-list.")
        st.rerun()


# --- CSV for Splunk ----------------------------------------------------------
def csv_exchange(
    store, entries: Sequence[AllowEntry], titles: dict[str, str], default_scope: str
) -> None:
    """Export the entries shown as a Splunk lookup CSV; import such a file."""
    st.subheader("CSV for Splunk")
    if entries:
        _export(entries)
    else:
        st.caption("Nothing to export yet.")
    _import(store, titles, default_scope)


def _export(entries: Sequence[AllowEntry]) -> None:
    try:
        text = allowlist_to_csv(entries)
    except ProcanomError as error:
        st.error(literal(f"Cannot export: {error}"))
        return
    st.download_button(
        f"Export {counted(len(entries), 'entry', 'entries')} as CSV",
        data=text,
        file_name=CSV_NAME,
        mime="text/csv",
        key="allow.export",
    )
    fields = list(dict.fromkeys(n for entry in entries for n in entry.conditions))
    with st.expander("Use it in Splunk, or read the file"):
        st.caption(
            f"Upload {CSV_NAME} as a lookup table file, define it in"
            " `transforms.conf`, then keep the events no enabled entry covers."
            " Splunk reads every value as a pattern, so a literal value holding *"
            " matches more there than here."
        )
        st.code(
            f"[{LOOKUP_NAME}]\n"
            f"filename = {CSV_NAME}\n"
            "match_type = " + ", ".join(f"WILDCARD({n})" for n in fields) + "\n"
            "case_sensitive_match = false",
            language="ini",
        )
        st.code(
            f"| lookup {LOOKUP_NAME} {' '.join(fields)} OUTPUT reason enabled\n"
            '| where isnull(reason) OR enabled!="1"',
            language="text",
        )
        st.code(text, language="text")


def _import(store, titles: dict[str, str], default_scope: str) -> None:
    # What the last import did, said after the rerun that redrew the list.
    for level, text in st.session_state.pop(_IMPORT_NOTICES, []):
        getattr(st, level)(text)
    upload = st.file_uploader(
        "Import entries from a CSV",
        type=["csv"],
        key="allow.import.file",
        help="Columns named after event fields (* for any value), and optionally"
        " match, reason, author, scope, created_at, enabled, as exported above.",
    )
    choices = [None, *titles]
    experiment_id = st.selectbox(
        "Rows scoped to one experiment go to",
        choices,
        index=choices.index(default_scope) if default_scope in choices else 0,
        format_func=shown_by(
            lambda c: "(none: such rows are not added)" if c is None else titles[c]
        ),
        key="allow.import.experiment",
        help="The file says whether a row is for one experiment, not which one.",
    )
    if upload is None or not st.button("Import", key="allow.import.go"):
        return

    try:
        text = upload.getvalue().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        st.error(
            f"{upload.name}: byte {error.start} is not UTF-8; expected UTF-8 text."
        )
        return
    try:
        entries, problems = read_csv_rows(
            text, experiment_id, resources.analyst(), upload.name
        )
        entries, repeated = _new_entries(entries, store.list_allow_entries())
        saved = store.add_allow_entries(entries) if entries else []
    except ProcanomError as error:
        st.error(literal(f"Nothing imported: {error}"))
        return

    notices: list[tuple[str, str]] = []
    if saved:
        notices.append(
            ("success", literal(f"Added {len(saved)} entries from {upload.name}."))
        )
        for note in unknown_field_notes(saved, _known_fields(store)):
            notices.append(("warning", literal(f"{upload.name}: {note}")))
    if repeated:
        notices.append(
            (
                "info",
                literal(
                    f"{repeated} row(s) of {upload.name} are already on the"
                    " allow-list (same conditions, match and scope): not added"
                    " again."
                ),
            )
        )
    if problems:
        notices.append(
            (
                "warning",
                literal(f"{len(problems)} row(s) of {upload.name} not added:")
                + "\n\n"
                + "\n".join(f"- {literal(problem)}" for problem in problems),
            )
        )
    elif not saved and not repeated:
        notices.append(
            ("warning", literal(f"{upload.name} holds no entries (only a header)."))
        )
    st.session_state[_IMPORT_NOTICES] = notices
    st.rerun()


def _new_entries(
    entries: Sequence[AllowEntry], existing: Sequence[AllowEntry]
) -> tuple[list[AllowEntry], int]:
    """The entries not on the list yet (nor earlier in the file), and how many were."""

    def identity(entry: AllowEntry) -> tuple:
        conditions = tuple(sorted(entry.conditions.items()))
        return (entry.scope, entry.experiment_id, entry.match, conditions)

    seen = {identity(entry) for entry in existing}
    new = []
    for entry in entries:
        if identity(entry) not in seen:
            seen.add(identity(entry))
            new.append(entry)
    return new, len(entries) - len(new)


def _known_fields(store) -> set[str]:
    """Fields the store's datasets hold or its experiments analyse."""
    known = set(PROCESS_FIELDS)
    for info in resources.get_library().list():
        known.update(info.columns)
    for summary in store.list_experiments():
        known.update(summary.fields)
    return known


def unknown_field_notes(entries: Iterable[AllowEntry], known: set[str]) -> list[str]:
    """Say which conditions name a field no data here has, and what was meant.

    Field names match exactly, so ``name`` or ``Nmae`` would match no event:
    the entry is kept (data with that field may come) but the analyst hears
    of it now, not when an outlier is not cleared.
    """
    named = dict.fromkeys(n for entry in entries for n in entry.conditions)
    notes = []
    lowered = {k.lower(): k for k in known}
    for name in named:
        if name in known:
            continue
        guess = lowered.get(name.lower()) or next(
            iter(difflib.get_close_matches(name, sorted(known), n=1)), None
        )
        hint = f" Did you mean {guess}?" if guess else ""
        notes.append(
            f"column {name!r} is not a field of any dataset or experiment here;"
            f" its entries match no event until data has such a field.{hint}"
        )
    return notes


def read_csv_rows(
    text: str, experiment_id: str | None, author: str, source: str
) -> tuple[list[AllowEntry], list[str]]:
    """Read an allow-list CSV, keeping the good rows and naming the bad ones.

    Returns
    -------
    (list of AllowEntry, list of str)
        Entries of the good rows, not saved yet; ``"line N: problem"`` for
        every row that was not read.

    Raises
    ------
    InputFileError
        If the header itself cannot be used (no field columns, empty file).
    """
    problems: list[str] = []
    entries = allowlist_from_csv(
        text,
        experiment_id=experiment_id,
        author=author,
        source=source,
        problems=problems,
    )
    return entries, problems
