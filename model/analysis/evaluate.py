"""Evaluate the model on cases with a known answer (``expected_cause``, ``expected_triage``).

Examples
--------
>>> from legnumb import load_model
>>> from legnumb.io.cases import load_cases
>>> ev = evaluate(load_model(), load_cases(None))
>>> ev.summary["n"], ev.summary["emergency_recall"]
(57, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from legnumb.errors import InputError
from legnumb.network.schema import TRIAGE_LEVELS

__all__ = ["Evaluation", "evaluate"]

_REQUIRED = ("expected_cause", "expected_triage")


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of the model on a case set.

    Attributes
    ----------
    summary : dict
        ``n``, ``scored``, ``top1``, ``top3`` (fractions), ``triage_agreement``,
        ``under_triaged`` and ``over_triaged`` (counts), ``emergencies`` (cases expected at
        emergency) and ``emergency_recall`` (the share of them given emergency).
    cases : pandas.DataFrame
        One row per case: expected and predicted cause and triage, rank of the expected cause.
    per_cause : pandas.DataFrame
        Per expected cause: cases, top-1 and top-3 hits, triage agreement.
    confusion : pandas.DataFrame
        Expected cause (rows) by top cause (columns), counts.
    misses : pandas.DataFrame
        Cases whose top cause is not the expected one, or whose triage differs.
    triage_table : pandas.DataFrame
        Expected triage (rows) by given triage (columns), counts.
    """

    summary: dict
    cases: pd.DataFrame
    per_cause: pd.DataFrame
    confusion: pd.DataFrame
    misses: pd.DataFrame
    triage_table: pd.DataFrame


def evaluate(
    model, cases: pd.DataFrame, *, path: str | None = None, id_column: str = "case_id"
) -> Evaluation:
    """Score ``cases`` (raw strings, as read from CSV) and compare with the expected answers.

    Rows are numbered as ``legnumb score`` numbers them (1 = first data row). A row that
    :func:`legnumb.io.cases.load_cases` found unusable (an invalid value, more cells than the
    header) is not scored: it counts as a miss, with its error in the ``error`` column.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    cases : pandas.DataFrame
        Raw case rows with ``expected_cause`` and ``expected_triage``.
    path : str, optional
        The file name in messages (default: the file ``cases`` was read from).
    id_column : str, optional
        The column that names the cases (default ``case_id``); a case without an id is
        named ``row N``.

    Raises
    ------
    InputError
        When ``expected_cause`` or ``expected_triage`` is missing, or names an unknown cause
        or triage level.
    """
    from legnumb.io.cases import case_label, row_errors, row_number, source_name

    path = path or source_name(cases)
    cols = {c.strip().lower(): c for c in cases.columns}
    missing = [c for c in _REQUIRED if c not in cols]
    if missing:
        raise InputError(
            f"{path}: evaluation needs columns {', '.join(_REQUIRED)}. Got no {', '.join(missing)}."
        )
    expected = cases[cols["expected_cause"]].str.strip().str.lower()
    expected_triage = cases[cols["expected_triage"]].str.strip().str.lower()
    read_errors = row_errors(cases)
    problems = []
    for label, c, t in zip(cases.index, expected, expected_triage, strict=True):
        if label in read_errors:
            continue  # reported with the row's error
        i = row_number(cases, label)
        if c not in model.causes:
            problems.append(
                f"row {i}: expected_cause {c!r} is not a cause; allowed: {', '.join(model.causes)}"
            )
        if t not in TRIAGE_LEVELS:
            problems.append(f"row {i}: expected_triage {t!r}; allowed: {', '.join(TRIAGE_LEVELS)}")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))
    scored = model.score(cases)
    post = scored[[f"p_{c}" for c in model.causes]].to_numpy(dtype=float, copy=True)
    error = scored["error"].fillna("").to_numpy(dtype=object)
    for k, label in enumerate(cases.index):
        if label in read_errors:
            error[k] = read_errors[label]
    ok = error == ""
    post[~ok] = np.nan
    order = np.argsort(-np.nan_to_num(post, nan=-1.0), axis=1, kind="stable")
    # rows not scored may hold any expected value: they count as misses
    exp_idx = np.array([model.causes.index(c) if c in model.causes else -1 for c in expected])
    rank = np.argmax(order == exp_idx[:, None], axis=1) + 1
    rank = np.where(ok & (exp_idx >= 0), rank, -1)
    level = {t: i for i, t in enumerate(TRIAGE_LEVELS)}
    got_t = np.where(ok, scored["triage"].fillna("").to_numpy(dtype=object), "")
    got_rank = np.array([level.get(t, len(TRIAGE_LEVELS)) for t in got_t])
    exp_rank = np.array([level.get(t, -1) for t in expected_triage])
    p_top = np.full(len(cases), np.nan)
    p_top[ok] = post[ok].max(axis=1)
    p_expected = np.where(exp_idx >= 0, post[np.arange(len(cases)), np.maximum(exp_idx, 0)], np.nan)
    table = pd.DataFrame(
        {
            "case_id": [case_label(cases, lab, id_column=id_column) for lab in cases.index],
            "expected_cause": expected.to_numpy(),
            "top_cause": np.where(ok, scored["top_cause"].fillna("").to_numpy(dtype=object), ""),
            "p_top": p_top,
            "p_expected": p_expected,
            "rank_expected": rank,
            "expected_triage": expected_triage.to_numpy(),
            "triage": got_t,
            "error": error,
        }
    )
    table["top1"] = rank == 1
    table["top3"] = (rank >= 1) & (rank <= 3)
    table["triage_ok"] = ok & (got_rank == exp_rank)
    table["under_triaged"] = (exp_rank >= 0) & (got_rank > exp_rank)  # unscored counts
    n = len(table)
    summary = {
        "n": n,
        "scored": int(ok.sum()),
        "top1": float(table["top1"].mean()) if n else float("nan"),
        "top3": float(table["top3"].mean()) if n else float("nan"),
        "triage_agreement": float(table["triage_ok"].mean()) if n else float("nan"),
        "under_triaged": int(table["under_triaged"].sum()),
        "over_triaged": int((got_rank < exp_rank).sum()),
        "emergencies": int((expected_triage.to_numpy() == "emergency").sum()),
        "emergency_recall": _recall(expected_triage.to_numpy(), got_t, "emergency"),
    }
    per_cause = (
        table.groupby("expected_cause", sort=False)
        .agg(
            cases=("top1", "size"),
            top1=("top1", "sum"),
            top3=("top3", "sum"),
            triage_ok=("triage_ok", "sum"),
        )
        .reindex([c for c in model.causes if c in set(expected)])
    )
    known = table[exp_idx >= 0]  # rows not scored may hold any expected value
    confusion = pd.crosstab(
        pd.Categorical(known["expected_cause"], categories=list(model.causes)),
        pd.Categorical(
            known["top_cause"].replace("", "(unscored)"), categories=[*model.causes, "(unscored)"]
        ),
        rownames=["expected"],
        colnames=["top"],
        dropna=False,
    )
    misses = table[~table["top1"] | ~table["triage_ok"]].reset_index(drop=True)
    known_t = table[exp_rank >= 0]  # as for the confusion table
    triage_table = pd.crosstab(
        pd.Categorical(known_t["expected_triage"], categories=list(TRIAGE_LEVELS)),
        pd.Categorical(
            known_t["triage"].replace("", "(unscored)"), categories=[*TRIAGE_LEVELS, "(unscored)"]
        ),
        rownames=["expected"],
        colnames=["given"],
        dropna=False,
    )
    return Evaluation(summary, table, per_cause, confusion, misses, triage_table)


def _recall(expected: np.ndarray, given: np.ndarray, level: str) -> float:
    """Share of the cases expected at ``level`` that were given it (NaN when there are none)."""
    want = expected == level
    return float((given[want] == level).mean()) if want.any() else float("nan")
