"""Tests for legnumb.inference.kernels: rank-1 factorization, arenas, row helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.errors import EngineError
from legnumb.inference.kernels import _aligned, _Arena, _check_table, _rank1, _row

VECS = st.lists(st.floats(0.01, 1.0), min_size=1, max_size=4)


@settings(max_examples=30, deadline=None)
@given(a=VECS, b=VECS, c=VECS)
def test_rank1_recovers_any_outer_product(a, b, c):
    t = np.multiply.outer(np.multiply.outer(a, b), c)
    vs = _rank1(t)
    assert vs is not None
    assert np.allclose(np.multiply.outer(np.multiply.outer(vs[0], vs[1]), vs[2]), t)


def test_rank1_refuses_a_rank_2_table():
    assert _rank1(np.array([[0.9, 0.1], [0.2, 0.8]])) is None


def test_arena_hands_out_aligned_views_then_falls_back():
    arena = _Arena(10_000)
    taken = [arena.take((5000,)) for _ in range(3)]
    assert np.shares_memory(taken[0], arena.buf)
    assert not np.shares_memory(taken[2], arena.buf)  # no room left: a fresh array
    assert arena.need >= 15_000  # what the arena would have needed, for the next chunk
    assert _aligned(100).ctypes.data % 64 == 0


def test_row_of_a_shared_buffer():
    buf = np.arange(6.0).reshape(1, 6)
    assert _row(buf, 3) is not None
    assert np.array_equal(_row(buf, 3), buf[0])
    assert _row(None, 0) is None


def test_check_table_names_the_problem():
    with pytest.raises(EngineError):
        _check_table(np.array([[0.5, -0.1]]), "x", batched=False)
