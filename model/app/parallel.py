"""A small pool of forked worker processes for per-case work (analyses, figures).

:func:`pmap` runs ``fn(0), ..., fn(n - 1)`` in ``jobs`` processes forked from this one, so a
loaded model is shared without pickling or reloading; state the workers need is put in
:data:`WORK` just before and cleared after. Each worker first recompiles the model's engine
(:func:`fresh_engine`). Where ``fork`` is not available, or with ``jobs=1``, the calls run here,
in order. Results come back in order either way, so they never depend on ``jobs``.

Examples
--------
>>> pmap(lambda i: i * i, 4, jobs=1)
[0, 1, 4, 9]
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["WORK", "fresh_engine", "pmap", "shared"]

#: State shared with forked worker processes (set just before forking, cleared after).
WORK: dict[str, Any] = {}


@contextlib.contextmanager
def shared(**values: Any) -> Iterator[dict[str, Any]]:
    """``with shared(model=m, cases=c): ...`` puts values in :data:`WORK` and clears it after.

    >>> with shared(x=1):
    ...     WORK["x"]
    1
    >>> WORK
    {}
    """
    WORK.update(values)
    try:
        yield WORK
    finally:
        WORK.clear()


def fresh_engine() -> None:
    """In a forked worker: recompile the model's engine (``WORK["model"]``) from its priors.

    The parent's engine holds caches and buffers that another thread may have been using at
    the moment of the fork; a worker must not inherit them half-updated.
    """
    from dataclasses import replace

    from legnumb.inference.independent import IndependentEngine

    model = WORK.get("model")
    if model is not None:
        engine = IndependentEngine.from_network(model.priors.network())
        WORK["model"] = replace(model, engine=engine)


def pmap(
    fn: Callable[[int], Any],
    n: int,
    *,
    jobs: int,
    progress: Callable[[Any], None] | None = None,
) -> list:
    """``[fn(0), ..., fn(n - 1)]``, in ``jobs`` forked processes when possible.

    Parameters
    ----------
    fn : callable
        Called with each index; it reads what it needs from :data:`WORK`. With ``jobs > 1``
        it must be a module-level function (it is sent to the workers by name).
    n : int
        Number of calls.
    jobs : int
        Worker processes; 1 runs every call in this process.
    progress : callable, optional
        Called with each result, in order, as it arrives.
    """
    out = []
    if jobs <= 1 or n <= 1 or "fork" not in mp.get_all_start_methods():
        for i in range(n):
            out.append(fn(i))
            if progress:
                progress(out[-1])
        return out
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=fresh_engine) as pool:
        for res in pool.map(fn, range(n)):
            out.append(res)
            if progress:
                progress(res)
    return out
