"""Tests for legnumb.analysis.context: the shared batched queries behind the analyses."""

from __future__ import annotations

import numpy as np
import pytest

from legnumb import InputError
from legnumb.analysis import context as ctx_mod
from tests.analysis.support import CASE


def test_both_batch_layouts_agree(model):
    ctx = ctx_mod._context(model)
    for ev in ({}, CASE, {**CASE, **{c: "no" for c in ("weakness", "fatigue", "progressive")}}):
        row = model.encode([ev])[0]
        a = ctx_mod._base_and_answers(ctx, model, row, method="answers")
        b = ctx_mod._base_and_answers(ctx, model, row, method="causes")
        np.testing.assert_allclose(a["post_after"], b["post_after"], atol=1e-12)
        np.testing.assert_allclose(a["p_answer"], b["p_answer"], atol=1e-12)
    with pytest.raises(InputError, match="expected method in"):
        ctx_mod._base_and_answers(ctx, model, row, method="magic")
