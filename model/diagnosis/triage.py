"""Triage policy: red-flag rules and "likely cause" thresholds, from the seeds' "when to seek help".

The level is the most urgent of the rules that fire. Red flags are found from the findings
alone, so they are reported whatever the posteriors say. A cause counts as *likely* when its
posterior reaches the threshold of its triage class; thresholds are low for emergency causes
because missing an emergency costs far more than an unnecessary visit (see the README).

Examples
--------
>>> import pandas as pd
>>> red_flags({"onset": "sudden", "weakness": "yes"})
('sudden leg weakness',)
>>> triage_level({"onset": "sudden", "weakness": "yes"}, pd.Series(dtype=float))
'emergency'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from legnumb.network.schema import TRIAGE_LEVELS, load_schema

__all__ = [
    "LIKELY_THRESHOLD",
    "RULES",
    "Rule",
    "likely_causes",
    "red_flags",
    "rule_matrix",
    "triage_codes",
    "triage_level",
]


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("legnumb.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


#: Posterior at which a cause counts as likely, by the triage class in ``causes.csv``
#: (data: ``triage_thresholds.csv``, with the cost reasoning behind each threshold
#: p* = cost(over-triage) / (cost(over-triage) + cost(miss))).
LIKELY_THRESHOLD: dict[str, float] = {
    row["triage_class"]: float(row["threshold"]) for row in _read("triage_thresholds.csv")
}


@dataclass(frozen=True)
class Rule:
    """A red-flag or triage rule: every (column, state) in ``when`` must hold."""

    level: str
    when: tuple[tuple[str, str], ...]
    words: str  # what a person understands
    red_flag: bool = True

    def fires(self, evidence: Mapping[str, str]) -> bool:
        """True when every condition holds in ``evidence``."""
        return all(evidence.get(col) == state for col, state in self.when)


def _rule(row: Mapping[str, str]) -> Rule:
    when = tuple(
        (col.strip(), state.strip())
        for col, state in (part.split("=") for part in row["when"].split("&"))
    )
    return Rule(row["level"], when, row["words"], red_flag=row["red_flag"] == "yes")


#: The rules, in the order they are checked (data: ``triage_rules.csv``; ``when`` is a list
#: of ``column=state`` joined by ``&``).
RULES: tuple[Rule, ...] = tuple(_rule(row) for row in _read("triage_rules.csv"))


def _codes(evidence: Mapping[str, str]) -> np.ndarray:
    schema = load_schema()
    codes = np.full((1, len(schema.columns)), -1, dtype=np.int64)
    for j, (name, col) in enumerate(schema.columns.items()):
        if name in evidence:
            codes[0, j] = col.states.index(evidence[name])
    return codes


def rule_matrix(codes: np.ndarray) -> np.ndarray:
    """Which rule fires on which row: a boolean array ``(B, len(RULES))``.

    ``codes`` holds state indices in schema column order, -1 where not known.
    """
    schema = load_schema()
    names = list(schema.columns)
    codes = np.asarray(codes)
    out = np.ones((codes.shape[0], len(RULES)), dtype=bool)
    for k, rule in enumerate(RULES):
        for col, state in rule.when:
            j = names.index(col)
            out[:, k] &= codes[:, j] == schema.columns[col].states.index(state)
    return out


def triage_codes(
    codes: np.ndarray, posteriors: np.ndarray
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Vectorized triage: levels (array of str) and red flags per row.

    ``posteriors`` is ``(B, n_causes)`` in ``causes.csv`` order; NaN rows (unscored) take the
    rules alone.
    """
    schema = load_schema()
    fired = rule_matrix(codes)
    rank = np.full(fired.shape[0], TRIAGE_LEVELS.index("self_care"))
    for k, rule in enumerate(RULES):
        rank = np.where(fired[:, k], np.minimum(rank, TRIAGE_LEVELS.index(rule.level)), rank)
    post = np.nan_to_num(np.asarray(posteriors, dtype=float), nan=0.0)
    for i, cause in enumerate(schema.causes.values()):
        threshold = LIKELY_THRESHOLD.get(cause.triage_if_likely)
        if threshold is not None:
            level = TRIAGE_LEVELS.index(cause.triage_if_likely)
            rank = np.where(post[:, i] >= threshold, np.minimum(rank, level), rank)
    levels = np.array(TRIAGE_LEVELS, dtype=object)[rank]
    flag_rules = [k for k, r in enumerate(RULES) if r.red_flag]
    flags = [tuple(RULES[k].words for k in flag_rules if row[k]) for row in fired]
    return levels, flags


def red_flags(evidence: Mapping[str, str]) -> tuple[str, ...]:
    """The warning signs found in ``evidence`` (normalized), in plain words."""
    return tuple(r.words for r in RULES if r.red_flag and r.fires(evidence))


def likely_causes(posteriors: pd.Series) -> dict[str, str]:
    """Causes whose posterior reaches their class threshold, mapped to that class."""
    schema = load_schema()
    out = {}
    for cause, p in posteriors.items():
        level = schema.causes[cause].triage_if_likely
        if level in LIKELY_THRESHOLD and p >= LIKELY_THRESHOLD[level]:
            out[cause] = level
    return out


def triage_level(evidence: Mapping[str, str], posteriors: pd.Series) -> str:
    """The most urgent level among the rules that fire and the likely causes."""
    schema = load_schema()
    post = np.array([[posteriors.get(c, np.nan) for c in schema.causes]], dtype=float)
    return str(triage_codes(_codes(evidence), post)[0][0])
