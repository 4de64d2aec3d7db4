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
from pathlib import Path

import numpy as np

from legnumb.errors import PriorsError, Problem
from legnumb.network.schema import TRIAGE_LEVELS, Cause, Schema, closest, load_schema

__all__ = [
    "RULE_FIELDS",
    "THRESHOLD_FIELDS",
    "UNKNOWN",
    "Condition",
    "Policy",
    "Rule",
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
        """Boolean ``(B, n_rules)``: which rules fire for coded rows (-1 = not known)."""
        codes = np.asarray(codes, dtype=np.int64)
        columns = list(schema.columns)
        out = np.zeros((codes.shape[0], len(self.rules)), dtype=bool)
        for k, rule in enumerate(self.rules):
            if rule.is_default:
                continue
            hit = np.ones(codes.shape[0], dtype=bool)
            for cond in rule.when:
                states = schema.columns[cond.column].states
                allowed = [-1 if s == UNKNOWN else states.index(s) for s in cond.states]
                hit &= np.isin(codes[:, columns.index(cond.column)], allowed)
            out[:, k] = hit
        return out

    def red_flag_answers(self, schema: Schema, codes: np.ndarray) -> np.ndarray:
        """Boolean ``(B, n_columns)``: the answers that a red-flag rule names.

        A cell is a red-flag answer when some red-flag rule has a condition on its column
        that allows its state (``?`` conditions do not count).
        """
        codes = np.asarray(codes, dtype=np.int64)
        columns = list(schema.columns)
        out = np.zeros(codes.shape, dtype=bool)
        for rule in self.rules:
            if not rule.red_flag:
                continue
            for cond in rule.when:
                states = schema.columns[cond.column].states
                named = [states.index(s) for s in cond.states if s != UNKNOWN]
                j = columns.index(cond.column)
                out[:, j] |= np.isin(codes[:, j], named)
        return out

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
        fired = self.rule_matrix(schema, codes)
        n = fired.shape[0]
        post = np.nan_to_num(np.asarray(posteriors, dtype=float), nan=0.0)
        n_levels = len(TRIAGE_LEVELS)
        self_care = TRIAGE_LEVELS.index("self_care")
        best = np.full(n, n_levels, dtype=np.int64)  # most urgent proposal so far
        reason = np.full(n, -1, dtype=np.int64)  # index into ``words`` below
        for k, rule in enumerate(self.rules):
            lvl = TRIAGE_LEVELS.index(rule.level)
            if rule.is_default or lvl == self_care:
                continue
            better = fired[:, k] & (lvl < best)
            best[better], reason[better] = lvl, k
        causes = list(schema.causes.values())
        base = None if base_posteriors is None else np.asarray(base_posteriors, dtype=float)
        for i, cause in enumerate(causes):
            threshold = self.thresholds.get(cause.triage_if_likely)
            if threshold is None:
                continue
            lvl = TRIAGE_LEVELS.index(cause.triage_if_likely)
            better = (post[:, i] >= threshold) & (lvl < best)
            best[better], reason[better] = lvl, len(self.rules) + i
            if base is not None:
                better = (np.nan_to_num(base[:, i], nan=0.0) >= threshold) & (lvl < best)
                best[better], reason[better] = lvl, len(self.rules) + len(causes) + i
        care_rules = [k for k, r in enumerate(self.rules) if r.level == "self_care"]
        care = fired[:, care_rules].any(axis=1) if care_rules else np.zeros(n, dtype=bool)
        first_care = (
            np.array(care_rules)[np.argmax(fired[:, care_rules], axis=1)] if care_rules else 0
        )
        proposed = best < n_levels
        default = self.rules.index(self.default)
        # nothing proposed: self-care when the benign pattern fired, else the default rule
        level = np.where(
            proposed, best, np.where(care, self_care, TRIAGE_LEVELS.index(self.default.level))
        )
        reason = np.where(proposed, reason, np.where(care, first_care, default))
        levels = np.array(TRIAGE_LEVELS, dtype=object)[level]
        # one string per rule, per likely cause and per cause likely without the red flags
        words = [r.words for r in self.rules] + [self.cause_reason(c) for c in causes]
        words += [self.cause_reason(c) + " before the warning signs" for c in causes]
        reasons = np.array(words, dtype=object)[reason]
        flag_rules = [k for k, r in enumerate(self.rules) if r.red_flag]
        if len(flag_rules) > 62:  # too many for one int64 key per row
            flags = [tuple(self.rules[k].words for k in flag_rules if row[k]) for row in fired]
            return levels, reasons, flags
        # one tuple per distinct pattern of fired red flags, shared by the rows that have it
        # (the pattern as an integer: one bit per red-flag rule; there are fewer than 63)
        bits = fired[:, flag_rules].astype(np.int64) @ (1 << np.arange(len(flag_rules)))
        keys, inverse = np.unique(bits, return_inverse=True)
        words = [
            tuple(self.rules[k].words for j, k in enumerate(flag_rules) if (key >> j) & 1)
            for key in keys.tolist()
        ]
        flags = [words[i] for i in inverse.reshape(-1).tolist()]
        return levels, reasons, flags

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
