"""Tests for legnumb.analysis.phrases: words for findings, questions and probabilities."""

from __future__ import annotations

import numpy as np

from legnumb import analysis as x
from legnumb.network.schema import load_schema

SCHEMA = load_schema()


def test_every_column_state_has_a_phrase_and_a_question():
    for col, c in SCHEMA.columns.items():
        assert col in x.QUESTIONS, col
        phrases = [x.FINDING_PHRASES[(col, s)] for s in c.states]
        assert len(set(phrases)) == len(phrases), col


def test_format_pct_edges():
    assert [x.format_pct(p) for p in (0.0, 0.0002, 0.05, 0.5, 0.9999, 1.0, np.nan)] == [
        "0%",
        "<0.1%",
        "5.0%",
        "50%",
        ">99.9%",
        "100%",
        "n/a",
    ]
