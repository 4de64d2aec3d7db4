"""Tests for legnumb.analysis.review: every analysis of the reviewer report, computed once."""

from __future__ import annotations

import pytest

from legnumb.analysis.review import analyse
from legnumb.errors import InputError
from legnumb.io.cases import load_cases


@pytest.fixture(scope="module")
def data(model):
    cases = load_cases(None)
    return analyse(model, cases[cases["case_id"].isin(["E03", "E16"])], n_draws=25, seed=3)


def test_overview_and_decisive(data):
    ov = data.overview.set_index("case_id")
    assert list(ov.index) == ["E03", "E16"]
    assert ov.loc["E16", "decisive_numbers"] == data.one_way[1].n_decisive > 0
    assert ov.loc["E16", "runner_up"] == "b12_deficiency"
    assert 0 < ov.loc["E16", "stability"] < 1
    assert data.decisive.iloc[0]["decisive"] == 1
    assert data.evaluation is not None
    assert data.evaluation.summary["n"] == 2
    assert data.skipped == []
    assert data.source == "examples.csv"


def test_parallel_analysis_gives_the_same_results(model, data):
    cases = load_cases(None)
    again = analyse(model, cases[cases["case_id"].isin(["E03", "E16"])], n_draws=25, seed=3, jobs=2)
    for a, b in zip(data.robustness, again.robustness, strict=True):
        assert a.draws.equals(b.draws)
    assert data.one_way[1].table.equals(again.one_way[1].table)


def test_rows_with_errors_are_skipped_and_named(model, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "case_id,onset,laterality\nA,sudden,one_leg\nB,sudden,one_leg,extra\n,gradual,\n"
    )
    data = analyse(model, load_cases(path), n_draws=5)
    assert [ow.case_id for ow in data.one_way] == ["A", "row 3"]
    assert len(data.cases) == 2
    assert [c for c, _ in data.skipped] == ["B"]
    assert data.skipped[0][1].startswith("c.csv, row 2: has 4 cells but the header has 3")
    assert "evaluation needs columns" in data.evaluation_note


def test_id_column_duplicates_and_nothing_to_analyse(model, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("patient,onset\nP1,sudden\nP2,gradual\n")
    data = analyse(model, load_cases(path), n_draws=5, id_column="patient")
    assert list(data.overview["case_id"]) == ["P1", "P2"]
    path.write_text("patient,onset\nP1,sudden\nP1,gradual\n")
    with pytest.raises(InputError, match="patient 'P1' appears in rows 1 and 2"):
        analyse(model, load_cases(path), n_draws=5, id_column="patient")
    path.write_text("case_id,onset\nA,sudden,x\n")
    with pytest.raises(InputError, match="no case can be analysed; every row carries an error"):
        analyse(model, load_cases(path), n_draws=5)
    with pytest.raises(InputError, match="has no cases"):
        analyse(model, load_cases(None).head(0))
