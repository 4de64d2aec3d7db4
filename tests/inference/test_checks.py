"""Argument checks shared by the engines."""

from __future__ import annotations

import numpy as np
import pytest

from legnumb.errors import EngineError, UnknownNameError
from legnumb.inference.checks import check_codes, check_targets

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
