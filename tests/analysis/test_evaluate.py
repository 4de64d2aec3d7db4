"""Tests for model.evaluate and model.evaluate_plots."""

from __future__ import annotations

import pandas as pd
import pytest

from legnumb.analysis.evaluate import evaluate
from legnumb.errors import InputError
from legnumb.io.cases import load_cases
from legnumb.plots.evaluation import plot_confusion


def test_counts_hits_and_under_triage(model):
    cases = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "face_arm_or_speech": ["yes", ""],
            "onset": ["sudden", "sudden"],
            "position_trigger": ["", "sitting"],
            "relieved_by": ["", "moving_or_shifting"],
            "expected_cause": ["stroke", "sciatica"],
            "expected_triage": ["emergency", "emergency"],
        }
    )
    ev = evaluate(model, cases)
    assert ev.summary["n"] == 2
    assert ev.cases["top1"].tolist() == [True, False]
    assert ev.summary["top1"] == 0.5
    assert ev.summary["under_triaged"] == 1  # case b is self_care, expected emergency
    assert list(ev.misses["case_id"]) == ["b"]
    assert ev.confusion.loc["sciatica", "positional_compression"] == 1


def test_bundled_examples(model):
    ev = evaluate(model, load_cases(None))
    assert ev.summary["n"] == 30
    assert ev.summary["scored"] == 30
    assert ev.per_cause["cases"].sum() == 30


def test_rejects_unknown_expected_values(model):
    cases = pd.DataFrame(
        {"onset": ["sudden"], "expected_cause": ["strokes"], "expected_triage": ["asap"]}
    )
    with pytest.raises(
        InputError, match=r"row 2: expected_cause 'strokes' is not a cause.*expected_triage 'asap'"
    ):
        evaluate(model, cases)


def test_needs_expected_columns(model):
    with pytest.raises(
        InputError, match="evaluation needs columns expected_cause, expected_triage"
    ):
        evaluate(model, pd.DataFrame({"onset": ["sudden"]}))


def test_plot_confusion_returns_figure_and_uses_given_axes(model):
    import matplotlib.pyplot as plt

    ev = evaluate(model, load_cases(None))
    fig, ax = plt.subplots()
    assert plot_confusion(ev, ax=ax) is fig
    assert "top-1 100%" in ax.get_title() or "top-1" in ax.get_title()
    assert ax.get_xlabel() == "top cause (model)"
    plt.close(fig)
