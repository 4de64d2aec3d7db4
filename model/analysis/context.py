"""Shared exact queries behind the analyses.

One cached context per model, baseline and answer queries, leave-one-out queries.

Everything is exact inference with a few batched calls of
:meth:`legnumb.inference.independent.IndependentEngine.query` (the model's engine; findings
can be targets too).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import numpy as np
import pandas as pd

from legnumb.analysis.phrases import finding_phrase
from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.diagnosis.model import Model
from legnumb.errors import InputError
from legnumb.inference.independent import IndependentEngine

#: Baselines a sentence can start from: no findings at all, or the history columns alone.
BASELINES: tuple[str, ...] = ("prior", "history")
_BASELINE_WORDS = {"prior": "the prior, no findings", "history": "history alone"}
#: |WoE| (natural log) below which a finding is not named in the sentence (odds moved < 5%).


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
    """Log P(present) - log P(absent) from two-state marginals ``(..., 2)``."""
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
#: With the junction-tree :class:`~legnumb.inference.engine.Engine`: up to this many possible
#: answers, each answer gets its own row ("answer rows", cheap cause-only targets); above it,
#: one row per cause clamped present ("cause rows", one per cause with the open columns as
#: targets). The model's :class:`~legnumb.inference.independent.IndependentEngine` pays one
#: more pass per state for a finding target, so answer rows are always cheaper there (5-10x on
#: the shipped model). Both are exact; this only picks the cheaper batch.
ANSWER_ROWS_MAX = 16


def _base_and_answers(
    ctx: _Context, model: Model, row: np.ndarray, *, method: str = "auto"
) -> dict:
    """One batched query: posteriors of ``row``, and the answers to every open question.

    For every unobserved column: the answer probabilities and the cause posteriors after
    each answer.

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
        many = len(a_col) > ANSWER_ROWS_MAX and not isinstance(model.engine, IndependentEngine)
        method = "causes" if many else "answers"
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
        "p_other_cause": _p_other_cause(res),
        "unobs": unobs,
        "a_col": a_col,
        "a_state": a_state,
        "p_answer": p_ans,
        "post_after": np.clip(after, 0.0, 1.0).reshape(len(a_col), ncause),
        "method": method,
    }


def _p_other_cause(res) -> float:
    """P(no listed cause | the first row) of a query result (NaN without ``log_none``)."""
    log_none = getattr(res, "log_none", None)
    if log_none is None:
        return float("nan")
    with np.errstate(invalid="ignore"):
        return float(np.exp(log_none[0] - res.log_evidence[0]))


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
