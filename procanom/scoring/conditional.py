"""Combination-aware scoring: how unusual is this process *here*, *under this parent*.

Splunk's histogram multiplies per-field frequencies, so it cannot see an
unusual combination of common values (``w3wp.exe`` starting ``cmd.exe``), and
a near-unique field such as CommandLine drowns every other one. This method
scores the relations between fields instead, on normalised values
(:mod:`procanom.normalize`).

The score of one event is built in four steps:

1. **Launch surprise.** For the parent's name and path, the surprisal
   ``-ln P(parent | x)`` given each of the process's own name, path and
   command line, and given its host and user, averaged: *who started this
   program, and is that usual for this program, on this host, for this
   user?*
2. **Content surprise.** The surprisal of the process name given its
   parent, less the entropy of that parent's children (a parent that
   starts hundreds of different programs makes a new one unsurprising), and,
   when command lines are scored, the rarity of the command line's most
   unusual switch for that program. Without parent fields, the surprisal of
   each field's value. The event's own score is the largest of the launch
   surprise, ``content_weight`` times the content surprise and, when a name
   and a path are scored, ``path_weight`` times the surprisal of the path
   given the name less the entropy of that name's paths (``svchost.exe``
   from a user folder, where it always runs from System32; a program
   installed in many versioned folders is not surprising in a new one).
3. **Lineage.** Where events can be linked to their parent's event
   (:mod:`procanom.scoring.tree`), an event inherits ``lineage`` times its
   parent's score when that is higher: the children of an unusual process
   are part of what it did. Such an outlier's probable cause is
   ``(inherited)``, and ``inherited_from`` names the ancestor.
4. **Per-host baseline.** When a host field is scored, the score is
   expressed against the host's own baseline: minus the median of the
   baseline scores on that host, divided by their median absolute
   deviation (the centre is the ``host_centre`` quantile, the median by
   default; both shrunk towards the whole baseline's for hosts with few
   events). A noisy host's background no longer outranks a quiet host's
   intruder.

Probabilities are smoothed towards the field's overall frequency with
``alpha`` pseudo-events, so a parent seen twice does not make its children
look impossible, and a value never seen in the baseline counts as seen once
more than the baseline's size. A missing (empty) value is no evidence: its
terms count as zero surprise.

Fitting on one frame and scoring another compares a detection window with
a baseline; the ``first_seen`` column then lists the fields whose value the
baseline never saw. A fitted model converts to plain data with
:meth:`ConditionalDetector.to_dict`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.errors import ParameterError
from procanom.normalize import KnownTemplates, encode_templates, template_column
from procanom.scoring._base import BaseDetector, Causes, DetectionResult
from procanom.scoring._encode import EncodedColumn, encode_column
from procanom.scoring._tables import PairTable, ValueTable
from procanom.scoring.roles import field_roles, template_kind
from procanom.scoring.thresholds import ThresholdRule, apply_threshold
from procanom.scoring.tree import link_parents, propagate_lineage

__all__ = ["INHERITED_CAUSE", "ConditionalDetector", "Term"]

logger = logging.getLogger(__name__)

_PARENT_ROLES = ("parent_name", "parent_path")
_GIVEN_ROLES = ("name", "path", "command_line", "host", "user")
_CONTEXT_ROLES = ("host", "user")
_SCALE_FLOOR = 0.25  # keeps a host whose baseline scores are all equal finite

#: Closed ranges of the parameters bounded on both sides (a page's boxes use
#: them); the others are weights or counts of 0 or more.
PARAMETER_RANGES = {"lineage": (0.0, 1.0), "host_centre": (0.0, 1.0)}


def _within(name: str, value: float) -> bool:
    low, high = PARAMETER_RANGES[name]
    return low <= value <= high


_EXTRA_COLUMNS = ("event_score", "inherited_from", "first_seen")
#: ``probable_cause`` of an outlier whose score was inherited from an ancestor.
INHERITED_CAUSE = "(inherited)"
#: Default fence: host deviations above the host's typical event.
DEFAULT_SCORE_THRESHOLD = 2.0
_FOLDER = " folder"  # suffix of the derived key: the folder of a path field
_FOLDER_PATTERN = r"[\\/][^\\/]*$"  # the last separator and the file name


@dataclass(frozen=True)
class Term:
    """One surprisal term of the score.

    Attributes
    ----------
    field : str
        The field whose value is judged.
    given : str or None
        The field it is judged against; None for its overall frequency.
    group : {"launch", "content", "tokens", "identity", "location"}
        Which part of the score the term belongs to.
    relative : bool
        Whether the entropy of ``field`` within the ``given`` value is
        subtracted.
    """

    field: str
    given: str | None
    group: str
    relative: bool = False

    @property
    def label(self) -> str:
        if self.group == "tokens":
            return f"{self.field} switches"
        return self.field if self.given is None else f"{self.field} | {self.given}"


@dataclass
class _Tokens:
    """Per program, how many baseline events used each command-line token."""

    programs: pd.Index
    tokens: pd.Index
    pairs: PairTable
    program_counts: np.ndarray
    token_counts: np.ndarray
    expected: np.ndarray  # mean token surprisal of each program's events
    total: int


@dataclass
class _Prepared:
    """One frame's values as the model sees them, computed once per frame."""

    keys: dict[str, EncodedColumn]  # templates (or exact text) per field
    codes: dict[str, np.ndarray]  # codes in the fitted tables, -1 unseen
    missing: dict[str, np.ndarray]  # empty values
    parents: np.ndarray | None  # parent row of each event, -1 none
    # The fitted frame's own scores, term values and lineage, kept from
    # fitting so that fit_score does not compute them twice.
    scored: tuple | None = None
    # For the fitted frame: each event's count of each pair, had while
    # counting, so its terms need no lookup.
    together: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def text(self, field: str) -> pa.Array:
        """The key of every event of ``field`` as text."""
        encoded = self.keys[field]
        return encoded.values.take(pa.array(encoded.codes))


def _reencode(encoded: EncodedColumn, derived: pa.Array) -> EncodedColumn:
    """Encode ``derived``, one value per distinct value of ``encoded``."""
    # Distinct values are in first-seen order, so their derived values are.
    again = pc.dictionary_encode(derived)
    of_value = again.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = of_value[encoded.codes]
    values = again.dictionary
    counts = np.bincount(codes, minlength=len(values)).astype(np.int64, copy=False)
    return EncodedColumn(codes=codes, values=values, counts=counts)


def _no_first_seen(n: int) -> pd.arrays.ArrowStringArray:
    """``n`` empty ``first_seen`` values, built by Arrow, not as Python objects."""
    empty = pa.array([""], pa.string())
    return pd.arrays.ArrowStringArray(empty.take(pa.array(np.zeros(n, np.int64))))


def _split_templates(templates: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    programs, tokens = [], []
    for text in templates:
        head, _, rest = text.partition(" ")
        programs.append(head)
        tokens.append(sorted(set(rest.split())) if rest else [])
    return programs, tokens


class ConditionalDetector(BaseDetector):
    """Rarity of each value given the others, with lineage and host baselines.

    Parameters
    ----------
    fields : sequence of str
        Fields to score. Roles (program, parent, host, user) are guessed
        from the names; see :mod:`procanom.scoring.roles`.
    roles : dict, optional
        ``{field: role}`` overrides of the guessed roles.
    normalize : bool, default True
        Compare names, paths and command lines as templates
        (:mod:`procanom.normalize`); hosts and users case-insensitively.
    alpha : float, default 3.0
        Pseudo-events of smoothing towards a value's overall frequency.
    content_weight : float, default 0.25
        Weight of the content surprise against the launch surprise.
    token_weight : float, default 0.0
        Weight of the command-line switch rarity within the content surprise.
    lineage : float, default 1.0
        Share of its parent's score an event inherits (0 turns lineage off).
    link : {"auto", "guid", "pid", "none"}, default "auto"
        How events are linked to their parent's event.
    host_baseline : bool, default True
        Express scores against each host's own baseline.
    host_shrinkage : float, default 20.0
        Pseudo-events pulling a small host's baseline towards the global one.
    path_weight : float, default 0.25
        Weight of the surprise of the program's path given its name (less
        the entropy of that name's paths), taken when it exceeds the rest of
        the event's own score (0 turns it off).
    location_weight : float, default 0.0
        Weight of the rarity of the program's folder on its host (the folder
        of the path field given the host field), added to the event's own
        score. Off by default: it helps where attacks run from unusual
        folders (pandalab) and hurts where they run from System32.
    host_centre : float, default 0.5
        Quantile of a host's baseline scores taken as its centre (0.5, the
        median; lower suits hosts where much of the activity is the attack).
    cutoff : bool, optional
        Splunk-style automatic fence: True for ``Q3 + 3 IQR`` of the scores,
        False for ``Q3 + 1.5 IQR``. When neither ``cutoff``, ``pthresh`` nor
        ``threshold`` is given: with a host baseline, events more than
        :data:`DEFAULT_SCORE_THRESHOLD` host deviations above their host's
        centre (``ThresholdRule("score", 2.0)``), else ``Q3 + 1.5 IQR``.
    pthresh : float, optional
        Accepted for Splunk's option of that name. The scores of this method
        are not event probabilities, so it flags that share of the events,
        the least likely first (``pthresh=0.01``: the 1% most unusual), like
        ``ThresholdRule("percent", 100 * pthresh)``.
    threshold : ThresholdRule or dict, optional
        Any other rule (top N, percent, score). Overrides ``cutoff``.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "ParentName": ["services.exe"] * 40 + ["explorer.exe"] * 40 + ["w3wp.exe"],
    ...     "Name": ["svchost.exe"] * 40 + ["cmd.exe"] * 40 + ["cmd.exe"],
    ... })
    >>> result = ConditionalDetector(["Name", "ParentName"]).fit_score(events)
    >>> result.outliers()[["ParentName", "Name"]].values.tolist()
    [['w3wp.exe', 'cmd.exe']]
    """

    name = "conditional"
    parameter_ranges: ClassVar[dict[str, tuple[float, float]]] = PARAMETER_RANGES

    def __init__(
        self,
        fields: Sequence[str] | None = None,
        roles: dict[str, str] | None = None,
        normalize: bool = True,
        alpha: float = 3.0,
        content_weight: float = 0.25,
        token_weight: float = 0.0,
        lineage: float = 1.0,
        link: str = "auto",
        host_baseline: bool = True,
        host_shrinkage: float = 20.0,
        path_weight: float = 0.25,
        location_weight: float = 0.0,
        host_centre: float = 0.5,
        cutoff: bool | None = None,
        pthresh: float | None = None,
        threshold: ThresholdRule | dict | None = None,
    ) -> None:
        self.fields = fields
        self.roles = roles
        self.normalize = normalize
        self.alpha = alpha
        self.content_weight = content_weight
        self.token_weight = token_weight
        self.lineage = lineage
        self.link = link
        self.host_baseline = host_baseline
        self.host_shrinkage = host_shrinkage
        self.path_weight = path_weight
        self.location_weight = location_weight
        self.host_centre = host_centre
        self.cutoff = cutoff
        self.pthresh = pthresh
        self.threshold = threshold

    def use_templates(self, known: Mapping[str, KnownTemplates]) -> ConditionalDetector:
        """Take templates already made for some fields' values.

        Templates depend on the value alone, so a caller that keeps them (the
        dataset library keeps them per dataset column) can hand them over
        instead of having the rules run again on every distinct value. Scores
        are the same either way; values the tables lack are templated as
        usual.

        Parameters
        ----------
        known : mapping of str to procanom.normalize.KnownTemplates
            Per field, templates made by the same rules
            (:func:`procanom.normalize.template_fingerprint`).

        Returns
        -------
        ConditionalDetector
            This detector.
        """
        self._known_templates = dict(known)
        return self

    def _threshold_rule(self) -> ThresholdRule:
        # Scores here are not event probabilities, so Splunk's pthresh is
        # read as the share of events to flag.
        if self.threshold is None and self.pthresh is not None:
            if not 0 < self.pthresh <= 1:
                raise ParameterError(
                    "pthresh", "a share above 0 and at most 1", self.pthresh
                )
            return ThresholdRule("percent", 100.0 * float(self.pthresh))
        if self.threshold is None and self.cutoff is None:
            # Against host baselines a score is a robust z-score: 2 host
            # deviations above the host's typical event found attacks in most
            # held-out labs for about 4% of benign events flagged. Without a
            # host baseline (switched off, or no host among the fields) the
            # scores are surprisals with no such scale: Splunk's fence.
            if getattr(self, "host_stats_", None) is not None:
                return ThresholdRule("score", DEFAULT_SCORE_THRESHOLD)
            return ThresholdRule("auto")
        return super()._threshold_rule()

    # Structure ------------------------------------------------------------
    def _check_params(self) -> None:
        checks = [
            ("alpha", self.alpha > 0, "a number above 0"),
            ("content_weight", self.content_weight >= 0, "a number of 0 or more"),
            ("token_weight", self.token_weight >= 0, "a number of 0 or more"),
            ("lineage", _within("lineage", self.lineage), "a share from 0 to 1"),
            ("host_shrinkage", self.host_shrinkage >= 0, "a number of 0 or more"),
            ("path_weight", self.path_weight >= 0, "a number of 0 or more"),
            ("location_weight", self.location_weight >= 0, "a number of 0 or more"),
            (
                "host_centre",
                _within("host_centre", self.host_centre),
                "a quantile from 0 to 1",
            ),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ParameterError(name, allowed, getattr(self, name))
        if self.link not in ("auto", "guid", "pid", "none"):
            raise ParameterError("link", "one of auto, guid, pid, none", self.link)

    @staticmethod
    def _plan(
        roles: dict[str, str],
        token_weight: float,
        location_weight: float = 0.0,
        path_weight: float = 0.0,
    ) -> list[Term]:
        by_role = {role: f for f, role in roles.items() if role != "other"}
        terms: list[Term] = []
        for parent_role in _PARENT_ROLES:
            parent = by_role.get(parent_role)
            if parent is None:
                continue
            for given_role in _GIVEN_ROLES:
                given = by_role.get(given_role)
                if given is not None:
                    terms.append(Term(parent, given, "launch"))

        parent_name = by_role.get("parent_name")
        program = next(
            (by_role[r] for r in ("name", "path", "command_line") if r in by_role), None
        )
        if parent_name is not None and program is not None:
            terms.append(Term(program, parent_name, "content", relative=True))
        else:
            parent_fields = {f for f, r in roles.items() if r.startswith("parent")}
            own = [
                f
                for f, role in roles.items()
                if f not in parent_fields and role not in _CONTEXT_ROLES
            ]
            # With nothing but hosts and users, their own rarity is all there is.
            own = own or [f for f in roles if f not in parent_fields] or list(roles)
            terms.extend(Term(f, None, "content") for f in own)
        if token_weight > 0 and "command_line" in by_role:
            terms.append(Term(by_role["command_line"], None, "tokens"))
        if path_weight > 0 and "name" in by_role and "path" in by_role:
            terms.append(Term(by_role["path"], by_role["name"], "identity", True))
        if location_weight > 0 and "path" in by_role and "host" in by_role:
            terms.append(Term(by_role["path"] + _FOLDER, by_role["host"], "location"))
        return terms

    # Value preparation ----------------------------------------------------
    def _keys(self, frame: pd.DataFrame, field: str) -> EncodedColumn:
        """The values ``field`` is counted by: templates or exact text.

        Templates made at ingest (:func:`procanom.normalize.add_templates`)
        are used as they are; otherwise they are made once per distinct value
        and come back encoded, in first-seen order, as encoding the template
        of every event would.
        """
        kind = template_kind(self.roles_[field]) if self.normalize else None
        if kind is None:
            return encode_column(frame[field])
        made = template_column(frame, field, kind)
        if made is not None:
            logger.debug("%s: templates from column %s", field, made)
            return encode_column(frame[made])
        known = getattr(self, "_known_templates", {}).get(field)
        return encode_templates(frame[field], kind, known)

    def _all_keys(self, frame: pd.DataFrame) -> dict[str, EncodedColumn]:
        """Keys of every field, plus the folder of the path for location terms."""
        keys = {f: self._keys(frame, f) for f in self.fields_}
        for term in self.terms_:
            if term.group == "location":
                path = keys[term.field.removesuffix(_FOLDER)]
                # A path without a separator has no folder: counted as empty.
                folders = pc.replace_substring_regex(path.values, _FOLDER_PATTERN, "")
                keys[term.field] = _reencode(path, folders)
        return keys

    # Fitting --------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, fields: Sequence[str]) -> None:
        self._check_params()
        self.fields_ = list(fields)
        self.roles_ = field_roles(fields, self.roles)
        self.terms_ = self._plan(
            self.roles_, self.token_weight, self.location_weight, self.path_weight
        )

        keys = self._all_keys(frame)
        codes = {f: keys[f].codes for f in keys}
        self.tables_ = {f: ValueTable(keys[f].values, keys[f].counts) for f in keys}

        self.pairs_: dict[tuple[str, str], PairTable] = {}
        self.entropy_: dict[tuple[str, str], np.ndarray] = {}
        n = len(frame)
        together = {}
        for term in self.terms_:
            if term.given is None:
                continue
            pair = (term.field, term.given)
            width = len(self.tables_[term.given].values)
            table, together[pair] = PairTable.counted(
                codes[term.field], codes[term.given], width
            )
            self.pairs_[pair] = table
            if term.relative:
                self.entropy_[pair] = self._entropy(pair, table, n)

        self.tokens_ = None
        if any(t.group == "tokens" for t in self.terms_):
            field = next(t.field for t in self.terms_ if t.group == "tokens")
            self.tokens_ = self._fit_tokens(self.tables_[field])

        self.n_fit_ = n
        parents = link_parents(frame, self.link) if self.lineage > 0 else None
        missing = {f: self._is_empty(keys[f]) for f in keys}
        prepared = _Prepared(keys, codes, missing, parents, together=together)
        own, values = self._own_scores(prepared)
        lineage_scores, source = self._lineage(prepared, own)
        prepared.scored = (own, values, lineage_scores, source)
        self.host_field_ = next(
            (f for f, r in self.roles_.items() if r == "host" and self.host_baseline),
            None,
        )
        self.host_stats_ = self._fit_host_baseline(codes, lineage_scores)
        # Kept until the same events are scored by fit_score, then dropped.
        self._fitted_frame = (id(frame), prepared)
        logger.info(
            "conditional model fitted on %d events: %d terms (%s)",
            n,
            len(self.terms_),
            ", ".join(t.label for t in self.terms_),
        )

    def _entropy(self, pair: tuple[str, str], table: PairTable, n: int) -> np.ndarray:
        """Expected surprisal of ``field`` within each value of ``given``."""
        field, given = pair
        a, b = table.split()
        given_counts = self.tables_[given].counts
        p_field = self.tables_[field].counts / max(n, 1)
        p = (table.counts + self.alpha * p_field[a]) / (given_counts[b] + self.alpha)
        share = table.counts / np.maximum(given_counts[b], 1)
        return np.bincount(b, weights=share * -np.log(p), minlength=len(given_counts))

    def _fit_tokens(self, table: ValueTable) -> _Tokens:
        templates = table.values.to_pylist()
        programs, tokens = _split_templates(templates)
        program_index = pd.Index(pd.unique(np.asarray(programs, dtype=object)))
        flat = [tok for toks in tokens for tok in toks]
        token_index = pd.Index(pd.unique(np.asarray(flat, dtype=object)))
        program_codes = program_index.get_indexer(programs)
        rows = np.repeat(np.arange(len(templates)), [len(t) for t in tokens])
        token_codes = token_index.get_indexer(flat) if flat else np.zeros(0, np.int64)

        weights = table.counts
        program_counts = np.bincount(
            program_codes, weights=weights, minlength=len(program_index)
        ).astype(np.int64)
        token_counts = np.bincount(
            token_codes, weights=weights[rows], minlength=len(token_index)
        ).astype(np.int64)
        keys = (
            program_codes[rows].astype(np.int64) * max(len(token_index), 1)
            + token_codes
        )
        pairs = PairTable(
            max(len(token_index), 1), np.zeros(0, np.int64), np.zeros(0, np.int64)
        )
        if len(keys):
            inverse, distinct = pd.factorize(keys)
            counts = np.bincount(inverse, weights=weights[rows]).astype(np.int64)
            order = np.argsort(distinct)
            pairs = PairTable(
                pairs.width, distinct[order].astype(np.int64), counts[order]
            )
        total = int(weights.sum())
        model = _Tokens(
            program_index,
            token_index,
            pairs,
            program_counts,
            token_counts,
            np.zeros(len(program_index)),
            total,
        )
        per_template = self._token_surprisal(model, programs, tokens)
        expected = np.bincount(
            program_codes, weights=weights * per_template, minlength=len(program_index)
        ) / np.maximum(program_counts, 1)
        model.expected = expected
        return model

    def _token_surprisal(
        self, model: _Tokens, programs: list[str], tokens: list[list[str]]
    ) -> np.ndarray:
        """Surprisal of each template's rarest switch for its program."""
        out = np.zeros(len(programs))
        if not programs:
            return out
        program_codes = model.programs.get_indexer(programs)
        flat = [tok for toks in tokens for tok in toks]
        if not flat:
            return out
        rows = np.repeat(np.arange(len(programs)), [len(t) for t in tokens])
        token_codes = model.tokens.get_indexer(flat)
        pair_counts = model.pairs.lookup(program_codes[rows], token_codes)
        token_counts = np.where(
            token_codes >= 0, model.token_counts[np.maximum(token_codes, 0)], 0
        )
        p_token = np.maximum(token_counts, 1) / (model.total + 1)
        program_counts = np.where(
            program_codes >= 0, model.program_counts[np.maximum(program_codes, 0)], 0
        )[rows]
        p = (pair_counts + self.alpha * p_token) / (program_counts + self.alpha)
        np.maximum.at(out, rows, -np.log(np.minimum(p, 1.0)))
        return out

    def _fit_host_baseline(
        self, codes: dict[str, np.ndarray], scores: np.ndarray
    ) -> dict | None:
        if self.host_field_ is None or len(scores) == 0:
            return None
        host_codes = codes[self.host_field_]
        n_hosts = len(self.tables_[self.host_field_].values)
        frame = pd.DataFrame({"host": host_codes, "s": scores})
        median = frame.groupby("host")["s"].quantile(self.host_centre)
        frame["dev"] = np.abs(scores - median.reindex(host_codes).to_numpy())
        spread = frame.groupby("host")["dev"].median()
        size = np.bincount(host_codes, minlength=n_hosts)[median.index]
        overall = float(np.quantile(scores, self.host_centre))
        overall_spread = float(np.median(np.abs(scores - overall)))
        share = size / (size + self.host_shrinkage)
        centre = np.full(n_hosts, overall)
        scale = np.full(n_hosts, overall_spread)
        centre[median.index] = share * median.to_numpy() + (1 - share) * overall
        scale[spread.index] = share * spread.to_numpy() + (1 - share) * overall_spread
        return {
            "centre": centre,
            "scale": scale,
            "overall_centre": overall,
            "overall_scale": overall_spread,
        }

    # Scoring --------------------------------------------------------------
    @staticmethod
    def _is_empty(keys: EncodedColumn) -> np.ndarray:
        empty = pc.equal(keys.values, "").to_numpy(zero_copy_only=False)
        return empty.astype(bool)[keys.codes]

    def _prepare(
        self, frame: pd.DataFrame, same_as_fit: bool, link: bool = True
    ) -> _Prepared:
        cached = getattr(self, "_fitted_frame", None)
        if same_as_fit and cached is not None and cached[0] == id(frame):
            return cached[1]
        keys = self._all_keys(frame)
        # Distinct values are looked up once each, then spread to the events.
        codes = {f: self.tables_[f].lookup(keys[f].values)[keys[f].codes] for f in keys}
        missing = {f: self._is_empty(keys[f]) for f in keys}
        parents = link_parents(frame, self.link) if link and self.lineage > 0 else None
        return _Prepared(keys, codes, missing, parents)

    def _term_values(self, prepared: _Prepared) -> dict[Term, np.ndarray]:
        codes, missing = prepared.codes, prepared.missing
        n_fit = self.n_fit_
        unseen_p = 1.0 / (n_fit + 1)
        values: dict[Term, np.ndarray] = {}
        for term in self.terms_:
            if term.group == "tokens":
                values[term] = self._token_values(prepared.keys[term.field])
                continue
            a = codes[term.field]
            p_field = np.where(
                a >= 0,
                self.tables_[term.field].counts[np.maximum(a, 0)] / max(n_fit, 1),
                unseen_p,
            )
            if term.given is None:
                surprisal = -np.log(np.maximum(p_field, unseen_p))
                values[term] = np.where(missing[term.field], 0.0, surprisal)
                continue
            b = codes[term.given]
            pair = (term.field, term.given)
            given_counts = np.where(
                b >= 0, self.tables_[term.given].counts[np.maximum(b, 0)], 0
            )
            together = prepared.together.get(pair)
            if together is None:
                together = self.pairs_[pair].lookup(a, b)
            p = (together + self.alpha * p_field) / (given_counts + self.alpha)
            surprisal = -np.log(np.minimum(p, 1.0))
            if term.relative:
                entropy = self.entropy_[pair]
                expected = np.where(b >= 0, entropy[np.maximum(b, 0)], 0.0)
                surprisal = np.maximum(surprisal - expected, 0.0)
            none = missing[term.field] | missing[term.given]
            values[term] = np.where(none, 0.0, surprisal)
        return values

    def _token_values(self, keys: EncodedColumn) -> np.ndarray:
        codes, distinct = keys.codes, keys.values
        programs, tokens = _split_templates(distinct.to_pylist())
        per_template = self._token_surprisal(self.tokens_, programs, tokens)
        program_codes = self.tokens_.programs.get_indexer(programs)
        expected = np.where(
            program_codes >= 0, self.tokens_.expected[np.maximum(program_codes, 0)], 0.0
        )
        return np.maximum(per_template - expected, 0.0)[codes]

    def _own_scores(
        self, prepared: _Prepared
    ) -> tuple[np.ndarray, dict[Term, np.ndarray]]:
        values = self._term_values(prepared)
        n = len(next(iter(prepared.codes.values())))
        launch = [values[t] for t in self.terms_ if t.group == "launch"]
        content = [values[t] for t in self.terms_ if t.group == "content"]
        tokens = [values[t] for t in self.terms_ if t.group == "tokens"]
        location = [values[t] for t in self.terms_ if t.group == "location"]
        content_score = np.mean(content, axis=0) if content else np.zeros(n)
        if tokens:
            content_score = content_score + self.token_weight * tokens[0]
        if launch:
            own = np.maximum(
                np.mean(launch, axis=0), self.content_weight * content_score
            )
        else:
            own = content_score
        for term in self.terms_:
            if term.group == "identity":
                own = np.maximum(own, self.path_weight * values[term])
        if location:
            own = own + self.location_weight * np.mean(location, axis=0)
        return own, values

    def _lineage(
        self, prepared: _Prepared, own: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if prepared.parents is None:
            return own, np.arange(len(own))
        return propagate_lineage(own, prepared.parents, self.lineage)

    def _against_host(
        self, codes: dict[str, np.ndarray], scores: np.ndarray
    ) -> np.ndarray:
        stats = self.host_stats_
        if stats is None:
            return scores
        host = codes[self.host_field_]
        centre = np.where(
            host >= 0, stats["centre"][np.maximum(host, 0)], stats["overall_centre"]
        )
        scale = np.where(
            host >= 0, stats["scale"][np.maximum(host, 0)], stats["overall_scale"]
        )
        return (scores - centre) / (scale + _SCALE_FLOOR)

    def _score(self, frame: pd.DataFrame, same_as_fit: bool = False) -> DetectionResult:
        n = len(frame)
        prepared = self._prepare(frame, same_as_fit)
        self._fitted_frame = None
        codes = prepared.codes
        if prepared.scored is not None:
            own, values, lineage_scores, source = prepared.scored
        else:
            own, values = self._own_scores(prepared)
            lineage_scores, source = self._lineage(prepared, own)
        scores = self._against_host(codes, lineage_scores)

        rule = self._threshold_rule()
        is_outlier, fence = apply_threshold(scores, rule)
        first_seen = (
            _no_first_seen(n)
            if same_as_fit
            else self._first_seen(codes, prepared.missing)
        )
        annotated, causes = self._annotate(
            frame, prepared, values, own, scores, source, is_outlier, first_seen
        )

        summary = {
            "num_anomalies": int(is_outlier.sum()),
            "thresh": fence.score,
            "1st_quartile": fence.q1,
            "3rd_quartile": fence.q3,
            "max_score": float(scores.max()) if n else math.nan,
            "terms": [t.label for t in self.terms_],
            "normalized": bool(self.normalize),
            "num_events": n,
        }
        return DetectionResult(
            annotated=annotated,
            fields=list(self.fields_),
            method=self.name,
            threshold=rule,
            fence=fence,
            summary=summary,
            causes=causes,
        )

    def _first_seen(self, codes: dict[str, np.ndarray], missing: dict) -> np.ndarray:
        n = len(next(iter(codes.values()))) if codes else 0
        parts = np.full(n, "", dtype=object)
        for f in self.fields_:
            unseen = (codes[f] < 0) & ~missing[f]
            if unseen.any():
                joined = np.where(parts[unseen] == "", f, parts[unseen] + ", " + f)
                parts[unseen] = joined
        return parts

    def _annotate(
        self,
        frame: pd.DataFrame,
        prepared: _Prepared,
        values: dict[Term, np.ndarray],
        own: np.ndarray,
        scores: np.ndarray,
        source: np.ndarray,
        is_outlier: np.ndarray,
        first_seen: np.ndarray | pd.arrays.ArrowStringArray,
    ) -> tuple[pd.DataFrame, Causes]:
        n = len(frame)
        codes = prepared.codes
        terms = self.terms_
        matrix = (
            np.column_stack([values[t] for t in terms])
            if n
            else np.zeros((0, len(terms)))
        )
        strongest = matrix.argmax(axis=1) if n else np.zeros(0, np.int64)
        strongest_value = matrix[np.arange(n), strongest] if n else np.zeros(0)

        # An event's cause is its strongest own term. An event whose score
        # came from an ancestor (lineage) is marked INHERITED_CAUSE instead:
        # none of its own values made the score, ``inherited_from`` names the
        # event whose values did, and the frequency is that event's. Worked
        # out for every event, shown on outliers (relabel shows it on the
        # events it flags).
        inherited = source != np.arange(n)
        categories = ["", *self.fields_]
        if INHERITED_CAUSE not in categories:
            categories.append(INHERITED_CAUSE)
        position = {f: i for i, f in enumerate(categories)}
        term_causes = np.array(
            [position[t.field.removesuffix(_FOLDER)] for t in terms], dtype=np.int64
        )
        cause_codes = term_causes[strongest] if n else np.zeros(0, np.int64)
        cause_codes = np.where(inherited, position[INHERITED_CAUSE], cause_codes)
        freq = np.exp(-np.asarray(strongest_value, dtype=np.float64))
        freq = freq[source] if n else freq
        causes = Causes(cause_codes, categories, freqs=freq)
        probable_cause, cause_freq = causes.shown(is_outlier)
        max_freq = np.zeros(n)
        for f in self.fields_:
            c = codes[f]
            fq = np.where(
                c >= 0,
                self.tables_[f].counts[np.maximum(c, 0)] / max(self.n_fit_, 1),
                0.0,
            )
            max_freq = np.maximum(max_freq, fq)

        # The method's own columns come first, so that the columns every
        # method shares (SCORE_COLUMNS) stay last, in their order.
        annotated = frame.copy(deep=False)
        if self.normalize:
            for f in self.fields_:
                kind = template_kind(self.roles_[f])
                column = f"{f}_template"
                if kind not in ("name", "path", "command_line"):
                    continue
                if template_column(frame, f, kind) == column:
                    continue  # made at ingest: already in the frame
                annotated[column] = pd.Series(
                    pd.arrays.ArrowStringArray(prepared.text(f)), index=frame.index
                )
        annotated["event_score"] = own
        inherited_from = np.full(n, None, dtype=object)
        if inherited.any():
            labels = frame.index[source[inherited]]
            inherited_from[inherited] = np.asarray(labels, dtype=object)
        annotated["inherited_from"] = inherited_from if n else []
        annotated["first_seen"] = pd.Series(
            first_seen, index=frame.index, dtype="string"
        )
        annotated["log_event_prob"] = -own
        annotated["probable_cause"] = probable_cause
        annotated["probable_cause_freq"] = cause_freq
        annotated["max_freq"] = max_freq
        annotated["anomaly_score"] = scores
        annotated["isOutlier"] = is_outlier.astype(np.int8)
        return annotated, causes

    # Explanations ---------------------------------------------------------
    def term_values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return every term's surprisal for each event of ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame
            Events holding the fitted fields (the baseline or another frame).

        Returns
        -------
        pandas.DataFrame
            One column per term (:attr:`Term.label`), ``frame``'s index.
        """
        values = self._term_values(self._prepare(frame, same_as_fit=False, link=False))
        return pd.DataFrame(
            {t.label: values[t] for t in self.terms_}, index=frame.index
        )
