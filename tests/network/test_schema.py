"""Tests for model.schema: the bundled contract and its normalization rules."""

from __future__ import annotations

import pytest

from legnumb.network.schema import closest, load_schema, normalize_name

SCHEMA = load_schema()


def test_contract_sizes():
    # contract v2: 17 history + 32 symptom columns, 24 causes
    assert len(SCHEMA.columns) == 49
    assert (len(SCHEMA.history), len(SCHEMA.symptoms)) == (17, 32)
    assert len(SCHEMA.causes) == 24
    assert SCHEMA.history[0] == "age_group"
    assert SCHEMA.history[-1] == "neurotoxic_exposure"
    assert SCHEMA.symptoms[-1] == "anxiety_or_overbreathing"
    assert SCHEMA.states_of("onset") == ("sudden", "over_hours", "gradual")


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        (" Yes ", "yes"),
        ("y", "yes"),
        ("TRUE", "yes"),
        ("1", "yes"),
        ("N", "no"),
        ("false", "no"),
        ("0", "no"),
        ("maybe", None),
    ],
)
def test_yes_no_synonyms(raw, state):
    assert SCHEMA.normalize_state("diabetes", raw) == state


def test_synonyms_only_for_yes_no_columns():
    assert SCHEMA.normalize_state("onset", "y") is None
    assert SCHEMA.normalize_state("onset", " Sudden ") == "sudden"


def test_names_and_hints():
    assert normalize_name("  Laterality ") == "laterality"
    assert SCHEMA.closest_column("lateralty") == "laterality"
    assert closest("Bothlegs", ["one_leg", "both_legs"]) == "both_legs"
    assert closest("zzz", ["one_leg", "both_legs"]) is None
