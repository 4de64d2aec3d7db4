"""``legnumb score`` on the faults found by fuzzing it (issue 12): every failure is exit 2
with one line and no output file, every row is kept, and the output path is handled safely.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from legnumb.cli.main import main
from legnumb.data import examples_path

EXAMPLES = Path(examples_path())


@pytest.fixture(autouse=True)
def _model_loaded_once(model, monkeypatch):
    """Reuse the session's model instead of loading it for every command."""
    monkeypatch.setattr("legnumb.cli.commands.score.model_from_args", lambda args: model)


def run(*argv: object) -> int:
    return main(["score", *map(str, argv)])


def one_error_line(capsys) -> str:
    """The only line on standard error, which must be an error line."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("legnumb score: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- D1
def test_d1_unclosed_quote_is_exit_2_naming_file_and_line(tmp_path, capsys):
    src = tmp_path / "u.csv"
    src.write_bytes(
        b"case_id,note,laterality,bladder_bowel_problems\n"
        b'A1,"5 ft 10,one_leg,no\n'
        b"A2,ok,both_legs,yes\n"
    )
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "u.csv: line 2: not readable as CSV: a quote opened on this line" in line
    assert sorted(os.listdir(tmp_path)) == ["u.csv"]


def test_d1_quote_over_the_field_limit_is_exit_2(tmp_path, capsys):
    src = tmp_path / "u.csv"
    rows = b"".join(b"A%d,x,one_leg,no\n" % i for i in range(100_000))
    src.write_bytes(b"case_id,note,laterality,bladder_bowel_problems\n" + b'B,"x\n' + rows)
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "u.csv: line 2: not readable as CSV" in line
    assert "not closed within 1 MiB" in line
    assert not out.exists()


# --------------------------------------------------------------------------- D16
def test_d16_nul_late_in_the_file_is_exit_2_naming_the_line(tmp_path, capsys):
    src = tmp_path / "n.csv"
    src.write_bytes(b"case_id,onset\n" + b"A,sudden\n" * 20_000 + b"B,\x00\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "n.csv: line 20002 (byte offset 180016) holds a NUL byte" in line
    assert not out.exists()


# --------------------------------------------------------------------------- D11
def test_d11_one_column_file_keeps_its_blank_rows(tmp_path, capsys):
    src = tmp_path / "b.csv"
    src.write_bytes(b"laterality\none_leg\n\nboth_legs\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 4
    assert [line.split(",")[0] for line in lines[1:]] == ["one_leg", "", "both_legs"]
    blank = lines[2].split(",")
    assert blank[1].startswith("0.")  # scored, with nothing known
    err = capsys.readouterr().err
    assert "3 row(s) written" in err
    assert "b.csv: 1 blank line(s) were kept as rows with nothing known (first: row 2)" in err


def test_d11_blank_line_in_a_wide_file_is_counted(tmp_path):
    src = tmp_path / "b.csv"
    src.write_bytes(b"case_id,onset,laterality\r\nA,sudden,one_leg\r\n\r\nB,,both_legs\r\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q") == 0
    rows = out.read_text().splitlines()[1:]
    assert [r.split(",")[:3] for r in rows] == [
        ["A", "sudden", "one_leg"],
        ["", "", ""],
        ["B", "", "both_legs"],
    ]
