"""Case files: the bundled worked examples, any case CSV, and one case's evidence.

Every command and notebook that works on a few named cases (``diagnose``, ``explain``,
``evaluate``, ``sensitivity``, ``report``) reads them here, through the one symptom-CSV reader
of ``legnumb score`` (:class:`legnumb.io.symptom_csv.CsvReader`), so a file means the same
everywhere: a byte-order mark, CRLF, quoted line breaks and short rows are handled as the
contract says, rows are numbered as ``score`` numbers them (row 1 = the first data row), and
a bad row (an invalid value, or more cells than the header) is that row's error, with the
very message ``score`` writes in its ``error`` column, while the other rows stay usable.

:func:`load_cases` returns a DataFrame of strings (columns = header names, index = row - 1)
and keeps what it found in ``DataFrame.attrs``; :func:`row_errors`, :func:`case_warnings` and
:func:`row_number` read it back, also on a selection of the rows.

Examples
--------
>>> cases = load_cases()  # the bundled examples
>>> row = select_case(cases, "E03")
>>> row_number(cases, row.name)
3
>>> case_evidence(load_schema(), row, where="examples.csv")["laterality"]
'one_leg'
>>> row_errors(cases)
{}
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.errors import InputError
from legnumb.network.schema import Schema, load_schema, normalize_name

__all__ = [
    "DEFAULT_ID_COLUMN",
    "case_evidence",
    "case_label",
    "case_warnings",
    "check_unique_ids",
    "example_evidence",
    "find_column",
    "history_only",
    "load_cases",
    "load_examples",
    "printable",
    "row_errors",
    "row_number",
    "select_case",
    "source_name",
]

#: The column that names a case unless a command is told otherwise (``--id-column``).
DEFAULT_ID_COLUMN = "case_id"

_ATTRS = "legnumb_cases"


def load_cases(
    path: str | Path | None = None,
    *,
    schema: Schema | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
) -> pd.DataFrame:
    """Read a case file as raw strings (the bundled examples when ``path`` is None).

    The file goes through the reader of ``legnumb score``, with its rules and messages.
    Every row is kept, in file order, its cells as text (blank cells are ``""``; a row with
    fewer cells than the header is padded with blanks; a row with more keeps only the
    header's width). Rows that ``score`` would not score carry its error message, found with
    :func:`row_errors`; header warnings (likely typos, repeated columns) and short rows are
    listed by :func:`case_warnings`.

    Parameters
    ----------
    path : str or Path, optional
        The CSV file; the bundled ``examples.csv`` when None.
    schema : Schema, optional
        The symptom-CSV contract (the shipped one by default).
    encoding : str, optional
        Text encoding of the file (UTF-8 by default; a byte-order mark is always dropped).
    name : str, optional
        The file's name in messages (default: ``path`` as given, or ``examples.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per data row, index ``row - 1`` (row 1 = the first data row), columns the
        header names (a repeated name gets ``.1``, ``.2``, ... as pandas does).

    Raises
    ------
    InputError
        When the file cannot be used at all: missing, empty, not text, bytes not valid in
        ``encoding``, a quote left open, or no column of the contract in the header.

    Examples
    --------
    >>> import os, tempfile
    >>> fd, tmp = tempfile.mkstemp(suffix=".csv")
    >>> _ = os.write(fd, b"\\xef\\xbb\\xbfcase_id,onset\\r\\nA,sudden\\r\\nB,sudden,x\\r\\n")
    >>> os.close(fd)
    >>> cases = load_cases(tmp, name="c.csv")
    >>> cases["case_id"].tolist()
    ['A', 'B']
    >>> print(row_errors(cases)[1][:47])
    c.csv, row 2: has 3 cells but the header has 2;
    >>> os.remove(tmp)
    """
    from legnumb.io.batch import Summary
    from legnumb.io.symptom_csv import CsvReader, encode_chunk, parse_header, row_error_text

    if path is None:
        from legnumb.data import examples_path

        path, name = examples_path(), name or "examples.csv"
    schema = schema or load_schema()
    shown = name or Path(path).name
    rows: list[list[str]] = []
    errors: dict[int, str] = {}
    summary = Summary(shown)
    with CsvReader(Path(path), encoding=encoding, name=shown) as reader:
        header = parse_header(reader.names, schema=schema, source=shown)
        for chunk in reader.chunks(header):
            enc = encode_chunk(chunk, header, schema=schema)
            texts = row_error_text(
                enc.problems, chunk.n_rows, first_row=chunk.first_row, source=shown
            )
            for i, text in enumerate(texts):
                if text:
                    errors[chunk.first_row - 1 + i] = text
            rows.extend(_cells(line, header.width) for line in chunk.passthrough)
            if chunk.short_rows:
                if not summary.short_rows:
                    summary.first_short_row = chunk.first_short_row
                summary.short_rows += chunk.short_rows
    frame = pd.DataFrame(rows, columns=_unique(header.names), dtype=object)
    if not rows:
        frame = frame.astype(object)
    frame.attrs[_ATTRS] = {
        "source": shown,
        "errors": errors,
        "warnings": (*header.warnings, *summary.row_warnings),
    }
    return frame


def printable(text: object) -> str:
    """Text from a user's file made safe to show: control characters written escaped.

    Characters that are not printable (terminal escapes, tabs, line breaks, zero-width and
    bidirectional controls) are written as Python writes them in ``repr`` (``\\x1b``,
    ``\\t``, ``\\u202e``); everything else, accents and other scripts included, is kept.
    Every command that prints a case id, a story or a message quoting them uses it.

    >>> print(printable("E01\\x1b[2J\\tok"))
    E01\\x1b[2J\\tok
    """
    s = str(text)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in s)


def _cells(line: bytes, width: int) -> list[str]:
    """The cells of one record as the reader passed it through (CSV, UTF-8, no line end)."""
    cells = next(csv.reader([line.decode("utf-8")]), [])
    if len(cells) < width:
        cells += [""] * (width - len(cells))
    return cells[:width]


def _unique(names: Sequence[str]) -> list[str]:
    """Header names, a repeated name suffixed ``.1``, ``.2``, ... (as ``pandas.read_csv``)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        new = n
        while k and new in seen:
            new = f"{n}.{k}"
            k += 1
        if new != n:
            seen[new] = 1
        out.append(new)
    return out


def _info(cases: pd.DataFrame) -> dict:
    return cases.attrs.get(_ATTRS) or {}


def source_name(cases: pd.DataFrame, default: str = "cases") -> str:
    """The file name :func:`load_cases` read ``cases`` from (``default`` for other frames)."""
    return _info(cases).get("source") or default


def row_errors(cases: pd.DataFrame) -> dict[object, str]:
    """The rows of ``cases`` that cannot be used, by index label, with ``score``'s message.

    Only rows still present are listed (``cases`` may be a selection of a loaded file).
    A DataFrame not read by :func:`load_cases` has none.
    """
    errors = _info(cases).get("errors") or {}
    return {label: errors[label] for label in cases.index if label in errors}


def case_warnings(cases: pd.DataFrame) -> tuple[str, ...]:
    """Warnings about the file: likely typos in the header, repeated columns, short rows."""
    return tuple(_info(cases).get("warnings") or ())


def row_number(cases: pd.DataFrame, label) -> int:
    """The row number (1 = first data row, as ``score`` counts) of the row with index ``label``.

    For a frame read by :func:`load_cases` (or a selection of one) this is the row in the
    file; for any other frame, the position of the row plus one.
    """
    if (
        _ATTRS in cases.attrs
        and isinstance(label, int | np.integer)
        and not isinstance(label, bool)
    ):
        return int(label) + 1
    return int(cases.index.get_loc(label)) + 1


def find_column(cases: pd.DataFrame, name: str) -> str | None:
    """The column of ``cases`` named ``name``, ignoring case and surrounding spaces; or None.

    >>> find_column(pd.DataFrame(columns=[" Case_ID ", "onset"]), "case_id")
    ' Case_ID '
    """
    if name in cases.columns:
        return name
    want = normalize_name(name)
    for col in cases.columns:
        if normalize_name(col) == want:
            return col
    return None


def _id_column(cases: pd.DataFrame, id_column: str, path: str, purpose: str) -> str:
    col = find_column(cases, id_column)
    if col is None:
        got = ", ".join(repr(str(c)) for c in list(cases.columns)[:12])
        raise InputError(
            f"{path}: has no {id_column} column; cannot {purpose}. Expected a column named "
            f"{id_column!r} (or choose one with --id-column); got columns: {got}."
        )
    return col


def case_label(
    cases: pd.DataFrame, label, *, id_column: str = DEFAULT_ID_COLUMN, row: pd.Series = None
) -> str:
    """How a case is named in output: its id, or ``row N`` when it has none."""
    col = find_column(cases, id_column)
    value = ""
    if col is not None:
        value = str((row if row is not None else cases.loc[label])[col]).strip()
    return value or f"row {row_number(cases, label)}"


def check_unique_ids(
    cases: pd.DataFrame, *, id_column: str = DEFAULT_ID_COLUMN, path: str | None = None
) -> None:
    """Raise :class:`InputError` naming the rows of every id that appears more than once.

    Blank ids are not compared (such cases are named by their row).

    >>> check_unique_ids(pd.DataFrame({"case_id": ["a", "b", " a"]}), path="c.csv")
    Traceback (most recent call last):
    ...
    legnumb.errors.InputError: c.csv: case_id 'a' appears in rows 1 and 3; expected each case_id once.
    """
    path = path or source_name(cases)
    col = find_column(cases, id_column)
    if col is None:
        return
    ids = cases[col].astype(str).str.strip()
    dup = ids[(ids != "") & ids.duplicated(keep=False)]
    if dup.empty:
        return
    parts = []
    for value, labels in dup.groupby(dup, sort=False).groups.items():
        rows = [str(row_number(cases, lab)) for lab in labels]
        parts.append(f"{id_column} {value!r} appears in rows {', '.join(rows[:-1])} and {rows[-1]}")
    raise InputError(f"{path}: " + "; ".join(parts) + f"; expected each {id_column} once.")


def select_case(
    cases: pd.DataFrame,
    case_id: str,
    *,
    path: str | None = None,
    id_column: str = DEFAULT_ID_COLUMN,
) -> pd.Series:
    """The row whose ``id_column`` is ``case_id``; a clear error names the ids available.

    Ids are compared without surrounding spaces. The row's ``name`` is its index label
    (:func:`row_number` gives its row in the file).

    Raises
    ------
    InputError
        When there is no such column, no such id, or the id names more than one row.

    Examples
    --------
    >>> select_case(pd.DataFrame({"case_id": ["a", "b"], "onset": ["", "sudden"]}), "b")["onset"]
    'sudden'
    >>> select_case(pd.DataFrame({"case_id": ["a", "a"]}), "a", path="c.csv")
    Traceback (most recent call last):
    ...
    legnumb.errors.InputError: c.csv: case_id 'a' appears in rows 1 and 2; expected one row per case_id.
    """
    path = path or source_name(cases)
    col = _id_column(cases, id_column, path, f"select case {case_id!r}")
    ids = cases[col].astype(str).str.strip()
    hit = cases[ids == str(case_id).strip()]
    if hit.empty:
        shown = ", ".join(ids.head(40)) + (", ..." if len(ids) > 40 else "")
        raise InputError(f"{path}: no case with {id_column} {case_id!r}. Got ids: {shown}")
    if len(hit) > 1:
        rows = [str(row_number(cases, lab)) for lab in hit.index]
        raise InputError(
            f"{path}: {id_column} {str(case_id).strip()!r} appears in rows "
            f"{', '.join(rows[:-1])} and {rows[-1]}; expected one row per {id_column}."
        )
    return hit.iloc[0]


def load_examples() -> pd.DataFrame:
    """The bundled worked examples as strings.

    >>> load_examples()["case_id"].head(3).tolist()
    ['E01', 'E02', 'E03']
    """
    return load_cases(None)


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
      - cases.csv, row 2: column 'onset': Got 'slowly' instead; allowed: sudden, over_hours, gradual
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
    line = row_number(cases, hit.index[0])
    return case_evidence(load_schema(), hit.iloc[0], where=f"examples.csv, row {line}")


def history_only(schema: Schema, evidence: Mapping[str, str]) -> dict[str, str]:
    """The history (risk-factor) part of normalized evidence.

    >>> history_only(load_schema(), {"diabetes": "yes", "onset": "sudden"})
    {'diabetes': 'yes'}
    """
    return {c: s for c, s in evidence.items() if schema.columns[c].group == "history"}
