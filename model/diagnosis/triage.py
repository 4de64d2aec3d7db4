"""Triage: the level, the reason and the red flags of a person, from the reviewed policy.

The policy (rules and "likely" thresholds, each with a source) is data in the priors folder
(:mod:`legnumb.diagnosis.policy`). Red flags are found from the findings alone, so they are
reported whatever the posteriors say. A cause counts as *likely* when its posterior reaches
the threshold of its triage class. Self-care is given only when the answers describe the
benign pattern and nothing else fires; a row that answers little is at least routine.

Examples
--------
>>> import pandas as pd
>>> red_flags({"onset": "sudden", "weakness": "yes", "position_trigger": "lying_down"})
('sudden leg weakness',)
>>> triage_level({"onset": "sudden", "weakness": "yes"}, pd.Series(dtype=float))
'emergency'
>>> triage_level({}, pd.Series(dtype=float))
'routine'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from legnumb.diagnosis.policy import Policy, Rule, RuleHits, load_policy
from legnumb.network.schema import load_schema

__all__ = [
    "LIKELY_THRESHOLD",
    "RULES",
    "Rule",
    "likely_causes",
    "red_flags",
    "rule_hits",
    "shipped_policy",
    "triage_codes",
    "triage_level",
    "triage_reason",
]


@lru_cache(maxsize=1)
def shipped_policy() -> Policy:
    """The policy of the shipped priors (read once)."""
    return load_policy()


#: The shipped rules, in file order (data: ``priors/triage_rules.csv``).
RULES: tuple[Rule, ...] = shipped_policy().rules
#: The shipped "likely" thresholds by triage class (data: ``priors/triage_thresholds.csv``).
LIKELY_THRESHOLD: dict[str, float] = dict(shipped_policy().thresholds)


def _codes(evidence: Mapping[str, str]) -> np.ndarray:
    schema = load_schema()
    codes = np.full((1, len(schema.columns)), -1, dtype=np.int64)
    for j, (name, col) in enumerate(schema.columns.items()):
        if name in evidence:
            codes[0, j] = col.states.index(evidence[name])
    return codes


def rule_hits(codes: np.ndarray, *, policy: Policy | None = None) -> RuleHits:
    """The rules of ``policy`` (the shipped one by default) that fire for coded rows."""
    return (policy or shipped_policy()).hits(load_schema(), codes)


def triage_codes(
    codes: np.ndarray,
    posteriors: np.ndarray,
    *,
    policy: Policy | None = None,
    base_posteriors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """Vectorized triage: levels and reasons (arrays of str) and red flags per row.

    ``posteriors`` is ``(B, n_causes)`` in ``causes.csv`` order; NaN rows (unscored) take the
    rules alone. ``base_posteriors``: the same rows without their red-flag answers (see
    :meth:`Policy.triage`). ``policy`` defaults to the shipped one.
    """
    return rule_hits(codes, policy=policy).triage(posteriors, base_posteriors)


def red_flags(evidence: Mapping[str, str], *, policy: Policy | None = None) -> tuple[str, ...]:
    """The warning signs found in ``evidence`` (normalized), in plain words."""
    rules = (policy or shipped_policy()).rules
    return tuple(r.words for r in rules if r.red_flag and r.fires(evidence))


def likely_causes(posteriors: pd.Series, *, policy: Policy | None = None) -> dict[str, str]:
    """Causes whose posterior reaches their class threshold, mapped to that class."""
    thresholds = (policy or shipped_policy()).thresholds
    schema = load_schema()
    out = {}
    for cause, p in posteriors.items():
        level = schema.causes[cause].triage_if_likely
        if level in thresholds and p >= thresholds[level]:
            out[cause] = level
    return out


def _posterior_row(posteriors: pd.Series) -> np.ndarray:
    schema = load_schema()
    return np.array([[posteriors.get(c, np.nan) for c in schema.causes]], dtype=float)


def triage_level(
    evidence: Mapping[str, str], posteriors: pd.Series, *, policy: Policy | None = None
) -> str:
    """The level for one person: most urgent of the rules and likely causes, floor routine."""
    return triage_reason(evidence, posteriors, policy=policy)[0]


def triage_reason(
    evidence: Mapping[str, str],
    posteriors: pd.Series,
    *,
    policy: Policy | None = None,
    base_posteriors: pd.Series | None = None,
) -> tuple[str, str]:
    """``(level, reason)`` for one person: the reason names the rule or the likely cause."""
    pol = policy or shipped_policy()
    base = None if base_posteriors is None else _posterior_row(base_posteriors)
    row = _posterior_row(posteriors)
    levels, reasons, _ = pol.triage(load_schema(), _codes(evidence), row, base)
    return str(levels[0]), reasons[0]
