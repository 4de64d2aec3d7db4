r"""What-if analysis: why each cause moved, which question to ask next, and data conflict.

Everything here is exact inference in the network, done with a few batched calls of
:meth:`legnumb.inference.engine.Engine.query`; nothing is sampled. Drawing lives in :mod:`legnumb.plots.explain`, the interactive app in
:mod:`legnumb.app.widgets`.

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

Examples
--------
>>> from legnumb import load_model
>>> m = load_model()
>>> ev = {"laterality": "one_leg", "shooting_pain": "yes", "position_trigger": "sitting"}
>>> table = explain(m, ev, causes=["sciatica"])
>>> table["finding"].tolist(), bool((table["woe"] > 0).all())
(['shooting pain', 'worse when sitting', 'one leg'], True)
>>> print(describe(table))  # doctest: +ELLIPSIS
Shooting pain, worse when sitting and one leg raise sciatica from ...% (the prior, ...) to ...%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from legnumb.analysis.context import (
    _BASELINE_WORDS,
    _check_baseline,
    _codes,
    _context,
    _explain_codes,
)
from legnumb.analysis.phrases import _NAME_EPS, _join, cause_phrase, format_pct
from legnumb.diagnosis.model import Model
from legnumb.errors import InputError


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
    >>> from legnumb.diagnosis.model import load_model
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
    >>> from legnumb.diagnosis.model import load_model
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
