"""Tests for model.triage: red flags are always reported; levels follow the policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from legnumb.diagnosis.triage import LIKELY_THRESHOLD, RULES, red_flags, triage_codes, triage_level
from legnumb.network.schema import load_schema

CAUSES = list(load_schema().causes)
NONE_LIKELY = pd.Series(0.0, index=CAUSES)


@pytest.mark.parametrize(
    ("evidence", "level"),
    [
        ({"face_arm_or_speech": "yes"}, "emergency"),
        ({"bladder_bowel_problems": "yes"}, "emergency"),
        ({"chest_pain_or_breathless": "yes"}, "emergency"),
        ({"weakness": "yes", "onset": "sudden"}, "emergency"),
        ({"cold_pale_foot": "yes", "onset": "sudden"}, "emergency"),
        ({"distribution": "saddle_area"}, "emergency"),
        ({"calf_swelling": "yes", "recent_immobility": "yes"}, "urgent"),
        ({"weakness": "yes", "onset": "gradual"}, "self_care"),
        ({"progressive": "yes"}, "routine"),
        ({"laterality": "one_leg", "duration": "weeks_or_longer"}, "routine"),
        ({"laterality": "one_leg", "duration": "minutes"}, "self_care"),
        ({}, "self_care"),
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
        ("sciatica", "routine"),
    ],
)
def test_likely_cause_sets_the_level_at_its_threshold(cause, level):
    post = NONE_LIKELY.copy()
    post[cause] = LIKELY_THRESHOLD[level] - 1e-6
    assert triage_level({}, post) == "self_care"
    post[cause] = LIKELY_THRESHOLD[level]
    assert triage_level({}, post) == level


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
    )


def test_vectorized_and_single_triage_agree(model):
    rng = np.random.default_rng(1)
    schema = load_schema()
    codes = np.stack(
        [
            np.where(rng.random(200) < 0.5, rng.integers(len(c.states), size=200), -1)
            for c in schema.columns.values()
        ],
        axis=1,
    )
    post = model.posterior_matrix(codes)
    levels, flags = triage_codes(codes, post)
    for i in range(0, 200, 17):
        ev = {
            name: col.states[codes[i, j]]
            for j, (name, col) in enumerate(schema.columns.items())
            if codes[i, j] >= 0
        }
        assert levels[i] == triage_level(ev, pd.Series(post[i], index=CAUSES))
        assert flags[i] == red_flags(ev)


def test_every_rule_names_known_columns_and_states():
    schema = load_schema()
    for rule in RULES:
        for col, state in rule.when:
            assert state in schema.columns[col].states
