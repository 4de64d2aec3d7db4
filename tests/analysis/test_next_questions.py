"""Tests for legnumb.analysis.next_questions: next best questions and answer outcomes.

Expected information is recomputed from pgmpy posteriors and from independent engine queries.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from legnumb import analysis as x
from legnumb.network.bayesnet import reference_query
from tests.analysis.support import CASE, CAUSES, COLUMNS, EVIDENCE, SCHEMA, SETTINGS, full_codes, h2


def test_answer_outcomes_match_pgmpy(model):
    out = x.answer_outcomes(model, CASE)
    top = model.diagnose(CASE).ranked.index[0]
    p_dur = reference_query(model.network, ["duration"], CASE)["duration"]
    for k, state in enumerate(SCHEMA.columns["duration"].states):
        row = out[(out["column"] == "duration") & (out["state"] == state)].iloc[0]
        assert row["p_answer"] == pytest.approx(p_dur[k], abs=1e-10)
        ref = reference_query(model.network, [top], {**CASE, "duration": state})[top][1]
        assert row["p_top"] == pytest.approx(ref, abs=1e-10)


def test_expected_info_matches_pgmpy(model):
    """Sum of per-cause mutual informations, recomputed from pgmpy posteriors."""
    col = "weakness"
    q = x.next_questions(model, CASE)
    row = q[q["column"] == col].iloc[0]
    now = reference_query(model.network, CAUSES, CASE)
    p_now = np.array([now[c][1] for c in CAUSES])
    p_ans = reference_query(model.network, [col], CASE)[col]
    h_after, top_change = 0.0, 0.0
    top = int(np.argmax(p_now))
    for k, state in enumerate(SCHEMA.columns[col].states):
        after = reference_query(model.network, CAUSES, {**CASE, col: state})
        p_after = np.array([after[c][1] for c in CAUSES])
        h_after += p_ans[k] * h2(p_after).sum()
        top_change += p_ans[k] * abs(p_after[top] - p_now[top])
    assert row["expected_info"] == pytest.approx(h2(p_now).sum() - h_after, abs=1e-9)
    assert row["expected_top_change"] == pytest.approx(top_change, abs=1e-10)
    assert row["top_cause"] == CAUSES[top]


def test_questions_rank_every_open_column(model):
    q = x.next_questions(model, CASE)
    assert sorted(q["column"]) == sorted(c for c in COLUMNS if c not in CASE)
    assert q["expected_info"].is_monotonic_decreasing
    assert q["rank_info"].tolist() == sorted(q["rank_info"])
    assert set(q["rank_top"]) <= set(range(1, len(q) + 1))
    assert ((q["p_top_min"] <= q["p_top"] + 1e-12) & (q["p_top"] <= q["p_top_max"] + 1e-12)).all()
    assert x.next_questions(model, CASE, top=3).equals(q.head(3))


def test_red_flag_question_can_change_triage(model):
    ev = {"onset": "gradual", "laterality": "one_leg"}
    q = x.next_questions(model, ev).set_index("column")
    out = x.answer_outcomes(model, ev).set_index(["column", "state"])
    p_yes = out.loc[("bladder_bowel_problems", "yes"), "p_answer"]
    assert out.loc[("bladder_bowel_problems", "yes"), "triage"] == "emergency"
    assert q.loc["bladder_bowel_problems", "p_triage_change"] >= p_yes - 1e-12
    assert (
        "possible cauda equina syndrome"
        in out.loc[("bladder_bowel_problems", "yes"), "new_red_flags"][0]
    )


def test_fully_observed_case_has_no_questions(model):
    ev = x.example_evidence("E31")  # E01-E30 leave the v2 columns blank; E31 answers all
    assert len(ev) == len(COLUMNS)
    assert x.next_questions(model, ev).empty
    assert x.answer_outcomes(model, ev).empty


@SETTINGS
@given(ev=EVIDENCE)
def test_expected_info_is_a_nonnegative_mutual_information(model, ev):
    """Recompute sum_c I(C_c; Q | e) from one engine row per answer (entropy form)."""
    q = x.next_questions(model, ev)
    out = x.answer_outcomes(model, ev)
    assert (q["expected_info"] >= 0).all()
    # answer probabilities sum to 1 per question; the posterior is a martingale
    sums = out.groupby("column")["p_answer"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-10)
    p_now = model.diagnose(ev).posteriors
    top = p_now.idxmax()
    mean_top = (out["p_answer"] * out["p_top"]).groupby(out["column"]).sum()
    np.testing.assert_allclose(mean_top.to_numpy(), p_now[top], atol=1e-10)
    col = q["column"].iloc[0]
    states = SCHEMA.columns[col].states
    res = model.engine.query(full_codes(model, [{**ev, col: s} for s in states]), targets=CAUSES)
    p_after = np.column_stack([res.marginals[c][:, 1] for c in CAUSES])
    p_s = np.exp(
        res.log_evidence
        - model.engine.query(full_codes(model, [ev]), targets=CAUSES[:1]).log_evidence[0]
    )
    info = h2(p_now.to_numpy()).sum() - (p_s * h2(p_after).sum(axis=1)).sum()
    assert info >= -1e-12
    assert q["expected_info"].iloc[0] == pytest.approx(info, abs=1e-9)
