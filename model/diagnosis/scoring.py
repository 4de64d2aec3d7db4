"""Turn posteriors into the scored columns of the contract (``p_<cause>`` ... ``n_findings``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from legnumb.diagnosis.policy import RuleHits
from legnumb.diagnosis.triage import rule_hits
from legnumb.network.schema import TRIAGE_LEVELS

__all__ = ["summarize"]

#: Levels an unscored row keeps: the rules alone make only these meaningful.
_RULE_ONLY = max(TRIAGE_LEVELS.index("emergency"), TRIAGE_LEVELS.index("urgent"))


def summarize(
    model,
    codes: np.ndarray,
    post: np.ndarray,
    p_other: np.ndarray,
    ok: np.ndarray,
    base: np.ndarray | None = None,
    *,
    hits: RuleHits | None = None,
) -> pd.DataFrame:
    """Build the output columns for coded rows, their posteriors and P(no listed cause).

    Rows not ``ok`` keep NaN posteriors and a blank top cause; triage then follows the
    red-flag rules alone, and red flags are always listed. ``n_findings`` counts the
    answered columns of each row. ``base`` holds the posteriors without the red-flag
    answers, where computed (:meth:`legnumb.diagnosis.model.Model.base_posteriors`).
    ``hits``: the rules that fire for ``codes``, when already found
    (:meth:`legnumb.diagnosis.policy.Policy.hits`).
    """
    ok = np.asarray(ok, dtype=bool)
    hits = hits if hits is not None else rule_hits(codes, policy=model.policy)
    level, reason = hits.classify(post, base)
    patterns, inverse = hits.flag_patterns()
    causes = list(model.causes)
    out = pd.DataFrame(post, columns=[f"p_{c}" for c in causes])
    best = np.argmax(np.fmax(post, -1.0), axis=1)  # NaN counts as -1
    out["top_cause"] = _text([*causes, ""], np.where(ok, best, len(causes)))
    # unscored rows: only a rule-based emergency/urgent level is meaningful
    shown = ok | (level <= _RULE_ONLY)
    out["triage"] = _text([*TRIAGE_LEVELS, ""], np.where(shown, level, len(TRIAGE_LEVELS)))
    words = [*hits.words, ""]
    out["triage_reason"] = _text(words, np.where(shown, reason, len(words) - 1))
    out["red_flags"] = _text([";".join(f) for f in patterns], inverse)
    out["p_other_cause"] = p_other
    out["n_findings"] = np.count_nonzero(np.asarray(codes) >= 0, axis=1)
    return out


def _text(vocabulary: list[str], index: np.ndarray):
    """``vocabulary[index]`` as a column, typed as pandas types such text.

    Taken from the few distinct values, not converted row by row.
    """
    values = np.array(vocabulary, dtype=object)
    return pd.array(values, dtype=pd.Series(values[index[:1]]).dtype).take(index)
