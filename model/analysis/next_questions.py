"""Next best question: which unanswered column would teach most.

    For every unobserved column ``Q``: P(answer | e) and the posteriors after every answer, from
one query with the evidence and one per cause clamped ``present`` (``P(c | e, Q=s) =
P(Q=s | e, c) P(c | e) / P(Q=s | e)``), so a few batched rows cover every question.
Two measures rank the questions:

* ``expected_info``: the expected reduction, in bits, of the **sum of the per-cause binary
  entropies** ``H = sum_c H(C_c | e)``; it equals ``sum_c I(C_c; Q | e)``, so it is >= 0.
  The causes are not mutually exclusive (a person can have diabetic neuropathy *and*
  sciatica), so there is no single categorical "diagnosis" variable. The joint entropy of
  the 24 causes would need the joint posterior over 2^24 cause patterns, which the
  engine's marginals do not give; and triage acts on each cause separately (each has its own
  "likely" threshold), so uncertainty about each cause is what a question should reduce.
* ``expected_top_change``: the expected absolute change ``E_s |P(t | e, Q=s) - P(t | e)|``
  of the current top cause ``t``. The expected *signed* change is always 0 (the posterior
  is a martingale), hence the absolute value.

``p_triage_change`` adds the probability that the answer changes the triage level (red-flag
questions rank high here even when they carry little information).

Examples
--------
>>> from legnumb import load_model
>>> ev = {"laterality": "one_leg", "shooting_pain": "yes", "position_trigger": "sitting"}
>>> q = next_questions(load_model(), ev, top=3)
>>> len(q), q["top_cause"].iloc[0], bool(q["expected_info"].is_monotonic_decreasing)
(3, 'sciatica', True)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from legnumb.analysis.context import _base_and_answers, _codes, _Context, _context, _kl2
from legnumb.analysis.phrases import finding_phrase, question_text
from legnumb.diagnosis.model import Model
from legnumb.diagnosis.triage import triage_codes


# --------------------------------------------------------------------------- next question
def _question_frames(ctx: _Context, row: np.ndarray, ba: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank unobserved columns (one row each) and list every answer's outcome."""
    post = ba["post"]
    top = int(np.argmax(post))
    a_col, a_state, p_ans, after = ba["a_col"], ba["a_state"], ba["p_answer"], ba["post_after"]
    out_cols = [
        "column",
        "state",
        "finding",
        "p_answer",
        "p_top",
        "new_top_cause",
        "p_new_top",
        "triage",
        "new_red_flags",
    ]
    q_cols = [
        "column",
        "question",
        "group",
        "expected_info",
        "expected_top_change",
        "top_cause",
        "p_top",
        "p_top_min",
        "p_top_max",
        "p_triage_change",
        "most_likely_answer",
        "rank_info",
        "rank_top",
    ]
    if len(a_col) == 0:
        return pd.DataFrame(columns=q_cols), pd.DataFrame(columns=out_cols)
    n_ans = len(a_col)
    codes = np.repeat(row[None, :], n_ans, axis=0)
    codes[np.arange(n_ans), a_col] = a_state
    safe_after = np.where(np.isnan(after), post[None, :], after)
    model = ctx.model_ref()
    all_codes = np.vstack([codes, row[None, :]])
    all_post = np.vstack([safe_after, post])
    if model is None:
        levels, _, flags = triage_codes(all_codes, all_post)
    else:  # the triage diagnose() gives, for every answer and for the row as it is
        levels, _, flags = model.triage(all_codes, all_post)
    level_now, flags_now = str(levels[-1]), set(flags[-1])
    levels, flags = levels[:-1].astype(str), flags[:-1]
    w = np.where(np.isnan(after).any(axis=1), 0.0, p_ans)  # impossible answers weigh 0
    info_ans = _kl2(safe_after, post[None, :]).sum(axis=1)  # sum_c KL(after || now), bits
    p_top_after = safe_after[:, top]
    d_top = np.abs(p_top_after - post[top])
    changed = levels != level_now
    new_top = np.argmax(safe_after, axis=1)
    col_names = np.array(ctx.columns, dtype=object)[a_col]
    state_names = np.array(
        [ctx.schema.columns[c].states[st] for c, st in zip(col_names, a_state, strict=True)],
        dtype=object,
    )
    outcomes = pd.DataFrame(
        {
            "column": col_names,
            "state": state_names,
            "finding": [
                finding_phrase(c, st) for c, st in zip(col_names, state_names, strict=True)
            ],
            "p_answer": p_ans,
            "p_top": p_top_after,
            "new_top_cause": np.array(ctx.causes, dtype=object)[new_top],
            "p_new_top": safe_after[np.arange(n_ans), new_top],
            "triage": levels,
            "new_red_flags": [tuple(f for f in fl if f not in flags_now) for fl in flags],
        }
    )
    # aggregate per question (a_col is grouped by column, in column order)
    uniq, start = np.unique(a_col, return_index=True)
    bounds = zip(start, np.append(start[1:], n_ans), strict=True)
    best = np.array([lo + int(np.argmax(p_ans[lo:hi])) for lo, hi in bounds], dtype=np.int64)
    possible = np.where(w > 0, p_top_after, post[top])
    # KL terms are >= 0; the clip only removes -1e-17 rounding
    info = np.maximum(np.add.reduceat(w * info_ans, start), 0.0)
    top_change = np.add.reduceat(w * d_top, start)
    order = np.lexsort((-top_change, -info))  # by info, then by top change, both descending
    names = [ctx.columns[j] for j in uniq[order]]

    def rank(x):  # 1 = largest; ties share the smallest rank
        return 1 + (x[None, :] > x[:, None]).sum(axis=1)

    q = pd.DataFrame(
        {
            "column": names,
            "question": [question_text(ctx.schema, c) for c in names],
            "group": [ctx.schema.columns[c].group for c in names],
            "expected_info": info[order],
            "expected_top_change": top_change[order],
            "top_cause": ctx.causes[top],
            "p_top": float(post[top]),
            "p_top_min": np.minimum.reduceat(possible, start)[order],
            "p_top_max": np.maximum.reduceat(possible, start)[order],
            "p_triage_change": np.add.reduceat(w * changed, start)[order],
            "most_likely_answer": state_names[best][order],
            "rank_info": rank(info)[order],
            "rank_top": rank(top_change)[order],
        }
    )
    return q, outcomes


def next_questions(
    model: Model, evidence: Mapping[str, object], *, top: int | None = None
) -> pd.DataFrame:
    """Rank every unobserved column by the value of asking it, exactly.

    Parameters
    ----------
    model : Model
        A loaded model.
    evidence : mapping
        Findings so far; blank means not known.
    top : int, optional
        Keep only the ``top`` best questions.

    Returns
    -------
    pandas.DataFrame
        One row per unobserved column, best first: ``column``, ``question``, ``group``,
        ``expected_info`` (expected reduction in bits of the sum of per-cause binary
        entropies, i.e. ``sum_c I(cause_c; answer | evidence)``), ``expected_top_change``
        (expected ``|change|`` of the current top cause's probability), ``top_cause``,
        ``p_top`` and its range over the possible answers (``p_top_min``, ``p_top_max``),
        ``p_triage_change`` (probability that the answer changes the triage level),
        ``most_likely_answer``, and the rank by each measure (``rank_info``, ``rank_top``).

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> q = next_questions(load_model(), {"laterality": "both_legs", "diabetes": "yes"}, top=3)
    >>> q["top_cause"].tolist()
    ['diabetic_neuropathy', 'diabetic_neuropathy', 'diabetic_neuropathy']
    >>> bool((q["expected_info"] >= 0).all())
    True
    """
    ctx = _context(model)
    _, row = _codes(model, evidence)
    q, _ = _question_frames(ctx, row, _base_and_answers(ctx, model, row))
    return q if top is None else q.head(top).reset_index(drop=True)


def answer_outcomes(model: Model, evidence: Mapping[str, object]) -> pd.DataFrame:
    """What every possible answer to every unobserved column would do.

    Returns
    -------
    pandas.DataFrame
        One row per (unobserved column, state): ``column``, ``state``, ``finding``,
        ``p_answer`` (P(answer | evidence)), ``p_top`` (the current top cause's probability
        after that answer), ``new_top_cause`` and ``p_new_top``, ``triage`` after the answer and
        ``new_red_flags`` it would raise.

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> o = answer_outcomes(load_model(), {"onset": "sudden"})
    >>> o.loc[o["column"] == "face_arm_or_speech", ["state", "triage"]].values.tolist()
    [['yes', 'emergency'], ['no', 'urgent']]
    """
    ctx = _context(model)
    _, row = _codes(model, evidence)
    return _question_frames(ctx, row, _base_and_answers(ctx, model, row))[1]
