"""Conditional probability tables as plain numpy arrays, free of any pgmpy type.

A :class:`CPT` is what the priors expand into, what :mod:`legnumb.network.bayesnet` turns into
a pgmpy ``TabularCPD``, and what :mod:`legnumb.inference.engine` compiles. Axes are addressed
by name: axis 0 is ``variable``, the following axes are ``parents`` in order, and every axis carries its state
names.

Examples
--------
>>> import numpy as np
>>> cpt = CPT("rain", (), {"rain": ("no", "yes")}, np.array([0.8, 0.2]))
>>> cpt.prob("yes")
0.2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legnumb.errors import InvalidArgumentError

__all__ = ["CPT"]


@dataclass(frozen=True)
class CPT:
    """P(variable | parents) as an array of shape ``(k_variable, k_parent_1, ...)``.

    Parameters
    ----------
    variable : str
        The child node.
    parents : tuple of str
        Parent nodes, in axis order.
    states : dict of str to tuple of str
        State names of ``variable`` and of every parent.
    values : numpy.ndarray
        Probabilities; every column (fixed parent states) sums to 1.
    """

    variable: str
    parents: tuple[str, ...]
    states: dict[str, tuple[str, ...]]
    values: np.ndarray

    def __post_init__(self) -> None:
        expected = tuple(len(self.states[v]) for v in (self.variable, *self.parents))
        if self.values.shape != expected:
            raise InvalidArgumentError(
                f"CPT of {self.variable!r} must have shape {expected} "
                f"(variable, *parents). Got shape {self.values.shape} instead."
            )

    @property
    def scope(self) -> tuple[str, ...]:
        """``(variable, *parents)``: the names of the axes."""
        return (self.variable, *self.parents)

    def prob(self, state: str, **parent_states: str) -> float:
        """P(variable = state | parents = parent_states), addressed by state names."""
        index = [self.states[self.variable].index(state)]
        index += [self.states[p].index(parent_states[p]) for p in self.parents]
        return float(self.values[tuple(index)])
