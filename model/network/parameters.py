"""Many variants of the priors at once: numbers as a matrix, node arrays as batches.

:meth:`PriorSet.with_value <legnumb.network.priors.PriorSet.with_value>` changes one number
at a time, which is what a reviewer reads but far too slow for sensitivity analysis, where a
case is rescored under hundreds or thousands of variants. A :class:`ParameterSpace` holds
every hand-set number as one position of a vector ``theta`` (``priors.numbers`` order) and
turns a matrix of variants ``(B, n_numbers)`` into one batched array per node, ready for the
engine's ``cpt_values`` or :meth:`IndependentNetwork.replace_values
<legnumb.network.independent.IndependentNetwork.replace_values>`: ``(B, *cpt.shape)`` for a
history or cause table, ``(B, 1 + n_parents, S)`` (leak, then each parent cause's
distribution) for a noisy-MAX finding. The expansion is :meth:`PriorSet.expand_batch
<legnumb.network.priors.PriorSet.expand_batch>`, the one implementation of the plain
tables, logistic cause tables and noisy-MAX findings, of which :meth:`PriorSet.expand` is
the batch of one.

It also makes the two kinds of variants the sensitivity analysis needs:

* :meth:`ParameterSpace.one_at_a_time` sets one number per row and rescales its siblings
  proportionally, exactly as :meth:`PriorSet.with_value` does;
* :meth:`ParameterSpace.draw` draws every number jointly within its stated range (the draw
  scheme is documented there): probabilities uniform on the logit scale, odds ratios
  uniform on the log scale.

Examples
--------
>>> import numpy as np
>>> from legnumb.network.priors import example_priors
>>> priors = example_priors()
>>> space = ParameterSpace.from_priors(priors)
>>> space.n_numbers == len(priors.numbers)
True
>>> pid = priors.get("history", node="sex", state="female").param_id
>>> theta = space.one_at_a_time([space.index(pid)], [0.5])
>>> space.expand(theta, nodes=["sex"])["sex"]  # female, male: siblings rescaled
array([[0.5, 0.5]])
>>> space.base_values["onset"].shape  # leak, stroke, sciatica x 3 states
(3, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from legnumb.errors import InvalidArgumentError, UnknownNameError
from legnumb.network.cpt import CPT
from legnumb.network.independent import NoisyMax
from legnumb.network.priors import PriorSet, value_problem

__all__ = ["ParameterSpace"]


class ParameterSpace:
    """Every number of a :class:`PriorSet` as a vector, with batched expansion.

    Build it with :meth:`from_priors`.

    Attributes
    ----------
    priors : PriorSet
        The numbers and their metadata.
    param_ids, values, low, high
        Per number, in ``priors.numbers`` order (``values``, ``low``, ``high`` are arrays).
    is_ratio : numpy.ndarray
        Per number, True for an odds ratio (a positive number, varied on the log scale),
        False for a probability (varied on the logit scale).
    node_of : tuple of str
        The node whose array each number enters (each number enters exactly one).
    group : numpy.ndarray
        Sibling group of each number: numbers of one distribution (that must sum to 1) share
        a group id; free numbers (baselines, odds ratios, the numbers of yes/no findings)
        have ``-1``.
    base : dict of str to CPT or NoisyMax
        The expanded nodes of the base priors, in schema order.
    base_values : dict of str to numpy.ndarray
        The arrays of the base priors, one variant: ``cpt.values`` for a table, the
        ``(1 + n_parents, S)`` stack of leak and links for a finding.
    parents : dict of str to tuple of str
        The parents of every node.
    """

    def __init__(self, priors: PriorSet) -> None:
        nums = priors.numbers
        self.priors = priors
        self.param_ids: tuple[str, ...] = tuple(n.param_id for n in nums)
        self._pos = {pid: i for i, pid in enumerate(self.param_ids)}
        self.values = np.array([n.value for n in nums], dtype=float)
        self.low = np.array([n.low for n in nums], dtype=float)
        self.high = np.array([n.high for n in nums], dtype=float)
        self.is_ratio = np.array([n.is_ratio for n in nums], dtype=bool)
        self.node_of: tuple[str, ...] = tuple(n.node for n in nums)
        group = np.full(len(nums), -1, dtype=np.int64)
        keys: dict[tuple, int] = {}
        for i, n in enumerate(nums):
            if priors.siblings(n.param_id):
                key = (n.node, n.kind, n.parent, n.parent_state)
                group[i] = keys.setdefault(key, len(keys))
        self.group = group
        self.base: dict[str, CPT | NoisyMax] = {_name(x): x for x in priors.expand()}
        self.base_values: dict[str, np.ndarray] = {
            node: _values(x) for node, x in self.base.items()
        }
        self.parents: dict[str, tuple[str, ...]] = {
            node: tuple(x.parents) for node, x in self.base.items()
        }

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
        return tuple(self.base)

    def index(self, param_id: str) -> int:
        """Position of ``param_id`` in ``theta``; UnknownNameError for an unknown id."""
        try:
            return self._pos[param_id]
        except KeyError:
            raise UnknownNameError(f"unknown param_id {param_id!r}") from None

    def numbers_of(self, node: str) -> np.ndarray:
        """Positions of the numbers that enter the array of ``node``."""
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
        the distribution still sums to 1, exactly as :meth:`PriorSet.with_value` does. A
        probability must lie in ``[1e-9, 1 - 1e-9]``, an odds ratio must be finite and > 0.

        Returns
        -------
        numpy.ndarray
            ``(len(indices), n_numbers)``; every other number keeps its base value.

        Examples
        --------
        >>> from legnumb.network.priors import example_priors
        >>> space = ParameterSpace.from_priors(example_priors())
        >>> i = space.index("history:age_group|prior|=|under_40")
        >>> theta = space.one_at_a_time([i], [0.5])
        >>> round(float(theta[0, space.siblings_of(i)].sum()), 12)
        0.5
        >>> j = space.index("causes:stroke|odds_ratio|atrial_fibrillation=yes|present")
        >>> float(space.one_at_a_time([j], [8.0])[0, j])  # an odds ratio, not a probability
        8.0
        """
        indices = np.asarray(indices, dtype=np.int64)
        xs = np.asarray(xs, dtype=float)
        if indices.shape != xs.shape or indices.ndim != 1:
            raise InvalidArgumentError(
                f"expected indices and xs as 1-d sequences of one length. "
                f"Got shapes {indices.shape} and {xs.shape} instead."
            )
        numbers = self.priors.numbers
        for i, x in zip(indices, xs, strict=True):
            message = value_problem(numbers[int(i)], float(x))
            if message:
                raise InvalidArgumentError(f"{self.param_ids[int(i)]}: {message}")
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

        1. **Odds ratios**: ``log(x) ~ Uniform(log(low), log(high))``, so ``x`` stays in
           ``[low, high]`` and moves on a relative scale (a range OR x/÷ k is symmetric).
        2. **Free probabilities** (baselines, the leaks and links of yes/no findings):
           ``logit(x) ~ Uniform(logit(low), logit(high))``, so ``x`` stays in
           ``[low, high]`` and small probabilities move on a relative scale.
        3. **Two-state distributions** (e.g. P(sex), P(laterality | cause)): the first
           number of the pair, in file order, is drawn as a free number; the other is its
           complement ``1 - x``. (Odds x/÷ k ranges of complementary numbers are
           complementary, so both stay in range.)
        4. **Distributions of three or more states** (e.g. P(age_group), P(onset | cause)):
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
        >>> from legnumb.network.priors import example_priors
        >>> space = ParameterSpace.from_priors(example_priors())
        >>> theta = space.draw(200, rng=np.random.default_rng(0))
        >>> theta.shape == (200, space.n_numbers)
        True
        >>> bool(np.allclose(np.bincount(space.group[space.group >= 0],
        ...      weights=theta[0, space.group >= 0]), 1.0))
        True
        """
        if not isinstance(n, int | np.integer) or n < 1:
            raise InvalidArgumentError(f"expected n as an int >= 1. Got {n!r} instead.")
        r = self.is_ratio
        lo = np.where(r, np.log(self.low), _logit(np.where(r, 0.5, self.low)))
        hi = np.where(r, np.log(self.high), _logit(np.where(r, 0.5, self.high)))
        u = rng.uniform(size=(int(n), self.n_numbers))
        z = lo + u * (hi - lo)
        theta = np.where(r, np.exp(z), _expit(z))
        for g in range(int(self.group.max(initial=-1)) + 1):
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
        self, theta: np.ndarray, *, nodes: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Batched arrays of ``nodes`` (default: all) for the variants ``theta``.

        This is :meth:`PriorSet.expand_batch <legnumb.network.priors.PriorSet.expand_batch>`,
        the one expansion of numbers into the network's arrays.

        Parameters
        ----------
        theta : numpy.ndarray
            ``(B, n_numbers)`` (or ``(n_numbers,)`` for one variant).
        nodes : iterable of str, optional
            The nodes to expand.

        Returns
        -------
        dict of str to numpy.ndarray
            ``node -> (B, *base_values[node].shape)``.
        """
        return self.priors.expand_batch(theta, nodes=nodes)


def _name(x: CPT | NoisyMax) -> str:
    return x.variable if isinstance(x, CPT) else x.node


def _values(x: CPT | NoisyMax) -> np.ndarray:
    return x.values if isinstance(x, CPT) else np.vstack([x.leak[None, :], x.links])


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
