"""Evidence for one person: validated and normalized exactly as the symptom-CSV contract says.

Examples
--------
>>> from model.schema import load_schema
>>> normalize_evidence(load_schema(), {" Laterality ": "One_Leg", "diabetes": "Y", "onset": ""})
{'laterality': 'one_leg', 'diabetes': 'yes'}
"""

from __future__ import annotations

from collections.abc import Mapping

from model.errors import EvidenceError, Problem
from model.schema import Schema, closest, normalize_name

__all__ = ["normalize_evidence"]


def normalize_evidence(schema: Schema, evidence: Mapping[str, object]) -> dict[str, str]:
    """Return ``evidence`` with names and states normalized; blank or None values dropped.

    Raises
    ------
    EvidenceError
        Listing every unknown column and invalid state at once, with the allowed values and
        the closest valid name.
    """
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for raw_name, raw_value in evidence.items():
        name = normalize_name(raw_name)
        if name not in schema.columns:
            hint = schema.closest_column(name)
            problems.append(
                Problem(
                    "evidence",
                    repr(raw_name),
                    "unknown column"
                    + (f"; did you mean {hint!r}?" if hint else "")
                    + f" Known columns: {', '.join(schema.columns)}",
                )
            )
            continue
        if raw_value is None or str(raw_value).strip() == "":
            continue
        state = schema.normalize_state(name, str(raw_value))
        if state is None:
            allowed = schema.columns[name].states
            hint = closest(str(raw_value), allowed)
            problems.append(
                Problem(
                    "evidence",
                    name,
                    f"got {raw_value!r}; allowed: {', '.join(allowed)}"
                    + (f" (did you mean {hint!r}?)" if hint else ""),
                )
            )
            continue
        if name in out and out[name] != state:
            problems.append(
                Problem(
                    "evidence",
                    name,
                    f"given twice with different states: {out[name]!r} and {state!r}",
                )
            )
        out[name] = state
    if problems:
        raise EvidenceError(f"{len(problems)} problem(s) in the evidence:", problems)
    return out
