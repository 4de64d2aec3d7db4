"""Tests for model.evaluate and model.evaluate_plots."""

from __future__ import annotations

import pandas as pd
import pytest

from legnumb.analysis.evaluate import evaluate
from legnumb.errors import InputError
from legnumb.io.cases import load_cases


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
    assert ev.summary["n"] == 57  # v2: E01-E30 as in v1, E31-E57 for the new causes
    assert ev.summary["scored"] == 57
    assert ev.per_cause["cases"].sum() == 57
    assert ev.triage_table.to_numpy().sum() == 57
    assert ev.summary["emergencies"] == ev.triage_table.loc["emergency"].sum() == 19
    assert ev.summary["emergency_recall"] == 1.0  # no expected emergency is sent elsewhere


def test_rejects_unknown_expected_values(model):
    cases = pd.DataFrame(
        {"onset": ["sudden"], "expected_cause": ["strokes"], "expected_triage": ["asap"]}
    )
    with pytest.raises(
        InputError, match=r"row 1: expected_cause 'strokes' is not a cause.*expected_triage 'asap'"
    ):
        evaluate(model, cases)


def test_rows_carrying_read_errors_are_misses_not_failures(model, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "patient,onset,face_arm_or_speech,expected_cause,expected_triage\n"
        "A,sudden,yes,stroke,emergency\n"
        "B,sudden,yes,stroke,emergency,extra\n"
        ",sideways,,whatever,asap\n"
    )
    ev = evaluate(model, load_cases(path), id_column="patient")
    assert ev.summary["n"] == 3
    assert ev.summary["scored"] == 1
    assert ev.cases["case_id"].tolist() == ["A", "B", "row 3"]
    assert ev.cases["error"].iloc[1].startswith("c.csv, row 2: has 6 cells")
    assert ev.cases["error"].iloc[2].startswith("c.csv, row 3: column 'onset'")
    assert ev.cases["top1"].tolist() == [True, False, False]
    assert ev.cases["top_cause"].iloc[1] == ""
    assert ev.confusion.to_numpy().sum() == 2  # the row with unknown answers is left out
    assert ev.triage_table.to_numpy().sum() == 2
    assert ev.triage_table.at["emergency", "(unscored)"] == 1  # row B
    assert list(ev.misses["case_id"]) == ["B", "row 3"]


def test_needs_expected_columns(model):
    with pytest.raises(
        InputError, match="evaluation needs columns expected_cause, expected_triage"
    ):
        evaluate(model, pd.DataFrame({"onset": ["sudden"]}))
