"""Tests for legnumb.analysis.whatif: analyse(), compare() and guided_intake().

test_case_evidence_errors_name_everything tests legnumb.io.cases and belongs in
tests/io/test_cases.py; it stays here until that file takes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from legnumb import EvidenceError, InputError
from legnumb import analysis as x
from tests.analysis.support import CASE, CAUSES, COLUMNS, SCHEMA


def test_analyse_matches_the_single_functions(model):
    a = x.analyse(model, CASE, explain_causes=2, with_conflict=True, n_sim=100)
    pd.testing.assert_series_equal(
        a.diagnosis.posteriors, model.diagnose(CASE).posteriors, atol=1e-12, check_exact=False
    )
    assert a.diagnosis.triage == model.diagnose(CASE).triage
    assert a.diagnosis.triage_reason == model.diagnose(CASE).triage_reason
    assert a.diagnosis.p_other_cause == pytest.approx(model.diagnose(CASE).p_other_cause, abs=1e-12)
    assert 0.0 < a.diagnosis.p_other_cause < 1.0
    b = x.analyse(model, CASE, questions=False)  # the path without answer rows agrees
    assert b.diagnosis.p_other_cause == pytest.approx(a.diagnosis.p_other_cause, abs=1e-12)
    pd.testing.assert_frame_equal(a.explanation, x.explain(model, CASE, causes=2))
    pd.testing.assert_frame_equal(a.questions, x.next_questions(model, CASE))
    assert a.conflict is not None
    assert a.conflict.n_sim == 100
    assert set(a.sentences) == set(a.diagnosis.ranked.index[:2])
    assert a.timings["total_ms"] > 0
    assert list(a.loo_log_evidence.index) == [c for c in COLUMNS if c in CASE]


# Without its red-flag answers (atrial fibrillation, onset over hours) this row makes a stroke
# likely enough for an emergency; with them, no cause is. Triage counts both (base posteriors).
BASE_MATTERS = {
    "age_group": "65_plus",
    "vegan_diet": "yes",
    "atrial_fibrillation": "yes",
    "onset": "over_hours",
    "duration": "hours_to_days",
    "position_trigger": "sitting",
    "fatigue": "yes",
    "urge_to_move": "yes",
    "widespread_pain": "yes",
}


def test_analyse_compare_and_questions_triage_as_diagnose_does(model):
    codes = model.encode([BASE_MATTERS])
    post = model.posterior_matrix(codes)
    without_base = model._policy.hits(model.schema, codes).triage(post)[0][0]
    d = model.diagnose(BASE_MATTERS)
    assert (d.triage, without_base) == ("emergency", "routine")  # the row is one where it matters
    a = x.analyse(model, BASE_MATTERS)
    assert (a.diagnosis.triage, a.diagnosis.triage_reason) == (d.triage, d.triage_reason)
    c = x.compare(model, {"as is": BASE_MATTERS, "nothing": {}})
    assert c.triage["as is"] == d.triage
    for r in a.outcomes.itertuples():  # each answer's level is the one diagnose gives it
        assert r.triage == model.diagnose({**BASE_MATTERS, r.column: r.state}).triage, r


def test_compare_scenarios(model):
    c = x.compare(
        model,
        {
            "now": CASE,
            "no diabetes": {**CASE, "diabetes": "no"},
            "weak": {**CASE, "weakness": "yes", "onset": "sudden"},
        },
    )
    assert c.names == ("now", "no diabetes", "weak")
    post = model.posterior_matrix(model.encode([CASE]))[0]
    assert c.posteriors["now"].reindex(CAUSES).to_numpy() == pytest.approx(post, abs=1e-12)
    np.testing.assert_allclose(
        c.differences["no diabetes"], c.posteriors["no diabetes"] - c.posteriors["now"]
    )
    assert c.triage["weak"] == "emergency"
    assert "sudden leg weakness" in c.red_flags["weak"]
    assert set(c.changed) == {"diabetes", "weakness", "onset"}
    assert c.findings.at["weakness", "now"] == ""
    assert c.findings.at["weakness", "weak"] == "leg weakness"
    text = c.summary()
    assert len(text) == 2
    assert text[1].startswith("weak vs now: triage")
    unnamed = x.compare(model, [CASE, {}])
    assert unnamed.names == ("A", "B")


def test_compare_errors(model):
    with pytest.raises(InputError, match="expected two or more scenarios"):
        x.compare(model, [CASE])
    with pytest.raises(EvidenceError, match=r"scenario 'b'.*onset"):
        x.compare(model, {"a": CASE, "b": {"onset": "slowly"}})


def test_case_evidence_errors_name_everything():
    with pytest.raises(EvidenceError) as info:
        x.case_evidence(
            SCHEMA, {"onset": "slowly", "Weakness": "maybe", "story": "x"}, where="cases.csv, row 7"
        )
    text = str(info.value)
    assert (
        "cases.csv, row 7: column 'onset': Got 'slowly' instead; allowed: sudden, over_hours, "
        "gradual" in text
    )
    assert "column 'weakness': Got 'maybe' instead; allowed: yes, no" in text
    with pytest.raises(InputError, match="Got 'E99' instead"):
        x.example_evidence("E99")


def test_guided_intake(model):
    case = x.example_evidence("E05")
    steps = x.guided_intake(model, case, max_steps=4)
    assert steps["step"].tolist() == [0, 1, 2, 3, 4]
    n_hist = len(x.history_only(SCHEMA, case))
    assert steps["n_known"].tolist() == [n_hist + k for k in range(5)]
    asked = steps["asked"].iloc[1:]
    assert asked.is_unique
    assert all(SCHEMA.columns[c].group == "symptom" for c in asked)
    assert (steps["answer"].iloc[1:] == [case[c] for c in asked]).all()
    first = x.next_questions(model, x.history_only(SCHEMA, case))["column"].iloc[0]
    assert asked.iloc[0] == first
    assert (steps["expected_info"].iloc[1:] >= 0).all()
    assert {f"p_{c}" for c in CAUSES} <= set(steps.columns)
    bare = x.guided_intake(model, {"onset": "sudden"}, start="nothing", max_steps=3)
    assert bare["asked"].tolist() == ["", "onset"]
    with pytest.raises(InputError, match="expected start in"):
        x.guided_intake(model, case, start="middle")
