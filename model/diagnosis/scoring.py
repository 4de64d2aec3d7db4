"""Turn posteriors into the scored columns of the contract (``p_<cause>`` ... ``n_findings``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from legnumb.diagnosis.triage import triage_codes

__all__ = ["summarize"]


def summarize(
    model,
    codes: np.ndarray,
    post: np.ndarray,
    p_other: np.ndarray,
    ok: np.ndarray,
    base: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build the output columns for coded rows, their posteriors and P(no listed cause).

    Rows not ``ok`` keep NaN posteriors and a blank top cause; triage then follows the
    red-flag rules alone, and red flags are always listed. ``n_findings`` counts the
    answered columns of each row. ``base`` holds the posteriors without the red-flag
    answers, where computed (:meth:`legnumb.diagnosis.model.Model.base_posteriors`).
    """
    causes = list(model.causes)
    levels, reasons, flags = triage_codes(codes, post, policy=model.policy, base_posteriors=base)
    out = pd.DataFrame(post, columns=[f"p_{c}" for c in causes])
    top = np.array(causes, dtype=object)[np.argmax(np.nan_to_num(post, nan=-1.0), axis=1)]
    out["top_cause"] = np.where(ok, top, "")
    # unscored rows: only a rule-based emergency/urgent level is meaningful
    rule_only = np.where(np.isin(levels, ["emergency", "urgent"]), levels, "")
    out["triage"] = np.where(ok, levels, rule_only)
    out["triage_reason"] = np.where(ok | (rule_only != ""), reasons, "")
    out["red_flags"] = [";".join(f) for f in flags]
    out["p_other_cause"] = p_other
    out["n_findings"] = (np.asarray(codes) >= 0).sum(axis=1)
    return out
