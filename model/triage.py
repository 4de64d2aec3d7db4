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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.schema import TRIAGE_LEVELS, load_schema

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

#: Posterior at which a cause counts as likely, by the triage class in ``causes.csv``.
#: Threshold p* = cost(over-triage) / (cost(over-triage) + cost(miss)); a missed emergency is
#: taken as ~20x as costly as an unneeded emergency visit (p* ~ 0.05), a missed urgent cause
#: ~5x (p* ~ 0.15), a missed routine cause ~2x (p* ~ 0.30).
LIKELY_THRESHOLD: dict[str, float] = {"emergency": 0.05, "urgent": 0.15, "routine": 0.30}


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


RULES: tuple[Rule, ...] = (
    Rule(
        "emergency",
        (("face_arm_or_speech", "yes"),),
        "face drooping, arm weakness or speech trouble (possible stroke)",
    ),
    Rule(
        "emergency",
        (("onset", "sudden"), ("vision_problems", "yes")),
        "sudden numbness with vision problems (possible stroke)",
    ),
    Rule(
        "emergency",
        (("onset", "sudden"), ("balance_problems", "yes")),
        "sudden numbness with loss of balance (possible stroke)",
    ),
    Rule(
        "emergency",
        (("bladder_bowel_problems", "yes"),),
        "new loss of bladder or bowel control (possible cauda equina syndrome)",
    ),
    Rule(
        "emergency",
        (("distribution", "saddle_area"),),
        "numbness between the legs or buttocks (possible cauda equina syndrome)",
    ),
    Rule(
        "emergency",
        (("chest_pain_or_breathless", "yes"),),
        "chest pain or sudden breathlessness (possible blood clot in the lung)",
    ),
    Rule("emergency", (("onset", "sudden"), ("weakness", "yes")), "sudden leg weakness"),
    Rule(
        "emergency",
        (("onset", "sudden"), ("cold_pale_foot", "yes")),
        "sudden cold, pale foot (possible blocked artery)",
    ),
    Rule(
        "urgent",
        (("calf_swelling", "yes"), ("recent_immobility", "yes")),
        "swollen calf after immobility (possible blood clot)",
    ),
    Rule(
        "urgent",
        (("calf_swelling", "yes"), ("pregnant", "yes")),
        "swollen calf in pregnancy (possible blood clot)",
    ),
    Rule(
        "urgent",
        (("weakness", "yes"), ("progressive", "yes")),
        "leg weakness that is getting worse",
    ),
    Rule("urgent", (("weakness", "yes"), ("recent_trauma", "yes")), "weakness after an injury"),
    Rule("routine", (("progressive", "yes"),), "numbness getting worse", red_flag=False),
    Rule(
        "routine",
        (("laterality", "one_leg"), ("duration", "weeks_or_longer")),
        "one-sided numbness for weeks",
        red_flag=False,
    ),
    Rule("routine", (("duration", "weeks_or_longer"),), "numbness lasting weeks", red_flag=False),
)


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
