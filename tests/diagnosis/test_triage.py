"""Tests for legnumb.diagnosis.triage: guideline scenarios, red flags, self-care earned."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legnumb.diagnosis.policy import UNKNOWN
from legnumb.diagnosis.triage import (
    LIKELY_THRESHOLD,
    RULES,
    red_flags,
    triage_codes,
    triage_level,
    triage_reason,
)
from legnumb.network.priors import shipped_priors_dir
from legnumb.network.schema import TRIAGE_LEVELS, load_schema

SCHEMA = load_schema()
CAUSES = list(SCHEMA.causes)
NONE_LIKELY = pd.Series(0.0, index=CAUSES)
RANK = {level: i for i, level in enumerate(TRIAGE_LEVELS)}  # 0 = most urgent


def _scenarios() -> list[dict[str, str]]:
    path = Path(__file__).with_name("triage_scenarios.csv")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


SCENARIOS = _scenarios()
with (shipped_priors_dir() / "sources.csv").open(encoding="utf-8", newline="") as _f:
    SOURCES = {row["source_id"] for row in csv.DictReader(_f)}
BENIGN = [r for r in RULES if r.level == "self_care"]


def _evidence(text: str) -> dict[str, str]:
    pairs = (part.split("=") for part in text.split(";") if part.strip())
    return {col.strip(): state.strip() for col, state in pairs}


def test_the_scenario_table_is_large_and_sourced():
    assert len(SCENARIOS) >= 40
    assert {s["source_id"] for s in SCENARIOS} <= SOURCES
    assert {s["floor"] for s in SCENARIOS} >= {"emergency", "urgent", "routine", "self_care"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["scenario_id"] for s in SCENARIOS])
def test_guideline_scenarios_land_between_floor_and_ceiling(model, scenario):
    d = model.diagnose(_evidence(scenario["evidence"]))
    assert RANK[scenario["ceiling"]] <= RANK[d.triage] <= RANK[scenario["floor"]], (
        f"{scenario['scenario']}: got {d.triage} ({d.triage_reason}); expected "
        f"{scenario['floor']} to {scenario['ceiling']}"
    )
    assert d.triage_reason


@pytest.mark.parametrize(
    ("evidence", "level"),
    [
        ({"face_arm_or_speech": "yes"}, "emergency"),
        ({"bladder_bowel_problems": "yes"}, "emergency"),
        ({"distribution": "saddle_area"}, "emergency"),
        ({"calf_swelling": "yes", "recent_immobility": "yes"}, "emergency"),
        ({"weakness": "yes", "onset": "gradual"}, "routine"),
        ({"progressive": "yes"}, "routine"),
        ({"laterality": "one_leg", "duration": "minutes"}, "routine"),
        ({}, "routine"),
        (
            {
                "duration": "minutes",
                "position_trigger": "sitting",
                "relieved_by": "moving_or_shifting",
            },
            "self_care",
        ),
    ],
)
def test_rule_levels_without_likely_causes(evidence, level):
    assert triage_level(evidence, NONE_LIKELY) == level


@pytest.mark.parametrize(
    ("cause", "level"),
    [
        ("stroke", "emergency"),
        ("deep_vein_thrombosis", "emergency"),
        ("cauda_equina_syndrome", "emergency"),
        ("multiple_sclerosis", "urgent"),
        ("leg_injury", "urgent"),
    ],
)
def test_likely_cause_sets_the_level_at_its_threshold(cause, level):
    post = NONE_LIKELY.copy()
    post[cause] = LIKELY_THRESHOLD[level] - 1e-6
    assert triage_level({}, post) == "routine"
    post[cause] = LIKELY_THRESHOLD[level]
    # the reason names the cause and its class threshold, not the row's posterior
    assert triage_reason({}, post) == (
        level,
        f"possible {cause.replace('_', ' ')} (probability {LIKELY_THRESHOLD[level]:.0%} or more)",
    )


def test_a_likely_routine_cause_blocks_self_care():
    benign = {
        "duration": "minutes",
        "position_trigger": "sitting",
        "relieved_by": "moving_or_shifting",
    }
    post = NONE_LIKELY.copy()
    post["sciatica"] = LIKELY_THRESHOLD["routine"]
    assert triage_level(benign, post) == "routine"


def test_red_flags_are_reported_whatever_the_posteriors_say(model):
    ev = {
        "bladder_bowel_problems": "yes",
        "onset": "sudden",
        "position_trigger": "sitting",
        "relieved_by": "moving_or_shifting",
        "duration": "minutes",
    }
    d = model.diagnose(ev)
    assert d.posteriors.idxmax() == "positional_compression"
    assert d.triage == "emergency"
    assert any("bladder" in f for f in d.red_flags)


def test_red_flags_in_plain_words():
    flags = red_flags(
        {"face_arm_or_speech": "yes", "calf_swelling": "yes", "recent_immobility": "yes"}
    )
    assert flags == (
        "face drooping, arm weakness or speech trouble (possible stroke)",
        "swollen calf after immobility (possible blood clot)",
        "swollen, warm or tender calf (possible blood clot)",
    )


def _random_codes(n: int, seed: int, fill: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            np.where(rng.random(n) < fill, rng.integers(len(c.states), size=n), -1)
            for c in SCHEMA.columns.values()
        ],
        axis=1,
    )


def _evidence_of(codes_row: np.ndarray) -> dict[str, str]:
    return {
        name: col.states[codes_row[j]]
        for j, (name, col) in enumerate(SCHEMA.columns.items())
        if codes_row[j] >= 0
    }


def test_vectorized_and_single_triage_agree(model):
    codes = _random_codes(200, 1)
    post = model.posterior_matrix(codes)
    levels, reasons, flags = triage_codes(codes, post)
    for i in range(0, 200, 17):
        ev = _evidence_of(codes[i])
        assert (levels[i], reasons[i]) == triage_reason(ev, pd.Series(post[i], index=CAUSES))
        assert levels[i] == triage_level(ev, pd.Series(post[i], index=CAUSES))
        assert flags[i] == red_flags(ev)
    assert all(reasons)


BENIGN_PATTERN = {
    "duration": "minutes",
    "position_trigger": "sitting",
    "relieved_by": "moving_or_shifting",
}


@st.composite
def rows(draw, max_answers: int = 10):
    """A sparse row of answers; about half of them describe the benign pattern as well."""
    cols = draw(st.lists(st.sampled_from(COLUMNS), max_size=max_answers, unique=True))
    ev = {c: draw(st.sampled_from(SCHEMA.columns[c].states)) for c in cols}
    if draw(st.booleans()):
        ev.update(BENIGN_PATTERN)
    return ev


def _level(model, ev: dict[str, str]) -> str:
    codes = model.encode([ev])
    return str(triage_codes(codes, model.posterior_matrix(codes))[0][0])


def _rule_only_level(ev: dict[str, str]) -> str:
    """The most urgent non-self-care rule that fires (the default level when none does)."""
    levels = [r.level for r in RULES if r.level != "self_care" and r.fires(ev)]
    return min(levels, key=RANK.__getitem__, default="routine")


COLUMNS = list(SCHEMA.columns)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(full=rows(), data=st.data())
def test_removing_answers_never_earns_self_care(model, full, data):
    """Blanking answers cannot create the benign pattern, so it cannot create self-care.

    Self-care after removing answers means the answers left (and so the full row) describe
    the benign pattern; a full row without the pattern is never self-care.
    """
    removed = data.draw(
        st.lists(st.sampled_from(sorted(full)), unique=True) if full else st.just([])
    )
    fewer = {c: s for c, s in full.items() if c not in removed}
    full_has_pattern = any(r.fires(full) for r in BENIGN)
    if _level(model, fewer) == "self_care":
        assert any(r.fires(fewer) for r in BENIGN)
        assert full_has_pattern
    if not full_has_pattern:
        assert _level(model, full) != "self_care"


FLAG_RULES = [r for r in RULES if r.red_flag]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=rows(max_answers=8), rule=st.sampled_from(FLAG_RULES), data=st.data())
def test_adding_a_red_flag_answer_never_lowers_the_rule_level(model, drawn, rule, data):
    """Answering the questions of a red-flag rule (blank cells only) never lowers the level
    below that rule, nor below the rules that fired before; the flag is always listed."""
    # the row before: the drawn answers that do not contradict the rule (those are blanked)
    base = {
        c: s
        for c, s in drawn.items()
        if all(s in cond.states for cond in rule.when if cond.column == c)
    }
    after = dict(base)
    for cond in rule.when:
        if cond.column not in base and UNKNOWN not in cond.states:
            after[cond.column] = data.draw(st.sampled_from(cond.states))
    assert rule.fires(after)
    level = _level(model, after)
    assert RANK[level] <= RANK[rule.level], (rule.rule_id, level)
    assert RANK[level] <= RANK[_rule_only_level(base)], (rule.rule_id, level)
    assert rule.words in red_flags(after)


def test_self_care_only_on_positive_evidence_for_every_blank_or_history_row(model):
    rows = [{}] + [{"age_group": a} for a in SCHEMA.columns["age_group"].states]
    rows += [{"sex": "female", "pregnant": "yes"}, {"diabetes": "yes", "smoker": "yes"}]
    for ev in rows:
        assert model.diagnose(ev).triage == "routine", ev


def test_every_emergency_cause_needs_more_than_its_leak(model):
    # a blank row must not reach an emergency cause's "likely" threshold
    d = model.diagnose({})
    for cause, c in SCHEMA.causes.items():
        if c.triage_if_likely == "emergency":
            assert d.posteriors[cause] < LIKELY_THRESHOLD["emergency"], cause
