"""Argument checks shared by the engines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import legnumb.inference.checks as checks_module
from legnumb.errors import EngineError, InvalidTypeError, UnknownNameError
from legnumb.inference.checks import (
    batch_rows,
    check_codes,
    check_overrides,
    check_targets,
    distinct_rows,
    encode_evidence,
)

NAMES = ("a", "b")
CARD = np.array([2, 3])


def test_codes_pass_through_as_int64():
    out = check_codes(np.array([[1, 2], [-1, -1]], dtype=np.int32), NAMES, CARD, "Engine")
    assert out.dtype == np.int64
    assert out.tolist() == [[1, 2], [-1, -1]]


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (np.zeros((2, 3), dtype=int), r"shape \(B, 2\).*see Engine.variables.*\(2, 3\)"),
        (np.zeros((1, 2)), "integer codes. Got dtype float64"),
        (np.array([[0, 3]]), r"codes of 'b' in -1..2. Got 3 in row 0"),
        (np.array([[0, 0], [-2, 0]]), r"codes of 'a' in -1..1. Got -2 in row 1"),
    ],
)
def test_bad_codes_say_what_was_expected(codes, message):
    with pytest.raises(EngineError, match=message):
        check_codes(codes, NAMES, CARD, "Engine")


def test_targets_default_dedupe_and_unknown():
    assert check_targets(None, NAMES) == (0, 1)
    assert check_targets("b", NAMES) == (1,)
    assert check_targets(["b", "b", "a"], NAMES) == (1, 0)
    with pytest.raises(UnknownNameError, match="Got 'c' instead; known nodes: a, b"):
        check_targets(["c"], NAMES)


def test_encode_evidence_names_what_was_expected():
    states = {"a": ("f", "t"), "b": ("x", "y", "z")}
    assert encode_evidence([{"b": "z", "a": None}], NAMES, states).tolist() == [[-1, 2]]
    with pytest.raises(InvalidTypeError, match="sequence of evidence dicts"):
        encode_evidence({"a": "t"}, NAMES, states)
    with pytest.raises(UnknownNameError, match=r"in row 1\. Got 'c' instead; known nodes: a, b"):
        encode_evidence([{}, {"c": "t"}], NAMES, states)
    with pytest.raises(EngineError, match=r"state of 'b' in row 0, one of \('x', 'y', 'z'\)"):
        encode_evidence([{"b": "w"}], NAMES, states)


@pytest.mark.parametrize(
    ("codes_rows", "override_rows", "n_threads", "chunk_rows", "message"),
    [
        (1, 3, 0, None, "n_threads as an int >= 1. Got 0"),
        (1, 3, True, None, "n_threads as an int >= 1. Got True"),
        (1, 3, 1, 0, "chunk_rows as an int >= 1. Got 0"),
        (2, 3, 1, None, r"cpt_values\['a'\] with 3 or 1 rows. Got 2|codes with 3 or 1 rows"),
    ],
)
def test_batch_rows_checks_counts(codes_rows, override_rows, n_threads, chunk_rows, message):
    codes = np.zeros((codes_rows, 2), dtype=np.int64)
    with pytest.raises(EngineError, match=message):
        batch_rows(codes, {0: np.ones((override_rows, 2))}, NAMES, n_threads, chunk_rows)


def test_batch_rows_broadcasts_one_row():
    codes = np.zeros((1, 2), dtype=np.int64)
    assert batch_rows(codes, {0: np.ones((3, 2))}, NAMES, 2, 16) == 3
    assert batch_rows(np.zeros((4, 2), dtype=np.int64), {}, NAMES, 1, None) == 4


def test_check_overrides_keys_by_index_and_checks_shape():
    assert check_overrides(None, NAMES, lambda v: (2,)) == {}
    out = check_overrides({"b": [[0.25, 0.75]]}, NAMES, lambda v: (2,))
    assert list(out) == [1]
    assert out[1].dtype == np.float64
    with pytest.raises(UnknownNameError, match=r"keyed by nodes of the network\. Got 'c'"):
        check_overrides({"c": [[1.0]]}, NAMES, lambda v: (2,))
    with pytest.raises(EngineError, match=r"cpt_values\['a'\] of shape \(B, \*\(2,\)\)"):
        check_overrides({"a": [0.5, 0.5]}, NAMES, lambda v: (2,))


@given(st.lists(st.lists(st.integers(-1, 3), min_size=3, max_size=3), min_size=0, max_size=30))
def test_distinct_rows_is_exact(rows):
    codes = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
    work, inverse = distinct_rows(codes)
    if inverse is None:
        assert work is codes
        assert len({tuple(r) for r in rows}) == len(rows)
    else:
        np.testing.assert_array_equal(work[inverse], codes)
        assert len(work) == len({tuple(r) for r in rows}) < len(rows)


def test_distinct_rows_survives_hash_collisions(monkeypatch):
    # every row hashes to 0: the check against the rows sends it to the exact row sort
    monkeypatch.setattr(checks_module, "_ROW_HASH", np.zeros(8, dtype=np.uint64))
    codes = np.array([[0, 1], [1, 0], [0, 1], [2, 2]])
    work, inverse = distinct_rows(codes)
    np.testing.assert_array_equal(work[inverse], codes)
    assert len(work) == 3


def test_distinct_rows_with_codes_beyond_one_byte():
    codes = np.array([[1000, -1], [3, 4], [1000, -1]])
    work, inverse = distinct_rows(codes)
    np.testing.assert_array_equal(work[inverse], codes)
    assert len(work) == 2
