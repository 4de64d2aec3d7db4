"""What-if analysis: why each cause moved, which question to ask next, and data conflict.

Everything here is exact inference in the network, done with a few batched calls of
:meth:`model.engine.Engine.query`; nothing is sampled except the reference distribution of
the conflict measure. Drawing lives in :mod:`model.viz`, the interactive app in
:mod:`model.widgets`.

Measures
--------
Weight of evidence (Good 1950; Spiegelhalter & Knill-Jones 1984)
    For a cause ``c`` and an observed finding ``f`` with the other evidence ``r = e \\ f``
    held: ``WoE(f) = log P(f | c present, r) - log P(f | c absent, r)`` (natural log).
    By Bayes' rule this is exactly ``logit P(c | e) - logit P(c | r)``: the finding moves the
    log-odds of the cause by its weight. It is computed from one query with every finding and
    one "leave-one-out" query per finding. The weights of several findings do not add up to
    the total change (findings interact through the other causes); the sentence therefore
    names the biggest movers and states the baseline and the final probability.
Next best question
    For every unobserved column ``Q``: P(answer | e) and the posteriors after every answer, from
    one query with the evidence and one per cause clamped ``present`` (``P(c | e, Q=s) =
    P(Q=s | e, c) P(c | e) / P(Q=s | e)``), so a few batched rows cover every question.
    Two measures rank the questions:

    * ``expected_info``: the expected reduction, in bits, of the **sum of the per-cause binary
      entropies** ``H = sum_c H(C_c | e)``; it equals ``sum_c I(C_c; Q | e)``, so it is >= 0.
      The causes are not mutually exclusive (a person can have diabetic neuropathy *and*
      sciatica), so there is no single categorical "diagnosis" variable. The joint entropy of
      the 15 causes would need the joint posterior over 2^15 cause patterns, which junction
      tree marginals do not give; and triage acts on each cause separately (each has its own
      "likely" threshold), so uncertainty about each cause is what a question should reduce.
    * ``expected_top_change``: the expected absolute change ``E_s |P(t | e, Q=s) - P(t | e)|``
      of the current top cause ``t``. The expected *signed* change is always 0 (the posterior
      is a martingale), hence the absolute value.

    ``p_triage_change`` adds the probability that the answer changes the triage level (red-flag
    questions rank high here even when they carry little information).
Conflict (Jensen, Chamberlain, Nordahl & Jensen 1991)
    ``conf(e) = log(prod_i P(e_i) / P(e))`` from the engine's log evidence and the prior
    marginals. Positive values mean the findings are less likely together than apart. What is
    "usual" depends on which questions were answered, so the reference is the distribution of
    ``conf`` over cases forward-sampled from the network itself (numpy, seeded) with the same
    columns observed; a warning is raised above its 95th percentile. That can mean a
    data-entry error, or a cause the model does not include.

Examples
--------
>>> from model.core import load_model
>>> m = load_model()
>>> ev = {"laterality": "one_leg", "shooting_pain": "yes", "position_trigger": "sitting"}
>>> table = explain(m, ev, causes=["sciatica"])
>>> table["finding"].tolist(), bool((table["woe"] > 0).all())
(['shooting pain', 'worse when sitting', 'one leg'], True)
>>> print(describe(table))  # doctest: +ELLIPSIS
Shooting pain, worse when sitting and one leg raise sciatica from ...% (the prior, ...) to ...%.
>>> q = next_questions(m, ev, top=3)
>>> len(q), q["top_cause"].iloc[0], bool(q["expected_info"].is_monotonic_decreasing)
(3, 'sciatica', True)
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.core import Diagnosis, Model
from model.errors import EvidenceError, InputError, Problem
from model.evidence import normalize_evidence
from model.schema import Schema
from model.triage import triage_codes

__all__ = [
    "BASELINES",
    "CAUSE_PHRASES",
    "FINDING_PHRASES",
    "QUESTIONS",
    "Analysis",
    "Comparison",
    "Conflict",
    "analyse",
    "answer_outcomes",
    "case_evidence",
    "cause_phrase",
    "compare",
    "conflict",
    "describe",
    "explain",
    "finding_phrase",
    "format_pct",
    "guided_intake",
    "history_only",
    "load_examples",
    "next_questions",
    "question_text",
    "simulate_cases",
]

#: Baselines a sentence can start from: no findings at all, or the history columns alone.
BASELINES: tuple[str, ...] = ("prior", "history")
_BASELINE_WORDS = {"prior": "the prior, no findings", "history": "history alone"}
#: |WoE| (natural log) below which a finding is not named in the sentence (odds moved < 5%).
_NAME_EPS = 0.05

#: Readable phrase for every (column, state), as used in explanation sentences.
FINDING_PHRASES: dict[tuple[str, str], str] = {
    ("age_group", "under_40"): "age under 40",
    ("age_group", "40_to_64"): "age 40-64",
    ("age_group", "65_plus"): "age 65 or over",
    ("sex", "female"): "female",
    ("sex", "male"): "male",
    ("diabetes", "yes"): "diabetes",
    ("diabetes", "no"): "no diabetes",
    ("smoker", "yes"): "smoking",
    ("smoker", "no"): "not smoking",
    ("heavy_alcohol", "yes"): "heavy alcohol use",
    ("heavy_alcohol", "no"): "no heavy alcohol use",
    ("vegan_diet", "yes"): "a vegan diet without B12",
    ("vegan_diet", "no"): "no vegan diet",
    ("obesity", "yes"): "obesity",
    ("obesity", "no"): "no obesity",
    ("pregnant", "yes"): "pregnancy",
    ("pregnant", "no"): "not pregnant",
    ("high_blood_pressure", "yes"): "high blood pressure",
    ("high_blood_pressure", "no"): "no high blood pressure",
    ("recent_trauma", "yes"): "a recent injury",
    ("recent_trauma", "no"): "no recent injury",
    ("recent_immobility", "yes"): "recent immobility",
    ("recent_immobility", "no"): "no recent immobility",
    ("onset", "sudden"): "sudden onset",
    ("onset", "gradual"): "gradual onset",
    ("pattern", "constant"): "constant numbness",
    ("pattern", "comes_and_goes"): "numbness that comes and goes",
    ("duration", "minutes"): "lasting minutes",
    ("duration", "hours_to_days"): "lasting hours to days",
    ("duration", "weeks_or_longer"): "lasting weeks or longer",
    ("laterality", "one_leg"): "one leg",
    ("laterality", "both_legs"): "both legs",
    ("distribution", "feet_and_toes"): "feet and toes",
    ("distribution", "back_of_leg"): "back of the leg",
    ("distribution", "front_or_side_of_thigh"): "front or side of the thigh",
    ("distribution", "whole_leg"): "the whole leg",
    ("distribution", "saddle_area"): "saddle area",
    ("position_trigger", "sitting"): "worse when sitting",
    ("position_trigger", "lying_down"): "worse lying down",
    ("position_trigger", "walking"): "brought on by walking",
    ("position_trigger", "standing"): "brought on by standing",
    ("position_trigger", "none"): "no posture trigger",
    ("relieved_by", "moving_or_shifting"): "relieved by moving",
    ("relieved_by", "stopping_walking"): "relieved by stopping walking",
    ("relieved_by", "bending_forward"): "relieved by bending forward",
    ("relieved_by", "nothing"): "nothing relieves it",
    ("progressive", "yes"): "getting worse",
    ("progressive", "no"): "not getting worse",
    ("back_pain", "yes"): "back pain",
    ("back_pain", "no"): "no back pain",
    ("shooting_pain", "yes"): "shooting pain",
    ("shooting_pain", "no"): "no shooting pain",
    ("burning_pain", "yes"): "burning pain",
    ("burning_pain", "no"): "no burning pain",
    ("weakness", "yes"): "leg weakness",
    ("weakness", "no"): "no weakness",
    ("bladder_bowel_problems", "yes"): "bladder or bowel problems",
    ("bladder_bowel_problems", "no"): "no bladder or bowel problems",
    ("face_arm_or_speech", "yes"): "face, arm or speech problems",
    ("face_arm_or_speech", "no"): "no face, arm or speech problems",
    ("vision_problems", "yes"): "vision problems",
    ("vision_problems", "no"): "no vision problems",
    ("balance_problems", "yes"): "balance problems",
    ("balance_problems", "no"): "no balance problems",
    ("fatigue", "yes"): "fatigue",
    ("fatigue", "no"): "no fatigue",
    ("calf_swelling", "yes"): "a swollen calf",
    ("calf_swelling", "no"): "no calf swelling",
    ("chest_pain_or_breathless", "yes"): "chest pain or breathlessness",
    ("chest_pain_or_breathless", "no"): "no chest pain or breathlessness",
    ("cold_pale_foot", "yes"): "a cold, pale foot",
    ("cold_pale_foot", "no"): "no cold, pale foot",
    ("urge_to_move", "yes"): "an urge to move the legs",
    ("urge_to_move", "no"): "no urge to move",
    ("worse_at_night", "yes"): "worse at night",
    ("worse_at_night", "no"): "not worse at night",
    ("widespread_pain", "yes"): "widespread pain",
    ("widespread_pain", "no"): "no widespread pain",
    ("cold_intolerance", "yes"): "cold intolerance",
    ("cold_intolerance", "no"): "no cold intolerance",
}

#: The question a clinician asks to fill in each column.
QUESTIONS: dict[str, str] = {
    "age_group": "How old is the person?",
    "sex": "What sex was recorded at birth?",
    "diabetes": "Do they have diabetes?",
    "smoker": "Do they smoke, now or recently?",
    "heavy_alcohol": "Do they drink heavily, long-term?",
    "vegan_diet": "A vegan or strict vegetarian diet without B12 supplements?",
    "obesity": "Is their BMI 30 or more?",
    "pregnant": "Are they pregnant?",
    "high_blood_pressure": "High blood pressure or high cholesterol?",
    "recent_trauma": "An injury to the back, hip, knee or leg in the last weeks?",
    "recent_immobility": "Long travel, surgery or bed rest in the last weeks?",
    "onset": "Did it start suddenly or gradually?",
    "pattern": "Is it constant, or does it come and go?",
    "duration": "How long has it lasted (or does each episode last)?",
    "laterality": "One leg or both legs?",
    "distribution": "Where on the leg is the numbness?",
    "position_trigger": "Does a posture or activity bring it on?",
    "relieved_by": "What makes it go away?",
    "progressive": "Is it getting worse or spreading?",
    "back_pain": "Is there low back pain?",
    "shooting_pain": "Sharp, electric pain shooting down the leg?",
    "burning_pain": "Burning pain in the feet or legs?",
    "weakness": "Any leg weakness (lifting the foot, stairs, standing)?",
    "bladder_bowel_problems": "Any new loss of bladder or bowel control?",
    "face_arm_or_speech": "Face drooping, arm weakness or trouble speaking?",
    "vision_problems": "Blurred or double vision, or painful loss of vision?",
    "balance_problems": "Unsteady walking or poor coordination?",
    "fatigue": "Unusual tiredness?",
    "calf_swelling": "Is one calf swollen, warm or tender?",
    "chest_pain_or_breathless": "Chest pain or sudden shortness of breath?",
    "cold_pale_foot": "Is the foot cold or pale, with weak pulses?",
    "urge_to_move": "An irresistible urge to move the legs at rest?",
    "worse_at_night": "Worse in the evening or at night?",
    "widespread_pain": "Widespread muscle and joint pain beyond the legs?",
    "cold_intolerance": "Feeling cold easily, dry skin or weight gain?",
}

#: Readable cause names (the default is the name with spaces).
CAUSE_PHRASES: dict[str, str] = {
    "b12_deficiency": "B12 deficiency",
    "multiple_sclerosis": "multiple sclerosis",
}


def finding_phrase(column: str, state: str) -> str:
    """A short readable phrase for ``column = state``.

    >>> finding_phrase("position_trigger", "sitting")
    'worse when sitting'
    >>> finding_phrase("mystery_column", "yes")
    'mystery column'
    """
    phrase = FINDING_PHRASES.get((column, state))
    if phrase is not None:
        return phrase
    words = column.replace("_", " ")
    if state == "yes":
        return words
    if state == "no":
        return f"no {words}"
    return f"{words}: {state.replace('_', ' ')}"


def question_text(schema: Schema, column: str) -> str:
    """The question that fills ``column`` (from :data:`QUESTIONS`, else its meaning)."""
    return QUESTIONS.get(column) or schema.columns[column].meaning + "?"


def cause_phrase(cause: str) -> str:
    """A readable cause name.

    >>> cause_phrase("deep_vein_thrombosis"), cause_phrase("b12_deficiency")
    ('deep vein thrombosis', 'B12 deficiency')
    """
    return CAUSE_PHRASES.get(cause, cause.replace("_", " "))


def format_pct(p: float) -> str:
    """A probability as a short percentage: one decimal below 10% and above 99%.

    >>> format_pct(0.0423), format_pct(0.71), format_pct(0.9987), format_pct(0.0002)
    ('4.2%', '71%', '99.9%', '<0.1%')
    """
    if not np.isfinite(p):
        return "n/a"
    if p <= 0.0:
        return "0%"
    if p >= 1.0:
        return "100%"
    if p < 0.0005:
        return "<0.1%"
    if p > 0.9995:
        return ">99.9%"
    if p < 0.1 or p > 0.99:
        return f"{100 * p:.1f}%"
    return f"{100 * p:.0f}%"


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# --------------------------------------------------------------------------- per-model cache
class _Context:
    """Index arrays and cached quantities of one model (built once per engine)."""

    def __init__(self, model: Model) -> None:
        eng = model.engine
        self.model_ref = weakref.ref(model)
        self.schema = model.schema
        self.columns = tuple(model.columns)
        self.causes = tuple(model.causes)
        self.n_vars = len(eng.variables)
        self.col_pos = np.array([eng.variables.index(c) for c in self.columns], dtype=np.int64)
        self.cause_pos = np.array([eng.variables.index(c) for c in self.causes], dtype=np.int64)
        self.card = np.array([len(self.schema.columns[c].states) for c in self.columns])
        self.is_history = np.array(
            [self.schema.columns[c].group == "history" for c in self.columns]
        )
        res = eng.query(
            np.full((1, self.n_vars), -1, dtype=np.int64), targets=self.columns + self.causes
        )
        #: log P(column = state) with no evidence, padded to the widest column: (n_cols, kmax)
        kmax = int(self.card.max())
        self.log_prior = np.full((len(self.columns), kmax), -np.inf)
        for j, c in enumerate(self.columns):
            with np.errstate(divide="ignore"):
                self.log_prior[j, : self.card[j]] = np.log(res.marginals[c][0])
        self.prior_causes = np.array([res.marginals[c][0, 1] for c in self.causes])
        self.samples: dict[int, np.ndarray] = {}
        self.conf_reference: dict[tuple[int, int, bytes], np.ndarray] = {}

    def full(self, codes: np.ndarray) -> np.ndarray:
        """Column codes ``(B, n_cols)`` as engine codes ``(B, n_vars)``."""
        out = np.full((codes.shape[0], self.n_vars), -1, dtype=np.int64)
        out[:, self.col_pos] = codes
        return out


_CONTEXTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _context(model: Model) -> _Context:
    ctx = _CONTEXTS.get(model.engine)
    if ctx is None or ctx.model_ref() is not model:
        ctx = _Context(model)
        _CONTEXTS[model.engine] = ctx
    return ctx


def _codes(model: Model, evidence: Mapping[str, object]) -> tuple[dict[str, str], np.ndarray]:
    ev = normalize_evidence(model.schema, evidence)
    return ev, model.encode([ev])[0]


def _logit(m: np.ndarray) -> np.ndarray:
    """log P(present) - log P(absent) from two-state marginals ``(..., 2)``."""
    with np.errstate(divide="ignore"):
        return np.log(m[..., 1]) - np.log(m[..., 0])


def _kl2(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(Bernoulli(p) || Bernoulli(q)) in bits, elementwise (0 log 0 = 0)."""
    p = np.clip(p, 0.0, 1.0)
    q = np.clip(q, 1e-300, 1.0 - 1e-16)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / q), 0.0)
        b = np.where(p < 1, (1 - p) * np.log2(np.where(p < 1, 1 - p, 1.0) / (1 - q)), 0.0)
    return a + b


# --------------------------------------------------------------------------- core computations
#: Up to this many possible answers, each answer gets its own row ("answer rows", cheap
#: cause-only targets); above it, one row per cause clamped present ("cause rows", 15 rows with
#: the open columns as targets). Both are exact; this only picks the cheaper batch.
ANSWER_ROWS_MAX = 16


def _base_and_answers(
    ctx: _Context, model: Model, row: np.ndarray, *, method: str = "auto"
) -> dict:
    """One batched query: posteriors of ``row`` and, for every unobserved column, the answer
    probabilities and the cause posteriors after each answer.

    ``method`` is ``"answers"`` (one row per possible answer: ``P(c | e, Q=s)`` directly and
    ``P(Q=s | e) = P(e, Q=s) / P(e)`` from the log evidence), ``"causes"`` (one row per cause
    clamped present: ``P(c | e, Q=s) = P(Q=s | e, c) P(c | e) / P(Q=s | e)``) or ``"auto"``.
    """
    unobs = np.flatnonzero(row < 0)
    ncause = len(ctx.causes)
    a_col = np.repeat(unobs, ctx.card[unobs]).astype(np.int64)
    a_state = (
        np.arange(len(a_col))
        - np.repeat(np.cumsum(ctx.card[unobs]) - ctx.card[unobs], ctx.card[unobs])
    ).astype(np.int64)
    if method == "auto":
        method = "answers" if len(a_col) <= ANSWER_ROWS_MAX else "causes"
    if method == "answers" or len(a_col) == 0:
        rows = np.repeat(row[None, :], 1 + len(a_col), axis=0)
        rows[1 + np.arange(len(a_col)), a_col] = a_state
        res = model.engine.query(ctx.full(rows), targets=ctx.causes)
        m2 = np.stack([res.marginals[c] for c in ctx.causes], axis=1)  # (rows, ncause, 2)
        with np.errstate(invalid="ignore"):
            p_ans = np.exp(res.log_evidence[1:] - res.log_evidence[0])
        after = m2[1:, :, 1]
    elif method == "causes":
        full = ctx.full(np.repeat(row[None, :], 1 + ncause, axis=0))
        full[np.arange(1, 1 + ncause), ctx.cause_pos] = 1  # clamp each cause "present"
        res = model.engine.query(full, targets=ctx.causes + tuple(ctx.columns[j] for j in unobs))
        m2 = np.stack([res.marginals[c] for c in ctx.causes], axis=1)
        post = m2[0, :, 1]
        p_ans = np.concatenate([res.marginals[ctx.columns[j]][0] for j in unobs])
        # P(Q = s | e, c present), one column per answer: (ncause, n_answers)
        given = np.concatenate([res.marginals[ctx.columns[j]][1:] for j in unobs], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            after = np.where(p_ans[:, None] > 0, given.T * post[None, :] / p_ans[:, None], np.nan)
    else:
        raise InputError(
            f"expected method in ('auto', 'answers', 'causes'). Got {method!r} instead."
        )
    return {
        "post": m2[0, :, 1],
        "post2": m2[0],
        "log_evidence": float(res.log_evidence[0]),
        "unobs": unobs,
        "a_col": a_col,
        "a_state": a_state,
        "p_answer": p_ans,
        "post_after": np.clip(after, 0.0, 1.0).reshape(len(a_col), ncause),
        "method": method,
    }


def _leave_one_out(
    ctx: _Context, model: Model, row: np.ndarray, *, extra: np.ndarray | None = None
):
    """Posteriors (two-state, per cause) and log P with each observed column left out."""
    obs = np.flatnonzero(row >= 0)
    rows = np.repeat(row[None, :], len(obs), axis=0)
    rows[np.arange(len(obs)), obs] = -1
    if extra is not None:
        rows = np.vstack([rows, extra])
    if rows.shape[0] == 0:
        return obs, np.zeros((0, len(ctx.causes), 2)), np.zeros(0), None
    res = model.engine.query(ctx.full(rows), targets=ctx.causes)
    m2 = np.stack([res.marginals[c] for c in ctx.causes], axis=1)  # (rows, ncause, 2)
    n = len(obs)
    extra_out = None if extra is None else (m2[n:], res.log_evidence[n:])
    return obs, m2[:n], res.log_evidence[:n], extra_out


_EXPLANATION_COLUMNS = (
    "cause",
    "column",
    "state",
    "group",
    "finding",
    "woe",
    "p_without",
    "p_with",
    "p_baseline",
    "baseline",
    "direction",
)


def _explanation_frame(ctx, row, base2, obs, loo2, causes, p_baseline, baseline) -> pd.DataFrame:
    cidx = np.array([ctx.causes.index(c) for c in causes], dtype=np.int64)
    n_obs = len(obs)
    if n_obs == 0 or len(cidx) == 0:
        empty = {
            c: pd.Series(dtype=float if c.startswith(("woe", "p_")) else object)
            for c in _EXPLANATION_COLUMNS
        }
        return pd.DataFrame(empty)
    woe = (_logit(base2[None, :, :]) - _logit(loo2))[:, cidx]  # (n_obs, n_expl)
    # order: causes as given, then |woe| descending (stable)
    order = np.argsort(-np.abs(woe), axis=0, kind="stable")  # (n_obs, n_expl)
    k = order.T.ravel()  # observed-finding index per output row
    ci = np.repeat(cidx, n_obs)
    col_names = np.array(ctx.columns, dtype=object)[obs]
    states = np.array(
        [ctx.schema.columns[c].states[row[j]] for c, j in zip(col_names, obs, strict=True)],
        dtype=object,
    )
    groups = np.array([ctx.schema.columns[c].group for c in col_names], dtype=object)
    phrases = np.array(
        [finding_phrase(c, st) for c, st in zip(col_names, states, strict=True)], dtype=object
    )
    w = np.take_along_axis(woe, order, axis=0).T.ravel()
    df = pd.DataFrame(
        {
            "cause": np.array(ctx.causes, dtype=object)[ci],
            "column": col_names[k],
            "state": states[k],
            "group": groups[k],
            "finding": phrases[k],
            "woe": w,
            "p_without": loo2[k, ci, 1],
            "p_with": base2[ci, 1],
            "p_baseline": np.asarray(p_baseline, dtype=float)[ci],
            "baseline": baseline,
            "direction": np.where(w > 0, "raises", np.where(w < 0, "lowers", "none")),
        }
    )
    return df


def _check_baseline(baseline: str) -> None:
    if baseline not in BASELINES:
        raise InputError(f"expected baseline in {BASELINES}. Got {baseline!r} instead.")


def _resolve_causes(ctx: _Context, causes, post: np.ndarray) -> list[str]:
    if causes is None:
        return [ctx.causes[i] for i in np.argsort(-post, kind="stable")]
    if isinstance(causes, int):
        return [ctx.causes[i] for i in np.argsort(-post, kind="stable")[:causes]]
    if isinstance(causes, str):
        causes = [causes]
    bad = [c for c in causes if c not in ctx.causes]
    if bad:
        raise InputError(
            f"expected causes from {', '.join(ctx.causes)}. "
            f"Got {', '.join(map(repr, bad))} instead."
        )
    return list(causes)


def _history_row(ctx: _Context, row: np.ndarray) -> np.ndarray:
    h = row.copy()
    h[~ctx.is_history] = -1
    return h


def _explain_codes(ctx, model, row, causes, baseline, base2=None):
    extra = _history_row(ctx, row)[None, :] if baseline == "history" else None
    obs, loo2, loo_logev, extra_out = _leave_one_out(ctx, model, row, extra=extra)
    if base2 is None:
        res = model.engine.query(ctx.full(row[None, :]), targets=ctx.causes)
        base2 = np.stack([res.marginals[c][0] for c in ctx.causes])
    p_base = ctx.prior_causes if extra_out is None else extra_out[0][0, :, 1]
    names = _resolve_causes(ctx, causes, base2[:, 1])
    frame = _explanation_frame(ctx, row, base2, obs, loo2, names, p_base, baseline)
    return frame, obs, loo_logev


def explain(
    model: Model,
    evidence: Mapping[str, object],
    *,
    causes: Sequence[str] | str | int | None = None,
    baseline: str = "prior",
) -> pd.DataFrame:
    """The weight of evidence of every observed finding, for each cause.

    Parameters
    ----------
    model : Model
        A loaded model.
    evidence : mapping
        Findings (column -> state); blank means not known.
    causes : sequence of str, str or int, optional
        Causes to explain: names, or the ``n`` most likely ones; all causes (ranked) by default.
    baseline : {"prior", "history"}
        What the sentence starts from: the prior with no findings, or the history alone.

    Returns
    -------
    pandas.DataFrame
        One row per (cause, observed finding), sorted by cause then by ``|woe|``: ``cause``,
        ``column``, ``state``, ``group``, ``finding`` (a readable phrase), ``woe`` (natural
        log likelihood ratio of the finding for the cause present vs absent, the other
        findings held), ``p_without`` (P(cause | other findings)), ``p_with`` (P(cause | all
        findings)), ``p_baseline``, ``baseline`` and ``direction`` (raises/lowers).

    Examples
    --------
    >>> from model.core import load_model
    >>> t = explain(load_model(), {"diabetes": "yes", "burning_pain": "yes"}, causes=1)
    >>> t["cause"].unique().tolist(), t["finding"].tolist(), t["direction"].tolist()
    (['diabetic_neuropathy'], ['diabetes', 'burning pain'], ['raises', 'raises'])
    """
    _check_baseline(baseline)
    ctx = _context(model)
    _, row = _codes(model, evidence)
    return _explain_codes(ctx, model, row, causes, baseline)[0]


def describe(explanation: pd.DataFrame, cause: str | None = None, *, max_named: int = 3) -> str:
    """One plain sentence summing up an :func:`explain` table for one cause.

    Names the findings that moved the cause most (at most ``max_named`` each way, those with
    ``|woe| >= 0.05``), the baseline and the final probability.

    Raises
    ------
    InputError
        When the table has no row for ``cause`` (with no findings there is nothing to explain).

    Examples
    --------
    >>> from model.core import load_model
    >>> m = load_model()
    >>> describe(explain(m, {"onset": "sudden", "face_arm_or_speech": "yes"}, causes=["stroke"]))
    ... # doctest: +ELLIPSIS
    'Face, arm or speech problems and sudden onset raise stroke from ...% (the prior, ...) to ...%.'
    """
    if cause is None:
        if explanation.empty:
            raise InputError(
                "expected an explanation with at least one finding. Got an empty table instead; "
                "with no findings there is nothing to explain."
            )
        cause = explanation["cause"].iloc[0]
    rows = explanation[explanation["cause"] == cause]
    if rows.empty:
        raise InputError(
            f"expected rows for cause {cause!r} in the explanation. Got none instead "
            f"(causes present: {', '.join(explanation['cause'].unique()) or 'none'})."
        )
    p0, p1 = float(rows["p_baseline"].iloc[0]), float(rows["p_with"].iloc[0])
    return _sentence(cause, p0, p1, str(rows["baseline"].iloc[0]), rows, max_named=max_named)


def _sentence(cause, p0, p1, baseline, rows, *, max_named=3) -> str:
    """The sentence for one cause; ``rows`` is its part of an explanation table (or None)."""
    name = cause_phrase(cause)
    base = _BASELINE_WORDS.get(baseline, baseline)
    if rows is None or len(rows["woe"]) == 0:
        return f"No findings yet: {name} is at {format_pct(p1)} ({base})."
    woe = np.asarray(rows["woe"], dtype=float)
    finding = np.asarray(rows["finding"], dtype=object)
    order = np.argsort(-woe, kind="stable")
    up = [finding[i] for i in order if woe[i] >= _NAME_EPS][:max_named]
    down = [finding[i] for i in order[::-1] if woe[i] <= -_NAME_EPS][:max_named]
    span = f"from {format_pct(p0)} ({base}) to {format_pct(p1)}"

    def verb(words, one, many):
        return one if len(words) == 1 else many

    if not up and not down:
        text = f"no finding moves {name} much: {format_pct(p0)} ({base}) to {format_pct(p1)}."
    elif up and (p1 >= p0 or not down):
        text = f"{_join(up)} {verb(up, 'raises', 'raise')} {name} {span}"
        if down:
            text += f"; {_join(down)} {verb(down, 'lowers', 'lower')} it"
        text += "."
    else:
        text = f"{_join(down)} {verb(down, 'lowers', 'lower')} {name} {span}"
        if up:
            text += f"; {_join(up)} {verb(up, 'raises', 'raise')} it"
        text += "."
    return text[0].upper() + text[1:]


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
    levels, flags = triage_codes(np.vstack([codes, row[None, :]]), np.vstack([safe_after, post]))
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
    >>> from model.core import load_model
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
    >>> from model.core import load_model
    >>> o = answer_outcomes(load_model(), {"onset": "sudden"})
    >>> o.loc[o["column"] == "face_arm_or_speech", ["state", "triage"]].values.tolist()
    [['yes', 'emergency'], ['no', 'self_care']]
    """
    ctx = _context(model)
    _, row = _codes(model, evidence)
    return _question_frames(ctx, row, _base_and_answers(ctx, model, row))[1]


# --------------------------------------------------------------------------- conflict
@dataclass(frozen=True)
class Conflict:
    """Hugin's data-conflict measure of one evidence set, with its calibration.

    Attributes
    ----------
    conf : float
        ``log(prod_i P(e_i) / P(e))`` (natural log); 0 with fewer than two findings.
    threshold : float
        The ``level`` quantile of ``conf`` over cases simulated from the network with the
        same columns observed.
    percentile : float
        Share of the simulated cases whose ``conf`` is below this one.
    warn : bool
        ``conf > threshold``: the findings fit together worse than usual.
    n_findings, n_sim : int
        Observed columns; simulated reference cases.
    level : float
        The quantile used for ``threshold``.
    drivers : pandas.Series
        Per observed column, ``log(P(e_o) P(rest) / P(e))``: how much that finding alone
        conflicts with the rest (largest first); removing it lowers ``conf`` by this amount.
    """

    conf: float
    threshold: float
    percentile: float
    warn: bool
    n_findings: int
    n_sim: int
    level: float
    drivers: pd.Series = field(repr=False)

    @property
    def message(self) -> str:
        """The verdict in plain words."""
        if self.n_findings < 2:
            return "Conflict needs at least two findings; nothing to check yet."
        if not np.isfinite(self.conf):
            return "These findings are impossible together under the model: check the data entry."
        pct = (
            f"all {self.n_sim}"
            if self.percentile >= 1.0
            else f"{format_pct(self.percentile)} of the {self.n_sim}"
        )
        if self.warn:
            worst = self.drivers.index[0] if len(self.drivers) else ""
            hint = (
                f" The finding that fits the rest least is {worst.replace('_', ' ')}."
                if worst
                else ""
            )
            return (
                f"Warning: these findings fit together worse than {pct} cases simulated from "
                f"the model with the same questions answered (conflict {self.conf:.2f} > "
                f"{self.threshold:.2f}, the {100 * self.level:.0f}th percentile). Check for a "
                f"data-entry error, or consider a cause the model does not include.{hint}"
            )
        worse = format_pct(1.0 - self.percentile)
        return (
            f"The findings fit together as usual: conflict {self.conf:.2f}; {worse} of cases "
            f"simulated from the model with the same questions answered have a higher conflict "
            f"(warning above {self.threshold:.2f}, the {100 * self.level:.0f}th percentile)."
        )


def _topological_tables(model: Model):
    from model.network import extract_tables

    return extract_tables(model.network)


def _sample_codes(ctx: _Context, model: Model, n: int, seed: int) -> np.ndarray:
    """Forward-sample ``n`` complete cases: column codes ``(n, n_cols)``, cached per seed."""
    key = (n, seed)
    if key in ctx.samples:
        return ctx.samples[key]
    rng = np.random.default_rng(seed)
    drawn: dict[str, np.ndarray] = {}
    order: dict[str, tuple[str, ...]] = {}
    for cpt in _topological_tables(model):
        order[cpt.variable] = tuple(cpt.states[cpt.variable])
        k = cpt.values.shape[0]
        flat = cpt.values.reshape(k, -1)
        if cpt.parents:
            pcard = cpt.values.shape[1:]
            idx = np.ravel_multi_index(tuple(drawn[p] for p in cpt.parents), pcard)
        else:
            idx = np.zeros(n, dtype=np.int64)
        cum = np.cumsum(flat[:, idx], axis=0)  # (k, n)
        u = rng.random(n)
        drawn[cpt.variable] = np.minimum((u[None, :] > cum).sum(axis=0), k - 1)

    def recode(node: str) -> np.ndarray:  # sampled codes follow the table's state order
        target = ctx.schema.states_of(node)
        return np.array([target.index(st) for st in order[node]], dtype=np.int64)[drawn[node]]

    out = np.stack([recode(c) for c in ctx.columns], axis=1)
    causes = np.stack([recode(c) for c in ctx.causes], axis=1)
    ctx.samples[key] = out
    ctx.samples[(n, seed, "causes")] = causes
    return out


def simulate_cases(model: Model, n: int, *, seed: int = 0) -> pd.DataFrame:
    """Forward-sample ``n`` complete cases from the network (numpy, seeded).

    Returns
    -------
    pandas.DataFrame
        One row per case with every column and every cause (``present``/``absent``).

    Examples
    --------
    >>> from model.core import load_model
    >>> sim = simulate_cases(load_model(), 1000, seed=1)
    >>> sim.shape, sorted(sim["sciatica"].unique())
    ((1000, 50), ['absent', 'present'])
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"expected n as a positive int. Got {n!r} instead.")
    ctx = _context(model)
    codes = _sample_codes(ctx, model, int(n), seed)
    causes = ctx.samples[(int(n), seed, "causes")]
    data = {
        c: np.array(ctx.schema.columns[c].states, dtype=object)[codes[:, j]]
        for j, c in enumerate(ctx.columns)
    }
    data.update(
        {
            c: np.array(["absent", "present"], dtype=object)[causes[:, i]]
            for i, c in enumerate(ctx.causes)
        }
    )
    return pd.DataFrame(data)


def conf_scores(model: Model, codes: np.ndarray) -> np.ndarray:
    """``conf`` of many coded rows ``(B, n_cols)`` at once: one batched engine query.

    ``sum_i log P(e_i)`` uses the prior marginals of the observed columns, ``log P(e)`` the
    engine's log evidence. Rows with fewer than two findings get 0.
    """
    ctx = _context(model)
    codes = np.asarray(codes, dtype=np.int64)
    res = model.engine.query(ctx.full(codes), targets=ctx.causes[:1])
    return _conf_from(ctx, codes, res.log_evidence)


def _conf_from(ctx: _Context, codes: np.ndarray, log_evidence: np.ndarray) -> np.ndarray:
    obs = codes >= 0
    rows = np.arange(codes.shape[1])[None, :]
    singles = np.where(obs, ctx.log_prior[rows, np.maximum(codes, 0)], 0.0).sum(axis=1)
    conf = singles - log_evidence
    return np.where(obs.sum(axis=1) >= 2, conf, 0.0)


def _reference(ctx, model, observed: np.ndarray, n_sim: int, seed: int) -> np.ndarray:
    key = (n_sim, seed, np.packbits(observed).tobytes())
    ref = ctx.conf_reference.get(key)
    if ref is None:
        sim = _sample_codes(ctx, model, n_sim, seed).copy()
        sim[:, ~observed] = -1
        ref = np.sort(conf_scores(model, sim))
        ctx.conf_reference[key] = ref
    return ref


def _conflict(ctx, model, row, log_ev, obs, loo_logev, *, n_sim, seed, level) -> Conflict:
    observed = row >= 0
    conf = float(_conf_from(ctx, row[None, :], np.array([log_ev]))[0])
    n_obs = int(observed.sum())
    if n_obs < 2:
        return Conflict(0.0, np.nan, np.nan, False, n_obs, 0, level, pd.Series(dtype=float))
    ref = _reference(ctx, model, observed, n_sim, seed)
    threshold = float(np.quantile(ref, level))
    percentile = float(np.searchsorted(ref, conf, side="left") / len(ref))
    # conf(e) - conf(e \ o) = log P(e_o) + log P(e \ o) - log P(e)
    singles = ctx.log_prior[obs, row[obs]]
    drop = singles + loo_logev - log_ev
    drivers = pd.Series(drop, index=[ctx.columns[j] for j in obs], name="conflict_drop")
    drivers = drivers.sort_values(ascending=False, kind="stable")
    return Conflict(
        conf, threshold, percentile, bool(conf > threshold), n_obs, n_sim, level, drivers
    )


def _check_conflict_options(n_sim: int, level: float) -> None:
    if not isinstance(n_sim, int | np.integer) or n_sim < 20:
        raise InputError(f"expected n_sim as an int >= 20. Got {n_sim!r} instead.")
    if not 0.5 <= level < 1.0:
        raise InputError(f"expected level in [0.5, 1). Got {level!r} instead.")


def conflict(
    model: Model,
    evidence: Mapping[str, object] | Analysis,
    *,
    n_sim: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> Conflict:
    """Hugin's data-conflict measure, calibrated against cases simulated from the network.

    Parameters
    ----------
    model : Model
        A loaded model.
    evidence : mapping or Analysis
        Findings (blank means not known), or an :class:`Analysis` of them, whose log
        evidence and leave-one-out queries are then reused (no engine call but the
        reference simulation).
    n_sim : int
        Reference cases forward-sampled from the network (cached per observed pattern).
    seed : int
        Seed of the sampler.
    level : float
        Warn when ``conf`` exceeds this quantile of the reference (default 0.95: one case in
        twenty generated by the model itself would be flagged).

    Examples
    --------
    >>> from model.core import load_model
    >>> m = load_model()
    >>> c = conflict(m, {"age_group": "under_40", "pregnant": "yes", "sex": "male"})
    >>> c.warn, c.drivers.index[0] in ("sex", "pregnant")
    (True, True)
    >>> conflict(m, {"shooting_pain": "yes", "back_pain": "yes"}).warn
    False
    """
    _check_conflict_options(n_sim, level)
    ctx = _context(model)
    if isinstance(evidence, Analysis):
        row = model.encode([evidence.evidence])[0]
        obs = np.flatnonzero(row >= 0)
        loo_logev = evidence.loo_log_evidence.reindex([ctx.columns[j] for j in obs]).to_numpy()
        log_ev = evidence.log_evidence
    else:
        _, row = _codes(model, evidence)
        obs, _, loo_logev, _ = _leave_one_out(ctx, model, row)
        log_ev = float(
            model.engine.query(ctx.full(row[None, :]), targets=ctx.causes[:1]).log_evidence[0]
        )
    return _conflict(ctx, model, row, log_ev, obs, loo_logev, n_sim=n_sim, seed=seed, level=level)


# --------------------------------------------------------------------------- one-call analysis
@dataclass(frozen=True)
class Analysis:
    """Everything the what-if app shows for one evidence set (see :func:`analyse`).

    Attributes
    ----------
    evidence : dict
        The normalized findings.
    diagnosis : Diagnosis
        Posteriors, triage and red flags.
    explanation : pandas.DataFrame
        Weights of evidence (see :func:`explain`) for the explained causes.
    sentences : dict of str to str
        One plain sentence per explained cause.
    questions, outcomes : pandas.DataFrame
        See :func:`next_questions` and :func:`answer_outcomes`.
    conflict : Conflict or None
        When asked for.
    baseline : str
        ``"prior"`` or ``"history"``.
    log_evidence : float
        ``ln P(evidence)``.
    loo_log_evidence : pandas.Series
        ``ln P(evidence without the column)`` per observed column.
    timings : dict
        Milliseconds spent per stage.
    """

    evidence: dict[str, str]
    diagnosis: Diagnosis
    explanation: pd.DataFrame
    sentences: dict[str, str]
    questions: pd.DataFrame
    outcomes: pd.DataFrame
    conflict: Conflict | None
    baseline: str
    log_evidence: float = field(default=np.nan, repr=False)
    loo_log_evidence: pd.Series = field(default=None, repr=False, compare=False)
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def summary(self) -> pd.DataFrame:
        """One row per explained cause, most likely first: posterior and the sentence.

        Examples
        --------
        >>> from model.core import load_model
        >>> a = analyse(load_model(), {"calf_swelling": "yes", "recent_immobility": "yes"})
        >>> a.summary().columns.tolist()
        ['posterior', 'why']
        >>> a.summary().index[0]
        'deep_vein_thrombosis'
        """
        post = self.diagnosis.posteriors
        names = sorted(self.sentences, key=lambda c: -post[c])
        return pd.DataFrame(
            {
                "posterior": [float(post[c]) for c in names],
                "why": [self.sentences[c] for c in names],
            },
            index=pd.Index(names, name="cause"),
        )

    def describe(self) -> str:
        """Triage, red flags and one sentence per explained cause, as plain text.

        Examples
        --------
        >>> from model.core import load_model
        >>> a = analyse(load_model(), {"calf_swelling": "yes", "recent_immobility": "yes"},
        ...             explain_causes=1)
        >>> print(a.describe())  # doctest: +ELLIPSIS
        Triage: emergency. Red flags: swollen calf after immobility (possible blood clot).
        - deep vein thrombosis (...%): A swollen calf and recent immobility raise deep vein ...
        """
        flags = "; ".join(self.diagnosis.red_flags) or "none"
        lines = [f"Triage: {self.diagnosis.triage.replace('_', ' ')}. Red flags: {flags}."]
        for cause, row in self.summary().iterrows():
            lines.append(f"- {cause_phrase(cause)} ({format_pct(row['posterior'])}): {row['why']}")
        return "\n".join(lines)


def analyse(
    model: Model,
    evidence: Mapping[str, object],
    *,
    explain_causes: Sequence[str] | int | None = 3,
    baseline: str = "prior",
    questions: bool = True,
    with_conflict: bool = False,
    n_sim: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> Analysis:
    """Posteriors, triage, explanation, next questions and (optionally) conflict at once.

    Two batched engine calls: the evidence plus one row per cause clamped present (answers to
    every open question), and one row per observed finding left out (weights of evidence and
    the conflict drivers). The conflict reference is simulated once per observed pattern and
    cached.

    Parameters
    ----------
    explain_causes : sequence of str, int or None
        Causes to explain (names, the ``n`` most likely, or all when None). Default 3.
    baseline : {"prior", "history"}
        Starting point of the explanation sentences.
    questions : bool
        Rank the unobserved columns.
    with_conflict : bool
        Compute the calibrated conflict measure (the first call per pattern simulates
        ``n_sim`` cases).

    Examples
    --------
    >>> from model.core import load_model
    >>> a = analyse(load_model(), {"laterality": "one_leg", "back_pain": "yes"})
    >>> a.diagnosis.ranked.index[0], a.questions["column"].iloc[0]
    ('sciatica', 'shooting_pain')
    >>> a.sentences["sciatica"]  # doctest: +ELLIPSIS
    'Back pain and one leg raise sciatica from ...% (the prior, no findings) to ...%.'
    """
    _check_baseline(baseline)
    if with_conflict:
        _check_conflict_options(n_sim, level)
    t0 = time.perf_counter()
    ctx = _context(model)
    ev, row = _codes(model, evidence)
    t1 = time.perf_counter()
    if questions:
        ba = _base_and_answers(ctx, model, row)
    else:
        row_only = row.copy()
        res = model.engine.query(ctx.full(row_only[None, :]), targets=ctx.causes)
        ba = {
            "post": np.array([res.marginals[c][0, 1] for c in ctx.causes]),
            "post2": np.stack([res.marginals[c][0] for c in ctx.causes]),
            "log_evidence": float(res.log_evidence[0]),
        }
    t2 = time.perf_counter()
    post = ba["post"]
    series = pd.Series(post, index=list(ctx.causes), name="posterior")
    levels, flags = triage_codes(row[None, :], post[None, :])
    diag = Diagnosis(ev, series, str(levels[0]), tuple(flags[0]))
    frame, obs, loo_logev = _explain_codes(ctx, model, row, explain_causes, baseline, ba["post2"])
    t3 = time.perf_counter()
    names = _resolve_causes(ctx, explain_causes, post)
    cols = {k: frame[k].to_numpy() for k in ("cause", "woe", "finding", "p_baseline")}
    sentences = {}
    for c in names:
        hit = cols["cause"] == c
        rows = {"woe": cols["woe"][hit], "finding": cols["finding"][hit]}
        p0 = (
            float(cols["p_baseline"][hit][0])
            if hit.any()
            else float(ctx.prior_causes[ctx.causes.index(c)])
        )
        sentences[c] = _sentence(c, p0, float(post[ctx.causes.index(c)]), baseline, rows)
    if questions:
        q, outcomes = _question_frames(ctx, row, ba)
    else:
        q, outcomes = _question_frames(
            ctx,
            row,
            {
                "post": post,
                "a_col": np.zeros(0, int),
                "a_state": np.zeros(0, int),
                "p_answer": np.zeros(0),
                "post_after": np.zeros((0, len(post))),
            },
        )
    t4 = time.perf_counter()
    conf = None
    if with_conflict:
        conf = _conflict(
            ctx, model, row, ba["log_evidence"], obs, loo_logev, n_sim=n_sim, seed=seed, level=level
        )
    t5 = time.perf_counter()
    timings = {
        "encode_ms": 1e3 * (t1 - t0),
        "posteriors_and_answers_ms": 1e3 * (t2 - t1),
        "explanation_ms": 1e3 * (t3 - t2),
        "questions_ms": 1e3 * (t4 - t3),
        "conflict_ms": 1e3 * (t5 - t4),
        "total_ms": 1e3 * (t5 - t0),
    }
    loo = pd.Series(loo_logev, index=[ctx.columns[j] for j in obs], name="log_evidence")
    return Analysis(
        ev, diag, frame, sentences, q, outcomes, conf, baseline, ba["log_evidence"], loo, timings
    )


# --------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Comparison:
    """Two or more evidence sets side by side (see :func:`compare`).

    Attributes
    ----------
    names : tuple of str
        Scenario names; the first is the reference.
    evidence : dict
        Name -> normalized evidence.
    posteriors : pandas.DataFrame
        Causes (rows, ranked by the largest posterior in any scenario) x scenarios.
    differences : pandas.DataFrame
        Each other scenario minus the reference, same rows.
    triage : pandas.Series
        Triage level per scenario.
    red_flags : pandas.Series
        Red flags (tuple of str) per scenario.
    findings : pandas.DataFrame
        Observed columns (rows) x scenarios, as readable phrases; blank = not known.
    changed : tuple of str
        Columns whose state differs between scenarios.
    """

    names: tuple[str, ...]
    evidence: dict[str, dict[str, str]]
    posteriors: pd.DataFrame
    differences: pd.DataFrame
    triage: pd.Series
    red_flags: pd.Series
    findings: pd.DataFrame
    changed: tuple[str, ...]

    def summary(self, *, top: int = 3) -> list[str]:
        """One sentence per non-reference scenario: triage and the biggest moves."""
        ref = self.names[0]
        out = []
        for name in self.names[1:]:
            diff = self.differences[name]
            big = diff.reindex(diff.abs().sort_values(ascending=False).index).head(top)
            moves = ", ".join(
                f"{cause_phrase(c)} {format_pct(self.posteriors.at[c, ref])} -> "
                f"{format_pct(self.posteriors.at[c, name])}"
                for c in big.index
                if abs(big[c]) >= 0.005
            )
            tri = (
                f"triage {self.triage[ref]} -> {self.triage[name]}"
                if self.triage[name] != self.triage[ref]
                else f"triage stays {self.triage[name]}"
            )
            out.append(
                f"{name} vs {ref}: {tri}; " + (moves or "no cause moves by 0.5 points") + "."
            )
        return out


def compare(
    model: Model,
    scenarios: Mapping[str, Mapping[str, object]] | Sequence[Mapping[str, object]],
) -> Comparison:
    """Compare two or more evidence sets: posteriors, triage, red flags and differences.

    Parameters
    ----------
    model : Model
        A loaded model.
    scenarios : mapping of name to evidence, or sequence of evidence
        The first scenario is the reference; unnamed ones are called ``A``, ``B``, ...

    Examples
    --------
    >>> from model.core import load_model
    >>> c = compare(load_model(), {"now": {"onset": "sudden"},
    ...                             "with weakness": {"onset": "sudden", "weakness": "yes"}})
    >>> c.triage.tolist(), c.changed
    (['self_care', 'emergency'], ('weakness',))
    """
    if isinstance(scenarios, Mapping):
        items = list(scenarios.items())
    else:
        items = [
            (chr(ord("A") + i) if i < 26 else f"S{i + 1}", ev) for i, ev in enumerate(scenarios)
        ]
    if len(items) < 2:
        raise InputError(f"expected two or more scenarios to compare. Got {len(items)} instead.")
    names = tuple(str(n) for n, _ in items)
    if len(set(names)) != len(names):
        raise InputError(f"expected distinct scenario names. Got {names} instead.")
    evs = {}
    problems: list[Problem] = []
    for name, ev in items:
        try:
            evs[name] = normalize_evidence(model.schema, ev)
        except EvidenceError as exc:
            problems += [Problem(f"scenario {name!r}", p.key, p.message) for p in exc.problems]
    if problems:
        raise EvidenceError(f"{len(problems)} problem(s) in the scenarios:", problems)
    codes = model.encode([evs[n] for n in names])
    post = model.posterior_matrix(codes)
    levels, flags = triage_codes(codes, post)
    causes = list(model.causes)
    table = pd.DataFrame(post.T, index=causes, columns=list(names))
    table = table.loc[table.max(axis=1).sort_values(ascending=False, kind="stable").index]
    diffs = table[list(names[1:])].sub(table[names[0]], axis=0)
    observed = [c for c in model.columns if any(c in evs[n] for n in names)]
    findings = pd.DataFrame(
        {n: [finding_phrase(c, evs[n][c]) if c in evs[n] else "" for c in observed] for n in names},
        index=observed,
    )
    changed = tuple(c for c in observed if len({evs[n].get(c) for n in names}) > 1)
    return Comparison(
        names,
        evs,
        table,
        diffs,
        pd.Series(levels.astype(str), index=list(names), name="triage"),
        pd.Series(flags, index=list(names), name="red_flags", dtype=object),
        findings,
        changed,
    )


# --------------------------------------------------------------------------- cases and intake
def load_examples() -> pd.DataFrame:
    """The bundled worked examples (``model.data.examples_path()``) as strings.

    >>> load_examples()["case_id"].head(3).tolist()
    ['E01', 'E02', 'E03']
    """
    from model.data import examples_path

    return pd.read_csv(examples_path(), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def case_evidence(
    schema: Schema, row: Mapping[str, object], *, where: str = "case"
) -> dict[str, str]:
    """The evidence of one case row: known columns only, validated, blanks dropped.

    Other cells (an id, a story, expected answers) are ignored. Every invalid state is
    reported at once, naming ``where``, the column, the value and the allowed values.

    Examples
    --------
    >>> from model.schema import load_schema
    >>> case_evidence(load_schema(), {"case_id": "X1", "Onset": "Sudden", "weakness": ""})
    {'onset': 'sudden'}
    >>> case_evidence(load_schema(), {"onset": "slowly"}, where="cases.csv, row 2")
    Traceback (most recent call last):
    ...
    model.errors.EvidenceError: 1 problem(s) in cases.csv, row 2:
      - cases.csv, row 2: onset: expected one of sudden, gradual. Got 'slowly' instead.
    """
    from model.schema import normalize_name

    out: dict[str, str] = {}
    problems = []
    for raw, value in row.items():
        col = normalize_name(raw)
        if col not in schema.columns or value is None:
            continue
        text = str(value)
        if text.strip() == "" or (isinstance(value, float) and np.isnan(value)):
            continue
        state = schema.normalize_state(col, text)
        if state is None:
            allowed = ", ".join(schema.columns[col].states)
            problems.append(
                Problem(where, col, f"expected one of {allowed}. Got {text!r} instead.")
            )
            continue
        out[col] = state
    if problems:
        raise EvidenceError(f"{len(problems)} problem(s) in {where}:", problems)
    return out


def example_evidence(case_id: str) -> dict[str, str]:
    """The evidence of one bundled example case.

    >>> example_evidence("E03")["laterality"]
    'one_leg'
    """
    from model.schema import load_schema

    cases = load_examples()
    hit = cases[cases["case_id"] == case_id]
    if hit.empty:
        raise InputError(
            f"expected a case_id of the bundled examples ({', '.join(cases['case_id'])}). "
            f"Got {case_id!r} instead."
        )
    line = int(hit.index[0]) + 2
    return case_evidence(load_schema(), hit.iloc[0].to_dict(), where=f"examples.csv, row {line}")


def history_only(schema: Schema, evidence: Mapping[str, str]) -> dict[str, str]:
    """The history (risk-factor) part of normalized evidence.

    >>> from model.schema import load_schema
    >>> history_only(load_schema(), {"diabetes": "yes", "onset": "sudden"})
    {'diabetes': 'yes'}
    """
    return {c: s for c, s in evidence.items() if schema.columns[c].group == "history"}


def guided_intake(
    model: Model,
    case: Mapping[str, object],
    *,
    start: str = "history",
    max_steps: int = 5,
    min_info: float = 0.0,
) -> pd.DataFrame:
    """Replay an intake: ask the best next question, take the answer from ``case``, repeat.

    Parameters
    ----------
    model : Model
        A loaded model.
    case : mapping
        The full findings of a case (the answers the person would give).
    start : {"history", "nothing"}
        Begin from the case's history columns, or from no findings.
    max_steps : int
        Questions to ask at most.
    min_info : float
        Stop when the best question's expected information (bits) falls below this.

    Returns
    -------
    pandas.DataFrame
        Step 0 is the start; each further row is the state after one answer: ``step``,
        ``asked``, ``question``, ``answer``, ``finding``, ``expected_info`` and
        ``expected_top_change`` of the question when it was chosen, ``top_cause``, ``p_top``,
        ``triage``, ``n_known`` and one ``p_<cause>`` column per cause.

    Examples
    --------
    >>> from model.core import load_model
    >>> steps = guided_intake(load_model(), example_evidence("E03"), max_steps=2)
    >>> steps["step"].tolist(), steps["asked"].iloc[0], steps["top_cause"].iloc[-1]
    ([0, 1, 2], '', 'sciatica')
    """
    if start not in ("history", "nothing"):
        raise InputError(f"expected start in ('history', 'nothing'). Got {start!r} instead.")
    if not isinstance(max_steps, int) or max_steps < 0:
        raise InputError(f"expected max_steps as an int >= 0. Got {max_steps!r} instead.")
    full = normalize_evidence(model.schema, case)
    known = history_only(model.schema, full) if start == "history" else {}
    recs = []
    chosen = None
    for step in range(max_steps + 1):
        a = analyse(model, known, explain_causes=[], questions=True)
        post = a.diagnosis.posteriors
        rec = {
            "step": step,
            "asked": chosen["column"] if chosen is not None else "",
            "question": chosen["question"] if chosen is not None else "",
            "answer": known[chosen["column"]] if chosen is not None else "",
            "finding": finding_phrase(chosen["column"], known[chosen["column"]])
            if chosen is not None
            else "",
            "expected_info": chosen["expected_info"] if chosen is not None else np.nan,
            "expected_top_change": chosen["expected_top_change"] if chosen is not None else np.nan,
            "top_cause": post.idxmax(),
            "p_top": float(post.max()),
            "triage": a.diagnosis.triage,
            "n_known": len(known),
        }
        rec.update({f"p_{c}": float(p) for c, p in post.items()})
        recs.append(rec)
        if step == max_steps:
            break
        answerable = a.questions[a.questions["column"].isin(list(full))]
        if answerable.empty or answerable["expected_info"].iloc[0] < min_info:
            break
        chosen = answerable.iloc[0]
        known = {**known, chosen["column"]: full[chosen["column"]]}
    return pd.DataFrame(recs)
