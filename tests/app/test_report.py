"""Tests for model.report: a self-contained HTML page with every section a reviewer needs."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import pytest

from legnumb.app.report import analyse, render_html, write_report
from legnumb.errors import InputError
from legnumb.io.cases import load_cases


@pytest.fixture(scope="module")
def data(model):
    cases = load_cases(None)
    return analyse(model, cases[cases["case_id"].isin(["E03", "E16"])], n_draws=25, seed=3)


@pytest.fixture(scope="module")
def page(data):
    return render_html(data)


def test_sections_and_embedded_figures(page):
    for heading in (
        "1. The network",
        "2. Accuracy on the case set",
        "3. Robustness overview",
        "4. Numbers the conclusions rest on",
        "5. Cases",
        "6. Every hand-set number",
    ):
        assert heading in page
    # network, confusion, decisive, and a tornado + robustness plot per case
    assert page.count("src='data:image/png;base64,") == 3 + 2 * 2
    assert "Case E16" in page
    assert "Case E03" in page
    assert "top-1 accuracy" in page


def test_self_contained(page):
    srcs = re.findall(r"src=['\"]([^'\"]+)", page)
    assert srcs
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in page
    assert "<script" not in page
    assert not re.search(r"url\(", page)


def test_priors_table_flags_expert_judgement(model, page):
    n_ej = len(model.priors.expert_only)
    assert f"<b>{n_ej}</b> rest on expert judgement alone" in page
    table = page.split("id='priors'")[1].split("id='sources'")[0]
    assert table.count("<tr class='ej'>") == n_ej
    assert table.count("<tr class=") == len(model.priors.numbers)
    assert "P(shooting_pain | sciatica)" in table


def test_overview_and_decisive(data):
    ov = data.overview.set_index("case_id")
    assert ov.loc["E16", "decisive_numbers"] > 0
    assert ov.loc["E16", "runner_up"] == "b12_deficiency"
    assert 0 < ov.loc["E16", "stability"] < 1
    assert data.decisive.iloc[0]["decisive"] == 1
    assert data.evaluation is not None
    assert data.evaluation.summary["n"] == 2


def test_parallel_analysis_gives_the_same_results(model, data):
    cases = load_cases(None)
    again = analyse(model, cases[cases["case_id"].isin(["E03", "E16"])], n_draws=25, seed=3, jobs=2)
    for a, b in zip(data.robustness, again.robustness, strict=True):
        assert a.draws.equals(b.draws)
    assert data.one_way[1].table.equals(again.one_way[1].table)


def test_without_expected_answers_and_empty(model, tmp_path):
    cases = load_cases(None).head(1).drop(columns=["expected_cause", "expected_triage"])
    path = write_report(model, cases, tmp_path / "r", n_draws=5)
    html = path.read_text(encoding="utf-8")
    assert "No accuracy:" in html
    assert "expected_cause" in html
    with pytest.raises(InputError, match="has no cases"):
        analyse(model, cases.head(0))


def test_case_review_follows_the_dropdowns(model):
    from legnumb.app.report import case_review

    cases = load_cases(None)
    review = case_review(model, cases, case_id="E16", n_draws=10)
    assert review.case_id == "E16"
    assert review.target is None
    assert review.one_way.top_cause == "multiple_sclerosis"
    bundle = review._repr_mimebundle_()
    assert "static snapshot" in bundle["text/html"]
    assert "Case E16" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    review.target_dropdown.value = "b12_deficiency"
    assert review.target == "b12_deficiency" == review.one_way.target
    assert review.robustness.target == "b12_deficiency"
    with pytest.raises(InputError, match="no case with case_id 'E99'"):
        case_review(model, cases, case_id="E99")
    with pytest.raises(InputError, match="did you mean 'stroke'"):
        case_review(model, cases, target="strok")
