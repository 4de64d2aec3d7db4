"""Shared data for the analysis tests: a case, an evidence strategy, engine codes."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from legnumb.network.schema import load_schema

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.columns)
CAUSES = list(SCHEMA.causes)

#: A diabetic neuropathy case used across the analysis tests.
CASE = {
    "age_group": "65_plus",
    "diabetes": "yes",
    "laterality": "both_legs",
    "distribution": "feet_and_toes",
    "burning_pain": "yes",
    "back_pain": "no",
}

#: Random evidence over the model's columns (up to nine answers).
EVIDENCE = st.dictionaries(
    st.sampled_from(COLUMNS), st.integers(min_value=0, max_value=4), max_size=9
).map(
    lambda d: {c: SCHEMA.columns[c].states[i % len(SCHEMA.columns[c].states)] for c, i in d.items()}
)
#: Few examples per property: every example runs exact inference.
SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def full_codes(model, evidences):
    """Engine codes for a list of {node: state} dicts (columns or causes)."""
    return model.engine.encode(evidences)


def h2(p):
    """Binary entropy in bits."""
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1 - 1e-16)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
