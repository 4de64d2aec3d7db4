"""Turn posteriors into scored columns: ``p_<cause>``, ``top_cause``, ``triage``, ``red_flags``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from legnumb.diagnosis.triage import triage_codes

__all__ = ["summarize"]


def summarize(model, codes: np.ndarray, post: np.ndarray, ok: np.ndarray) -> pd.DataFrame:
    """Build the output columns for coded rows and their posterior matrix.

    Rows not ``ok`` keep NaN posteriors and a blank top cause; triage then follows the
    red-flag rules alone, and red flags are always listed.
    """
    causes = list(model.causes)
    levels, flags = triage_codes(codes, post, policy=model.policy)
    out = pd.DataFrame(post, columns=[f"p_{c}" for c in causes])
    top = np.array(causes, dtype=object)[np.argmax(np.nan_to_num(post, nan=-1.0), axis=1)]
    out["top_cause"] = np.where(ok, top, "")
    # unscored rows: only a rule-based emergency/urgent level is meaningful
    rule_only = np.where(np.isin(levels, ["emergency", "urgent"]), levels, "")
    out["triage"] = np.where(ok, levels, rule_only)
    out["red_flags"] = [";".join(f) for f in flags]
    return out
