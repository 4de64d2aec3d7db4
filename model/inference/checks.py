"""Argument checks shared by the engines: evidence dicts, evidence codes and target names.

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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from legnumb.errors import EngineError, InvalidTypeError, UnknownNameError

__all__ = [
    "batch_rows",
    "check_codes",
    "check_overrides",
    "check_targets",
    "distinct_rows",
    "encode_evidence",
]


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


def encode_evidence(
    evidences: Sequence[Mapping[str, str | None]],
    names: Sequence[str],
    states: Mapping[str, Sequence[str]],
) -> np.ndarray:
    """Evidence dicts (node -> state name; None = unobserved) as ``(B, len(names))`` codes.

    >>> encode_evidence([{"b": "t"}, {}], ("a", "b"), {"a": ("f", "t"), "b": ("f", "t")})
    array([[-1,  1],
           [-1, -1]])

    Raises
    ------
    InvalidTypeError
        For a single mapping instead of a sequence of them.
    UnknownNameError
        For an unknown node name.
    EngineError
        For an unknown state name.
    """
    if isinstance(evidences, Mapping):
        raise InvalidTypeError(
            "expected a sequence of evidence dicts (one per row). Got a single mapping "
            "instead; wrap it in a list."
        )
    index = {n: i for i, n in enumerate(names)}
    lookup: dict[str, dict[str, int]] = {}
    codes = np.full((len(evidences), len(names)), -1, dtype=np.int64)
    for b, ev in enumerate(evidences):
        for var, state in ev.items():
            col = index.get(var)
            if col is None:
                raise UnknownNameError(
                    f"expected a node of the network in row {b}. Got {var!r} instead; "
                    f"known nodes: {', '.join(names)}."
                )
            if state is None:
                continue
            if var not in lookup:
                lookup[var] = {s: j for j, s in enumerate(states[var])}
            code = lookup[var].get(state)
            if code is None:
                raise EngineError(
                    f"expected a state of {var!r} in row {b}, one of "
                    f"{tuple(states[var])}. Got {state!r} instead."
                )
            codes[b, col] = code
    return codes


def batch_rows(
    codes: np.ndarray,
    overrides: Mapping[int, np.ndarray],
    names: Sequence[str],
    n_threads: Any,
    chunk_rows: Any,
) -> int:
    """The number of rows of a query: codes and per-node overrides broadcast (1 or B rows).

    Also checks ``n_threads`` (an int >= 1) and ``chunk_rows`` (None or an int >= 1).

    >>> batch_rows(np.zeros((1, 2), dtype=int), {0: np.ones((3, 2))}, ("a", "b"), 1, None)
    3

    Raises
    ------
    EngineError
        When a count is not a positive int, or the row counts do not broadcast.
    """
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise EngineError(f"expected n_threads as an int >= 1. Got {n_threads!r} instead.")
    if chunk_rows is not None and (
        isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1
    ):
        raise EngineError(f"expected chunk_rows as an int >= 1. Got {chunk_rows!r} instead.")
    n_rows = max([codes.shape[0], *(a.shape[0] for a in overrides.values())])
    for v, a in overrides.items():
        if a.shape[0] not in (1, n_rows):
            raise EngineError(
                f"expected cpt_values[{names[v]!r}] with {n_rows} or 1 rows. "
                f"Got {a.shape[0]} rows instead."
            )
    if codes.shape[0] not in (1, n_rows):
        raise EngineError(
            f"expected codes with {n_rows} or 1 rows (as many as cpt_values). "
            f"Got {codes.shape[0]} rows instead."
        )
    return n_rows


def check_overrides(
    cpt_values: Mapping[str, Any] | None,
    names: Sequence[str],
    shape_of: Callable[[int], tuple[int, ...]],
) -> dict[int, np.ndarray]:
    """``cpt_values`` keyed by node index, as float arrays of shape ``(B, *shape_of(node))``.

    Each engine then checks and normalizes the numbers its own way.

    >>> check_overrides({"b": [[0.5, 0.5]]}, ("a", "b"), lambda v: (2,))
    {1: array([[0.5, 0.5]])}

    Raises
    ------
    UnknownNameError
        For a name that is not a node.
    EngineError
        For an array of the wrong shape.
    """
    if not cpt_values:
        return {}
    index = {n: i for i, n in enumerate(names)}
    out = {}
    for name, vals in cpt_values.items():
        if name not in index:
            raise UnknownNameError(
                f"expected cpt_values keyed by nodes of the network. Got {name!r} instead."
            )
        v = index[name]
        arr = np.asarray(vals, dtype=np.float64)
        shape = tuple(shape_of(v))
        if arr.ndim != len(shape) + 1 or arr.shape[1:] != shape:
            raise EngineError(
                f"expected cpt_values[{name!r}] of shape (B, *{shape}). "
                f"Got shape {arr.shape} instead."
            )
        out[v] = arr
    return out


#: Odd 64-bit multipliers for :func:`distinct_rows`' row hash (fixed: same input, same order).
_ROW_HASH = np.random.default_rng(20261124).integers(1, 2**63, size=4096, dtype=np.uint64) | 1


def distinct_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The distinct rows of ``codes`` and, for each row, the index of its distinct row.

    Returns ``(codes, None)`` when every row is distinct. Rows are grouped by a 64-bit hash
    (a sort of one number per row, not of whole rows); the grouping is then checked
    against the rows themselves, and an exact row sort is used in the (unlikely) event that
    two different rows share a hash, so the result is always exact.

    Examples
    --------
    >>> import numpy as np
    >>> work, inverse = distinct_rows(np.array([[0, -1], [1, 2], [0, -1]]))
    >>> work[inverse].tolist()
    [[0, -1], [1, 2], [0, -1]]
    >>> len(work)
    2
    """
    codes = np.asarray(codes)
    if codes.shape[0] < 2:
        return codes, None
    if codes.shape[1] and codes.min() >= -128 and codes.max() <= 127:
        # one byte per code, eight codes per 64-bit word: a few multiplies per row
        n_words = -(-codes.shape[1] // 8)
        packed = np.zeros((codes.shape[0], 8 * n_words), dtype=np.int8)
        packed[:, : codes.shape[1]] = codes
        words = packed.view(np.uint64)
        with np.errstate(over="ignore"):
            key = words[:, 0] * _ROW_HASH[0]
            for j in range(1, n_words):
                key += words[:, j] * _ROW_HASH[j]
    elif codes.shape[1] <= _ROW_HASH.size:
        with np.errstate(over="ignore"):
            key = (codes.astype(np.uint64) * _ROW_HASH[: codes.shape[1]]).sum(axis=1)
    else:
        key = None
    if key is not None:
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        work = codes[first]
        if len(work) == len(codes):
            return codes, None
        inverse = inverse.reshape(-1)
        if np.array_equal(work[inverse], codes):
            return work, inverse
    work, inverse = np.unique(codes, axis=0, return_inverse=True)
    if len(work) == len(codes):
        return codes, None
    return work, inverse.reshape(-1)
