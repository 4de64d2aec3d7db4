"""Tests for legnumb.io.cases: case files read through the one symptom-CSV reader of ``score``."""

from __future__ import annotations

import pandas as pd
import pytest

from legnumb.errors import EvidenceError, InputError
from legnumb.io.batch import score_file
from legnumb.io.cases import (
    case_evidence,
    case_label,
    case_warnings,
    check_unique_ids,
    example_evidence,
    find_column,
    load_cases,
    load_examples,
    printable,
    row_errors,
    row_number,
    select_case,
    source_name,
)
from legnumb.network.schema import load_schema

#: A byte-order mark, CRLF line ends, a quoted line break and one row with an extra cell.
RAGGED = (
    b"\xef\xbb\xbfcase_id,laterality,onset,story\r\n"
    b"A,one_leg,sudden,ok\r\n"
    b"B,both_legs,gradual,fine\r\n"
    b"C,one_leg,sudden,bad,extra\r\n"
    b'D,both_legs,,"two\r\nlines"\r\n'
)


def _score_errors(model, path, tmp_path) -> list[str]:
    out = tmp_path / "scored.csv"
    score_file(model, path, out)
    return pd.read_csv(out, dtype=str, keep_default_na=False)["error"].tolist()


def test_ragged_row_is_that_rows_error_with_scores_message(model, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(RAGGED)
    cases = load_cases(path)
    assert list(cases.columns) == ["case_id", "laterality", "onset", "story"]
    assert cases["case_id"].tolist() == ["A", "B", "C", "D"]
    assert cases["story"].iloc[3] == "two\r\nlines"
    assert all(isinstance(v, str) for v in cases.to_numpy().ravel())
    errors = row_errors(cases)
    assert list(errors) == [2]
    assert row_number(cases, 2) == 3
    assert errors[2].startswith("ragged.csv, row 3: has 5 cells but the header has 4")
    # exactly what `legnumb score` writes in the error column of that row
    assert _score_errors(model, path, tmp_path) == ["", "", errors[2], ""]


def test_invalid_value_has_scores_row_number_and_message(model, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("case_id,laterality\nA,one_leg\nB,three_legs\n")
    cases = load_cases(path)
    assert row_errors(cases) == {1: _score_errors(model, path, tmp_path)[1]}
    assert "row 2: column 'laterality': Got 'three_legs' instead" in row_errors(cases)[1]


def test_selection_keeps_row_numbers_and_errors(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(RAGGED)
    cases = load_cases(path)
    some = cases[cases["case_id"].isin(["C", "D"])]
    assert list(row_errors(some)) == [2]
    assert [row_number(some, lab) for lab in some.index] == [3, 4]
    assert row_errors(cases[cases["case_id"] == "A"]) == {}
    assert source_name(some) == "ragged.csv"
    # a frame not read from a file: rows are numbered by position
    other = pd.DataFrame({"case_id": ["x", "y"]}, index=[10, 20])
    assert row_number(other, 20) == 2
    assert row_errors(other) == {}


def test_short_rows_and_header_warnings_as_score_words_them(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("case_id,lateralty,onset\nA,one_leg\nB,x,sudden\n")
    cases = load_cases(path)
    assert cases.loc[0, "onset"] == ""
    warnings = case_warnings(cases)
    assert any("did you mean 'laterality'" in w for w in warnings)
    assert any("1 row(s) had fewer cells than the header (first: row 1)" in w for w in warnings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00j\x00", "UTF-16"),
        (b"case_id,onset\nA,sudd\xe9n\n", "line 2 (byte offset"),
        (b"", "the file is empty"),
        (b"id,notes\n1,x\n", "no known column in the header"),
    ],
)
def test_unusable_files_are_input_errors_with_scores_message(model, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.csv") as from_cases:
        load_cases(path)
    assert message in str(from_cases.value)
    with pytest.raises(InputError) as from_score:
        score_file(model, path, tmp_path / "out.csv")
    assert str(from_cases.value) == str(from_score.value)


def test_missing_file_and_encoding(tmp_path):
    with pytest.raises(InputError, match=r"none\.csv: no such file"):
        load_cases(tmp_path / "none.csv")
    path = tmp_path / "cp.csv"
    path.write_bytes("case_id,onset,story\nA,sudden,caf\xe9\n".encode("cp1252"))
    assert load_cases(path, encoding="cp1252")["story"].iloc[0] == "café"


def test_header_only_and_repeated_names(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("case_id,onset,note,note\n")
    cases = load_cases(path)
    assert len(cases) == 0
    assert list(cases.columns) == ["case_id", "onset", "note", "note.1"]


def test_bundled_examples():
    cases = load_examples()
    assert len(cases) == 57  # contract v2: E01-E57
    assert source_name(cases) == "examples.csv"
    assert row_errors(cases) == {}
    assert example_evidence("E03")["laterality"] == "one_leg"
    with pytest.raises(InputError, match="expected a case_id of the bundled examples"):
        example_evidence("E99")


def test_select_case_by_any_id_column_and_duplicates():
    cases = pd.DataFrame({"Patient ": ["p1", " p2", "p1"], "onset": ["sudden", "", "gradual"]})
    assert find_column(cases, "patient") == "Patient "
    assert select_case(cases, "p2", id_column="patient").name == 1
    with pytest.raises(InputError, match=r"'p1' appears in rows 1 and 3; expected one row"):
        select_case(cases, "p1", id_column="patient", path="c.csv")
    with pytest.raises(InputError, match=r"no case with patient 'p9'\. Got ids: p1, p2, p1"):
        select_case(cases, "p9", id_column="patient")
    with pytest.raises(InputError, match="has no case_id column; cannot select case"):
        select_case(cases, "p1")
    with pytest.raises(InputError, match=r"patient 'p1' appears in rows 1 and 3"):
        check_unique_ids(cases, id_column="patient")
    check_unique_ids(cases.head(2), id_column="patient")


def test_case_label_falls_back_to_the_row():
    cases = pd.DataFrame({"case_id": ["a", ""], "onset": ["", ""]})
    assert [case_label(cases, i) for i in cases.index] == ["a", "row 2"]
    assert case_label(cases.drop(columns="case_id"), 0) == "row 1"


def test_case_evidence_reports_the_place():
    with pytest.raises(EvidenceError, match=r"c\.csv, row 2: column 'onset'"):
        case_evidence(load_schema(), {"onset": "slowly"}, where="c.csv, row 2")


def test_printable_escapes_control_characters_only():
    assert printable("E1\x1b[31m\tx\n\u202e") == "E1\\x1b[31m\\tx\\n\\u202e"
    assert printable("Zoë 李 ok") == "Zoë 李 ok"
