"""Sensitivity of one case's ranking to the hand-set numbers: one-way, functions, robustness.

A reviewer signing off on the priors needs to see, for a given case, which numbers the
conclusion rests on, how far each number can move before the top cause changes, and how
robust the ranking stays when all numbers move together within their stated ranges. This
module computes those answers as tidy pandas tables; :mod:`legnumb.plots.sensitivity` draws
them.

One-way sensitivity (:func:`one_way`)
    Every number of ``priors/`` is moved, alone, to the low and the high end of its own
    documented range (siblings of a distribution scaled proportionally, as
    :meth:`~legnumb.network.priors.PriorSet.with_value` does) and the case is rescored. Variants are
    grouped by node: one engine call per node, with that node's variant CPTs stacked in
    ``cpt_values``. Numbers whose node cannot influence the case (outside the ancestral set
    of the evidence and the causes, e.g. the CPT of an unobserved finding) are not rescored:
    their posterior is exactly unchanged.

Sensitivity functions
    Every number enters exactly one CPT, and under proportional co-variation every entry of
    that CPT is linear in the number ``x``. Hence ``P(c, e)(x)`` is linear in ``x`` for
    every cause ``c`` and so is ``P(e)(x)``, and the posterior is a ratio of two linear
    functions (Coupé & van der Gaag 2002), ``P(c | e)(x) = (a x + b) / (g x + d)``. The
    three evaluations above (low, base, high; each giving the posteriors and ``P(e)``) fit
    numerator and denominator exactly; the largest misfit at the three points is kept as
    ``fit_error``.

Admissible deviation (van der Gaag & Renooij 2001)
    All causes share the denominator ``P(e)(x)``, so the top cause stays on top exactly as
    long as its numerator stays above every other cause's numerator: with linear numerators
    the crossing points are closed-form. ``x_down`` and ``x_up`` are the values in (0, 1)
    where the top cause would change (NaN when it does not change on that side).

Global robustness (:func:`robustness`)
    All numbers are drawn jointly within their ranges (scheme:
    :meth:`legnumb.network.parameters.ParameterSpace.draw`), 1,000 draws by default, seeded;
    the case is rescored for each draw in chunks, and the share of draws in which the top cause stays
    the same is reported.

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

from legnumb.errors import InputError, UnknownNameError
from legnumb.io.cases import case_evidence
from legnumb.network.parameters import ParameterSpace
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
    parents = {c.variable: c.parents for c in parameter_space(model).base_cpts.values()}
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
    x0: np.ndarray, slope: np.ndarray, intercept: np.ndarray, top: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where the top cause changes when one number moves, from linear numerators.

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
        ``(P,)``: the nearest value below / above ``x0`` in (0, 1) where another cause's
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
    with np.errstate(divide="ignore", invalid="ignore"):
        root = -r / s
    inside = (root > 0.0) & (root < 1.0)
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
    """``P(target | e)(x) = (a x + b) / (g x + d)`` for one number ``x`` (Coupé & van der Gaag).

    The denominator is ``P(e)(x) / P(e)(x0)``, so ``g x0 + d = 1``.

    Examples
    --------
    >>> f = SensitivityFunction(a=0.5, b=0.1, g=0.2, d=0.9)
    >>> round(float(f(0.5)), 6)
    0.35
    """

    a: float
    b: float
    g: float
    d: float

    def __call__(self, x):
        """The posterior at ``x``: ``(a x + b) / (g x + d)``."""
        x = np.asarray(x, dtype=float)
        return (self.a * x + self.b) / (self.g * x + self.d)


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
        ``g``, ``d`` (the target's sensitivity function); ``fit_error``; ``x_down``,
        ``x_up``, ``dev_down``, ``dev_up`` (admissible deviation: where, and how far from
        ``base``, the top cause changes; NaN / inf when it does not in (0, 1)); ``top_down``,
        ``top_up`` (the cause that takes over); ``decisive`` (the top cause changes inside
        the stated range); ``relevant`` (the node can influence this case at all);
        ``mirror_of`` (for the second number of a two-state distribution, the first one's
        ``param_id``, else ``""``: P(gradual | c) = 1 - P(sudden | c) is one number, so it is
        shown and counted once, as the first; ``rank`` counts distinct numbers and a mirror
        shares its partner's rank).
    slopes, intercepts : numpy.ndarray
        ``(n_numbers, n_causes)``: ``P(c, e)(x) / P(e)(x0) = slope * x + intercept``, rows in
        ``priors.numbers`` order, columns in ``causes`` order.
    den_slopes, den_intercepts : numpy.ndarray
        ``(n_numbers,)``: ``P(e)(x) / P(e)(x0)``.
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
        """The sensitivity function of ``cause`` (default: the target) in one number."""
        try:
            i = self.param_ids.index(param_id)
        except ValueError:
            raise UnknownNameError(f"unknown param_id {param_id!r}") from None
        j = self.causes.index(cause or self.target)
        return SensitivityFunction(
            float(self.slopes[i, j]),
            float(self.intercepts[i, j]),
            float(self.den_slopes[i]),
            float(self.den_intercepts[i]),
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
        Rescore every variant (two per number). By default only a spanning subset is
        rescored: ``P(c, e)`` and ``P(e)`` are linear in the CPT of the node that changes,
        so a variant whose CPT change is a multiple of another's (the low and the high end
        of one number; numbers of one mixture node that move the observed row alike) is
        obtained from that other variant exactly. Both give the same table to rounding.

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
    p0, l0 = p0[0], float(l0[0])
    causes = tuple(model.causes)
    top = int(np.argmax(p0))
    target = target or causes[top]
    n_num, n_c = space.n_numbers, len(causes)
    # Posteriors and P(e)(x)/P(e)(x0) at (low, base, high) for every number.
    xs = np.column_stack([space.low, space.values, space.high])
    post = np.broadcast_to(p0, (n_num, 3, n_c)).copy()
    z = np.ones((n_num, 3))
    relevant = relevant_nodes(model, ev)
    is_rel = np.array([node in relevant for node in space.node_of])
    n_evaluated = 0
    for node in space.nodes:
        if node not in relevant:
            continue
        idx = space.numbers_of(node)
        rows = np.concatenate([idx, idx])
        theta = space.one_at_a_time(rows, np.concatenate([space.low[idx], space.high[idx]]))
        observed = {node: ev[node]} if node in ev else None
        size = space.base_cpts[node].values.size
        if exhaustive:
            reps, rep_of, lam = np.arange(len(rows)), np.arange(len(rows)), np.ones(len(rows))
        else:
            reps, rep_of, lam = _spanning_variants(space, node, theta, observed, ev.get(node))
        n_evaluated += len(reps)
        num_r, z_r = np.empty((len(reps), n_c)), np.empty(len(reps))
        for sl in _chunks(len(reps), size):
            cpt = space.expand(theta[reps[sl]], nodes=[node], observed=observed)
            p, lg = _query(model, codes, cpt, n_threads=n_threads)
            z_r[sl] = np.exp(lg - l0)
            num_r[sl] = p * z_r[sl, None]
        # P(c, e) and P(e) are linear in the node's CPT: a variant whose CPT change is
        # lam times a representative's change moves them by lam times as much.
        hit = rep_of >= 0
        num = np.broadcast_to(p0, (len(rows), n_c)).copy()
        zz = np.ones(len(rows))
        num[hit] += lam[hit, None] * (num_r[rep_of[hit]] - p0)
        zz[hit] += lam[hit] * (z_r[rep_of[hit]] - 1.0)
        k = len(idx)
        post[idx, 0], post[idx, 2] = num[:k] / zz[:k, None], num[k:] / zz[k:, None]
        z[idx, 0], z[idx, 2] = zz[:k], zz[k:]
    # Exact linear numerators and denominator through the three points.
    num = post * z[:, :, None]  # (P, 3, C)
    slopes, intercepts = fit_linear(xs[:, None, :], num.transpose(0, 2, 1))
    den_s, den_i = fit_linear(xs, z)
    fitted = (slopes[:, None, :] * xs[:, :, None] + intercepts[:, None, :]) / (
        den_s[:, None, None] * xs[:, :, None] + den_i[:, None, None]
    )
    fit_error = np.abs(fitted - post).max(axis=(1, 2))
    x_down, x_up, to_down, to_up = admissible_interval(space.values, slopes, intercepts, top)
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
        n_evaluated=n_evaluated,
        case_id=cid,
        target=target,
        top_cause=causes[top],
        posterior=pd.Series(p0, index=list(causes), name="posterior"),
        table=table,
        causes=causes,
        param_ids=space.param_ids,
        slopes=slopes,
        intercepts=intercepts,
        den_slopes=den_s,
        den_intercepts=den_i,
    )


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


def _spanning_variants(space, node, theta, observed, obs_state):
    """Representatives among one node's variants; the others are multiples of them.

    Returns ``(reps, rep_of, lam)``: rows to rescore, and for every row the position of its
    representative in ``reps`` (-1 for a row equal to the base) and the factor ``lam`` with
    ``cpt_row - cpt_base = lam * (cpt_rep - cpt_base)``. Only the CPT entries that enter the
    query are compared (the observed row of an observed node).
    """
    base = space.expand(space.values, nodes=[node], observed=observed)[node]
    parts = []
    for sl in _chunks(theta.shape[0], base.size):
        v = space.expand(theta[sl], nodes=[node], observed=observed)[node]
        parts.append(_entering(v, space, node, obs_state) - _entering(base, space, node, obs_state))
    d = np.concatenate(parts)
    norms = np.linalg.norm(d, axis=1)
    unit = np.divide(d, norms[:, None], out=np.zeros_like(d), where=norms[:, None] > 0)
    proj = unit @ np.random.default_rng(12345).standard_normal((d.shape[1], 4))
    sign = np.where(proj[:, 0] < 0, -1.0, 1.0)
    unit *= sign[:, None]
    proj *= sign[:, None]
    zero = norms <= 1e-13 * max(1.0, float(norms.max(initial=0.0)))
    groups: dict[tuple, list[int]] = {}
    for b in np.flatnonzero(~zero):
        groups.setdefault(tuple(np.round(proj[b] * 1e6).astype(np.int64)), []).append(int(b))
    reps: list[int] = []
    rep_of = np.full(len(d), -1, dtype=np.int64)
    lam = np.zeros(len(d))
    for members in groups.values():
        pending = sorted(members, key=lambda b: -norms[b])
        while pending:
            r = pending[0]
            same = [b for b in pending if np.abs(unit[b] - unit[r]).max() <= 1e-10]
            for b in same:
                rep_of[b] = len(reps)
                lam[b] = (sign[b] * norms[b]) / (sign[r] * norms[r])
            reps.append(r)
            pending = [b for b in pending if b not in same]
    return np.array(reps, dtype=np.int64), rep_of, lam


def _entering(cpt: np.ndarray, space, node: str, obs_state: str | None) -> np.ndarray:
    """The CPT entries that enter a query, flattened per row: the observed row if observed."""
    if obs_state is not None:
        cpt = cpt[:, space.base_cpts[node].states[node].index(obs_state)]
    return cpt.reshape(cpt.shape[0], -1)


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
    ``numpy.random.default_rng(seed)``: every free number logit-uniform within
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
    size = sum(space.base_cpts[n].values.size for n in nodes)
    post = np.empty((n_draws, len(causes)))
    for sl in _chunks(n_draws, size):
        cpts = space.expand(theta[sl], nodes=nodes, observed=ev)
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
