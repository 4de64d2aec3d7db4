"""Evidence for one person: validated and normalized exactly as the symptom-CSV contract says.

This is the one evidence normaliser: :meth:`legnumb.Model.diagnose`, the analyses, the case
files and the widgets all use it, and an invalid state is worded as ``legnumb score`` words
it (:func:`legnumb.network.schema.invalid_state`).

Examples
--------
>>> from legnumb.network.schema import load_schema
>>> normalize_evidence(load_schema(), {" Laterality ": "One_Leg", "diabetes": "Y", "onset": ""})
{'laterality': 'one_leg', 'diabetes': 'yes'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from legnumb.errors import EvidenceError, Problem
from legnumb.network.schema import Schema, invalid_state, normalize_name

__all__ = ["normalize_evidence"]


def _blank(value: object) -> bool:
    """None, NaN of any float type, pandas' NA/NaT, or only spaces: "not known"."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating) and math.isnan(float(value)):
        return True
    return str(value).strip() == ""


def _text(value: object) -> str:
    """A cell as text; a whole float (1.0, as pandas reads a 1/0 column with blanks) as 1."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def normalize_evidence(
    schema: Schema,
    evidence: Mapping[str, object],
    *,
    where: str = "evidence",
    known_only: bool = False,
) -> dict[str, str]:
    """Return ``evidence`` with names and states normalized; blank, None or NaN values dropped.

    Parameters
    ----------
    schema : Schema
        The symptom-CSV schema.
    evidence : mapping
        Column name -> raw value.
    where : str
        Names the evidence in messages (e.g. ``"cases.csv, row 4"``).
    known_only : bool
        Ignore names that are not model columns (ids, stories) instead of reporting them.

    Raises
    ------
    EvidenceError
        Listing every unknown column and invalid state at once, with the allowed values and
        the closest valid name.
    """
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for raw_name, raw_value in evidence.items():
        name = normalize_name(str(raw_name))
        if name not in schema.columns:
            if known_only:
                continue
            hint = schema.closest_column(name)
            problems.append(
                Problem(
                    where,
                    repr(raw_name),
                    "unknown column"
                    + (f"; did you mean {hint!r}?" if hint else ".")
                    + f" Known columns: {', '.join(schema.columns)}",
                )
            )
            continue
        if _blank(raw_value):
            continue
        state = schema.normalize_state(name, _text(raw_value))
        if state is None:
            problems.append(Problem(where, *invalid_state(schema, name, _text(raw_value))))
            continue
        if name in out and out[name] != state:
            problems.append(
                Problem(
                    where,
                    f"column {name!r}",
                    f"given twice with different states: {out[name]!r} and {state!r}",
                )
            )
        out[name] = state
    if problems:
        raise EvidenceError(f"{len(problems)} problem(s) in {where}:", problems)
    return out
