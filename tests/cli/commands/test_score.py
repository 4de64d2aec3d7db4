"""``legnumb score`` from the command line: outputs, messages and exit codes 0, 1 and 2."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from legnumb.cli.main import main
from legnumb.data import examples_path
from legnumb.io.symptom_csv import output_columns
from tests.cli.commands.support import V2_COLUMNS

EXAMPLES = Path(examples_path())


@pytest.fixture(autouse=True)
def _model_loaded_once(model, monkeypatch):
    """Reuse the session's model instead of loading it for every command."""
    monkeypatch.setattr("legnumb.cli.commands.score.model_from_args", lambda args: model)


def run(*argv: str) -> int:
    return main(["score", *map(str, argv)])


def test_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit) as info:
        run("--help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    for line in (
        "0  every row was scored",
        "1  some rows carry errors",
        "2  unusable input or a failure",
        "130 interrupted (Ctrl-C)",
        "143 terminated (SIGTERM)",
    ):
        assert line in out
    assert "--excel-safe" in out
    assert "--strict" in out
    assert "--debug" in out
    assert "--engine {local,dask}" in out
    assert "--scheduler ADDRESS" in out
    text = " ".join(out.split())
    assert "decision support for a clinician, not a diagnosis" in text
    for column in ("triage_reason", "p_other_cause", "n_findings"):  # added in contract v2
        assert column in text


def test_exit_0_writes_every_row(tmp_path, capsys, model):
    out = tmp_path / "scored.csv"
    assert run(EXAMPLES, "-o", out) == 0
    err = capsys.readouterr().err
    assert "examples.csv: 57 row(s) written" in err  # contract v2: 57 worked examples
    assert "57 scored, 0 with errors" in err
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    raw = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(got[list(raw.columns)], raw)
    added = got.columns[len(raw.columns) :].tolist()
    assert added == [f"p_{c}" for c in model.causes] + [
        "top_cause",
        "triage",
        "triage_reason",
        "red_flags",
        "p_other_cause",
        "n_findings",
        "error",
        "model_version",
        "priors_hash",
    ]
    assert len(model.causes) == 24
    assert all(got["triage_reason"])  # every scored row says why its level
    other = got["p_other_cause"].astype(float)
    assert ((other >= 0) & (other <= 1)).all()
    answered = (raw[list(model.columns)] != "").sum(axis=1)
    assert got["n_findings"].astype(int).tolist() == answered.tolist()
    assert sorted(os.listdir(tmp_path)) == ["scored.csv"]


def test_version_1_file_still_scores_and_means_what_it_meant(tmp_path, capsys, model):
    """A v1 header (every v1 column, no v2 column) scores as the same rows with v2 cells blank."""
    raw = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False)
    v2_rows = raw[raw["case_id"].str[1:].astype(int) <= 30]  # E01-E30: the v1 examples
    assert (v2_rows[list(V2_COLUMNS)] == "").all().all()
    v1_columns = [c for c in model.columns if c not in V2_COLUMNS]
    assert len(v1_columns) == 35  # the 35 columns of contract v1
    assert not v2_rows["onset"].eq("over_hours").any()  # no v2 state either
    v1 = v2_rows.drop(columns=list(V2_COLUMNS))
    assert not set(V2_COLUMNS) & set(v1.columns)
    assert set(v1_columns) <= set(v1.columns)
    src_v1, src_v2 = tmp_path / "v1.csv", tmp_path / "v2.csv"
    v1.to_csv(src_v1, index=False)
    v2_rows.to_csv(src_v2, index=False)
    out_v1, out_v2 = tmp_path / "o1.csv", tmp_path / "o2.csv"
    assert run(src_v1, "-o", out_v1) == 0
    err = capsys.readouterr().err
    assert "warning" not in err  # no column reported as unknown or missing
    assert "30 scored, 0 with errors" in err
    assert run(src_v2, "-o", out_v2, "-q") == 0
    got1 = pd.read_csv(out_v1, dtype=str, keep_default_na=False)
    got2 = pd.read_csv(out_v2, dtype=str, keep_default_na=False)
    scored = [c for c in output_columns(model.causes) if c not in ("model_version", "priors_hash")]
    pd.testing.assert_frame_equal(got1[scored], got2[scored])
    by_id = got1.set_index("case_id")
    assert by_id.loc["E17", "top_cause"] == "stroke"
    assert by_id.loc["E17", "triage"] == "emergency"
    assert by_id.loc["E01", "triage"] == "self_care"


def test_quiet_prints_nothing(tmp_path, capsys):
    assert run(EXAMPLES, "-o", tmp_path / "o.csv", "-q") == 0
    assert capsys.readouterr().err == ""


def test_exit_1_some_rows_have_errors(tmp_path, capsys):
    src = tmp_path / "cases.csv"
    src.write_bytes(
        b"\xef\xbb\xbfcase_id, Laterality ,lateralty,Diabetes\r\n"
        b"A,ONE_LEG,x,Y\r\n"
        b"B,both_leg,y,true\r\n"
    )
    out = tmp_path / "out.csv"
    assert run(src, "-o", out) == 1
    err = capsys.readouterr().err
    assert "warning: cases.csv: column 3 'lateralty' is not a known column" in err
    assert "did you mean 'laterality'?" in err
    assert "1 scored, 1 with errors" in err
    assert (
        "error in cases.csv, row 2: column ' Laterality ' (laterality): Got 'both_leg' "
        "instead; allowed: one_leg, both_legs; closest: 'both_legs'"
    ) in err
    lines = out.read_bytes().split(b"\n")
    assert lines[0].startswith(b"case_id, Laterality ,lateralty,Diabetes,p_")
    assert lines[1].startswith(b"A,ONE_LEG,x,Y,0.")
    assert lines[2].startswith(b"B,both_leg,y,true,,")
    assert lines[3] == b""
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"foo,bar\n1,2\n", "no known column in the header"),
        (b"PK\x03\x04\x14\x00\x00\x00binary", "not a CSV text file"),
        (b"case_id,onset\nA,sudden\nB,\xe9\n", "line 3 (byte offset 25) is not valid utf-8"),
        (b"case_id;onset\nA;sudden\n", "separate cells with semicolons"),
    ],
)
def test_exit_2_unusable_input(tmp_path, capsys, content, message):
    src = tmp_path / "in.csv"
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / "out.csv"
    assert run(src, "-o", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("legnumb score: error: ")
    assert message in err
    assert "in.csv" in err
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == (["in.csv"] if content is not None else [])


def test_exit_2_output_directory_missing(tmp_path, capsys):
    assert run(EXAMPLES, "-o", tmp_path / "nope" / "o.csv") == 2
    assert "no such directory" in capsys.readouterr().err


def test_exit_2_output_is_a_directory(tmp_path, capsys):
    assert run(EXAMPLES, "-o", tmp_path) == 2
    assert "is a directory" in capsys.readouterr().err


def test_in_place_is_refused(tmp_path, capsys):
    """Scoring a file into itself would overwrite the input: exit 2, input untouched (D16)."""
    src = tmp_path / "cases.csv"
    src.write_bytes(EXAMPLES.read_bytes())
    assert run(src, "-o", src, "-q") == 2
    assert "is the input file" in capsys.readouterr().err
    assert src.read_bytes() == EXAMPLES.read_bytes()
    assert os.listdir(tmp_path) == ["cases.csv"]


def test_ctrl_c_leaves_no_file(tmp_path, monkeypatch, capsys):
    import legnumb.io.symptom_csv

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(legnumb.io.symptom_csv, "format_probabilities", interrupted)
    out = tmp_path / "o.csv"
    assert run(EXAMPLES, "-o", out) == 130
    assert f"interrupted; {out} was not written" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_header_only_exit_0(tmp_path, model):
    src = tmp_path / "h.csv"
    src.write_text("case_id,onset\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q") == 0
    assert out.read_text().count("\n") == 1


def test_stdin_to_stdout(tmp_path, monkeypatch, capsys):
    data = EXAMPLES.read_bytes()
    stdin = io.TextIOWrapper(io.BytesIO(data))
    stdout = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert run("-", "-q") == 0
    piped = stdout.buffer.getvalue()
    out = tmp_path / "o.csv"
    assert run(EXAMPLES, "-o", out, "-q") == 0
    assert piped == out.read_bytes()


def test_ragged_rows(tmp_path, capsys):
    src = tmp_path / "r.csv"
    src.write_text("case_id,onset,laterality\nA,sudden\nB,gradual,one_leg,extra\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 1
    err = capsys.readouterr().err
    assert "1 row(s) had fewer cells than the header (first: row 1)" in err
    assert "r.csv, row 2: has 4 cells but the header has 3" in err
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got["case_id"].tolist() == ["A", "B"]
    assert got["laterality"].tolist() == ["", "one_leg"]


def test_duplicate_column_conflict(tmp_path, capsys):
    src = tmp_path / "d.csv"
    src.write_text("laterality,laterality\none_leg,\none_leg,both_legs\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 1
    err = capsys.readouterr().err
    assert "column 'laterality' appears 2 times" in err
    assert "d.csv, row 2: column 'laterality' is given twice" in err
    assert out.read_text().splitlines()[0].startswith("laterality,laterality,p_")


def test_cp1252_encoding_option(tmp_path):
    src = tmp_path / "w.csv"
    src.write_bytes("case_id,onset,note\nA,sudden,Ünterschenkel\n".encode("cp1252"))
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q") == 2
    assert run(src, "-o", out, "-q", "--encoding", "cp1252") == 0
    assert "Ünterschenkel" in out.read_text(encoding="utf-8")


def test_scheduler_needs_dask_engine(capsys):
    assert run(EXAMPLES, "--scheduler", "tcp://localhost:1") == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err


def test_dask_engine_starts_its_own_cluster(tmp_path):
    pytest.importorskip("dask.distributed")
    local, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    assert run(EXAMPLES, "-o", local, "-q") == 0
    assert run(EXAMPLES, "-o", dask_out, "-q", "--engine", "dask", "--blocksize", "3000") == 0
    assert dask_out.read_bytes() == local.read_bytes()


def test_threads_give_byte_identical_output(tmp_path, capsys):
    import numpy as np

    from legnumb.network.schema import load_schema

    rng = np.random.default_rng(5)
    schema = load_schema()
    lines = ["id," + ",".join(schema.columns)]
    # dense random rows (60% of the 49 columns answered) cost the exact engine about 10 ms
    # each; 400 rows still split into a chunk per thread
    for i in range(400):
        cells = [
            c.states[rng.integers(len(c.states))] if rng.random() < 0.6 else ""
            for c in schema.columns.values()
        ]
        lines.append(f"r{i}," + ",".join(cells))
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n")
    outs = []
    for n in ("1", "2"):
        out = tmp_path / f"out{n}.csv"
        assert main(["score", str(src), "-o", str(out), "-q", "--threads", n]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].count(b"\n") == 401


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["score", "x.csv", "--threads", "0"])
    assert "must be a whole number >= 1. Got '0' instead." in capsys.readouterr().err


def test_timings_give_the_seconds_of_every_stage(tmp_path, capsys):
    assert run(EXAMPLES, "-o", tmp_path / "scored.csv", "--timings") == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "seconds:" in x)
    for stage in ("read", "validate", "infer", "triage", "format", "write"):
        assert f" {stage} " in line
    assert "(total " in line
    assert run(EXAMPLES, "-o", tmp_path / "again.csv") == 0
    assert "seconds:" not in capsys.readouterr().err  # only when asked
