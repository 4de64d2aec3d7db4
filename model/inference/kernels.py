"""Array kernels of the engine: rank-1 factorization, aligned buffers, row helpers.

Number crunching that does not depend on the network.
"""

from __future__ import annotations

import math

import numpy as np

from legnumb.errors import EngineError

__all__ = ["DEFAULT_CHUNK_BYTES"]


DEFAULT_CHUNK_BYTES = 256 * 2**20
"""Default bound on the working set of one chunk of rows, in bytes."""

_FAST_CHUNK_BYTES = 24 * 2**20  # preferred working set of a chunk (stays in cache)
_SUM_TOL = 1e-6  # tolerance on CPT column sums (then renormalized)
_RANK1_TOL = 1e-13  # relative tolerance of the rank-1 test of a likelihood slice
_EXPAND_MIN_STATES = 1024  # cliques from this size get expanded leaf tables
_INNER_MIN = 4096  # expanded leaf rows cover the trailing axes up to this many states
_ROW_MODE_STATES = 4096  # roots from this size run their heavy part one row at a time
_EXPAND_MAX_BYTES = 128 * 2**20  # bound on all expanded leaf tables of an engine
_MAX_PLANS = 512  # bound on the evidence patterns compiled for one batch
_ROWS_PER_PLAN = 64  # a pattern is worth compiling from about this many rows


def _rank1(t: np.ndarray) -> list[np.ndarray] | None:
    """Vectors whose outer product is ``t`` (one per axis), or None if ``t`` is not rank 1.

    Examples
    --------
    >>> vs = _rank1(np.multiply.outer([1.0, 0.5], [0.2, 0.4, 0.8]))
    >>> np.allclose(np.multiply.outer(*vs), np.multiply.outer([1.0, 0.5], [0.2, 0.4, 0.8]))
    True
    >>> _rank1(np.array([[1.0, 0.0], [0.0, 1.0]])) is None
    True
    """
    if t.ndim == 0:
        return None
    anchor = np.unravel_index(int(np.argmax(t)), t.shape)
    top = float(t[anchor])
    if top <= 0.0:
        return None
    vecs = []
    for axis in range(t.ndim):
        idx = list(anchor)
        idx[axis] = slice(None)
        vecs.append(np.array(t[tuple(idx)], dtype=np.float64) / (top if axis else 1.0))
    recon = vecs[0]
    for v in vecs[1:]:
        recon = np.multiply.outer(recon, v)
    if np.abs(recon - t).max() > _RANK1_TOL * top:
        return None
    return vecs


class _Arena:
    """A bump allocator over one float64 buffer, reused from chunk to chunk."""

    def __init__(self, n: int) -> None:
        self.buf = _aligned(n)
        self.off = 0
        self.need = 0

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        if n < 4096:  # small arrays come cheaply from malloc's free lists
            return np.empty(shape)
        step = -(-n // 8) * 8  # keep 64-byte alignment
        self.need += step
        if self.off + step <= self.buf.size:
            out = self.buf[self.off : self.off + n].reshape(shape)
            self.off += step
            return out
        return np.empty(shape)


def _aligned(n: int) -> np.ndarray:
    """An uninitialized float64 buffer of ``n`` elements starting on a 64-byte boundary."""
    raw = np.empty(max(n, 1) + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip : skip + max(n, 1)]


def _check_table(arr: np.ndarray, name: str, *, batched: bool) -> None:
    """Raise ValueError unless ``arr`` holds finite probabilities whose columns sum to 1.

    Columns may be off by up to 1e-6 (tables read from files are rounded); the engine then
    renormalizes them, so that an unobserved leaf sums out to exactly 1.
    """
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise EngineError(
            f"expected finite, non-negative probabilities in the CPT of {name!r}. "
            "Got negative, infinite or NaN entries instead."
        )
    sums = arr.sum(axis=1 if batched else 0)
    if sums.size and np.abs(sums - 1.0).max() > _SUM_TOL:
        worst = float(sums.flat[np.abs(sums - 1.0).argmax()])
        raise EngineError(
            f"expected every column of the CPT of {name!r} to sum to 1. "
            f"Got a column summing to {worst!r} instead."
        )


def _row(buf: np.ndarray | None, b: int) -> np.ndarray | None:
    """Row ``b`` of a batched buffer ``(B, ...)``, or its only row if it is shared."""
    if buf is None:
        return None
    return buf[b] if buf.shape[0] > 1 else buf[0]


def _row_tables(code_rows: list[np.ndarray], tables: list, n_rows: int) -> list[list]:
    """Per row, the expanded table rows to multiply in (codes mapped to rows >= 0)."""
    out: list[list] = [[] for _ in range(n_rows)]
    if not code_rows:
        return out
    which = np.stack(code_rows, axis=1)
    bs, js = np.nonzero(which >= 0)
    for b, j, r in zip(bs.tolist(), js.tolist(), which[bs, js].tolist(), strict=True):
        out[b].append(tables[j][r])
    return out


def _bshape2(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast shape of two shapes of equal length (every factor has the clique's ndim)."""
    return tuple(x if x != 1 else y for x, y in zip(a, b, strict=True))
