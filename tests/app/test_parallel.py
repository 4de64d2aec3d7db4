"""Tests for legnumb.app.parallel: forked workers give the results of a plain loop, in order."""

from __future__ import annotations

import pytest

from legnumb.app.parallel import WORK, fresh_engine, pmap, shared


def _square_plus(i: int) -> int:
    return i * i + WORK["offset"]


def test_pmap_in_order_with_and_without_workers():
    seen = []
    with shared(offset=10):
        one = pmap(_square_plus, 6, jobs=1, progress=seen.append)
        two = pmap(_square_plus, 6, jobs=2)
    assert one == two == [10, 11, 14, 19, 26, 35]
    assert seen == one
    assert WORK == {}


def test_shared_clears_after_an_error():
    with pytest.raises(RuntimeError), shared(offset=1):
        raise RuntimeError("boom")
    assert WORK == {}


def test_fresh_engine_recompiles_the_shared_model(model):
    with shared(model=model):
        fresh_engine()
        assert WORK["model"].engine is not model.engine
        assert WORK["model"].priors is model.priors
    fresh_engine()  # nothing shared: nothing to do
