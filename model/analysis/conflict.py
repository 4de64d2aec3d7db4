"""Data conflict (Jensen, Chamberlain, Nordahl & Jensen 1991).

``conf(e) = log(prod_i P(e_i) / P(e))`` from the engine's log evidence and the prior
marginals. Positive values mean the findings are less likely together than apart. What is
"usual" depends on which questions were answered, so the reference is the distribution of
``conf`` over cases forward-sampled from the network itself (numpy, seeded) with the same
columns observed; a warning is raised above its 95th percentile. That can mean a
data-entry error, or a cause the model does not include.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from legnumb.analysis.context import _codes, _Context, _context, _leave_one_out
from legnumb.analysis.phrases import format_pct
from legnumb.diagnosis.model import Model
from legnumb.errors import InputError

if TYPE_CHECKING:  # whatif imports this module
    from legnumb.analysis.whatif import Analysis


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
    from legnumb.network.bayesnet import extract_tables

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
        One row per case with every column and every cause (``present``/``absent``): 49 + 24
        columns for the shipped model.

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> sim = simulate_cases(load_model(), 1000, seed=1)
    >>> sim.shape, sorted(sim["sciatica"].unique())
    ((1000, 73), ['absent', 'present'])
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
    >>> from legnumb.diagnosis.model import load_model
    >>> m = load_model()
    >>> c = conflict(m, {"age_group": "under_40", "pregnant": "yes", "sex": "male"})
    >>> c.warn, c.drivers.index[0] in ("sex", "pregnant")
    (True, True)
    >>> conflict(m, {"shooting_pain": "yes", "back_pain": "yes"}).warn
    False
    """
    _check_conflict_options(n_sim, level)
    ctx = _context(model)
    from legnumb.analysis.whatif import Analysis

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
