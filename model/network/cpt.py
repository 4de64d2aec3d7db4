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

from legnumb.errors import InvalidArgumentError, InvalidTypeError, UnknownNameError

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
        if not isinstance(self.values, np.ndarray):
            raise InvalidTypeError(
                f"CPT of {self.variable!r}: values must be a numpy array. "
                f"Got {type(self.values).__name__} instead."
            )
        scope = (self.variable, *self.parents)
        if len(set(scope)) != len(scope):
            raise InvalidArgumentError(
                f"CPT of {self.variable!r}: every axis needs its own name. Got {scope} instead."
            )
        missing = [v for v in scope if v not in self.states]
        if missing:
            raise InvalidArgumentError(
                f"CPT of {self.variable!r}: states must name the states of every axis; "
                f"missing for {', '.join(missing)}."
            )
        expected = tuple(len(self.states[v]) for v in scope)
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
        """P(variable = state | parents = parent_states), addressed by state names.

        Raises
        ------
        UnknownNameError
            For a state or parent that does not exist.
        InvalidArgumentError
            When the state of a parent is not given.
        """
        unknown = [p for p in parent_states if p not in self.parents]
        if unknown:
            raise UnknownNameError(
                f"{', '.join(unknown)}: not a parent of {self.variable}; "
                f"parents: {', '.join(self.parents) or '(none)'}"
            )
        missing = [p for p in self.parents if p not in parent_states]
        if missing:
            raise InvalidArgumentError(
                f"P({self.variable} | ...) needs the state of every parent; "
                f"missing: {', '.join(missing)}."
            )
        index = [self._code(self.variable, state)]
        index += [self._code(p, parent_states[p]) for p in self.parents]
        return float(self.values[tuple(index)])

    def _code(self, axis: str, state: str) -> int:
        try:
            return self.states[axis].index(state)
        except ValueError:
            raise UnknownNameError(
                f"unknown state {state!r} of {axis}; expected one of {', '.join(self.states[axis])}"
            ) from None
