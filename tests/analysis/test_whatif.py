"""Tests for model.explain: weights of evidence, next questions, conflict, scenarios, intake.

Exact numbers are cross-checked against pgmpy's variable elimination
(:func:`legnumb.network.bayesnet.reference_query`) and against independent engine queries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legnumb import EvidenceError, InputError
from legnumb import analysis as x
from legnumb.analysis import context as ctx_mod
from legnumb.network.bayesnet import reference_query
from legnumb.network.schema import load_schema

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.columns)
CAUSES = list(SCHEMA.causes)

CASE = {
    "age_group": "65_plus",
    "diabetes": "yes",
    "laterality": "both_legs",
    "distribution": "feet_and_toes",
    "burning_pain": "yes",
    "back_pain": "no",
}


def _h2(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1 - 1e-16)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def _state_index(col, state):
    return SCHEMA.columns[col].states.index(state)


def _full_codes(model, evidences):
    """Engine codes for a list of {node: state} dicts (columns or causes)."""
    return model.engine.encode(evidences)


# --------------------------------------------------------------------------- phrases
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


# --------------------------------------------------------------------------- explanation
def test_woe_matches_pgmpy(model):
    """WoE(f) = ln P(f | c present, rest) - ln P(f | c absent, rest), rest held, by pgmpy."""
    table = x.explain(model, CASE, causes=["diabetic_neuropathy", "sciatica"])
    assert len(table) == 2 * len(CASE)
    for cause in ("diabetic_neuropathy", "sciatica"):
        for col in ("burning_pain", "diabetes", "back_pain"):
            row = table[(table["cause"] == cause) & (table["column"] == col)].iloc[0]
            rest = {k: v for k, v in CASE.items() if k != col}
            k = _state_index(col, CASE[col])
            lp = {
                s: np.log(reference_query(model.network, [col], {**rest, cause: s})[col][k])
                for s in ("present", "absent")
            }
            assert row["woe"] == pytest.approx(lp["present"] - lp["absent"], abs=1e-9)
            without = reference_query(model.network, [cause], rest)[cause][1]
            assert row["p_without"] == pytest.approx(without, abs=1e-10)


def test_explanation_is_sorted_signed_and_tidy(model):
    table = x.explain(model, CASE, causes=2)
    ranked = model.diagnose(CASE).ranked
    assert table["cause"].unique().tolist() == list(ranked.index[:2])
    for _, rows in table.groupby("cause", sort=False):
        assert rows["woe"].abs().is_monotonic_decreasing
        assert set(rows["direction"]) <= {"raises", "lowers", "none"}
        assert ((rows["woe"] > 0) == (rows["direction"] == "raises")).all()
    assert set(table.columns) >= {"cause", "column", "state", "finding", "woe", "p_baseline"}
    assert (table.loc[table["column"] == "diabetes", "finding"] == "diabetes").all()


def test_baselines(model):
    prior = x.explain(model, CASE, causes=["diabetic_neuropathy"])
    hist = x.explain(model, CASE, causes=["diabetic_neuropathy"], baseline="history")
    p_prior = model.diagnose({}).posteriors["diabetic_neuropathy"]
    p_hist = model.diagnose(x.history_only(SCHEMA, CASE)).posteriors["diabetic_neuropathy"]
    assert prior["p_baseline"].iloc[0] == pytest.approx(p_prior, abs=1e-12)
    assert hist["p_baseline"].iloc[0] == pytest.approx(p_hist, abs=1e-12)
    assert "history alone" in x.describe(hist)
    assert "the prior, no findings" in x.describe(prior)


def test_describe_names_the_movers(model):
    table = x.explain(model, CASE, causes=["diabetic_neuropathy"])
    text = x.describe(table)
    assert text.startswith(("Burning pain", "Diabetes", "Feet and toes"))
    assert "raise diabetic neuropathy from" in text
    post = model.diagnose(CASE).posteriors["diabetic_neuropathy"]
    assert text.rstrip(".").split(" to ")[-1].split(";")[0] == x.format_pct(post)


def test_describe_lowering_sentence(model):
    ev = {"onset": "gradual", "pattern": "constant", "duration": "weeks_or_longer"}
    text = x.describe(x.explain(model, ev, causes=["positional_compression"]))
    assert "lower positional compression from" in text


def test_explain_errors(model):
    with pytest.raises(InputError, match=r"expected causes from .* Got 'sciatika' instead"):
        x.explain(model, CASE, causes=["sciatika"])
    with pytest.raises(InputError, match=r"expected baseline in \('prior', 'history'\)"):
        x.explain(model, CASE, baseline="history_only")
    with pytest.raises(EvidenceError, match="laterality"):
        x.explain(model, {"laterality": "left"})
    table = x.explain(model, CASE, causes=["stroke"])
    with pytest.raises(InputError, match="expected rows for cause 'sciatica'"):
        x.describe(table, "sciatica")
    with pytest.raises(InputError, match="nothing to explain"):
        x.describe(x.explain(model, {}))


def test_no_findings_sentence(model):
    a = x.analyse(model, {}, explain_causes=["stroke"])
    assert a.explanation.empty
    assert a.sentences["stroke"].startswith("No findings yet: stroke is at")


# --------------------------------------------------------------------------- next question
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
        h_after += p_ans[k] * _h2(p_after).sum()
        top_change += p_ans[k] * abs(p_after[top] - p_now[top])
    assert row["expected_info"] == pytest.approx(_h2(p_now).sum() - h_after, abs=1e-9)
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
    ev = x.example_evidence("E01")
    assert len(ev) == len(COLUMNS)
    assert x.next_questions(model, ev).empty
    assert x.answer_outcomes(model, ev).empty


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


# --------------------------------------------------------------------------- property tests
_EVIDENCE = st.dictionaries(
    st.sampled_from(COLUMNS), st.integers(min_value=0, max_value=4), max_size=9
).map(
    lambda d: {c: SCHEMA.columns[c].states[i % len(SCHEMA.columns[c].states)] for c, i in d.items()}
)
_SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(ev=_EVIDENCE)
def test_woe_is_the_log_odds_step_computed_from_clamped_evidence(model, ev):
    """logit P(c | e) = logit P(c | e \\ f) + WoE(f); WoE from independent clamped queries."""
    if not ev:
        return
    table = x.explain(model, ev, causes=["sciatica", "stroke"])
    col = next(iter(ev))
    rest = {k: v for k, v in ev.items() if k != col}
    rows = [
        {**e, c: s}
        for c in ("sciatica", "stroke")
        for s in ("present", "absent")
        for e in (ev, rest)
    ]
    logp = model.engine.query(_full_codes(model, rows), targets=["sciatica"]).log_evidence
    for i, cause in enumerate(("sciatica", "stroke")):
        lp_pe, lp_pr, lp_ae, lp_ar = logp[4 * i : 4 * i + 4]
        woe = (lp_pe - lp_pr) - (lp_ae - lp_ar)
        r = table[(table["cause"] == cause) & (table["column"] == col)].iloc[0]
        assert r["woe"] == pytest.approx(woe, abs=1e-8)
        logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
        assert logit(r["p_with"]) == pytest.approx(logit(r["p_without"]) + r["woe"], abs=1e-8)


@_SETTINGS
@given(ev=_EVIDENCE)
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
    res = model.engine.query(_full_codes(model, [{**ev, col: s} for s in states]), targets=CAUSES)
    p_after = np.column_stack([res.marginals[c][:, 1] for c in CAUSES])
    p_s = np.exp(
        res.log_evidence
        - model.engine.query(_full_codes(model, [ev]), targets=CAUSES[:1]).log_evidence[0]
    )
    info = _h2(p_now.to_numpy()).sum() - (p_s * _h2(p_after).sum(axis=1)).sum()
    assert info >= -1e-12
    assert q["expected_info"].iloc[0] == pytest.approx(info, abs=1e-9)


@_SETTINGS
@given(ev=_EVIDENCE)
def test_conflict_two_ways(model, ev):
    """conf from prior marginals + joint log P agrees with one engine query per finding."""
    c = x.conflict(model, ev, n_sim=50)
    if len(ev) < 2:
        assert c.conf == 0.0
        assert not c.warn
        return
    rows = [{k: v} for k, v in ev.items()] + [ev]
    logp = model.engine.query(_full_codes(model, rows), targets=CAUSES[:1]).log_evidence
    assert c.conf == pytest.approx(logp[:-1].sum() - logp[-1], abs=1e-9)
    a = x.analyse(model, ev)
    assert x.conflict(model, a, n_sim=50).conf == pytest.approx(c.conf, abs=1e-12)


# --------------------------------------------------------------------------- conflict
def test_conflict_flags_contradictions(model):
    c = x.conflict(model, {"sex": "male", "pregnant": "yes", "age_group": "under_40"})
    assert c.warn
    assert c.conf > c.threshold
    assert c.drivers.index[0] in ("sex", "pregnant")
    assert c.message.startswith("Warning: these findings fit together worse than")
    ok = x.conflict(model, x.example_evidence("E03"))
    assert not ok.warn
    assert ok.n_findings == len(COLUMNS)
    assert "fit together as usual" in ok.message


def test_conflict_calibration_holds_out_of_sample(model):
    """About 5% of fresh simulated cases exceed the 95th-percentile threshold."""
    observed = np.zeros(len(COLUMNS), dtype=bool)
    for col in (
        "age_group",
        "sex",
        "diabetes",
        "onset",
        "laterality",
        "distribution",
        "back_pain",
        "shooting_pain",
        "weakness",
    ):
        observed[COLUMNS.index(col)] = True
    sim = x.simulate_cases(model, 600, seed=11)
    ev0 = {c: sim.at[0, c] for c in np.array(COLUMNS)[observed]}
    threshold = x.conflict(model, ev0, n_sim=500, seed=0).threshold
    codes = model.encode(
        [{c: sim.at[i, c] for c in np.array(COLUMNS)[observed]} for i in range(len(sim))]
    )
    rate = float((x.conf_scores(model, codes) > threshold).mean())
    assert 0.02 <= rate <= 0.09


def test_conflict_needs_two_findings(model):
    c = x.conflict(model, {"onset": "sudden"})
    assert c.conf == 0.0
    assert not c.warn
    assert "at least two findings" in c.message
    with pytest.raises(InputError, match="expected n_sim as an int >= 20"):
        x.conflict(model, CASE, n_sim=5)
    with pytest.raises(InputError, match=r"expected level in \[0.5, 1\)"):
        x.conflict(model, CASE, level=1.5)


def test_simulated_cases_follow_the_network(model):
    sim = x.simulate_cases(model, 4000, seed=3)
    prior = model.diagnose({}).posteriors
    for cause in ("sciatica", "positional_compression", "diabetic_neuropathy"):
        p = prior[cause]
        se = np.sqrt(p * (1 - p) / len(sim))
        assert abs((sim[cause] == "present").mean() - p) < 4 * se
    p_one = reference_query(model.network, ["laterality"], {})["laterality"][0]
    assert abs((sim["laterality"] == "one_leg").mean() - p_one) < 4 * np.sqrt(0.25 / len(sim))
    assert not (sim["pregnant"].eq("yes") & sim["sex"].eq("male")).mean() > 0.01
    with pytest.raises(InputError, match="expected n as a positive int"):
        x.simulate_cases(model, 0)


# --------------------------------------------------------------------------- analyse
def test_analyse_matches_the_single_functions(model):
    a = x.analyse(model, CASE, explain_causes=2, with_conflict=True, n_sim=100)
    pd.testing.assert_series_equal(
        a.diagnosis.posteriors, model.diagnose(CASE).posteriors, atol=1e-12, check_exact=False
    )
    assert a.diagnosis.triage == model.diagnose(CASE).triage
    pd.testing.assert_frame_equal(a.explanation, x.explain(model, CASE, causes=2))
    pd.testing.assert_frame_equal(a.questions, x.next_questions(model, CASE))
    assert a.conflict is not None
    assert a.conflict.n_sim == 100
    assert set(a.sentences) == set(a.diagnosis.ranked.index[:2])
    assert a.timings["total_ms"] > 0
    assert list(a.loo_log_evidence.index) == [c for c in COLUMNS if c in CASE]


# --------------------------------------------------------------------------- scenarios
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


# --------------------------------------------------------------------------- cases and intake
def test_case_evidence_errors_name_everything():
    with pytest.raises(EvidenceError) as info:
        x.case_evidence(
            SCHEMA, {"onset": "slowly", "Weakness": "maybe", "story": "x"}, where="cases.csv, row 7"
        )
    text = str(info.value)
    assert (
        "cases.csv, row 7: column 'onset': Got 'slowly' instead; allowed: sudden, gradual" in text
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
