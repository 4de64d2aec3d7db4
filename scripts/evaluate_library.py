"""Triage and top-cause figures of the current model on the published case library.

The library (``model/data/case_library.csv``) is coded in contract version 2; the model still
reads version 1. This script scores each case with the version-1 columns only (version-2
columns and states are left blank), so the figures say how the current model does on
published presentations, and which misses need model v2. Evaluation only: nothing here may be
used to set a number.

Run: ``python scripts/evaluate_library.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from legnumb import load_model

LIBRARY = Path(__file__).resolve().parents[1] / "model" / "data" / "case_library.csv"
ORDER = ["emergency", "urgent", "routine", "self_care"]


def evaluate(path: Path = LIBRARY) -> pd.DataFrame:
    """One row per case: expected and given triage and cause, answers used, reason."""
    model = load_model()
    cases = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = []
    for _, case in cases.iterrows():
        ev = {
            col: value
            for col, value in case.items()
            if col in model.schema.columns and value in model.schema.columns[col].states
        }
        d = model.diagnose(ev)
        rows.append(
            {
                "case_id": case["case_id"],
                "expected_cause": case["expected_cause"],
                "top_cause": d.ranked.index[0],
                "in_top3": case["expected_cause"] in d.ranked.index[:3],
                "modelled": case["expected_cause"] in model.causes,
                "expected_triage": case["expected_triage"],
                "triage": d.triage,
                "answers_used": len(ev),
                "reason": d.triage_reason,
            }
        )
    return pd.DataFrame(rows)


def main() -> int:
    df = evaluate()
    rank = {level: i for i, level in enumerate(ORDER)}
    under = df[[rank[g] > rank[e] for e, g in zip(df.expected_triage, df.triage, strict=True)]]
    over = df[[rank[g] < rank[e] for e, g in zip(df.expected_triage, df.triage, strict=True)]]
    modelled = df[df.modelled]
    emergencies = df[df.expected_triage == "emergency"]
    print(f"{len(df)} published cases; {len(modelled)} of a cause the current model lists")
    print(
        f"top-1 {int((modelled.expected_cause == modelled.top_cause).sum())}/{len(modelled)}, "
        f"top-3 {int(modelled.in_top3.sum())}/{len(modelled)} (cases of a listed cause)"
    )
    print(
        f"emergency recall {int((emergencies.triage == 'emergency').sum())}/{len(emergencies)}; "
        f"under-triaged {len(under)}, over-triaged {len(over)}"
    )
    table = pd.crosstab(
        pd.Categorical(df.expected_triage, ORDER),
        pd.Categorical(df.triage, ORDER),
        rownames=["expected"],
        colnames=["given"],
        dropna=False,
    )
    print(table.to_string())
    print("\nunder-triaged:")
    print(under[["case_id", "expected_cause", "expected_triage", "triage", "reason"]].to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
