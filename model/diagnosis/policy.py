"""The triage policy as reviewed data: rules and "likely" thresholds read from the priors folder.

``priors/triage_rules.csv`` holds one rule per row: ``rule_id``, ``level``, ``when`` (conditions
``column=state`` joined by ``&``; ``state1|state2`` allows either; ``?`` means "not known"), ``words`` (what a person
reads), ``red_flag`` (``yes``/``no``), ``source_id`` (a key into ``sources.csv``) and ``note``.
A rule with an empty ``when`` is the *default*: the level given when no self-care rule fires.
``priors/triage_thresholds.csv`` gives, per triage class of a cause, the posterior at which the
cause counts as likely. Both are validated at load like the numbers: every problem is reported
at once, naming the file, the row and the key.

How a level is set (:meth:`Policy.triage`):

1. Rules of level emergency, urgent or routine that fire, and causes whose posterior reaches
   their class threshold, each propose a level; the most urgent wins.
2. ``self_care`` is given only when a self-care rule fires (the answers themselves describe
   the benign pattern) and nothing in step 1 fired.
3. Otherwise the default rule's level (routine): self-care is never the default.

Examples
--------
>>> from legnumb.network.schema import load_schema
>>> policy = load_policy()
>>> schema = load_schema()
>>> ev = {"duration": "minutes", "position_trigger": "sitting", "relieved_by": "moving_or_shifting"}
>>> policy.level_of(schema, ev)
('self_care', "brief numbness brought on by a posture and cleared by moving (a limb 'falling asleep')")
>>> policy.level_of(schema, {})[0]
'routine'
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from legnumb.errors import PriorsError, Problem
from legnumb.network.schema import TRIAGE_LEVELS, Cause, Schema, closest, load_schema

__all__ = [
    "RULE_FIELDS",
    "THRESHOLD_FIELDS",
    "UNKNOWN",
    "Condition",
    "Policy",
    "Rule",
    "RuleHits",
    "load_policy",
]

#: Columns of ``triage_rules.csv``.
RULE_FIELDS: tuple[str, ...] = (
    "rule_id",
    "level",
    "when",
    "words",
    "red_flag",
    "source_id",
    "note",
)
#: Columns of ``triage_thresholds.csv``.
THRESHOLD_FIELDS: tuple[str, ...] = ("triage_class", "threshold", "source_id", "reasoning")
#: The state that matches a column left blank ("not known") in a rule's ``when``.
UNKNOWN = "?"
_RULES_FILE = "triage_rules.csv"
_THRESHOLDS_FILE = "triage_thresholds.csv"
_FEW_ROWS = 64  # up to this many rows, the rule lookups take every column at once
_BLOCK_ROWS = 8192  # else they go column by column over blocks of this many rows


@dataclass(frozen=True)
class Condition:
    """``column`` takes one of ``states``."""

    column: str
    states: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One triage rule: it fires when every condition holds (an empty rule is the default)."""

    rule_id: str
    level: str
    when: tuple[Condition, ...]
    words: str
    red_flag: bool
    source_id: str
    note: str = ""

    @property
    def is_default(self) -> bool:
        """True for the rule with no condition (the level when no self-care rule fires)."""
        return not self.when

    def fires(self, evidence: Mapping[str, str]) -> bool:
        """True when every condition holds in normalized ``evidence`` (never for the default)."""
        return bool(self.when) and all(
            evidence.get(c.column, UNKNOWN) in c.states for c in self.when
        )


@dataclass(frozen=True)
class Policy:
    """The triage rules and "likely" thresholds of one priors folder.

    Attributes
    ----------
    rules : tuple of Rule
        In file order (the order red flags are listed in).
    thresholds : dict
        Triage class of a cause -> posterior at which it counts as likely.
    sha256 : str
        Hash of the two files (part of the model's ``priors_hash``).
    threshold_sources : dict
        Triage class -> the ``source_id`` of its threshold.
    """

    rules: tuple[Rule, ...]
    thresholds: dict[str, float]
    sha256: str
    threshold_sources: dict[str, str] = field(default_factory=dict)

    @property
    def default(self) -> Rule:
        """The default rule (empty ``when``)."""
        return next(r for r in self.rules if r.is_default)

    def rule_matrix(self, schema: Schema, codes: np.ndarray) -> np.ndarray:
        """Boolean ``(B, n_rules)``: which rules fire for coded rows (-1 = not known).

        A code that is not a state of its column (nor -1) matches no condition.
        """
        return self.hits(schema, codes).fired

    def red_flag_answers(self, schema: Schema, codes: np.ndarray) -> np.ndarray:
        """Boolean ``(B, n_columns)``: the answers that a red-flag rule names.

        A cell is a red-flag answer when some red-flag rule has a condition on its column
        that allows its state (``?`` conditions do not count).
        """
        codes = np.asarray(codes, dtype=np.int64)
        t = self._tables(schema)
        out = np.zeros(codes.shape, dtype=bool)
        if codes.shape[0] <= _FEW_ROWS:  # one lookup for every column at once
            out[:, t.flag_col] = t.flagged[
                np.clip(codes[:, t.flag_col], -2, t.flag_card) + t.flag_off
            ]
        else:  # column by column, in blocks of rows that stay in cache
            for s in range(0, codes.shape[0], _BLOCK_ROWS):
                slots, block = codes[s : s + _BLOCK_ROWS] + 2, out[s : s + _BLOCK_ROWS]
                for j, table in zip(t.flag_col, t.flag_views, strict=True):
                    block[:, j] = np.take(table, slots[:, j], mode="clip")
        return out

    def hits(self, schema: Schema, codes: np.ndarray) -> RuleHits:
        """The rules that fire for coded rows, ready to be triaged with posteriors.

        The rules depend on the answers alone: :meth:`RuleHits.triage` gives what
        :meth:`triage` gives, for any posteriors, without looking at the answers again.
        """
        codes = np.asarray(codes, dtype=np.int64)
        t = self._tables(schema)
        n = codes.shape[0]
        if not len(t.rule_col):
            bits = np.repeat(t.rule_all[None, :], n, axis=0)
        elif n <= _FEW_ROWS:  # one lookup for every column at once
            found = t.rule_table[np.clip(codes[:, t.rule_col], -2, t.rule_card) + t.rule_off]
            bits = np.bitwise_and.reduce(found, axis=1) & t.rule_all
        else:  # column by column, in blocks of rows that stay in cache
            bits = np.repeat(t.rule_all[None, :], n, axis=0)
            for s in range(0, n, _BLOCK_ROWS):
                slots, block = codes[s : s + _BLOCK_ROWS] + 2, bits[s : s + _BLOCK_ROWS]
                for j, table in zip(t.rule_col, t.rule_views, strict=True):
                    block &= np.take(table, slots[:, j], axis=0, mode="clip")
        return RuleHits(t, bits)

    def triage(
        self,
        schema: Schema,
        codes: np.ndarray,
        posteriors: np.ndarray,
        base_posteriors: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
        """Levels, reasons and red flags of coded rows with their cause posteriors.

        Parameters
        ----------
        schema : Schema
            The symptom-CSV schema (column and cause order).
        codes : numpy.ndarray
            ``(B, n_columns)`` state codes, -1 where not known.
        posteriors : numpy.ndarray
            ``(B, n_causes)``; NaN rows (not scored) count as no likely cause.
        base_posteriors : numpy.ndarray, optional
            ``(B, n_causes)`` posteriors of the same rows with their red-flag answers left
            out (:meth:`red_flag_answers`; NaN where not computed). A cause likely there
            counts too, so that adding a warning sign never lowers the level by lowering a
            posterior (see :meth:`legnumb.diagnosis.model.Model.score_codes`).

        Returns
        -------
        levels : numpy.ndarray of str
        reasons : numpy.ndarray of str
            The rule or the likely cause that set each level, in plain words (see
            :meth:`cause_reason`).
        flags : list of tuple of str
            The red flags that fired, in rule order.
        """
        return self.hits(schema, codes).triage(posteriors, base_posteriors)

    def _tables(self, schema: Schema) -> _Tables:
        """The rules as lookup tables over the state codes of ``schema`` (built once each)."""
        key = id(schema)
        got = self._compiled.get(key)
        if got is None or got[0] is not schema:
            if len(self._compiled) >= 8:  # schemas come and go in tests; keep a few
                self._compiled.clear()
            got = self._compiled[key] = (schema, _Tables.build(self, schema))
        return got[1]

    @cached_property
    def _compiled(self) -> dict[int, tuple[Schema, _Tables]]:
        return {}

    def cause_reason(self, cause: Cause) -> str:
        """The ``triage_reason`` when a likely cause sets the level.

        >>> from legnumb.network.schema import load_schema
        >>> load_policy().cause_reason(load_schema().causes["stroke"])
        'possible stroke (probability 5% or more)'
        """
        name = cause.name.replace("_", " ")
        threshold = self.thresholds.get(cause.triage_if_likely)
        if threshold is None:  # a class without a threshold never sets the level
            return f"possible {name}"
        return f"possible {name} (probability {threshold:.0%} or more)"

    def markdown(self) -> str:
        """The rules and thresholds as the Markdown table the README quotes.

        >>> print(load_policy().markdown().splitlines()[0])
        | rule | level | when | what the person reads | source |
        """
        lines = [
            "| rule | level | when | what the person reads | source |",
            "|---|---|---|---|---|",
        ]
        for r in self.rules:
            when = " and ".join(
                f"{c.column} = {' or '.join('not known' if s == UNKNOWN else s for s in c.states)}"
                for c in r.when
            )
            lines.append(
                f"| {r.rule_id} | {r.level} | {when or '(default)'} | {r.words} | {r.source_id} |"
            )
        lines += ["", "| triage class of a cause | likely from | source |", "|---|---|---|"]
        lines += [
            f"| {c} | {v:.0%} | {self.threshold_sources.get(c, '')} |"
            for c, v in self.thresholds.items()
        ]
        return "\n".join(lines)

    def level_of(
        self, schema: Schema, evidence: Mapping[str, str], posteriors: Sequence[float] = ()
    ) -> tuple[str, str]:
        """``(level, reason)`` for one person's normalized evidence (and cause posteriors)."""
        codes = np.full((1, len(schema.columns)), -1, dtype=np.int64)
        for j, col in enumerate(schema.columns):
            if col in evidence:
                codes[0, j] = schema.columns[col].states.index(evidence[col])
        post = np.full((1, len(schema.causes)), np.nan)
        if len(posteriors):
            post[0] = np.asarray(posteriors, dtype=float)
        levels, reasons, _ = self.triage(schema, codes, post)
        return str(levels[0]), reasons[0]


@dataclass(frozen=True)
class _Tables:
    """A policy's rules as lookup tables over the state codes of one schema.

    Each column a rule names owns ``card + 3`` rows of ``rule_table``, one per code from -2
    to ``card`` (codes are clipped to that range: -2 and ``card`` stand for any code that
    is not a state or -1). Row ``rule_off + code`` holds one bit per rule, in words of 64:
    set when the rule has no condition on the column or its conditions there allow the
    code. A rule fires when its bit survives every column (the default rule never does).
    ``rule_views`` are the same rows per column, from code -2 on (so the slot of a code
    is ``code + 2``, clipped to the view). ``flagged`` and ``flag_views`` do the same per
    column for the red-flag answers, one bool per code.

    Triage compares candidates by *score* ``level * n_orders + order``: the most urgent
    level wins and, within a level, the first candidate in the order rules (file order),
    then per cause its own posterior and its posterior without the red flags (cause order).
    ``propose`` (the rules that propose a level) and ``cause_idx`` (the causes with a
    threshold) are sorted by score, so the first that fires or is likely is the best.
    ``cause_threshold`` is per cause (NaN, which no posterior reaches, where its class has
    none). ``flag_words`` maps each red-flag rule to its words.
    """

    n_rules: int
    rule_col: np.ndarray
    rule_card: np.ndarray
    rule_off: np.ndarray
    rule_table: np.ndarray
    rule_views: tuple[np.ndarray, ...]
    rule_all: np.ndarray
    flag_col: np.ndarray
    flag_card: np.ndarray
    flag_off: np.ndarray
    flagged: np.ndarray
    flag_views: tuple[np.ndarray, ...]
    propose: np.ndarray
    propose_score: np.ndarray
    care_rules: np.ndarray
    cause_idx: np.ndarray
    cause_threshold: np.ndarray
    cause_score: np.ndarray
    n_orders: int
    word_of_order: np.ndarray
    default_rule: int
    default_level: int
    levels: np.ndarray
    words: np.ndarray
    flag_mask: np.ndarray
    flag_words: dict[int, str]

    @property
    def never(self) -> int:
        """A score above every candidate's: nothing proposed a level."""
        return len(TRIAGE_LEVELS) * self.n_orders

    @classmethod
    def build(cls, policy: Policy, schema: Schema) -> _Tables:
        """Tables for ``policy`` over the codes of ``schema``."""
        columns = list(schema.columns)
        rules = policy.rules
        n_words = -(-len(rules) // 64)

        def bits(ks) -> np.ndarray:
            out = np.zeros(n_words, dtype=np.uint64)
            for k in ks:
                out[k // 64] |= np.uint64(1) << np.uint64(k % 64)
            return out

        def slots(states: tuple[str, ...], allowed) -> list:
            """Per code -2 .. card: whether ``allowed(state)`` (-1: ``UNKNOWN``)."""
            return [False, allowed(UNKNOWN)] + [allowed(s) for s in states] + [False]

        rule_col, rule_card, rule_off, rule_table = [], [], [], []
        flag_col, flag_card, flag_off, flagged = [], [], [], []
        for j, name in enumerate(columns):
            states = schema.columns[name].states
            conds = [(k, c) for k, r in enumerate(rules) for c in r.when if c.column == name]
            if not conds:
                continue
            rule_col.append(j)
            rule_card.append(len(states))
            rule_off.append(len(rule_table) + 2)
            # a rule passes this column when each of its conditions on it allows the code
            # (None: a code that is not a state, which no condition allows)
            for code in (None, UNKNOWN, *states, None):
                rule_table.append(
                    bits(
                        k
                        for k in range(len(rules))
                        if all(code in c.states for kk, c in conds if kk == k)
                    )
                )
            named = {s for k, c in conds if rules[k].red_flag for s in c.states if s != UNKNOWN}
            if named:
                flag_col.append(j)
                flag_card.append(len(states))
                flag_off.append(len(flagged) + 2)
                flagged += slots(states, lambda s, named=named: s in named)
        causes = list(schema.causes.values())
        n_rules, n_orders = len(rules), len(rules) + 2 * len(causes)
        self_care = TRIAGE_LEVELS.index("self_care")
        propose = [
            k
            for k, r in enumerate(rules)
            if not r.is_default and TRIAGE_LEVELS.index(r.level) != self_care
        ]
        likely = [i for i, c in enumerate(causes) if c.triage_if_likely in policy.thresholds]

        def rule_score(k: int) -> int:
            return TRIAGE_LEVELS.index(rules[k].level) * n_orders + k

        def cause_score(i: int) -> int:
            return TRIAGE_LEVELS.index(causes[i].triage_if_likely) * n_orders + n_rules + 2 * i

        propose.sort(key=rule_score)
        likely.sort(key=cause_score)
        # order -> index into ``words``: a rule, a likely cause, a cause likely before
        word_of_order = list(range(n_rules))
        for i in range(len(causes)):
            word_of_order += [n_rules + i, n_rules + len(causes) + i]
        words = [r.words for r in rules] + [policy.cause_reason(c) for c in causes]
        words += [policy.cause_reason(c) + " before the warning signs" for c in causes]
        flag_rules = [k for k, r in enumerate(rules) if r.red_flag]
        default = rules.index(policy.default)

        def ints(values) -> np.ndarray:
            return np.array(values, dtype=np.int64)

        def views(table: np.ndarray, cards: list[int], offs: list[int]) -> tuple:
            """Each column's rows of ``table``, from code -2 to its cardinality."""
            return tuple(table[o - 2 : o + c + 1] for c, o in zip(cards, offs, strict=True))

        rule_table_ = np.array(rule_table, dtype=np.uint64).reshape(-1, n_words)
        flagged_ = np.array(flagged, dtype=bool)

        return cls(
            n_rules=n_rules,
            rule_col=ints(rule_col),
            rule_card=ints(rule_card),
            rule_off=ints(rule_off),
            rule_table=rule_table_,
            rule_views=views(rule_table_, rule_card, rule_off),
            rule_all=bits(k for k, r in enumerate(rules) if not r.is_default),
            flag_col=ints(flag_col),
            flag_card=ints(flag_card),
            flag_off=ints(flag_off),
            flagged=flagged_,
            flag_views=views(flagged_, flag_card, flag_off),
            propose=ints(propose),
            propose_score=ints([rule_score(k) for k in propose]),
            care_rules=ints([k for k, r in enumerate(rules) if r.level == "self_care"]),
            cause_idx=ints(likely),
            cause_threshold=np.array(
                [policy.thresholds.get(c.triage_if_likely, np.nan) for c in causes], dtype=float
            ),
            cause_score=ints([cause_score(i) for i in likely]),
            n_orders=n_orders,
            word_of_order=ints(word_of_order),
            default_rule=default,
            default_level=TRIAGE_LEVELS.index(rules[default].level),
            levels=np.array(TRIAGE_LEVELS, dtype=object),
            words=np.array(words, dtype=object),
            flag_mask=bits(flag_rules),
            flag_words={k: rules[k].words for k in flag_rules},
        )


@dataclass(frozen=True)
class RuleHits:
    """The rules that fire for a batch of coded rows (:meth:`Policy.hits`).

    Attributes
    ----------
    bits : numpy.ndarray
        ``(B, ceil(n_rules / 64))`` uint64: bit ``k % 64`` of word ``k // 64`` is set when
        rule ``k`` fires.
    """

    tables: _Tables = field(repr=False)
    bits: np.ndarray

    @cached_property
    def fired(self) -> np.ndarray:
        """Boolean ``(B, n_rules)``: which rules fire (:meth:`Policy.rule_matrix`)."""
        n = self.bits.shape[0]
        octets = (
            self.bits.astype("<u8", copy=False).view(np.uint8).reshape(n, 8 * self.bits.shape[1])
        )
        return np.unpackbits(octets, axis=1, bitorder="little")[:, : self.tables.n_rules].view(bool)

    @cached_property
    def _rule_best(self) -> np.ndarray:
        t = self.tables
        if not len(t.propose):
            return np.full(self.bits.shape[0], t.never, dtype=np.int64)
        return _first(self.fired[:, t.propose], t.propose_score, t.never)

    def _likely(self, posteriors: np.ndarray, score: np.ndarray) -> np.ndarray:
        """Per row the best score of the causes likely in ``posteriors`` (NaN: not likely)."""
        t = self.tables
        likely = np.asarray(posteriors, dtype=float) >= t.cause_threshold
        return _first(likely[:, t.cause_idx], score, t.never)

    def classify(
        self, posteriors: np.ndarray, base_posteriors: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Level and reason of each row as indices: into ``TRIAGE_LEVELS`` and into words.

        The words (:attr:`words`) are one per rule, per likely cause and per cause likely
        without the red flags. See :meth:`Policy.triage` for the arguments.
        """
        t = self.tables
        best = self._rule_best
        if len(t.cause_idx):
            best = np.minimum(best, self._likely(posteriors, t.cause_score))
            if base_posteriors is not None:
                best = np.minimum(best, self._likely(base_posteriors, t.cause_score + 1))
        fired = self.fired
        if len(t.care_rules):
            care = fired[:, t.care_rules].any(axis=1)
            first_care = t.care_rules[np.argmax(fired[:, t.care_rules], axis=1)]
        else:
            care, first_care = np.zeros(fired.shape[0], dtype=bool), 0
        proposed = best < t.never
        # nothing proposed: self-care when the benign pattern fired, else the default rule
        self_care = TRIAGE_LEVELS.index("self_care")
        level = np.where(proposed, best // t.n_orders, np.where(care, self_care, t.default_level))
        reason = np.where(
            proposed,
            t.word_of_order[best % t.n_orders],
            np.where(care, first_care, t.default_rule),
        )
        return level, reason

    def level_names(self, level: np.ndarray) -> np.ndarray:
        """Level indices from :meth:`classify` as names (an object array)."""
        return self.tables.levels[level]

    def reason_words(self, reason: np.ndarray) -> np.ndarray:
        """Reason indices from :meth:`classify` as plain words (an object array)."""
        return self.tables.words[reason]

    @property
    def words(self) -> tuple[str, ...]:
        """Every reason in plain words, in the order of the reason indices of :meth:`classify`."""
        return tuple(self.tables.words)

    def flag_patterns(self) -> tuple[list[tuple[str, ...]], np.ndarray]:
        """The distinct patterns of fired red flags and, per row, the index of its pattern.

        A pattern is the tuple of the red flags' words, in rule order.
        """
        t = self.tables
        keys = self.bits & t.flag_mask
        if keys.shape[1] == 1:  # one word per row (at most 64 rules): hash plain integers
            inverse, keys = pd.factorize(keys[:, 0])
            keys = keys[:, None]
        else:
            keys, inverse = np.unique(keys, axis=0, return_inverse=True)
        patterns = [_words_of(key, t.flag_words) for key in keys.tolist()]
        return patterns, inverse.reshape(-1)

    def triage(
        self, posteriors: np.ndarray, base_posteriors: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
        """What :meth:`Policy.triage` returns for these rows and posteriors."""
        level, reason = self.classify(posteriors, base_posteriors)
        patterns, inverse = self.flag_patterns()
        flags = [patterns[i] for i in inverse.tolist()]
        return self.level_names(level), self.reason_words(reason), flags


def _words_of(key: list[int], words: Mapping[int, str]) -> tuple[str, ...]:
    """The words of the rules whose bits are set in ``key`` (words of 64 bits), in order."""
    out = []
    for w, word in enumerate(key):
        while word:
            low = word & -word
            out.append(words[64 * w + low.bit_length() - 1])
            word ^= low
    return tuple(out)


def _first(hit: np.ndarray, score: np.ndarray, never: int) -> np.ndarray:
    """Per row ``score`` of the first column of ``hit`` that is True; ``never`` if none."""
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), score[first], never)


# --------------------------------------------------------------------------- loading
def load_policy(
    directory: str | Path | None = None,
    *,
    schema: Schema | None = None,
    sources: Mapping[str, str] | None = None,
) -> Policy:
    """Read and validate the triage files of a priors folder; report every problem at once.

    Parameters
    ----------
    directory : str or Path, optional
        The priors folder (the shipped priors when omitted).
    schema : Schema, optional
        The symptom-CSV schema (the bundled one when omitted).
    sources : mapping, optional
        ``source_id -> kind`` of the folder's ``sources.csv`` (read from it when omitted).

    Raises
    ------
    PriorsError
        Listing every unknown column or state, bad level, missing or unknown source, bad
        threshold, duplicate id and missing default rule, each with file, row and key.
    """
    if directory is None:
        from legnumb.network.priors import shipped_priors_dir

        directory = shipped_priors_dir()
    directory = Path(directory)
    schema = schema or load_schema()
    problems: list[Problem] = []
    if sources is None:
        sources = {
            row.get("source_id", ""): row.get("kind", "")
            for _, row in _read(directory / "sources.csv", ("source_id", "kind"), problems)
        }
    digest = hashlib.sha256()
    rules = _rules(directory / _RULES_FILE, schema, sources, problems, digest)
    threshold_sources: dict[str, str] = {}
    thresholds = _thresholds(
        directory / _THRESHOLDS_FILE, sources, problems, digest, threshold_sources
    )
    if problems:
        raise PriorsError(
            f"{len(problems)} problem(s) in the triage policy of {directory}:", problems
        )
    return Policy(tuple(rules), thresholds, digest.hexdigest(), threshold_sources)


def _read(path: Path, fields: Sequence[str], problems: list[Problem]):
    """Rows ``(line, dict)`` of a CSV file; a missing file or field is a problem."""
    if not path.is_file():
        problems.append(Problem(str(path), "file", "missing; expected a CSV file"))
        return []
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        problems.append(Problem(str(path), "csv", f"not a readable CSV file ({exc})"))
        return []
    header = reader.fieldnames or []
    missing = [f for f in fields if f not in header]
    for f in missing:
        problems.append(Problem(str(path), "header", f"missing field {f!r}. Got {header}"))
    return [] if missing else rows


def _rules(path, schema, sources, problems, digest) -> list[Rule]:
    if path.is_file():
        digest.update(path.read_bytes())
    rules, seen = [], {}
    for line, row in _read(path, RULE_FIELDS, problems):
        where = f"{path}, row {line}"
        rid = (row["rule_id"] or "").strip()
        if not rid:
            problems.append(Problem(where, "rule_id", "is empty"))
        elif rid in seen:
            problems.append(Problem(where, rid, f"duplicate rule_id (first at row {seen[rid]})"))
        seen.setdefault(rid, line)
        level = (row["level"] or "").strip()
        if level not in TRIAGE_LEVELS:
            hint = closest(level, TRIAGE_LEVELS)
            problems.append(
                Problem(
                    where,
                    f"{rid} level",
                    f"expected one of {', '.join(TRIAGE_LEVELS)}. Got {level!r} instead"
                    + (f"; closest: {hint!r}" if hint else ""),
                )
            )
        when = _conditions(row["when"] or "", schema, where, rid, problems)
        red_flag = (row["red_flag"] or "").strip()
        if red_flag not in ("yes", "no"):
            problems.append(
                Problem(where, f"{rid} red_flag", f"expected yes or no. Got {red_flag!r} instead")
            )
        if not (row["words"] or "").strip():
            problems.append(Problem(where, f"{rid} words", "is empty"))
        _check_source(row["source_id"], sources, where, rid, problems)
        rules.append(
            Rule(
                rid, level, when, (row["words"] or "").strip(), red_flag == "yes",
                (row["source_id"] or "").strip(), (row["note"] or "").strip(),
            )
        )  # fmt: skip
    defaults = [r for r in rules if r.is_default]
    if path.is_file() and len(defaults) != 1:
        problems.append(
            Problem(
                str(path),
                "default rule",
                "expected exactly one rule with an empty 'when' (the level when no self-care "
                f"rule fires). Got {len(defaults)} instead",
            )
        )
    if any(r.is_default and r.level == "self_care" for r in defaults):
        problems.append(Problem(str(path), "default rule", "self_care cannot be the default level"))
    return rules


def _conditions(text, schema, where, rid, problems) -> tuple[Condition, ...]:
    out = []
    for part in (p.strip() for p in text.split("&")):
        if not part:
            continue
        col, sep, states = part.partition("=")
        col = col.strip()
        if not sep:
            problems.append(
                Problem(where, f"{rid} when", f"expected column=state. Got {part!r} instead")
            )
            continue
        if col not in schema.columns:
            hint = schema.closest_column(col)
            problems.append(
                Problem(
                    where,
                    f"{rid} when",
                    f"unknown column {col!r}" + (f"; closest: {hint!r}" if hint else ""),
                )
            )
            continue
        allowed = schema.columns[col].states
        wanted = tuple(s.strip() for s in states.split("|"))
        for s in wanted:
            if s not in allowed and s != UNKNOWN:
                hint = closest(s, allowed)
                problems.append(
                    Problem(
                        where,
                        f"{rid} when",
                        f"column {col!r}: Got {s!r} instead; allowed: {', '.join(allowed)}"
                        + (f"; closest: {hint!r}" if hint else ""),
                    )
                )
        out.append(Condition(col, wanted))
    return tuple(out)


def _check_source(source_id, sources, where, key, problems) -> None:
    sid = (source_id or "").strip()
    if not sid:
        problems.append(Problem(where, f"{key} source_id", "is empty"))
    elif sid not in sources:
        hint = closest(sid, list(sources))
        problems.append(
            Problem(
                where,
                f"{key} source_id",
                f"{sid!r} is not in sources.csv" + (f"; closest: {hint!r}" if hint else ""),
            )
        )


def _thresholds(path, sources, problems, digest, threshold_sources) -> dict[str, float]:
    if path.is_file():
        digest.update(path.read_bytes())
    out: dict[str, float] = {}
    classes = tuple(lv for lv in TRIAGE_LEVELS if lv != "self_care")
    for line, row in _read(path, THRESHOLD_FIELDS, problems):
        where = f"{path}, row {line}"
        cls = (row["triage_class"] or "").strip()
        if cls not in classes:
            problems.append(
                Problem(
                    where,
                    "triage_class",
                    f"expected one of {', '.join(classes)}. Got {cls!r} instead",
                )
            )
            continue
        try:
            value = float(row["threshold"])
        except (TypeError, ValueError):
            value = float("nan")
        if not 0.0 < value < 1.0:
            problems.append(
                Problem(
                    where,
                    f"{cls} threshold",
                    f"expected a probability strictly between 0 and 1. Got {row['threshold']!r} "
                    "instead",
                )
            )
            continue
        if cls in out:
            problems.append(Problem(where, cls, "duplicate triage_class"))
        _check_source(row["source_id"], sources, where, cls, problems)
        out[cls] = value
        threshold_sources[cls] = (row["source_id"] or "").strip()
    return out
