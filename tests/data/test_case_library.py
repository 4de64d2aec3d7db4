"""The bundled case library keeps the rules CASE_LIBRARY.md states for every row."""

from __future__ import annotations

import re

import pandas as pd

from legnumb.data import library_path
from legnumb.network.schema import load_schema

LOCATOR = re.compile(r"^(doi:10\.\d{4,9}/\S+|PMID:? ?\d+|PMC\d+|https?://\S+)$")


def _library() -> pd.DataFrame:
    return pd.read_csv(library_path(), dtype=str, keep_default_na=False)


def test_ids_are_unique_and_in_order():
    ids = _library()["case_id"].tolist()
    assert len(set(ids)) == len(ids)
    numbers = [int(i[1:]) for i in ids]
    assert all(i.startswith("L") for i in ids)
    assert numbers == sorted(numbers)


def test_every_row_has_a_citation_and_a_checkable_locator():
    lib = _library()
    bad = lib.loc[~lib["locator"].str.match(LOCATOR), ["case_id", "locator"]]
    assert bad.empty, bad.to_string()
    assert (lib["citation"].str.len() > 20).all()
    assert lib["case_type"].isin(["typical", "atypical", "sparse"]).all()


def test_expected_cause_and_triage_are_known_and_each_cause_has_a_case():
    lib = _library()
    schema = load_schema()
    assert set(lib["expected_cause"]) == set(schema.causes)
    assert lib["expected_triage"].isin(["emergency", "urgent", "routine", "self_care"]).all()


def test_cells_use_the_contract_states():
    lib = _library()
    schema = load_schema()
    problems = [
        f"{row.case_id}.{name}={row[name]!r}"
        for _, row in lib.iterrows()
        for name, col in schema.columns.items()
        if row[name] and row[name] not in col.states
    ]
    assert problems == []
