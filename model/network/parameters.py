"""Many variants of the priors at once: numbers as a matrix, CPTs as batched arrays.

:class:`~legnumb.network.priors.PriorSet` changes one number at a time and expands one variant at a
time, which is what a reviewer reads but far too slow for sensitivity analysis, where a
case is rescored under hundreds or thousands of variants. A :class:`ParameterSpace` holds
every hand-set number as one position of a vector ``theta`` (``priors.numbers`` order) and
turns a matrix of variants ``(B, n_numbers)`` into one batched CPT array ``(B, *cpt.shape)``
per node, ready for :meth:`legnumb.inference.engine.Engine.query` (``cpt_values``). The
expansion is the same as :meth:`PriorSet.expand` (plain tables, noisy-OR, noisy-average mixtures), vectorized
over the batch axis.

It also makes the two kinds of variants the sensitivity analysis needs:

* :meth:`ParameterSpace.one_at_a_time` sets one number per row and rescales its siblings
  proportionally, exactly as :meth:`PriorSet.with_value` does;
* :meth:`ParameterSpace.draw` draws every number jointly within its stated range (the draw
  scheme is documented there).

Examples
--------
>>> import numpy as np
>>> from legnumb.network.priors import load_priors
>>> priors = load_priors()
>>> space = ParameterSpace.from_priors(priors)
>>> space.n_numbers == len(priors.numbers)
True
>>> pid = priors.get("history", node="sex", state="female").param_id
>>> theta = space.one_at_a_time([space.index(pid)], [0.5])
>>> space.expand(theta, nodes=["sex"])["sex"]  # female, male: siblings rescaled
array([[0.5, 0.5]])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from legnumb.errors import InvalidArgumentError, UnknownNameError
from legnumb.network.cpt import CPT
from legnumb.network.priors import PriorSet, probability_problem

__all__ = ["ParameterSpace"]

_ON_STATES = ("present", "yes")


@dataclass(frozen=True)
class _Table:
    flat: np.ndarray  # flat CPT position of each number
    pidx: np.ndarray  # position of each number in theta


@dataclass(frozen=True)
class _NoisyOr:
    on: int
    leak: int
    links: tuple[tuple[int, int, int], ...]  # (theta position, parent axis, parent state)


@dataclass(frozen=True)
class _Mixture:
    leak: np.ndarray  # (S,) theta positions
    weight: int
    dists: np.ndarray  # (k, S) theta positions
    present: np.ndarray  # (k,) code of "present" of each parent
    inv_count: np.ndarray  # (2^k,) 1 / number of present causes (0 where none)
    none: np.ndarray  # (2^k,) True where no parent cause is present


class ParameterSpace:
    """Every number of a :class:`PriorSet` as a vector, with batched CPT expansion.

    Build it with :meth:`from_priors`.

    Attributes
    ----------
    priors : PriorSet
        The numbers and their metadata.
    param_ids, values, low, high
        Per number, in ``priors.numbers`` order (``values``, ``low``, ``high`` are arrays).
    node_of : tuple of str
        The node whose CPT each number enters (each number enters exactly one CPT).
    group : numpy.ndarray
        Sibling group of each number: numbers of one distribution (that must sum to 1) share
        a group id; free numbers (noisy-OR leaks and links, leak shares) have ``-1``.
    base_cpts : dict of str to CPT
        The expanded CPTs of the base priors.
    """

    def __init__(self, priors: PriorSet) -> None:
        nums = priors.numbers
        self.priors = priors
        self.param_ids: tuple[str, ...] = tuple(n.param_id for n in nums)
        self._pos = {pid: i for i, pid in enumerate(self.param_ids)}
        self.values = np.array([n.value for n in nums], dtype=float)
        self.low = np.array([n.low for n in nums], dtype=float)
        self.high = np.array([n.high for n in nums], dtype=float)
        self.node_of: tuple[str, ...] = tuple(n.node for n in nums)
        group = np.full(len(nums), -1, dtype=np.int64)
        keys: dict[tuple, int] = {}
        for i, n in enumerate(nums):
            if priors.siblings(n.param_id):
                key = (n.node, n.kind, n.parent, n.parent_state)
                group[i] = keys.setdefault(key, len(keys))
        self.group = group
        self.base_cpts: dict[str, CPT] = {c.variable: c for c in priors.expand()}
        self._recipes = {node: self._recipe(node) for node in self.base_cpts}

    @classmethod
    def from_priors(cls, priors: PriorSet) -> ParameterSpace:
        """The parameter space of ``priors``."""
        return cls(priors)

    # ------------------------------------------------------------------ lookup
    @property
    def n_numbers(self) -> int:
        """How many hand-set numbers there are."""
        return len(self.param_ids)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names, in schema order."""
        return tuple(self.base_cpts)

    def index(self, param_id: str) -> int:
        """Position of ``param_id`` in ``theta``; KeyError for an unknown id."""
        try:
            return self._pos[param_id]
        except KeyError:
            raise UnknownNameError(f"unknown param_id {param_id!r}") from None

    def numbers_of(self, node: str) -> np.ndarray:
        """Positions of the numbers that enter the CPT of ``node``."""
        return np.flatnonzero(np.asarray(self.node_of) == node)

    def siblings_of(self, i: int) -> np.ndarray:
        """Positions of the other numbers of the distribution of number ``i`` (maybe none)."""
        if self.group[i] < 0:
            return np.empty(0, dtype=np.int64)
        same = np.flatnonzero(self.group == self.group[i])
        return same[same != i]

    # ------------------------------------------------------------------ variants
    def one_at_a_time(self, indices: Sequence[int], xs: Sequence[float]) -> np.ndarray:
        """Variants that each change one number: row ``r`` sets number ``indices[r]`` to ``xs[r]``.

        The siblings of the changed number are scaled by ``(1 - x) / (sum of siblings)``, so
        the distribution still sums to 1, exactly as :meth:`PriorSet.with_value` does.

        Returns
        -------
        numpy.ndarray
            ``(len(indices), n_numbers)``; every other number keeps its base value.

        Examples
        --------
        >>> from legnumb.network.priors import load_priors
        >>> space = ParameterSpace.from_priors(load_priors())
        >>> i = space.index("history:age_group|prior|=|under_40")
        >>> theta = space.one_at_a_time([i], [0.5])
        >>> round(float(theta[0, space.siblings_of(i)].sum()), 12)
        0.5
        """
        indices = np.asarray(indices, dtype=np.int64)
        xs = np.asarray(xs, dtype=float)
        if indices.shape != xs.shape or indices.ndim != 1:
            raise InvalidArgumentError(
                f"expected indices and xs as 1-d sequences of one length. "
                f"Got shapes {indices.shape} and {xs.shape} instead."
            )
        for x in xs:
            message = probability_problem(float(x), outside="must lie in (0, 1)")
            if message:
                raise InvalidArgumentError(f"a probability {message}")
        theta = np.tile(self.values, (len(indices), 1))
        for r, (i, x) in enumerate(zip(indices, xs, strict=True)):
            sib = self.siblings_of(int(i))
            if sib.size:
                rest = self.values[sib].sum()
                theta[r, sib] = self.values[sib] * ((1.0 - x) / rest if rest > 0 else 0.0)
            theta[r, i] = x
        return theta

    def draw(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` variants with every number moving jointly within its stated range.

        The draw scheme, for each variant independently:

        1. **Free numbers** (noisy-OR leaks and links, and the leak share of a mixture):
           ``logit(x) ~ Uniform(logit(low), logit(high))``, so ``x`` stays in
           ``[low, high]`` and small probabilities move on a relative scale.
        2. **Two-state distributions** (e.g. P(sex)): the first number of the pair, in file
           order, is drawn as a free number; the other is its complement ``1 - x``. (Every
           pair in the shipped priors has complementary ranges, so both stay in range.)
        3. **Distributions of three or more states** (e.g. P(age_group), P(onset | cause)):
           every number is drawn as a free number, then all are divided by their sum. After
           this renormalization a number may end slightly outside its stated range;
           :meth:`in_range` measures how often.

        Parameters
        ----------
        n : int
            Number of variants.
        rng : numpy.random.Generator
            The random source; pass ``np.random.default_rng(seed)`` for reproducibility.

        Returns
        -------
        numpy.ndarray
            ``(n, n_numbers)``.

        Examples
        --------
        >>> from legnumb.network.priors import load_priors
        >>> space = ParameterSpace.from_priors(load_priors())
        >>> theta = space.draw(200, rng=np.random.default_rng(0))
        >>> theta.shape == (200, space.n_numbers)
        True
        >>> bool(np.allclose(np.bincount(space.group[space.group >= 0],
        ...      weights=theta[0, space.group >= 0]), 1.0))
        True
        """
        if not isinstance(n, int | np.integer) or n < 1:
            raise InvalidArgumentError(f"expected n as an int >= 1. Got {n!r} instead.")
        lo, hi = _logit(self.low), _logit(self.high)
        u = rng.uniform(size=(int(n), self.n_numbers))
        theta = _expit(lo + u * (hi - lo))
        for g in range(int(self.group.max()) + 1):
            members = np.flatnonzero(self.group == g)
            if len(members) == 2:
                theta[:, members[1]] = 1.0 - theta[:, members[0]]
            else:
                theta[:, members] /= theta[:, members].sum(axis=1, keepdims=True)
        return theta

    def in_range(self, theta: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
        """Boolean ``(B, n_numbers)``: whether each number lies within its ``[low, high]``."""
        theta = np.atleast_2d(theta)
        return (theta >= self.low - tol) & (theta <= self.high + tol)

    # ------------------------------------------------------------------ expansion
    def expand(
        self,
        theta: np.ndarray,
        *,
        nodes: Iterable[str] | None = None,
        observed: Mapping[str, str] | None = None,
    ) -> dict[str, np.ndarray]:
        """Batched CPT arrays of ``nodes`` (default: all) for the variants ``theta``.

        Parameters
        ----------
        theta : numpy.ndarray
            ``(B, n_numbers)`` (or ``(n_numbers,)`` for one variant).
        nodes : iterable of str, optional
            The nodes to expand.
        observed : mapping of str to str, optional
            Evidence ``{node: state}``. The CPT of an observed node enters every query with
            that evidence only through its row ``P(node = state | parents)``, so for the
            noisy-average mixture nodes listed here only that row is computed; the other
            rows are filled to keep every column a distribution (the complement on one
            other state). Posteriors given this evidence are unchanged; the tables are not
            the node's true CPT.

        Returns
        -------
        dict of str to numpy.ndarray
            ``node -> (B, *base_cpts[node].values.shape)``, axes as in the base CPT.
        """
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if theta.ndim != 2 or theta.shape[1] != self.n_numbers:
            raise InvalidArgumentError(
                f"expected theta of shape (B, {self.n_numbers}). Got {theta.shape} instead."
            )
        observed = observed or {}
        out = {}
        for node in self.nodes if nodes is None else nodes:
            if node not in self._recipes:
                raise UnknownNameError(f"unknown node {node!r}")
            obs = observed.get(node)
            code = None if obs is None else self.base_cpts[node].states[node].index(obs)
            out[node] = self._expand_node(node, theta, code)
        return out

    def _recipe(self, node: str):
        cpt = self.base_cpts[node]
        idx = self.numbers_of(node)
        nums = [self.priors.numbers[i] for i in idx]
        kinds = {n.kind for n in nums}
        states = cpt.states[node]
        if "prior" in kinds:
            flat = []
            for n in nums:
                pos = [states.index(n.state)]
                if cpt.parents:
                    pos.append(cpt.states[cpt.parents[0]].index(n.parent_state))
                flat.append(np.ravel_multi_index(tuple(pos), cpt.values.shape))
            return _Table(np.array(flat, dtype=np.int64), idx)
        if "leak_weight" in kinds:
            pos = {(n.kind, n.parent, n.state): i for n, i in zip(nums, idx, strict=True)}
            k = len(cpt.parents)
            grid = np.array(np.meshgrid(*[[0, 1]] * k, indexing="ij")).reshape(k, -1).T
            present = np.array([cpt.states[p].index("present") for p in cpt.parents])
            on = (grid == present).astype(float)
            count = on.sum(axis=1)
            return _Mixture(
                leak=np.array([pos[("leak", "", s)] for s in states]),
                weight=pos[("leak_weight", "", "")],
                dists=np.array([[pos[("link", p, s)] for s in states] for p in cpt.parents]),
                present=present,
                inv_count=np.divide(1.0, count, out=np.zeros_like(count), where=count > 0),
                none=count == 0,
            )
        on_state = next(s for s in states if s in _ON_STATES)
        leak = next(i for n, i in zip(nums, idx, strict=True) if n.kind == "leak")
        links = tuple(
            (int(i), cpt.parents.index(n.parent), cpt.states[n.parent].index(n.parent_state))
            for n, i in zip(nums, idx, strict=True)
            if n.kind == "link"
        )
        return _NoisyOr(states.index(on_state), int(leak), links)

    def _expand_node(self, node: str, theta: np.ndarray, obs: int | None = None) -> np.ndarray:
        cpt = self.base_cpts[node]
        shape = cpt.values.shape
        b = theta.shape[0]
        r = self._recipes[node]
        if isinstance(r, _Table):
            out = np.zeros((b, int(np.prod(shape))))
            out[:, r.flat] = theta[:, r.pidx]
            return out.reshape((b, *shape))
        if isinstance(r, _NoisyOr):
            pshape = shape[1:]
            q = np.broadcast_to(
                (1.0 - theta[:, r.leak]).reshape((b,) + (1,) * len(pshape)), (b, *pshape)
            )
            for i, axis, state in r.links:
                factor = np.ones((b, pshape[axis]))
                factor[:, state] = 1.0 - theta[:, i]
                q = q * factor.reshape([b] + [-1 if a == axis else 1 for a in range(len(pshape))])
            out = np.empty((b, *shape))
            out[:, r.on] = 1.0 - q
            out[:, 1 - r.on] = q
            return out
        weight = theta[:, r.weight]  # (B,)
        if obs is not None:  # only the observed row: P(node = obs | parents), (B, G)
            lik = _subset_sums(theta[:, r.dists[:, obs]], r.present)
            lik *= (1.0 - weight)[:, None] * r.inv_count[None, :]
            lik += (weight * theta[:, r.leak[obs]])[:, None]
            lik[:, r.none] = theta[:, r.leak[obs]][:, None]
            out = np.zeros((b, shape[0], lik.shape[1]))
            out[:, obs] = lik
            out[:, (obs + 1) % shape[0]] = 1.0 - lik
            return out.reshape((b, *shape))
        leak = theta[:, r.leak]  # (B, S)
        dists = theta[:, r.dists].transpose(0, 2, 1)  # (B, S, k)
        # (1 - w) * mean of the present causes' distributions + w * leak, laid out (B, S, G)
        out = _subset_sums(dists, r.present)
        out *= (1.0 - weight)[:, None, None] * r.inv_count[None, None, :]
        out += (weight[:, None] * leak)[:, :, None]
        out[:, :, r.none] = leak[:, :, None]
        return out.reshape((b, *shape))


def _subset_sums(d: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Sums of ``d[..., p]`` over the present parents, for every parent configuration.

    ``d`` is ``(..., k)``; the result is ``(..., 2^k)`` with configurations in C order
    (first parent slowest) and parent ``p`` present at code ``present[p]``. Built by
    doubling, without BLAS (tiny matrix products are slow when BLAS threads compete).

    >>> _subset_sums(np.array([[1.0, 10.0]]), np.array([1, 1]))
    array([[ 0., 10.,  1., 11.]])
    """
    out = np.zeros((*d.shape[:-1], 1))
    for p in range(d.shape[-1]):
        step = d[..., p, None]
        pair = (out + step, out) if present[p] == 0 else (out, out + step)
        out = np.stack(pair, axis=-1).reshape(*d.shape[:-1], -1)
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
