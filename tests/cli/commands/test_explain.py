"""Tests for ``legnumb explain``: text and JSON output, and clear errors with exit code 2."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from legnumb import DISCLAIMER
from legnumb.cli import main
from legnumb.data import examples_path
from legnumb.network.schema import load_schema
from tests.cli.commands.support import V2_COLUMNS


def _evidence(case_id: str) -> dict[str, str]:
    """The answered columns of one bundled example."""
    raw = pd.read_csv(examples_path(), dtype=str, keep_default_na=False)
    row = raw.set_index("case_id").loc[case_id]
    schema = load_schema()
    return {c: row[c] for c in schema.columns if row[c]}


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_text_output(capsys):
    code, out, _ = _run(
        capsys, "explain", str(examples_path()), "--case-id", "E03", "--n-sim", "100"
    )
    assert code == 0
    assert " ".join(DISCLAIMER.split()) in " ".join(out.split())
    assert "Triage: ROUTINE" in out
    assert "Red flags: none" in out
    assert " 1. sciatica" in out
    assert out.count("raise") >= 1
    assert "(the prior, no findings)" in out
    # E03 answers the 35 columns of contract v1: the questions left are the 14 columns of v2
    assert "Findings answered: 35 of 49 columns." in out
    block = out.split("Next questions")[1].split("Data conflict:")[0]
    asked = re.findall(r"\[(\w+)\]  \d+\.\d\d bits", block)
    assert len(asked) == 3
    assert set(asked) <= set(V2_COLUMNS)
    assert "Data conflict:" in out
    assert "fit together as usual" in out


def test_text_output_shows_p_other_cause_and_a_fully_answered_case(model, capsys):
    code, out, _ = _run(capsys, "explain", "--case-id", "E31", "--n-sim", "50")
    assert code == 0
    assert " 1. meralgia paresthetica" in out
    assert "Findings answered: 49 of 49 columns." in out
    assert "Every column is answered: no question left to ask." in out
    d = model.diagnose(_evidence("E31"))
    assert 0 < d.p_other_cause < 0.01  # meralgia explains the findings
    assert re.search(r"\n +no listed cause +<?0\.\d%  \(P\(none of the causes", out)


def test_next_questions_for_a_partial_case(tmp_path, capsys):
    path = tmp_path / "cases.csv"
    path.write_text("case_id,age_group,laterality,onset\nP1,65_plus,both_legs,gradual\n")
    code, out, _ = _run(capsys, "explain", str(path), "--case-id", "P1", "--n-sim", "50")
    assert code == 0
    block = out.split("Next questions")[1]
    assert block.count("bits") == 3
    code, out, _ = _run(
        capsys,
        "explain",
        str(path),
        "--case-id",
        "P1",
        "--json",
        "--n-sim",
        "50",
        "--baseline",
        "history",
    )
    data = json.loads(out)
    assert len(data["next_questions"]) == 3
    q = data["next_questions"][0]
    assert q["expected_info_bits"] >= data["next_questions"][1]["expected_info_bits"] >= 0
    assert data["explanations"][0]["baseline"] == "history"


def test_json_output(model, capsys):
    code, out, _ = _run(
        capsys, "explain", str(examples_path()), "--case-id", "E21", "--json", "--n-sim", "100"
    )
    assert code == 0
    data = json.loads(out)
    assert data["case_id"] == "E21"
    ranked = list(data["posteriors"].values())
    assert ranked == sorted(ranked, reverse=True)
    assert data["triage"] in ("emergency", "urgent", "routine", "self_care")
    assert len(data["explanations"]) == 3
    top = data["explanations"][0]
    assert top["cause"] == next(iter(data["posteriors"]))
    assert top["findings"]
    assert {"column", "state", "finding", "woe"} <= set(top["findings"][0])
    # E21 answers the 35 columns of contract v1; the questions are about v2 columns
    assert data["n_findings"] == 35
    assert len(data["next_questions"]) == 3
    assert {q["column"] for q in data["next_questions"]} <= set(V2_COLUMNS)
    d = model.diagnose(_evidence("E21"))
    assert data["p_other_cause"] == pytest.approx(d.p_other_cause, rel=1e-9)
    assert data["posteriors"] == pytest.approx(d.posteriors.to_dict(), rel=1e-9)
    assert data["conflict"]["n_sim"] == 100
    assert data["disclaimer"] == DISCLAIMER


def test_unknown_case_id(capsys):
    code, _, err = _run(capsys, "explain", str(examples_path()), "--case-id", "E99")
    assert code == 2
    assert "examples.csv: no case with case_id 'E99'" in err
    assert "E01" in err


def test_missing_and_unreadable_files(tmp_path, capsys):
    code, _, err = _run(capsys, "explain", str(tmp_path / "none.csv"), "--case-id", "E1")
    assert code == 2
    assert "none.csv: no such file" in err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00junk")
    code, _, err = _run(capsys, "explain", str(bad), "--case-id", "E1")
    assert code == 2
    assert "bad.csv: the file is UTF-16 text" in err
    # the same one line as `legnumb score` gives for the same file
    assert _run(capsys, "score", str(bad), "-o", str(tmp_path / "o.csv"))[2] == err.replace(
        "legnumb explain:", "legnumb score:"
    )
    noid = tmp_path / "noid.csv"
    noid.write_text("onset\nsudden\n")
    code, _, err = _run(capsys, "explain", str(noid), "--case-id", "E1")
    assert code == 2
    assert "has no case_id column" in err


def test_defaults_to_the_bundled_examples(capsys):
    code, out, _ = _run(capsys, "explain", "--case-id", "E03", "--n-sim", "50")
    assert code == 0
    assert "Case E03 from examples.csv" in out


def test_duplicate_id_is_an_error_naming_the_rows(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("case_id,onset\nA,sudden\nB,gradual\nA,gradual\n")
    code, out, err = _run(capsys, "explain", str(path), "--case-id", "A")
    assert code == 2
    assert out == ""
    assert "dup.csv: case_id 'A' appears in rows 1 and 3; expected one row per case_id" in err


def test_id_column(tmp_path, capsys):
    path = tmp_path / "ids.csv"
    path.write_text("Patient,onset,laterality\nP1,gradual,both_legs\nP2,sudden,one_leg\n")
    code, out, _ = _run(
        capsys, "explain", str(path), "--id-column", "patient", "--case-id", "P2", "--n-sim", "50"
    )
    assert code == 0
    assert "Case P2 from" in out
    code, _, err = _run(capsys, "explain", str(path), "--case-id", "P2")
    assert code == 2
    assert "has no case_id column" in err


def test_ragged_row_is_the_cases_error_exit_1(tmp_path, capsys):
    path = tmp_path / "rag.csv"
    path.write_bytes(b"\xef\xbb\xbfcase_id,onset\r\nA,sudden\r\nB,sudden,x\r\n")
    code, out, err = _run(capsys, "explain", str(path), "--case-id", "B")
    assert code == 1
    assert out == ""
    assert "case B not explained: rag.csv, row 2: has 3 cells but the header has 2" in err
    assert _run(capsys, "explain", str(path), "--case-id", "A", "--n-sim", "50")[0] == 0


def test_control_characters_are_shown_escaped(tmp_path, capsys):
    path = tmp_path / "evil.csv"
    path.write_text('case_id,onset,story\n"E\x1b[2J",sudden,"ring \x07 the \x1b]0;bell"\n')
    code, out, _ = _run(capsys, "explain", str(path), "--case-id", "E\x1b[2J", "--n-sim", "50")
    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "Case E\\x1b[2J from" in out
    assert "ring \\x07 the \\x1b]0;bell" in " ".join(out.split())


def test_invalid_state_names_file_row_column_value_and_allowed(tmp_path, capsys):
    path = tmp_path / "cases.csv"
    shutil.copy(examples_path(), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",gradual,", ",slowly,", 1)  # E03, data row 3
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = _run(capsys, "explain", str(path), "--case-id", "E03")
    assert code == 1
    assert out == ""
    assert (
        "cases.csv, row 3: column 'onset': Got 'slowly' instead; allowed: sudden, over_hours, gradual"
        in err
    )


def test_bad_option_values(capsys):
    code, _, err = _run(capsys, "explain", str(examples_path()), "--case-id", "E03", "--n-sim", "3")
    assert code == 2
    assert "expected n_sim as an int >= 20" in err
    with pytest.raises(SystemExit):
        main(["explain", str(examples_path()), "--case-id", "E03", "--baseline", "nope"])
