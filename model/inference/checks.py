"""Argument checks shared by the engines: evidence codes and target names.

Both :class:`legnumb.inference.engine.Engine` and
:class:`legnumb.inference.independent.IndependentEngine` take evidence as ``(B, n_vars)``
integer codes (``-1`` = unobserved) and targets by node name; the checks and their messages
live here once.

Examples
--------
>>> import numpy as np
>>> check_codes(np.array([[0, -1]]), ("a", "b"), np.array([2, 3]), "Engine").tolist()
[[0, -1]]
>>> check_targets(["b", "a", "b"], ("a", "b"))
(1, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from legnumb.errors import EngineError, UnknownNameError

__all__ = ["check_codes", "check_targets"]


def check_codes(codes: Any, names: Sequence[str], card: np.ndarray, owner: str) -> np.ndarray:
    """``codes`` as an int64 ``(B, len(names))`` array of states in ``-1 .. card - 1``.

    Raises
    ------
    EngineError
        For a wrong shape or dtype, or a code out of range (naming the node and the row).
    """
    arr = np.asarray(codes)
    n = len(names)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise EngineError(
            f"expected codes of shape (B, {n}) (one column per node, see "
            f"{owner}.variables). Got shape {arr.shape} instead."
        )
    if arr.dtype.kind not in "iu":
        raise EngineError(f"expected integer codes. Got dtype {arr.dtype} instead.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        bad = (arr < -1) | (arr >= np.asarray(card, dtype=np.int64))
        if bad.any():
            b, i = map(int, np.argwhere(bad)[0])
            raise EngineError(
                f"expected codes of {names[i]!r} in -1..{int(card[i]) - 1}. "
                f"Got {int(arr[b, i])} in row {b} instead."
            )
    return arr


def check_targets(targets: Sequence[str] | str | None, names: Sequence[str]) -> tuple[int, ...]:
    """Indexes of the target nodes, without repeats (every node when ``targets`` is None).

    Raises
    ------
    UnknownNameError
        For a name that is not a node.
    """
    if targets is None:
        return tuple(range(len(names)))
    if isinstance(targets, str):
        targets = (targets,)
    index = {n: i for i, n in enumerate(names)}
    idx = []
    for t in targets:
        if t not in index:
            raise UnknownNameError(
                f"expected target nodes of the network. Got {t!r} instead; known nodes: "
                f"{', '.join(names)}."
            )
        idx.append(index[t])
    return tuple(dict.fromkeys(idx))
