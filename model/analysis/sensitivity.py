"""Sensitivity of one case's ranking to the hand-set numbers: one-way, functions, robustness.

A reviewer signing off on the priors needs to see, for a given case, which numbers the
conclusion rests on, how far each number can move before the top cause changes, and how
robust the ranking stays when all numbers move together within their stated ranges. This
module computes those answers as tidy pandas tables; :mod:`legnumb.plots.sensitivity` draws
them.

One-way sensitivity (:func:`one_way`)
    Every number of ``priors/`` is moved, alone, to the low and the high end of its own
    documented range (siblings of a distribution scaled proportionally, as
    :meth:`~legnumb.network.priors.PriorSet.with_value` does) and the case is rescored.
    Numbers whose node cannot influence the case (outside the ancestral set of the evidence
    and the causes, e.g. the links of an unobserved finding) are not rescored: their
    posterior is exactly unchanged.

What is linear, and so exact from a few evaluations
    ``P(c, e)`` (for every cause ``c``) and ``P(e)`` are *linear in the table of a history
    node or a cause* (the table is one factor of the joint distribution), and *linear in
    each row* of a finding's stack of leak and links (the noisy-MAX product of Díez & Galán 2003
    holds each row once), though not in the stack as a whole. Only the cells the evidence selects matter:
    the cells of a table that agree with the observed states, and of a finding's row only
    the cumulative probabilities at and below the observed state (two numbers at most).
    So, per table or row, the engine rescores a basis of variants (chosen among the real
    variants for history tables and finding rows, one per evidence-compatible parent
    configuration for a cause), and every other variant, at any value, is an exact linear
    combination of them. ``exhaustive=True`` rescores every variant instead (tests check
    both agree).

Sensitivity functions: which are exact and how
    * **Probabilities** (kinds ``prior``, ``leak``, ``link``): every entry of the array is
      linear in the number ``x`` under proportional co-variation, so the posterior is a
      ratio of two linear functions (Coupé & van der Gaag 2002),
      ``P(c | e)(x) = (a x + b) / (g x + d)``, fitted exactly through the three evaluations
      (low, base, high); the largest misfit there is kept as ``fit_error`` (rounding only).
    * **Baselines and odds ratios** (kinds ``baseline``, ``odds_ratio``) enter through the
      logistic, and a baseline moves every cell of its cause's table, an odds ratio every
      cell with its parent state. ``P(present | h)`` of each cell is linear-fractional in
      the cell probability, so the function is exact in the *cells*:
      ``P(c | e)(x) = (n_c + Σ_h N_ch Δp_h(x)) / (1 + Σ_h G_h Δp_h(x))`` with
      ``Δp_h(x) = expit(logit p_h + shift(x)) − p_h`` over the evidence-compatible cells
      ``h`` the number moves (``shift`` is ``logit x − logit x0`` for a baseline,
      ``log x − log x0`` for an odds ratio). :meth:`OneWay.function` evaluates this exact
      form at any ``x``. When the number moves at most one compatible cell (every parent
      of the cause observed), it is linear-fractional in ``x`` as well and ``a``, ``b``,
      ``g``, ``d`` are given exactly (column ``linear_fractional``); otherwise they are
      NaN (the function is not linear-fractional).

Admissible deviation (van der Gaag & Renooij 2001)
    All causes share the denominator ``P(e)(x)``, so the top cause stays on top exactly as
    long as its numerator stays above every other cause's numerator. For probabilities the
    numerators are linear and the crossing points closed-form (:func:`admissible_interval`),
    searched in (0, 1). For baselines and odds ratios the exact function above is evaluated
    on a grid of the logit (baselines) or log (odds ratios) of the number, out to where
    every moved cell is saturated (``|logit| ≥ 40``), and each first sign change is refined
    by a root search (Brent, to 1e-12 on that scale). A grid step is at most 0.1 on that
    scale, so a pair of crossings closer than that (the top cause lost and regained in
    between) could be missed; nothing else is approximate. ``x_down`` and ``x_up`` are the
    values where the top cause would change (NaN when it does not on that side).

Global robustness (:func:`robustness`)
    All numbers are drawn jointly within their ranges (scheme:
    :meth:`legnumb.network.parameters.ParameterSpace.draw`: probabilities logit-uniform,
    odds ratios log-uniform), 1,000 draws by default, seeded; the case is rescored for each
    draw in chunks, and the share of draws in which the top cause stays the same is reported.

Examples
--------
>>> from legnumb.diagnosis.model import load_model
>>> from legnumb.analysis.sensitivity import one_way, robustness
>>> m = load_model()
>>> case = {"laterality": "one_leg", "onset": "sudden", "face_arm_or_speech": "yes"}
>>> ow = one_way(m, case, case_id="demo")
>>> ow.target, len(ow.table) == len(m.priors.numbers)
('stroke', True)
>>> bool(ow.table["swing"].is_monotonic_decreasing)  # largest swing first
True
>>> rob = robustness(m, case, n_draws=50, seed=1)
>>> 0.0 <= rob.stability <= 1.0
True

References
----------
Coupé, V. M. H. & van der Gaag, L. C. (2002). Properties of sensitivity analysis of Bayesian
belief networks. *Annals of Mathematics and Artificial Intelligence* 36, 323-356.
https://doi.org/10.1023/A:1016398407857

van der Gaag, L. C. & Renooij, S. (2001). Analysing sensitivity data from probabilistic
networks. *Proceedings of UAI 2001*, 530-537. https://doi.org/10.48550/arXiv.1301.2286

Chan, H. & Darwiche, A. (2002). When do numbers really matter? *Journal of Artificial
Intelligence Research* 17, 265-287. https://doi.org/10.1613/jair.967
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from legnumb.errors import InputError, UnknownNameError
from legnumb.io.cases import case_evidence
from legnumb.network.parameters import ParameterSpace
from legnumb.network.priors import MIN_PROBABILITY
from legnumb.network.schema import closest

__all__ = [
    "OneWay",
    "Robustness",
    "SensitivityFunction",
    "admissible_interval",
    "check_target",
    "decisive_numbers",
    "fit_linear",
    "one_way",
    "parameter_space",
    "relevant_nodes",
    "robustness",
]

#: Largest batch of variant CPT entries sent to the engine in one call (float64 entries).
_MAX_CHUNK_ENTRIES = 2_000_000
#: Kinds of numbers that enter through the logistic (a cause's table).
_LOGISTIC = frozenset({"baseline", "odds_ratio"})
#: Logit beyond which a cell counts as saturated (expit(40) is 1 in float64).
_SATURATED = 40.0
#: Largest grid step on the logit / log scale of a baseline / odds ratio.
_GRID_STEP = 0.1


# --------------------------------------------------------------------------- small helpers
def check_target(model, target: str | None) -> str | None:
    """``target`` as a cause name, or raise :class:`InputError` suggesting the closest cause."""
    if target is None:
        return None
    name = str(target).strip().lower()
    if name in model.causes:
        return name
    hint = closest(name, model.causes)
    raise InputError(
        f"unknown target cause {target!r}"
        + (f"; did you mean {hint!r}?" if hint else "")
        + f" Causes: {', '.join(model.causes)}."
    )


def relevant_nodes(model, evidence: Mapping[str, str]) -> frozenset[str]:
    """Nodes whose CPT can change any cause posterior given ``evidence``.

    These are the ancestors (including themselves) of the observed nodes and of the causes;
    every other node is barren and sums out (Shachter 1986), so its numbers cannot matter.

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> nodes = relevant_nodes(load_model(), {"onset": "sudden"})
    >>> "onset" in nodes, "weakness" in nodes, "age_group" in nodes
    (True, False, True)
    """
    parents = parameter_space(model).parents
    todo = list(model.causes) + list(evidence)
    seen: set[str] = set()
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo.extend(parents[v])
    return frozenset(seen)


_SPACES: dict[int, tuple[object, ParameterSpace]] = {}


def parameter_space(model) -> ParameterSpace:
    """The :class:`~legnumb.network.parameters.ParameterSpace` of the model's priors (cached)."""
    key = id(model.priors)
    hit = _SPACES.get(key)
    if hit is None or hit[0] is not model.priors:
        hit = (model.priors, ParameterSpace.from_priors(model.priors))
        _SPACES[key] = hit
    return hit[1]


def fit_linear(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line through points along the last axis: ``y ~ slope * x + intercept``.

    ``x`` has shape ``(..., n)`` and broadcasts against ``y``; where all ``x`` are equal
    the slope is 0 and the intercept is the mean of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> slope, intercept = fit_linear(np.array([0.1, 0.2, 0.5]), np.array([1.2, 1.4, 2.0]))
    >>> round(float(slope), 12), round(float(intercept), 12)
    (2.0, 1.0)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xm = x.mean(axis=-1, keepdims=True)
    ym = y.mean(axis=-1, keepdims=True)
    dx = x - xm
    sxx = (dx * dx).sum(axis=-1)
    sxy = (dx * (y - ym)).sum(axis=-1)
    slope = np.divide(sxy, sxx, out=np.zeros(np.broadcast(sxy, sxx).shape), where=sxx > 0)
    intercept = ym[..., 0] - slope * xm[..., 0]
    return slope, intercept


def admissible_interval(
    x0: np.ndarray,
    slope: np.ndarray,
    intercept: np.ndarray,
    top: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where the top cause changes when one number moves, from linear numerators.

    Exact for numbers whose sensitivity function is linear-fractional (probabilities; see
    the module docstring); baselines and odds ratios in general are not, and
    :func:`one_way` finds their crossings on the exact function instead.

    Parameters
    ----------
    x0 : numpy.ndarray
        ``(P,)`` base value of each number.
    slope, intercept : numpy.ndarray
        ``(P, C)``: ``P(c, e)(x) ∝ slope * x + intercept`` for each number and cause (any
        positive scale common to all causes of a number).
    top : int
        Index of the top cause at the base values.

    Returns
    -------
    x_down, x_up : numpy.ndarray
        ``(P,)``: the nearest value below / above ``x0`` in [1e-9, 1 - 1e-9] (the range a
        probability may take) where another cause's
        numerator overtakes the top cause's; NaN when none does on that side.
    to_down, to_up : numpy.ndarray
        ``(P,)`` int: the index of the cause that takes over there (-1 when none).

    Examples
    --------
    Cause 0 is on top at x0 = 0.5; cause 1 overtakes it above x = 0.75:

    >>> import numpy as np
    >>> slope = np.array([[0.0, 2.0]])
    >>> intercept = np.array([[1.0, -0.5]])
    >>> admissible_interval(np.array([0.5]), slope, intercept, 0)
    (array([nan]), array([0.75]), array([-1]), array([1]))
    """
    x0 = np.asarray(x0, dtype=float)
    s = slope[:, [top]] - slope  # (P, C): d(x) = s x + r = top minus other
    r = intercept[:, [top]] - intercept
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = -r / s
    # a probability lives in [1e-9, 1 - 1e-9] (the loader's bounds); at 0 or 1 themselves
    # P(e) may vanish with every numerator (an observed state's probability), no real change
    inside = (root >= MIN_PROBABILITY) & (root <= 1.0 - MIN_PROBABILITY)
    # d decreasing (s < 0): the top cause loses somewhere above x0; increasing: below x0.
    up = np.where((s < 0) & inside & (root >= x0[:, None] - 1e-12), root, np.inf)
    down = np.where((s > 0) & inside & (root <= x0[:, None] + 1e-12), root, -np.inf)
    up[:, top] = np.inf
    down[:, top] = -np.inf
    j_up, j_down = up.argmin(axis=1), down.argmax(axis=1)
    rows = np.arange(len(x0))
    x_up, x_down = up[rows, j_up], down[rows, j_down]
    to_up = np.where(np.isfinite(x_up), j_up, -1)
    to_down = np.where(np.isfinite(x_down), j_down, -1)
    return (
        np.where(np.isfinite(x_down), x_down, np.nan),
        np.where(np.isfinite(x_up), x_up, np.nan),
        to_down,
        to_up,
    )


def _query(
    model, codes: np.ndarray, cpt_values, *, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Posteriors ``(B, C)`` of every cause being present, and ``log P(e)`` ``(B,)``."""
    res = model.engine.query(
        codes, targets=model.causes, cpt_values=cpt_values, n_threads=n_threads
    )
    states = model.engine.states
    post = np.column_stack([res.marginals[c][:, states[c].index("present")] for c in model.causes])
    return post, res.log_evidence


def _chunks(n_rows: int, entries_per_row: int) -> Iterable[slice]:
    step = max(1, _MAX_CHUNK_ENTRIES // max(1, entries_per_row))
    for lo in range(0, n_rows, step):
        yield slice(lo, min(lo + step, n_rows))


# --------------------------------------------------------------------------- one-way
@dataclass(frozen=True)
class SensitivityFunction:
    """The posterior of one cause as a function of one number ``x`` (exact).

    For a probability (and for a baseline or odds ratio that moves at most one cell the
    evidence selects) it is linear-fractional (Coupé & van der Gaag),
    ``P(cause | e)(x) = (a x + b) / (g x + d)``, whose denominator is
    ``P(e)(x) / P(e)(x0)`` (so ``g x0 + d = 1``). For a baseline or odds ratio it is
    evaluated in the cells of the cause's table the number moves (see the module docstring):
    ``cells`` holds their logits at the base value, ``num`` and ``den`` the slopes of
    ``P(cause, e) / P(e)(x0)`` and ``P(e) / P(e)(x0)`` in each cell's probability, ``p0`` the
    base posterior, ``x0`` the base value and ``scale`` ``"logit"`` (baseline) or ``"log"``
    (odds ratio); then ``a``, ``b``, ``g``, ``d`` are NaN unless the form is
    linear-fractional too.

    Examples
    --------
    >>> f = SensitivityFunction(a=0.5, b=0.1, g=0.2, d=0.9)
    >>> round(float(f(0.5)), 6)
    0.35
    >>> import numpy as np  # one cell at p = 0.2, with P(cause, e) / P(e)(x0) = 0.5 + 2 dp
    >>> h = SensitivityFunction(np.nan, np.nan, np.nan, np.nan, scale="logit", x0=0.2,
    ...     cells=np.array([np.log(0.25)]), num=np.array([2.0]), den=np.array([1.0]), p0=0.5)
    >>> round(float(h(0.6)), 6)  # (0.5 + 2 * 0.4) / (1 + 0.4)
    0.928571
    """

    a: float
    b: float
    g: float
    d: float
    scale: str = "linear"
    x0: float = float("nan")
    cells: np.ndarray | None = field(default=None, repr=False)
    num: np.ndarray | None = field(default=None, repr=False)
    den: np.ndarray | None = field(default=None, repr=False)
    p0: float = float("nan")

    @property
    def linear_fractional(self) -> bool:
        """Whether ``(a x + b) / (g x + d)`` is the function (a, b, g, d are not NaN)."""
        return bool(np.isfinite([self.a, self.b, self.g, self.d]).all())

    def __call__(self, x):
        """The posterior at ``x`` (any shape)."""
        x = np.asarray(x, dtype=float)
        if self.cells is None:
            return (self.a * x + self.b) / (self.g * x + self.d)
        shift = _to_scale(x, self.scale) - _to_scale(self.x0, self.scale)
        dp = _cell_moves(self.cells, shift[..., None])
        return (self.p0 + dp @ self.num) / (1.0 + dp @ self.den)


def _to_scale(x, scale: str):
    """A number on the scale its logistic cells move on: logit (baseline) or log (ratio)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(x) - np.log1p(-x) if scale == "logit" else np.log(x)


def _from_scale(t, scale: str):
    t = np.asarray(t, dtype=float)
    return expit(t) if scale == "logit" else np.exp(t)


def _cell_moves(cells: np.ndarray, shift) -> np.ndarray:
    """``expit(cells + shift) - expit(cells)``: how the moved cells' probabilities change."""
    return expit(cells + shift) - expit(cells)


@dataclass(frozen=True)
class _CauseMap:
    """How ``P(c, e)`` and ``P(e)`` depend on the evidence-compatible cells of a cause's table.

    ``flat``: flat indices (over the parent axes) of the compatible parent configurations;
    ``logit``: logit of P(present | h) there; ``num`` ``(k, C)`` and ``den`` ``(k,)``: slopes
    of ``P(c, e) / P(e)(x0)`` and ``P(e) / P(e)(x0)`` in each cell's P(present); ``p0``: the
    base posteriors.
    """

    p0: np.ndarray
    flat: np.ndarray
    logit: np.ndarray
    num: np.ndarray
    den: np.ndarray


@dataclass(frozen=True)
class OneWay:
    """One-way sensitivity of one case: every number moved alone across its range.

    Attributes
    ----------
    case_id : str
        The case.
    target : str
        The cause whose posterior the table reports.
    top_cause : str
        The top cause at the base numbers.
    posterior : pandas.Series
        Base posterior of every cause.
    table : pandas.DataFrame
        One row per number of ``priors/``, largest ``swing`` first. Columns: ``param_id``,
        ``label`` (as a reviewer reads it), ``node``, ``kind``, ``source_id``,
        ``source_kind``, ``expert_only``; ``base``, ``low``, ``high`` (the number and its
        stated range); ``p_base``, ``p_low``, ``p_high`` (the target posterior there);
        ``swing`` (``|p_high - p_low|``); ``rank`` (1 = largest swing); ``a``, ``b``,
        ``g``, ``d`` (the target's sensitivity function when it is linear-fractional, else
        NaN); ``linear_fractional``; ``fit_error`` (misfit of ``a, b, g, d`` at low, base,
        high; NaN when not linear-fractional); ``x_down``, ``x_up``, ``dev_down``,
        ``dev_up`` (admissible deviation: where, and how far from ``base``, the top cause
        changes; NaN / inf when it does not in the number's domain, (0, 1) for a
        probability, (0, inf) for an odds ratio); ``top_down``, ``top_up`` (the cause that
        takes over); ``decisive`` (the top cause changes inside the stated range);
        ``relevant`` (the node can influence this case at all); ``mirror_of`` (for the
        second number of a two-state distribution, the first one's ``param_id``, else
        ``""``: P(gradual | c) = 1 - P(sudden | c) is one number, so it is shown and counted
        once, as the first; ``rank`` counts distinct numbers and a mirror shares its
        partner's rank).
    slopes, intercepts : numpy.ndarray
        ``(n_numbers, n_causes)``: ``P(c, e)(x) / P(e)(x0) = slope * x + intercept``, rows in
        ``priors.numbers`` order, columns in ``causes`` order (for a linear-fractional
        baseline or odds ratio, both sides scaled by the same positive linear factor; NaN
        when not linear-fractional).
    den_slopes, den_intercepts : numpy.ndarray
        ``(n_numbers,)``: ``P(e)(x) / P(e)(x0)`` (scaled alike).
    n_evaluated : int
        How many variants were rescored by the engine (besides the base).
    """

    case_id: str
    target: str
    top_cause: str
    posterior: pd.Series
    table: pd.DataFrame
    causes: tuple[str, ...]
    param_ids: tuple[str, ...]
    slopes: np.ndarray = field(repr=False)
    intercepts: np.ndarray = field(repr=False)
    den_slopes: np.ndarray = field(repr=False)
    den_intercepts: np.ndarray = field(repr=False)
    n_evaluated: int = 0
    cause_maps: dict = field(default_factory=dict, repr=False)
    moved_cells: dict = field(default_factory=dict, repr=False)

    @property
    def numbers(self) -> pd.DataFrame:
        """The table without mirror images: one row per distinct number, largest swing first."""
        return self.table[self.table["mirror_of"] == ""]

    @property
    def n_decisive(self) -> int:
        """How many distinct numbers can change the top cause within their stated range."""
        return int(self.numbers["decisive"].sum())

    def top(self, n: int = 20, *, mirrors: bool = False) -> pd.DataFrame:
        """The ``n`` numbers with the largest swing (ties keep file order).

        The second number of a two-state distribution (the mirror image of the first, with
        the same swing) is left out unless ``mirrors`` is true.
        """
        return (self.table if mirrors else self.numbers).head(n)

    def function(self, param_id: str, *, cause: str | None = None) -> SensitivityFunction:
        """The exact sensitivity function of ``cause`` (default: the target) in one number."""
        try:
            i = self.param_ids.index(param_id)
        except ValueError:
            raise UnknownNameError(f"unknown param_id {param_id!r}") from None
        j = self.causes.index(cause or self.target)
        abgd = (
            float(self.slopes[i, j]),
            float(self.intercepts[i, j]),
            float(self.den_slopes[i]),
            float(self.den_intercepts[i]),
        )
        moved = self.moved_cells.get(i)
        if moved is None:
            return SensitivityFunction(*abgd)
        node, scale, x0, sel = moved
        cm = self.cause_maps[node]
        return SensitivityFunction(
            *abgd,
            scale=scale,
            x0=x0,
            cells=cm.logit[sel],
            num=cm.num[sel, j],
            den=cm.den[sel],
            p0=float(self.posterior.iloc[j]),
        )


def one_way(
    model,
    case: Mapping[str, object] | pd.Series,
    *,
    target: str | None = None,
    case_id: str | None = None,
    n_threads: int = 1,
    exhaustive: bool = False,
) -> OneWay:
    """One-way sensitivity of a case to every hand-set number, across its own range.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    case : mapping or pandas.Series
        The case's findings (raw CSV cells are fine; non-model columns are ignored).
    target : str, optional
        The cause to report; the top cause by default.
    case_id : str, optional
        Name of the case; taken from ``case["case_id"]`` when present.
    n_threads : int, optional
        Threads for the engine (default 1).
    exhaustive : bool, optional
        Also rescore every variant (two per number) directly. By default only a basis is
        rescored per history table, finding row and cause table (``P(c, e)`` and ``P(e)``
        are linear in it, see the module docstring) and every variant is an exact linear
        combination. Both give the same table to rounding. The functions of baselines and
        odds ratios always come from the cause's cells.

    Returns
    -------
    OneWay

    Raises
    ------
    InputError
        For an unknown target cause (the closest name is suggested).
    EvidenceError
        For unknown columns or states in the case.
    """
    target = check_target(model, target)
    ev = case_evidence(model.schema, case)
    cid = _case_id(case, case_id)
    space = parameter_space(model)
    codes = model.engine.encode([ev])
    p0, l0 = _query(model, codes, None, n_threads=n_threads)
    causes = tuple(model.causes)
    top = int(np.argmax(p0[0]))
    target = target or causes[top]
    n_num, n_c = space.n_numbers, len(causes)
    xs = np.column_stack([space.low, space.values, space.high])
    num = np.broadcast_to(p0[0], (n_num, 3, n_c)).copy()  # P(c, e)(x) / P(e)(x0)
    z = np.ones((n_num, 3))  # P(e)(x) / P(e)(x0)
    relevant = relevant_nodes(model, ev)
    is_rel = np.array([node in relevant for node in space.node_of])
    batch = _Batch(model, codes, p0[0], float(l0[0]), n_threads)
    plans: list[tuple] = []
    for node in space.nodes:
        if node not in relevant:
            continue
        idx = space.numbers_of(node)
        if node in model.causes:
            plans.append(("cause", node, idx, _cause_request(batch, space, node, ev)))
            if not exhaustive:
                continue
        rows = np.concatenate([idx, idx])
        theta = space.one_at_a_time(rows, np.concatenate([space.low[idx], space.high[idx]]))
        arrays = space.expand(theta, nodes=[node])[node]
        if exhaustive:
            plans.append(("direct", node, idx, batch.add(node, arrays)))
        else:
            plans.append(("basis", node, idx, _basis_requests(batch, space, node, arrays, ev)))
    batch.run()
    cause_maps: dict[str, _CauseMap] = {}
    moved: dict[int, tuple] = {}
    for how, node, idx, plan in plans:
        if how == "cause":
            cm = cause_maps[node] = _cause_map(batch, plan)
            for i in idx:
                moved[int(i)] = _moved_cells(space, int(i), cm)
                num[i, [0, 2]], z[i, [0, 2]] = _cause_values(cm, moved[int(i)], xs[i, [0, 2]])
            continue
        n_r, z_r = batch.result(plan) if how == "direct" else _combine(batch, 2 * len(idx), plan)
        k = len(idx)
        num[idx, 0], num[idx, 2] = n_r[:k], n_r[k:]
        z[idx, 0], z[idx, 2] = z_r[:k], z_r[k:]
    post = num / z[:, :, None]
    lf, slopes, intercepts, den_s, den_i = _linear_fractional(space, xs, num, z, moved, cause_maps)
    fitted = (slopes[:, None, :] * xs[:, :, None] + intercepts[:, None, :]) / (
        den_s[:, None, None] * xs[:, :, None] + den_i[:, None, None]
    )
    fit_error = np.where(lf, np.abs(fitted - post).max(axis=(1, 2)), np.nan)
    x_down, x_up, to_down, to_up = admissible_interval(
        space.values, np.nan_to_num(slopes), np.nan_to_num(intercepts), top
    )
    for i, m in moved.items():
        x_down[i], x_up[i], to_down[i], to_up[i] = _logistic_crossings(cause_maps[m[0]], m, top)
    t = causes.index(target)
    names = np.array([*causes, ""], dtype=object)
    table = model.priors.table()[
        ["param_id", "label", "node", "kind", "source_id", "source_kind"]
    ].copy()
    table["expert_only"] = table["source_kind"].eq("expert_judgement")
    table["base"], table["low"], table["high"] = space.values, space.low, space.high
    table["p_base"], table["p_low"], table["p_high"] = post[:, 1, t], post[:, 0, t], post[:, 2, t]
    table["swing"] = np.abs(table["p_high"] - table["p_low"])
    table["a"], table["b"] = slopes[:, t], intercepts[:, t]
    table["g"], table["d"] = den_s, den_i
    table["linear_fractional"] = lf
    table["fit_error"] = fit_error
    table["x_down"], table["x_up"] = x_down, x_up
    table["dev_down"] = np.where(np.isnan(x_down), np.inf, space.values - x_down)
    table["dev_up"] = np.where(np.isnan(x_up), np.inf, x_up - space.values)
    table["top_down"], table["top_up"] = names[to_down], names[to_up]
    table["decisive"] = (x_down >= space.low) | (x_up <= space.high)
    table["relevant"] = is_rel
    table["mirror_of"] = _mirrors(space)
    table = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(2, "rank", _ranks(table))
    return OneWay(
        n_evaluated=batch.n_evaluated,
        case_id=cid,
        target=target,
        top_cause=causes[top],
        posterior=pd.Series(p0[0], index=list(causes), name="posterior"),
        table=table,
        causes=causes,
        param_ids=space.param_ids,
        slopes=slopes,
        intercepts=intercepts,
        den_slopes=den_s,
        den_intercepts=den_i,
        cause_maps=cause_maps,
        moved_cells=moved,
    )


class _Batch:
    """Variants of several nodes, rescored by the engine in as few calls as possible.

    :meth:`add` queues variant arrays of one node and returns a handle; :meth:`run` sends
    every queued variant (each row overriding one node, the others at their base arrays);
    :meth:`result` gives ``P(c, e) / P(e)(x0)`` ``(B, C)`` and ``P(e) / P(e)(x0)`` ``(B,)``.
    """

    def __init__(self, model, codes, p0: np.ndarray, l0: float, n_threads: int) -> None:
        self.model, self.codes, self.p0, self.l0 = model, codes, p0, l0
        self.n_threads = n_threads
        self._queue: list[tuple[str, np.ndarray]] = []
        self._start: list[int] = []
        self.n_evaluated = 0

    def add(self, node: str, arrays: np.ndarray) -> int:
        """Queue ``arrays`` ``(B, *shape)`` of ``node``; the handle for :meth:`result`."""
        self._start.append(self.n_evaluated)
        self._queue.append((node, arrays))
        self.n_evaluated += len(arrays)
        return len(self._queue) - 1

    def run(self) -> None:
        """Rescore everything queued."""
        space = parameter_space(self.model)
        n = self.n_evaluated
        nodes = list(dict.fromkeys(node for node, _ in self._queue))
        full = {v: np.repeat(space.base_values[v][None], n, axis=0) for v in nodes}
        for (node, arrays), start in zip(self._queue, self._start, strict=True):
            full[node][start : start + len(arrays)] = arrays
        self._num, self._z = np.empty((n, len(self.p0))), np.empty(n)
        for sl in _chunks(n, sum(space.base_values[v].size for v in nodes)):
            cpts = {v: a[sl] for v, a in full.items()}
            p, lg = _query(self.model, self.codes, cpts, n_threads=self.n_threads)
            self._z[sl] = np.exp(lg - self.l0)
            self._num[sl] = p * self._z[sl, None]

    def result(self, handle: int) -> tuple[np.ndarray, np.ndarray]:
        """The rescored variants queued under ``handle``."""
        start = self._start[handle]
        sl = slice(start, start + len(self._queue[handle][1]))
        return self._num[sl], self._z[sl]


def _observed_index(model, ev: Mapping[str, str], var: str) -> int | None:
    return model.engine.states[var].index(ev[var]) if var in ev else None


def _basis_requests(batch: _Batch, space, node: str, arrays: np.ndarray, ev) -> list[tuple]:
    """Queue a basis of the variants ``arrays`` of a history node or finding.

    A history table is one block, a finding's stack one block per row (every variant of a
    number changes one row). Within a block, ``P(c, e)`` and ``P(e)`` are linear in the
    features (the evidence-compatible cells; a row's cumulative probabilities at and below
    the observed state), so rescoring a basis of the variants' feature changes gives all.
    Returns ``(rows, coef, handle)`` per block, for :func:`_combine`.
    """
    model, b0 = batch.model, space.base_values[node]
    n = arrays.shape[0]
    if _is_table(space, node):
        blocks = np.zeros(n, dtype=np.int64)
        keep = _compatible(model, space, node, ev)
        feats = arrays[:, keep] - b0[keep]
    else:
        blocks = np.abs(arrays - b0).sum(axis=2).argmax(axis=1)
        cums = _cum_features(space, node, _observed_index(model, ev, node))
        feats = np.einsum("bs,sk->bk", arrays[np.arange(n), blocks] - b0[blocks], cums)
    plan = []
    for blk in np.unique(blocks):
        rows = np.flatnonzero(blocks == blk)
        chosen, coef = _basis(feats[rows])
        if chosen.size:
            plan.append((rows, coef, batch.add(node, arrays[rows[chosen]])))
    return plan


def _combine(batch: _Batch, n: int, plan: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Every variant of a node from its rescored basis (see :func:`_basis_requests`)."""
    num, z = np.broadcast_to(batch.p0, (n, len(batch.p0))).copy(), np.ones(n)
    for rows, coef, handle in plan:
        n_b, z_b = batch.result(handle)
        num[rows] += coef @ (n_b - batch.p0)
        z[rows] += coef @ (z_b - 1.0)
    return num, z


def _is_table(space, node: str) -> bool:
    from legnumb.network.cpt import CPT

    return isinstance(space.base[node], CPT)


def _compatible(model, space, node: str, ev) -> np.ndarray:
    """Boolean mask over a table's cells: those that agree with the observed states."""
    cpt = space.base[node]
    mask = np.ones(cpt.values.shape, dtype=bool)
    for axis, var in enumerate((cpt.variable, *cpt.parents)):
        o = _observed_index(model, ev, var)
        if o is not None:
            sel = [slice(None)] * mask.ndim
            sel[axis] = np.arange(mask.shape[axis]) != o
            mask[tuple(sel)] = False
    return mask


def _cum_features(space, node: str, observed: int | None) -> np.ndarray:
    """``(S, k)``: a finding row's cumulative probabilities that its observed state uses.

    P(X = s | causes) = Lcum(r) Π Qcum(r) - Lcum(r - 1) Π Qcum(r - 1) with ``r`` the place
    of ``s`` in the order, so a row enters only through its cumulative sums up to places
    ``r - 1`` and ``r`` (the sum up to the top is 1). Unobserved: the whole row.
    """
    nm = space.base[node]
    s = len(nm.states)
    if observed is None:
        return np.eye(s)
    r = list(nm.order).index(observed)
    cols = []
    for place in (r - 1, r):
        if 0 <= place < s - 1:
            c = np.zeros(s)
            c[list(nm.order[: place + 1])] = 1.0
            cols.append(c)
    return np.column_stack(cols) if cols else np.zeros((s, 0))


def _basis(d: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``d`` that span the others, and every row's coefficients on them.

    Greedy pivoting: the row with the largest remaining norm that is not (to ``tol``,
    relative to its own norm) in the span of those chosen so far. ``d ≈ coef @ d[chosen]``.
    """
    if d.shape[1] == 1:  # the common case (a yes/no finding's row, an observed cell)
        j = int(np.abs(d[:, 0]).argmax()) if d.size else 0
        if not d.size or d[j, 0] == 0.0:
            return np.empty(0, dtype=np.int64), np.zeros((len(d), 0))
        return np.array([j]), d / d[j, 0]
    norms = np.linalg.norm(d, axis=1) if d.size else np.zeros(len(d))
    resid = d.astype(float).copy()
    chosen: list[int] = []
    while len(chosen) < d.shape[1]:
        rn = np.linalg.norm(resid, axis=1)
        ok = rn > tol * norms
        if not ok.any():
            break
        j = int(np.flatnonzero(ok)[rn[ok].argmax()])
        chosen.append(j)
        q = resid[j] / rn[j]
        resid -= np.outer(resid @ q, q)
    chosen_a = np.array(chosen, dtype=np.int64)
    if not chosen:
        return chosen_a, np.zeros((len(d), 0))
    basis = d[chosen_a]
    scale = np.linalg.norm(basis, axis=1)
    coef = np.linalg.lstsq((basis / scale[:, None]).T, d.T, rcond=None)[0].T / scale
    return chosen_a, coef


def _cause_request(batch: _Batch, space, node: str, ev) -> tuple:
    """Queue one variant per evidence-compatible cell of a cause's table (P(present) ± 0.5)."""
    model = batch.model
    cpt = space.base[node]
    present = model.engine.states[node].index("present")
    mask = _compatible(model, space, node, {p: ev[p] for p in cpt.parents if p in ev})
    flat = np.flatnonzero(mask[present].ravel())
    values = cpt.values
    p = np.moveaxis(values, 0, -1).reshape(-1, 2)[flat]  # (k, 2): absent/present per cell
    logit = np.log(p[:, present]) - np.log(p[:, 1 - present])
    moved_to = p[:, present] + np.where(p[:, present] < 0.5, 0.5, -0.5)
    arrays = np.repeat(values[None], len(flat), axis=0)
    cells = np.moveaxis(arrays, 1, -1).reshape(len(flat), -1, 2)  # a view into arrays
    rows = np.arange(len(flat))
    cells[rows, flat, present] = moved_to
    cells[rows, flat, 1 - present] = 1.0 - moved_to
    return flat, logit, moved_to - p[:, present], batch.add(node, arrays)


def _cause_map(batch: _Batch, request: tuple) -> _CauseMap:
    """The :class:`_CauseMap` of a cause from its rescored cell variants."""
    flat, logit, dp, handle = request
    n_r, z_r = batch.result(handle)
    return _CauseMap(
        p0=batch.p0,
        flat=flat,
        logit=logit,
        num=(n_r - batch.p0) / dp[:, None],
        den=(z_r - 1.0) / dp,
    )


def _moved_cells(space, i: int, cm: _CauseMap) -> tuple:
    """``(node, scale, x0, sel)``: which of the compatible cells number ``i`` moves."""
    n = space.priors.numbers[i]
    cpt = space.base[n.node]
    if n.kind == "baseline":
        return n.node, "logit", float(space.values[i]), np.arange(len(cm.flat))
    axis = cpt.parents.index(n.parent)
    state = cpt.states[n.parent].index(n.parent_state)
    coords = np.unravel_index(cm.flat, cpt.values.shape[1:])
    return n.node, "log", float(space.values[i]), np.flatnonzero(coords[axis] == state)


def _cause_values(cm: _CauseMap, moved: tuple, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(c, e) / P(e)(x0)`` ``(len(x), C)`` and ``P(e) / P(e)(x0)`` with the number at ``x``."""
    _, scale, x0, sel = moved
    shift = _to_scale(x, scale) - _to_scale(x0, scale)
    dp = _cell_moves(cm.logit[sel], np.asarray(shift)[:, None])
    return cm.p0 + dp @ cm.num[sel], 1.0 + dp @ cm.den[sel]


def _linear_fractional(space, xs, num, z, moved, cause_maps) -> tuple:
    """Which numbers have a linear-fractional function, and its lines ``(P, C)`` and ``(P,)``.

    Probabilities: ``num`` and ``z`` are linear in ``x``. A baseline or odds ratio that moves
    one compatible cell ``p(x) = u(x) / v(x)`` (``u``, ``v`` linear: ``v = 1 - x + x R`` for a
    baseline, ``1 + x o`` for an odds ratio) has ``num * v`` and ``z * v`` linear; one that
    moves none is constant; one that moves more is not linear-fractional (NaN).
    """
    n_num = len(xs)
    lf = np.ones(n_num, dtype=bool)
    w = np.ones((n_num, 3))
    for i, (node, scale, x0, sel) in moved.items():
        if len(sel) > 1:
            lf[i] = False
        elif len(sel) == 1:
            odds = np.exp(cause_maps[node].logit[sel[0]])
            x = xs[i]
            v = (
                (1.0 - x) + x * (odds * (1.0 - x0) / x0)
                if scale == "logit"
                else 1.0 + x * odds / x0
            )
            w[i] = v / v[1]
    slopes, intercepts = fit_linear(xs[:, None, :], (num * w[:, :, None]).transpose(0, 2, 1))
    den_s, den_i = fit_linear(xs, z * w)
    slopes[~lf], intercepts[~lf], den_s[~lf], den_i[~lf] = np.nan, np.nan, np.nan, np.nan
    return lf, slopes, intercepts, den_s, den_i


def _logistic_crossings(cm: _CauseMap, moved: tuple, top: int) -> tuple:
    """``(x_down, x_up, to_down, to_up)`` of a baseline or odds ratio: grid, then Brent.

    The exact function (in the moved cells) is evaluated on a grid of the number's logit or
    log, from the base value out to where every moved cell is saturated, and the first
    place on each side where another cause's numerator exceeds the top cause's is refined
    by :func:`scipy.optimize.brentq`.
    """
    _, scale, x0, sel = moved
    out = [np.nan, np.nan, -1, -1]
    if not len(sel):
        return tuple(out)
    cells, slope = cm.logit[sel], cm.num[sel]

    def lead(shift: np.ndarray) -> np.ndarray:
        nums = cm.p0 + _cell_moves(cells, shift[:, None]) @ slope
        gap = nums[:, [top]] - nums
        gap[:, top] = np.inf
        return gap.min(axis=1)

    t0 = float(_to_scale(x0, scale))
    ends = (min(-_GRID_STEP, -_SATURATED - cells.max()), max(_GRID_STEP, _SATURATED - cells.min()))
    for side, end in enumerate(ends):
        grid = np.linspace(0.0, end, int(np.ceil(abs(end) / _GRID_STEP)) + 1)
        neg = np.flatnonzero(lead(grid) < 0)
        if not neg.size or neg[0] == 0:
            continue
        a, b = grid[neg[0] - 1], grid[neg[0]]
        root = brentq(lambda s: float(lead(np.array([s]))[0]), a, b, xtol=1e-12)
        past = root + 1e-3 * (b - root) if b != root else b
        nums = cm.p0 + _cell_moves(cells, np.array([[past]])) @ slope
        out[side] = float(_from_scale(t0 + root, scale))
        out[2 + side] = int(np.argmax(nums[0]))
    return tuple(out)


def _mirrors(space: ParameterSpace) -> np.ndarray:
    """Per number (priors order): the first number of its two-state distribution, or ``""``.

    In a distribution of two states the second number is 1 minus the first, and moving
    either across its range is the same move: the second is the first's mirror image.

    >>> from legnumb.diagnosis.model import load_model
    >>> space = parameter_space(load_model())
    >>> m = _mirrors(space)
    >>> m[space.index("history:sex|prior|=|male")]
    'history:sex|prior|=|female'
    >>> m[space.index("history:sex|prior|=|female")]
    ''
    """
    out = np.full(space.n_numbers, "", dtype=object)
    grouped = space.group[space.group >= 0]
    if grouped.size:
        for g in np.flatnonzero(np.bincount(grouped) == 2):
            first, second = np.flatnonzero(space.group == g)
            out[second] = space.param_ids[first]
    return out


def _ranks(table: pd.DataFrame) -> np.ndarray:
    """1 for the largest swing among distinct numbers, ...; a mirror takes its partner's rank."""
    distinct = (table["mirror_of"] == "").to_numpy()
    rank = np.zeros(len(table), dtype=np.int64)
    rank[distinct] = np.arange(1, int(distinct.sum()) + 1)
    by_id = dict(zip(table["param_id"], rank, strict=True))
    for i in np.flatnonzero(~distinct):
        rank[i] = by_id[table["mirror_of"].iat[i]]
    return rank


def _case_id(case, case_id: str | None) -> str:
    if case_id is not None:
        return str(case_id)
    if isinstance(case, pd.Series | Mapping) and "case_id" in case:
        return str(case["case_id"]).strip()
    return "case"


# --------------------------------------------------------------------------- robustness
@dataclass(frozen=True)
class Robustness:
    """The case rescored with every number drawn jointly within its stated range.

    Attributes
    ----------
    case_id, target, top_cause : str
        The case, the cause of interest and the base top cause.
    posterior : pandas.Series
        Base posterior of every cause.
    draws : pandas.DataFrame
        Tidy, one row per draw and cause: ``draw``, ``cause``, ``posterior``, ``is_top``.
    summary : pandas.DataFrame
        One row per cause (base order of the ranking): ``cause``, ``base``, ``mean``,
        ``q05``, ``median``, ``q95``, ``top_share`` (share of draws where it is the top
        cause).
    stability : float
        Share of draws in which the base top cause is still the top cause.
    n_draws, seed : int
        The draw settings (same seed, same draws).
    in_range : float
        Share of drawn numbers within their stated ``[low, high]`` (below 1 only through
        the renormalization of distributions of three or more states).
    """

    case_id: str
    target: str
    top_cause: str
    posterior: pd.Series
    draws: pd.DataFrame
    summary: pd.DataFrame
    stability: float
    n_draws: int
    seed: int
    in_range: float


def robustness(
    model,
    case: Mapping[str, object] | pd.Series,
    *,
    target: str | None = None,
    case_id: str | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    n_threads: int = 1,
) -> Robustness:
    """Rescore a case under ``n_draws`` joint draws of all numbers within their ranges.

    The draws follow :meth:`legnumb.network.parameters.ParameterSpace.draw` with
    ``numpy.random.default_rng(seed)``: every free probability (baselines, the leaks and
    links of yes/no findings) logit-uniform and every odds ratio log-uniform within
    ``[low, high]``, two-state distributions as complements, larger distributions
    renormalized. The same seed gives the same draws whatever the case.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    case : mapping or pandas.Series
        The case's findings.
    target : str, optional
        The cause of interest (default: the top cause); only labels the result.
    case_id : str, optional
        Name of the case; taken from ``case["case_id"]`` when present.
    n_draws : int, optional
        Number of joint draws (default 1000).
    seed : int, optional
        Seed of the random generator (default 0).
    n_threads : int, optional
        Threads for the engine (default 1).

    Returns
    -------
    Robustness
    """
    target = check_target(model, target)
    ev = case_evidence(model.schema, case)
    cid = _case_id(case, case_id)
    space = parameter_space(model)
    codes = model.engine.encode([ev])
    p0, _ = _query(model, codes, None, n_threads=n_threads)
    p0 = p0[0]
    causes = tuple(model.causes)
    top = int(np.argmax(p0))
    target = target or causes[top]
    theta = space.draw(n_draws, rng=np.random.default_rng(seed))
    nodes = [n for n in space.nodes if n in relevant_nodes(model, ev)]
    size = sum(space.base_values[n].size for n in nodes)
    post = np.empty((n_draws, len(causes)))
    for sl in _chunks(n_draws, size):
        cpts = space.expand(theta[sl], nodes=nodes)
        post[sl], _ = _query(model, codes, cpts, n_threads=n_threads)
    tops = post.argmax(axis=1)
    order = np.argsort(-p0, kind="stable")
    q = np.quantile(post, [0.05, 0.5, 0.95], axis=0)
    summary = pd.DataFrame(
        {
            "cause": [causes[i] for i in order],
            "base": p0[order],
            "mean": post.mean(axis=0)[order],
            "q05": q[0][order],
            "median": q[1][order],
            "q95": q[2][order],
            "top_share": np.bincount(tops, minlength=len(causes))[order] / n_draws,
        }
    )
    draws = pd.DataFrame(
        {
            "draw": np.repeat(np.arange(n_draws), len(causes)),
            "cause": np.tile(np.array(causes, dtype=object), n_draws),
            "posterior": post.ravel(),
            "is_top": (tops[:, None] == np.arange(len(causes))[None, :]).ravel(),
        }
    )
    moved = space.in_range(theta)[:, [n in set(nodes) for n in space.node_of]]
    return Robustness(
        case_id=cid,
        target=target,
        top_cause=causes[top],
        posterior=pd.Series(p0, index=list(causes), name="posterior"),
        draws=draws,
        summary=summary,
        stability=float((tops == top).mean()),
        n_draws=int(n_draws),
        seed=int(seed),
        in_range=float(moved.mean()) if moved.size else 1.0,
    )


# --------------------------------------------------------------------------- across cases
def decisive_numbers(results: Sequence[OneWay], *, top_n: int = 10) -> pd.DataFrame:
    """Which numbers matter across cases: one row per number, most often decisive first.

    Columns: ``param_id``, ``label``, ``source_kind``, ``expert_only``, ``cases``,
    ``decisive`` (cases where moving the number within its range changes the top cause),
    ``in_top`` (cases where it is among the ``top_n`` largest swings), ``max_swing``,
    ``mean_swing``, ``decisive_cases`` (their ids). Mirror images (the second number of a
    two-state distribution) are left out: they are counted with their first number.

    Examples
    --------
    >>> decisive_numbers([]).columns.tolist()[:4]
    ['param_id', 'label', 'source_kind', 'expert_only']
    """
    cols = [
        "param_id",
        "label",
        "source_kind",
        "expert_only",
        "cases",
        "decisive",
        "in_top",
        "max_swing",
        "mean_swing",
        "decisive_cases",
    ]
    if not results:
        return pd.DataFrame(columns=cols)
    frames = []
    for r in results:
        t = r.numbers[
            ["param_id", "label", "source_kind", "expert_only", "swing", "decisive", "rank"]
        ]
        frames.append(t.assign(case_id=r.case_id, in_top=t["rank"] <= top_n))
    long = pd.concat(frames, ignore_index=True)
    out = (
        long.groupby(["param_id", "label", "source_kind", "expert_only"], sort=False)
        .agg(
            cases=("case_id", "size"),
            decisive=("decisive", "sum"),
            in_top=("in_top", "sum"),
            max_swing=("swing", "max"),
            mean_swing=("swing", "mean"),
            decisive_cases=("case_id", lambda s: ", ".join(s[long.loc[s.index, "decisive"]])),
        )
        .reset_index()
    )
    return out.sort_values(
        ["decisive", "in_top", "max_swing"], ascending=False, kind="stable"
    ).reset_index(drop=True)[cols]
