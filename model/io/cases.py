"""Case files: the bundled worked examples, any case CSV, and one case's evidence.

Every command and notebook that works on a few named cases (``diagnose``, ``explain``,
``evaluate``, ``sensitivity``, ``report``) reads them here.

Examples
--------
>>> cases = load_cases()  # the bundled examples
>>> row = select_case(cases, "E03")
>>> case_evidence(load_schema(), row, where="examples.csv")["laterality"]
'one_leg'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.errors import InputError
from legnumb.network.schema import Schema, load_schema

__all__ = [
    "case_evidence",
    "example_evidence",
    "history_only",
    "load_cases",
    "load_examples",
    "select_case",
]


def load_cases(path: str | Path | None = None) -> pd.DataFrame:
    """Read a case file as raw strings (the bundled examples when ``path`` is None).

    Raises
    ------
    InputError
        When the file is missing or is not a readable CSV file.
    """
    if path is None:
        from legnumb.data import examples_path

        path = examples_path()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc}).") from exc


def load_examples() -> pd.DataFrame:
    """The bundled worked examples as strings.

    >>> load_examples()["case_id"].head(3).tolist()
    ['E01', 'E02', 'E03']
    """
    return load_cases(None)


def select_case(
    cases: pd.DataFrame, case_id: str, *, path: str = "cases", id_column: str = "case_id"
) -> pd.Series:
    """The row whose ``id_column`` is ``case_id``; a clear error names the ids available.

    Raises
    ------
    InputError
        When there is no such column or no such id.
    """
    if id_column not in cases.columns:
        raise InputError(f"{path}: has no {id_column} column; cannot select case {case_id!r}.")
    hit = cases[cases[id_column].str.strip() == case_id.strip()]
    if hit.empty:
        ids = ", ".join(cases[id_column].head(40))
        raise InputError(f"{path}: no case with {id_column} {case_id!r}. Got ids: {ids}")
    return hit.iloc[0]


def case_evidence(
    schema: Schema, row: Mapping[str, object] | pd.Series, *, where: str = "case"
) -> dict[str, str]:
    """The evidence of one case row: known columns only, validated, blanks dropped.

    Other cells (an id, a story, expected answers) are ignored. Every invalid state is
    reported at once, naming ``where``, the column, the value and the allowed values.

    Examples
    --------
    >>> case_evidence(load_schema(), {"case_id": "X1", "Onset": "Sudden", "weakness": ""})
    {'onset': 'sudden'}
    >>> case_evidence(load_schema(), {"onset": "slowly"}, where="cases.csv, row 2")
    Traceback (most recent call last):
    ...
    legnumb.errors.EvidenceError: 1 problem(s) in cases.csv, row 2:
      - cases.csv, row 2: column 'onset': Got 'slowly' instead; allowed: sudden, gradual
    """
    items = row.to_dict() if isinstance(row, pd.Series) else dict(row)
    return normalize_evidence(schema, items, where=where, known_only=True)


def example_evidence(case_id: str) -> dict[str, str]:
    """The evidence of one bundled example case.

    >>> example_evidence("E03")["laterality"]
    'one_leg'
    """
    cases = load_examples()
    hit = cases[cases["case_id"] == case_id]
    if hit.empty:
        raise InputError(
            f"expected a case_id of the bundled examples ({', '.join(cases['case_id'])}). "
            f"Got {case_id!r} instead."
        )
    line = int(hit.index[0]) + 2
    return case_evidence(load_schema(), hit.iloc[0], where=f"examples.csv, row {line}")


def history_only(schema: Schema, evidence: Mapping[str, str]) -> dict[str, str]:
    """The history (risk-factor) part of normalized evidence.

    >>> history_only(load_schema(), {"diabetes": "yes", "onset": "sudden"})
    {'diabetes': 'yes'}
    """
    return {c: s for c, s in evidence.items() if schema.columns[c].group == "history"}
