"""Drawing for :mod:`legnumb.analysis.sensitivity`: tornado, functions, robustness, decisive.

Drawing only: every function takes a result computed by :mod:`legnumb.analysis.sensitivity` (or the
model), draws on ``ax`` (a new figure when omitted) and returns the figure. Numbers are
labelled as a reviewer reads them (``P(shooting_pain | sciatica)``), axes are in
probability, and titles name the case and the target cause.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from legnumb.diagnosis.model import load_model
>>> from legnumb.analysis.sensitivity import one_way
>>> m = load_model()
>>> ow = one_way(m, {"onset": "sudden", "face_arm_or_speech": "yes"}, case_id="demo")
>>> fig = plot_tornado(ow, n=5)
>>> fig.axes[0].get_title(loc="right").startswith("Case demo")
True
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from legnumb.errors import UnknownNameError
from legnumb.plots.style import axes, plain

__all__ = [
    "plot_decisive",
    "plot_robustness",
    "plot_sensitivity_function",
    "plot_sensitivity_functions",
    "plot_tornado",
]

_LOW = "#4C72B0"  # the number at the low end of its range
_HIGH = "#DD8452"  # ... at the high end
_EXPERT = "#8B1A1A"  # tick labels of numbers resting on expert judgement alone
_CHANGE = "#C44E52"


def _nice(name: str) -> str:
    return name.replace("_", " ")


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _prob_label(p: float) -> str:
    """A probability as a reviewer reads it on a logit axis: 0.001, 0.5, 0.999, 1e-05."""
    if 1e-4 <= p <= 1 - 1e-4:
        return f"{p:.4f}".rstrip("0").rstrip(".")
    return f"{p:.0e}".replace("e-0", "e-") if p < 0.5 else f"1 − {1 - p:.0e}".replace("e-0", "e-")


def _logit_axis(ax, lo: float, hi: float, *, axis: str = "x") -> None:
    """Logit-scaled probability axis on [lo, hi] with plain probability tick labels."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ticks = [10.0**-k for k in range(8, 0, -1)] + [0.5] + [1 - 10.0**-k for k in range(1, 9)]
    ticks = [t for t in ticks if lo <= t <= hi]
    getattr(ax, f"set_{axis}scale")("logit")
    getattr(ax, f"set_{axis}lim")(lo, hi)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_minor_locator(NullLocator())
    getattr(ax, f"set_{axis}ticks")(ticks, [_prob_label(t) for t in ticks])


# --------------------------------------------------------------------------- tornado
def plot_tornado(result, *, n: int = 20, ax=None):
    """Tornado: the target posterior with each number at the low and high end of its range.

    Bars start at the base posterior (vertical line) and reach the posterior with the number
    at the low end (blue) or the high end (orange) of its stated range, for the ``n`` numbers
    with the largest swing. Tick labels read ``P(a | b) = base [low–high]``; numbers resting
    on expert judgement alone are drawn in dark red and flagged ``(EJ)``; a ``◆`` marks a
    number whose range contains a change of the top cause.

    Parameters
    ----------
    result : model.sensitivity.OneWay
        The one-way analysis of a case.
    n : int, optional
        How many numbers to show (default 20).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.figure.Figure
    """
    top = result.top(n).iloc[::-1]
    fig, ax = axes(ax, (11, 0.38 * len(top) + 2.2))
    y = np.arange(len(top))
    base = float(result.posterior[result.target])
    for yy, (_, r) in zip(y, top.iterrows(), strict=True):
        for p, color in ((r.p_low, _LOW), (r.p_high, _HIGH)):
            ax.barh(yy, p - base, left=base, color=color, height=0.7)
    ax.axvline(base, color="black", lw=1)
    labels = []
    for _, r in top.iterrows():
        flag = " (EJ)" if r.expert_only else ""
        mark = "◆ " if r.decisive else ""
        labels.append(
            f"{mark}{plain(r.label)} = {_fmt(r.base)} [{_fmt(r.low)}–{_fmt(r.high)}]{flag}"
        )
    ax.set_yticks(y, labels, fontsize=8.5)
    for tick, (_, r) in zip(ax.get_yticklabels(), top.iterrows(), strict=True):
        if r.expert_only:
            tick.set_color(_EXPERT)
    lo = min(base, float(top[["p_low", "p_high"]].min().min()))
    hi = max(base, float(top[["p_low", "p_high"]].max().max()))
    pad = max(0.1 * (hi - lo), 1e-4)
    ax.set_xlim(max(0.0, lo - pad), min(1.0, hi + pad))
    ax.set_ylim(-0.7, len(top) - 0.3)
    ax.set_xlabel(f"P({plain(result.target)} | case evidence)", fontsize=9)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=_LOW, label="number at the low end of its range"),
            Patch(color=_HIGH, label="number at the high end of its range"),
            Line2D([], [], color="black", lw=1, label=f"base value {base:.4g}"),
            Line2D(
                [],
                [],
                ls="",
                marker="D",
                markersize=5,
                color="black",
                label="top cause changes within the range",
            ),
            Patch(color=_EXPERT, label="(EJ) expert judgement only"),
        ],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    ax.set_title(
        f"Case {plain(result.case_id)}: the {len(top)} numbers P({plain(result.target)}) rests "
        f"on most (top cause: {plain(result.top_cause)})",
        fontsize=10,
        loc="right",
        pad=34,
    )
    ax.grid(axis="x", alpha=0.3)
    return fig


# --------------------------------------------------------------------------- functions
def plot_sensitivity_function(result, param_id: str, *, ax=None, title: str | None = None):
    """One sensitivity function: the target posterior as a function of one number.

    The curve is the exact function (:meth:`OneWay.function
    <legnumb.analysis.sensitivity.OneWay.function>`), drawn on a logit-scaled x axis over
    (0, 1) for a probability, so small and large probabilities are both readable, and on a
    log-scaled x axis for an odds ratio; the shaded band is the number's stated range, the dot
    its base value, and red dashed lines the admissible deviation: where the top cause
    would change (with the cause that takes over). When the target is not the top cause,
    the top cause's function is drawn dashed for comparison.

    Parameters
    ----------
    result : model.sensitivity.OneWay
        The one-way analysis of a case.
    param_id : str
        The number.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    title : str, optional
        Axes title (default: the number's label).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = axes(ax, (6, 4))
    row = result.table.loc[result.table["param_id"] == param_id]
    if row.empty:
        raise UnknownNameError(f"unknown param_id {param_id!r}")
    r = row.iloc[0]
    ratio = r.kind == "odds_ratio"
    if ratio:  # an odds ratio lives on (0, inf): a log axis around its range
        lo_x = min([r.low / 3, *(v / 2 for v in (r.x_down,) if np.isfinite(v))])
        hi_x = max([r.high * 3, *(v * 2 for v in (r.x_up,) if np.isfinite(v))])
        xs = np.geomspace(lo_x, hi_x, 400)
    else:
        lo_x = min(1e-3, r.low / 3, *(v / 2 for v in (r.x_down,) if np.isfinite(v)))
        hi_x = 1 - min(1e-3, (1 - r.high) / 3, *((1 - v) / 2 for v in (r.x_up,) if np.isfinite(v)))
        t = np.linspace(np.log(lo_x / (1 - lo_x)), np.log(hi_x / (1 - hi_x)), 400)
        xs = 1 / (1 + np.exp(-t))
    f = result.function(param_id)
    ax.axvspan(r.low, r.high, color="0.85", label="stated range")
    ax.plot(xs, f(xs), color="black", lw=1.8, label=f"P({plain(result.target)})")
    others = [result.top_cause] + [c for c in (r.top_down, r.top_up) if c]
    styles = iter(("--", ":", "-."))
    for cause in dict.fromkeys(c for c in others if c != result.target):
        g = result.function(param_id, cause=cause)
        tag = " (top)" if cause == result.top_cause else ""
        ax.plot(xs, g(xs), color="0.45", lw=1.1, ls=next(styles), label=f"P({plain(cause)}){tag}")
    ax.plot([r.base], [r.p_base], "o", color="black", ms=5, zorder=5)
    for x, to, side in ((r.x_down, r.top_down, "right"), (r.x_up, r.top_up, "left")):
        if np.isfinite(x):
            ax.axvline(x, color=_CHANGE, ls="--", lw=1.2)
            ax.text(
                x,
                0.97,
                f" top → {plain(_nice(to))} ",
                color=_CHANGE,
                rotation=90,
                va="top",
                ha=side,
                fontsize=7.5,
                transform=ax.get_xaxis_transform(),
            )
    if ratio:
        ax.set_xscale("log")
        ax.set_xlim(lo_x, hi_x)
        ax.set_xlabel("value of the odds ratio (log scale)", fontsize=8)
    else:
        _logit_axis(ax, lo_x, hi_x)
        ax.set_xlabel("value of the number (logit scale)", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("P(cause | evidence)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title or "\n".join(textwrap.wrap(plain(r.label), 42)), fontsize=8.5)
    ax.grid(alpha=0.3)
    return fig


def plot_sensitivity_functions(
    result, *, n: int = 6, param_ids: Sequence[str] | None = None, axes=None
):
    """Sensitivity functions of the ``n`` most influential numbers, one panel each.

    Parameters
    ----------
    result : model.sensitivity.OneWay
        The one-way analysis of a case.
    n : int, optional
        How many numbers (default 6), by swing; ignored when ``param_ids`` is given.
    param_ids : sequence of str, optional
        The numbers to draw.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per number; a new figure with a grid of panels when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    pids = list(param_ids) if param_ids is not None else list(result.top(n)["param_id"])
    if axes is None:
        ncol = min(3, max(1, len(pids)))
        nrow = -(-len(pids) // ncol)
        fig, grid = plt.subplots(
            nrow,
            ncol,
            figsize=(4.6 * ncol, 3.6 * nrow + 0.8),
            layout="constrained",
            squeeze=False,
        )
        axes = list(grid.ravel())
        for ax in axes[len(pids) :]:
            ax.set_visible(False)
    else:
        axes = list(np.ravel(axes))
        fig = axes[0].figure
    for pid, ax in zip(pids, axes, strict=False):
        plot_sensitivity_function(result, pid, ax=ax)
        ax.legend(fontsize=6.5, loc="best")
    fig.suptitle(
        f"Case {plain(result.case_id)}: sensitivity functions of P({plain(result.target)} | "
        f"evidence) (top cause: {plain(result.top_cause)})\ngrey band: stated range · dot: base value · "
        "red dashed: where the top cause changes (admissible deviation)",
        fontsize=10,
    )
    return fig


# --------------------------------------------------------------------------- robustness
def plot_robustness(rob, *, ax=None, max_causes: int = 15, scale: str = "logit"):
    """Each cause's posterior over the joint draws, with the base value marked.

    Boxes span the 5–95% range of the draws (whiskers) and the quartiles; the red diamond is
    the posterior with the base numbers. The right margin gives how often each cause is the
    top cause.

    Parameters
    ----------
    rob : model.sensitivity.Robustness
        The robustness analysis of a case.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    max_causes : int, optional
        How many causes to draw, by base posterior (default 15).
    scale : {"logit", "linear"}, optional
        Scale of the probability axis; ``"logit"`` (default) separates 0.001 from 0.01 and
        0.99 from 0.999.

    Returns
    -------
    matplotlib.figure.Figure
    """
    summ = rob.summary.head(max_causes)
    fig, ax = axes(ax, (10, 0.42 * len(summ) + 2.0))
    wide = rob.draws.pivot(index="draw", columns="cause", values="posterior")
    data = [wide[c].to_numpy() for c in summ["cause"]][::-1]
    eps = 1e-7
    if scale == "logit":
        data = [np.clip(d, eps, 1 - eps) for d in data]
    y = np.arange(len(data))
    ax.boxplot(
        data,
        positions=y,
        orientation="horizontal",
        whis=(5, 95),
        widths=0.6,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "#B8CCE4", "edgecolor": "0.3"},
        medianprops={"color": "0.2"},
    )
    base = np.clip(summ["base"].to_numpy()[::-1], eps, 1 - eps)
    ax.plot(base, y, "D", color=_CHANGE, ms=5, label="base numbers", zorder=5)
    ax.set_yticks(y, [plain(_nice(c)) for c in summ["cause"]][::-1], fontsize=9)
    for tick, c in zip(ax.get_yticklabels(), summ["cause"].iloc[::-1], strict=True):
        if c == rob.top_cause:
            tick.set_fontweight("bold")
    if scale == "logit":
        lo = min(float(np.min([d.min() for d in data])), float(base.min())) / 2
        hi = 1 - (1 - max(float(np.max([d.max() for d in data])), float(base.max()))) / 2
        _logit_axis(ax, max(lo, eps / 2), min(hi, 1 - eps / 2))
    else:
        ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.set_xlabel(
        "P(cause | case evidence)" + ("  (logit scale)" if scale == "logit" else ""), fontsize=9
    )
    trans = ax.get_yaxis_transform()
    shares = summ["top_share"].to_numpy()[::-1]
    ax.text(1.01, len(data) - 0.3, "top cause\nin draws", transform=trans, fontsize=8, va="bottom")
    for yy, share in zip(y, shares, strict=True):
        if share > 0:
            ax.text(1.01, yy, f"{share:.1%}", transform=trans, fontsize=8, va="center")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        f"Case {plain(rob.case_id)}: {plain(_nice(rob.top_cause))} stays the top cause in "
        f"{rob.stability:.1%} of {rob.n_draws:,} draws\n(all numbers drawn jointly within "
        f"their stated ranges, seed {rob.seed}; boxes: quartiles, whiskers: 5–95%)",
        fontsize=10,
    )
    return fig


# --------------------------------------------------------------------------- across cases
def plot_decisive(table, *, n: int = 15, ax=None):
    """The numbers most often decisive across cases (from :func:`decisive_numbers`).

    Dark bars count the cases where moving the number within its range changes the top
    cause; light bars the cases where it is among the largest swings.

    Returns
    -------
    matplotlib.figure.Figure
    """
    top = table.head(n).iloc[::-1]
    fig, ax = axes(ax, (10, 0.38 * max(1, len(top)) + 1.8))
    y = np.arange(len(top))
    ax.barh(y, top["in_top"], color="#B8CCE4", height=0.7, label="among the 10 largest swings")
    ax.barh(y, top["decisive"], color="#2F4B7C", height=0.4, label="top cause changes in range")
    labels = [
        f"{plain(r.label)}{' (EJ)' if r.expert_only else ''}" for r in top.itertuples(index=False)
    ]
    ax.set_yticks(y, labels, fontsize=8.5)
    for tick, r in zip(ax.get_yticklabels(), top.itertuples(index=False), strict=True):
        if r.expert_only:
            tick.set_color(_EXPERT)
    n_cases = int(table["cases"].max()) if len(table) else 0
    ax.set_xlim(0, max(1, n_cases))
    ax.set_xlabel(f"cases (of {n_cases})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Numbers the conclusions rest on most often, across cases", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig
