"""Figures for the what-if analysis: posteriors, evidence weights, questions, the network.

Every function draws on ``ax`` when given (a new figure otherwise) and returns the
:class:`matplotlib.figure.Figure`, as arviz-plots does; nothing here computes probabilities
(see :mod:`legnumb.analysis`).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from legnumb.diagnosis.model import load_model
>>> m = load_model()
>>> fig = plot_posteriors(m.diagnose({"laterality": "one_leg"}), title="one leg")
>>> fig.axes[0].get_title()
'one leg'
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from legnumb.analysis import (
    Comparison,
    cause_phrase,
    format_pct,
)
from legnumb.errors import InvalidArgumentError, InvalidTypeError
from legnumb.network.schema import load_schema
from legnumb.plots.style import TRIAGE_COLORS, axes, plain

__all__ = [
    "plot_comparison",
    "plot_evidence_weights",
    "plot_intake",
    "plot_next_questions",
    "plot_posteriors",
]

_RAISE, _LOWER = "#2e86c1", "#e67e22"


def _posterior_series(posteriors) -> pd.Series:
    if hasattr(posteriors, "posteriors"):  # a Diagnosis
        posteriors = posteriors.posteriors
    if not isinstance(posteriors, pd.Series):
        kind = type(posteriors).__name__
        raise InvalidTypeError(
            f"expected a pandas Series of posteriors or a Diagnosis. Got {kind} instead."
        )
    return posteriors


def plot_posteriors(
    posteriors,
    *,
    ax=None,
    baseline: pd.Series | None = None,
    baseline_label: str = "baseline",
    title: str | None = None,
    top: int | None = None,
) -> Figure:
    """Horizontal bars of P(cause | findings), most likely on top, coloured by triage class.

    Parameters
    ----------
    posteriors : pandas.Series or Diagnosis
        P(cause present), indexed by cause.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.
    baseline : pandas.Series, optional
        Posteriors to compare with, drawn as black ticks.
    baseline_label : str
        Legend entry of the baseline ticks.
    title : str, optional
        Axes title (name the case here).
    top : int, optional
        Show only the ``top`` most likely causes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    post = _posterior_series(posteriors).sort_values(ascending=False, kind="stable")
    if top is not None:
        post = post.head(top)
    post = post.iloc[::-1]
    fig, ax = axes(ax, (7.5, 0.32 * len(post) + 1.4))
    schema = load_schema()
    colors = [
        TRIAGE_COLORS.get(schema.causes[c].triage_if_likely, "grey")
        if c in schema.causes
        else "grey"
        for c in post.index
    ]
    y = np.arange(len(post))
    ax.barh(y, post.to_numpy(), color=colors, height=0.7)
    b = None if baseline is None else baseline.reindex(post.index).to_numpy(dtype=float)
    for k, (yi, p) in enumerate(zip(y, post.to_numpy(), strict=True)):
        right = p if b is None or not np.isfinite(b[k]) else max(p, b[k])
        ax.text(min(right, 1.0) + 0.012, yi, format_pct(p), va="center", fontsize=8)
    if b is not None:
        ax.scatter(
            b,
            y,
            marker="|",
            s=180,
            color="black",
            linewidths=2,
            label=plain(baseline_label),
            zorder=3,
        )
    ax.set_yticks(y, [cause_phrase(c) for c in post.index], fontsize=9)
    ax.set_xlim(0, 1.12)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("P(cause present | findings)")
    ax.spines[["top", "right"]].set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in TRIAGE_COLORS.values()]
    leg = ax.legend(
        handles,
        [k.replace("_", " ") for k in TRIAGE_COLORS],
        title="triage if likely",
        loc="center right",
        fontsize=7,
        title_fontsize=7,
        frameon=True,
    )
    if baseline is not None:
        ax.add_artist(leg)
        ax.legend(loc="lower right", fontsize=8, frameon=True)
    ax.set_title(title if title is not None else "Posterior probability of each cause", fontsize=11)
    return fig


def plot_evidence_weights(
    explanation: pd.DataFrame,
    *,
    cause: str | None = None,
    ax=None,
    title: str | None = None,
    top: int = 12,
) -> Figure:
    """Signed bars of each finding's weight of evidence for one cause.

    Parameters
    ----------
    explanation : pandas.DataFrame
        A table from :func:`legnumb.analysis.explain`.
    cause : str, optional
        The cause to show; the first in the table by default.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    title : str, optional
        Axes title; by default the cause with its baseline and final probability.
    top : int
        Show the ``top`` findings with the largest ``|woe|``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from legnumb.diagnosis.model import load_model
    >>> from legnumb.analysis import explain
    >>> t = explain(load_model(), {"laterality": "one_leg", "back_pain": "no"}, causes=["sciatica"])
    >>> fig = plot_evidence_weights(t)  # largest |weight| on top
    >>> [tick.get_text() for tick in fig.axes[0].get_yticklabels()][::-1]
    ['no back pain', 'one leg']
    """
    if explanation.empty:
        raise InvalidArgumentError(
            "expected an explanation with at least one finding. Got an empty table instead."
        )
    cause = cause or explanation["cause"].iloc[0]
    rows = explanation[explanation["cause"] == cause]
    if rows.empty:
        raise InvalidArgumentError(
            f"expected rows for cause {cause!r} in the explanation. Got none instead."
        )
    rows = rows.reindex(rows["woe"].abs().sort_values(ascending=False, kind="stable").index)
    rows = rows.head(top).iloc[::-1]
    fig, ax = axes(ax, (7.5, 0.34 * len(rows) + 1.5))
    w = rows["woe"].to_numpy(dtype=float)
    y = np.arange(len(rows))
    ax.barh(y, w, color=np.where(w >= 0, _RAISE, _LOWER), height=0.7)
    span = max(np.abs(w).max(), 0.5)
    for yi, wi in zip(y, w, strict=True):
        ax.text(
            wi + (0.02 if wi >= 0 else -0.02) * span,
            yi,
            "0.00" if abs(wi) < 0.005 else f"{wi:+.2f}",
            va="center",
            ha="left" if wi >= 0 else "right",
            fontsize=8,
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min(w.min(), -0.15 * span) - 0.2 * span, max(w.max(), 0.15 * span) + 0.2 * span)
    ax.set_yticks(y, rows["finding"].tolist(), fontsize=9)
    ax.set_xlabel(
        f"weight of evidence for {cause_phrase(cause)}\n"
        "ln P(finding | present, rest) - ln P(finding | absent, rest)",
        fontsize=9,
    )
    ax.spines[["top", "right"]].set_visible(False)
    if title is None:
        first = rows.iloc[-1]
        title = (
            f"Why {cause_phrase(cause)}: {format_pct(first['p_baseline'])} "
            f"({first['baseline']}) \u2192 {format_pct(first['p_with'])}"
        )
    ax.set_title(title, fontsize=11)
    return fig


def plot_next_questions(
    questions: pd.DataFrame, *, ax=None, top: int = 8, title: str | None = None
) -> Figure:
    """Bars of the expected information of the best questions, with the top-cause change.

    Parameters
    ----------
    questions : pandas.DataFrame
        A table from :func:`legnumb.analysis.next_questions`.
    top : int
        Questions to show.
    """
    if questions.empty:
        raise InvalidArgumentError(
            "expected at least one open question. Got an empty table instead."
        )
    q = questions.head(top).iloc[::-1]
    fig, ax = axes(ax, (7.5, 0.38 * len(q) + 1.5))
    y = np.arange(len(q))
    info = q["expected_info"].to_numpy(dtype=float)
    ax.barh(y, info, color="#7d3c98", height=0.7)
    span = max(info.max(), 1e-3)
    for yi, i, d in zip(y, info, q["expected_top_change"].to_numpy(dtype=float), strict=True):
        ax.text(
            i + 0.02 * span, yi, f"{i:.2f} bits, \u00b1{100 * d:.0f} pts", va="center", fontsize=8
        )
    labels = [textwrap.shorten(t, 56, placeholder="...") for t in q["question"]]
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlim(0, 1.5 * span)
    top_cause = cause_phrase(str(q["top_cause"].iloc[0]))
    now = format_pct(float(q["p_top"].iloc[0]))
    ax.set_xlabel(
        "expected information about the causes (bits)\n"
        f"\u00b1 pts: expected change of P({top_cause}), now {now}",
        fontsize=9,
    )
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title if title is not None else "Which question to ask next", fontsize=11)
    return fig


def plot_comparison(
    comparison: Comparison, *, ax=None, top: int = 8, title: str | None = None
) -> Figure:
    """Grouped bars of the posteriors of two or more scenarios (most likely causes only)."""
    post = comparison.posteriors.head(top).iloc[::-1]
    n = len(comparison.names)
    fig, ax = axes(ax, (7.5, (0.22 * n + 0.15) * len(post) + 1.6))
    y = np.arange(len(post))
    h = 0.8 / n
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(comparison.names):
        vals = post[name].to_numpy(dtype=float)
        pos = y - 0.4 + h * (n - k - 0.5)
        ax.barh(
            pos,
            vals,
            height=h,
            color=cmap(k),
            label=f"{plain(name)} (triage: {comparison.triage[name].replace('_', ' ')})",
        )
        for p, v in zip(pos, vals, strict=True):
            ax.text(v + 0.01, p, format_pct(v), va="center", fontsize=7)
    ax.set_yticks(y, [cause_phrase(c) for c in post.index], fontsize=9)
    ax.set_xlim(0, 1.15)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("P(cause present | findings)")
    ax.legend(loc="lower right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title if title is not None else "Scenarios side by side", fontsize=11)
    return fig


def plot_intake(
    steps: pd.DataFrame,
    *,
    ax=None,
    causes: Sequence[str] | None = None,
    top: int = 4,
    title: str | None = None,
) -> Figure:
    """How the leading causes move as each suggested question is answered.

    Parameters
    ----------
    steps : pandas.DataFrame
        A table from :func:`legnumb.analysis.guided_intake`.
    causes : sequence of str, optional
        Causes to draw; by default the ``top`` most likely at the last step.
    """
    pcols = [c for c in steps.columns if c.startswith("p_") and c != "p_top"]
    last = steps.iloc[-1][pcols].astype(float).sort_values(ascending=False)
    names = list(causes) if causes is not None else [c[2:] for c in last.index[:top]]
    fig, ax = axes(ax, (max(8.0, 1.25 * len(steps) + 1.0), 4.2))  # room for each step label
    x = steps["step"].to_numpy()
    for k, c in enumerate(names):
        ax.plot(
            x,
            steps[f"p_{c}"].to_numpy(dtype=float),
            marker="o",
            color=plt.get_cmap("tab10")(k),
            label=cause_phrase(c),
        )
    labels = ["start"] + [f"+ {f}" for f in steps["finding"].iloc[1:]]
    ax.set_xticks(x, [textwrap.fill(t, 16) for t in labels], fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_ylabel("P(cause present)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(
        title if title is not None else "Guided intake: one suggested question at a time",
        fontsize=11,
    )
    return fig
