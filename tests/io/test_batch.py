"""Scoring files and DataFrames end to end with the real model, locally and with Dask."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legnumb.data import examples_path
from legnumb.errors import InputError
from legnumb.io.batch import STAGES, score_file, score_frame
from legnumb.io.symptom_csv import output_columns

EXAMPLES = Path(examples_path())


def read_raw(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def examples_scored(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("scored") / "examples_scored.csv"
    summary = score_file(model, EXAMPLES, out)
    return summary, out


def test_score_file_keeps_rows_and_columns(model, examples_scored):
    summary, out = examples_scored
    assert summary.exit_code == 0
    assert summary.rows == 57  # contract v2: E01-E57
    assert summary.error_rows == 0
    raw, got = read_raw(EXAMPLES), read_raw(out)
    assert list(got.columns) == list(raw.columns) + list(output_columns(model.causes))
    pd.testing.assert_frame_equal(got[list(raw.columns)], raw)
    assert (got["model_version"] == model.version).all()
    assert (got["priors_hash"] == model.priors_hash).all()
    assert (got["error"] == "").all()
    assert (got["triage_reason"] != "").all()  # every scored row says why
    n_model = sum(c in model.columns for c in raw.columns)
    answered = (raw[[c for c in raw.columns if c in model.columns]] != "").sum(axis=1)
    assert n_model == len(model.columns)
    assert got["n_findings"].astype(int).tolist() == answered.tolist()
    # pandas reads the version columns and the probabilities without options
    typed = pd.read_csv(out)
    assert typed["p_stroke"].dtype == float
    assert typed["p_other_cause"].dtype == float
    assert typed["n_findings"].dtype == np.int64
    assert typed["priors_hash"].iloc[0] == model.priors_hash


def test_file_and_frame_agree(model, examples_scored):
    _, out = examples_scored
    frame = score_frame(model, read_raw(EXAMPLES))
    got = read_raw(out)
    for cause in model.causes:
        col = f"p_{cause}"
        assert got[col].tolist() == ["%.6f" % v for v in frame[col]]  # noqa: UP031
    assert got["p_other_cause"].tolist() == ["%.6f" % v for v in frame["p_other_cause"]]  # noqa: UP031
    assert got["n_findings"].tolist() == [str(k) for k in frame["n_findings"]]
    text = ("top_cause", "triage", "triage_reason", "red_flags", "error", "model_version")
    for col in (*text, "priors_hash"):
        assert got[col].tolist() == frame[col].tolist(), col


def test_output_is_byte_identical_and_rescoring_is_stable(model, examples_scored, tmp_path):
    _, out = examples_scored
    again = tmp_path / "again.csv"
    score_file(model, EXAMPLES, again)
    assert again.read_bytes() == out.read_bytes()
    rescored = tmp_path / "rescored.csv"
    summary = score_file(model, out, rescored)
    assert rescored.read_bytes() == out.read_bytes()
    assert len(summary.warnings) == len(output_columns(model.causes))  # replaced columns


def test_invalid_rows_keep_red_flags(model, tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text(
        "case_id,laterality,bladder_bowel_problems,back_pain\n"
        "A,one_leg,no,yes\n"
        "B,sideways,yes,yes\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    summary = score_file(model, src, out)
    assert summary.exit_code == 1
    assert summary.error_rows == 1
    got = read_raw(out)
    bad = got.iloc[1]
    assert bad["error"].startswith("bad.csv, row 2: column 'laterality': Got 'sideways'")
    assert bad["p_stroke"] == ""
    assert bad["p_other_cause"] == ""  # not scored: blank, like the posteriors
    assert bad["top_cause"] == ""
    assert bad["triage"] == "emergency"
    assert bad["triage_reason"] == (
        "new loss of bladder or bowel control (possible cauda equina syndrome)"
    )  # the rule that set the level
    assert bad["n_findings"] == "2"  # the unreadable laterality is not an answer
    assert bad["red_flags"] != ""
    assert got.iloc[0]["error"] == ""
    assert 0 < float(got.iloc[0]["p_other_cause"]) < 1
    assert got.iloc[0]["n_findings"] == "3"
    assert float(got.iloc[0]["p_sciatica"]) > 0
    assert summary.first_errors == [bad["error"]]


def test_header_only(model, tmp_path):
    src = tmp_path / "h.csv"
    src.write_bytes(b"\xef\xbb\xbfcase_id,Onset\r\n")
    out = tmp_path / "out.csv"
    assert score_file(model, src, out).exit_code == 0
    names = ["case_id", "Onset", *output_columns(model.causes)]
    assert out.read_bytes() == (",".join(names) + "\n").encode()


def test_failure_midway_leaves_no_file(model, tmp_path):
    src = tmp_path / "late.csv"
    src.write_bytes(b"case_id,onset\n" + b"A,sudden\n" * 2000 + b"B,\xff\n")
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match="line 2002"):
        score_file(model, src, out, block_bytes=2048)
    assert sorted(os.listdir(tmp_path)) == ["late.csv"]


def test_score_frame_keeps_values_and_index(model):
    df = pd.DataFrame(
        {"id": [7, 8], "diabetes": [True, None], "onset": ["SUDDEN", "x"]}, index=["a", "b"]
    )
    with pytest.warns(UserWarning, match="did you mean"):
        frame = score_frame(model, df.rename(columns={"onset": "onst"}))
    assert frame.index.tolist() == ["a", "b"]
    assert frame["id"].tolist() == [7, 8]
    frame = score_frame(model, df)
    assert frame["error"].tolist()[0] == ""
    assert frame["error"].tolist()[1].startswith("row 2: column 'onset': Got 'x' instead")
    assert np.isnan(frame["p_stroke"].iloc[1])
    assert frame["p_stroke"].iloc[0] > 0
    assert model.score(df).equals(frame)


def test_score_frame_empty(model):
    frame = score_frame(model, pd.DataFrame({"onset": pd.Series([], dtype=object)}))
    assert frame.shape == (0, 1 + len(output_columns(model.causes)))


def test_score_frame_needs_a_known_column(model):
    with pytest.raises(InputError, match="no known column"):
        score_frame(model, pd.DataFrame({"a": [1]}))


# --------------------------------------------------------------------------- property
_NAMES = ["case_id", "onset", "Laterality", "weakness", "lateralty", "note", "onset"]
_CELL = st.one_of(
    st.sampled_from(["", "yes", "No", "sudden", "GRADUAL", "one_leg", "both_legs", "y"]),
    st.text(alphabet='ab ,"\n\r\u00e9', max_size=8),
)


@st.composite
def csv_files(draw):
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=5))
    names.append("onset")
    rows = draw(st.lists(st.lists(_CELL, min_size=len(names), max_size=len(names)), max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = "".join(",".join(map(_quote, r)) + newline for r in [names, *rows])
    return text.encode(), names, rows


def _quote(cell: str) -> str:
    """RFC 4180 quoting (csv.writer leaves a lone CR unquoted when lines end with LF)."""
    if any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


_SHARED = {}


@pytest.fixture(scope="module", autouse=True)
def _shared_model(model):
    _SHARED["model"] = model  # hypothesis tests take no fixture (it would print the model)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files())
def test_property_rows_order_and_passthrough(case):
    model = _SHARED["model"]
    data, names, rows = case
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        src.write_bytes(data)
        summary = score_file(model, src, out, block_bytes=64)
        back = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
    assert back[0] == [*names, *output_columns(model.causes)]
    assert len(back) - 1 == len(rows) == summary.rows
    width = len(names)
    for got, row in zip(back[1:], rows, strict=True):
        assert got[:width] == row
        assert len(got) == width + len(output_columns(model.causes))
    errors = sum(1 for r in back[1:] if r[-3])
    assert errors == summary.error_rows
    assert summary.exit_code == (1 if errors else 0)


# --------------------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as c:
        yield c


def _mixed_cases(path: Path, *, errors: bool, copies: int = 4) -> None:
    raw = read_raw(EXAMPLES)
    df = pd.concat([raw] * copies, ignore_index=True)
    df["case_id"] = [f"{c}-{i}" for i, c in enumerate(df["case_id"])]
    if errors:
        df.loc[5, "laterality"] = "both_leg"
        df.loc[77, "onset"] = "maybe"
    df = df.rename(columns={"sex": " Sex", "fatigue": "fatigu"})
    df.to_csv(path, index=False, lineterminator="\r\n")


def test_dask_csv_equals_local(model, cluster, tmp_path):
    from legnumb.io.batch import score_dask

    src = tmp_path / "cases.csv"
    _mixed_cases(src, errors=True)
    local, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    a = score_file(model, src, local)
    b = score_dask(model, src, dask_out, scheduler=cluster.scheduler_address, blocksize=6000)
    assert dask_out.read_bytes() == local.read_bytes()
    assert (a.rows, a.error_rows, a.warnings) == (b.rows, b.error_rows, b.warnings)
    assert a.exit_code == b.exit_code == 1


def test_dask_glob_and_parquet(model, cluster, tmp_path):
    from legnumb.io.batch import score_dask

    for name in ("part1.csv", "part2.csv"):
        _mixed_cases(tmp_path / name, errors=False, copies=1)
    one = tmp_path / "one.csv"
    score_file(model, tmp_path / "part1.csv", one)
    out = tmp_path / "glob.csv"
    summary = score_dask(
        model, str(tmp_path / "part*.csv"), out, scheduler=cluster.scheduler_address
    )
    lines = one.read_bytes().splitlines(keepends=True)
    assert out.read_bytes() == b"".join(lines + lines[1:])
    assert summary.rows == 2 * 57
    pytest.importorskip("pyarrow")
    pq = tmp_path / "part1.parquet"
    read_raw(tmp_path / "part1.csv").to_parquet(pq)
    out_pq = tmp_path / "pq.csv"
    score_dask(model, pq, out_pq, scheduler=cluster.scheduler_address)
    assert out_pq.read_bytes() == one.read_bytes()


def test_dask_ragged_csv_is_unusable(model, cluster, tmp_path):
    from legnumb.io.batch import score_dask

    src = tmp_path / "ragged.csv"
    src.write_text("case_id,onset\nA,sudden,extra\n")
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match="run without --engine dask"):
        score_dask(model, src, out, scheduler=cluster.scheduler_address)
    assert not out.exists()


def test_dask_keeps_blank_lines_like_local(model, cluster, tmp_path):
    from legnumb.io.batch import score_dask

    src = tmp_path / "blank.csv"
    body = b"".join(
        b"A%d,sudden,one_leg\n" % i + (b"\n" if i % 7 == 0 else b"") for i in range(300)
    )
    src.write_bytes(b"case_id,onset,laterality\n\n" + body + b"\n")
    local, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    a = score_file(model, src, local)
    b = score_dask(model, src, dask_out, scheduler=cluster.scheduler_address, blocksize=1000)
    assert a.rows == b.rows == 300 + 43 + 1 + 1
    assert a.blank_rows == 45
    assert dask_out.read_bytes() == local.read_bytes()


# --------------------------------------------------------------------------- D4
@pytest.fixture
def nan_for_second_row(monkeypatch):
    """The model's posteriors come out NaN (and inf) for the second row it scores."""
    from legnumb.diagnosis.model import Model

    real = Model.infer  # what score_codes calls (posteriors and P(no listed cause))

    def broken(self, codes, *, n_threads=1, with_none=True):
        post, other = real(self, codes, n_threads=n_threads, with_none=with_none)
        post = np.array(post, dtype=float)
        if len(post) > 1:
            post[1, 2] = np.nan
            post[1, 4] = np.inf
        return post, other

    monkeypatch.setattr(Model, "infer", broken)


def test_d4_non_finite_posteriors_are_a_row_error(model, tmp_path, nan_for_second_row):
    src = tmp_path / "x.csv"
    src.write_text(
        "case_id,laterality,bladder_bowel_problems\nA,one_leg,no\nB,both_legs,yes\nC,,no\n"
    )
    out = tmp_path / "out.csv"
    summary = score_file(model, src, out)
    assert summary.exit_code == 1
    assert summary.error_rows == 1
    got = read_raw(out)
    bad = got.iloc[1]
    cause = model.causes[2]
    assert bad["error"] == (
        f"x.csv, row 2: could not score this row: the model gave nan for p_{cause}, not a "
        "probability (exact inference for these answers would need more memory than the "
        "engine allows, with many answers above their lowest state at once, or the answers "
        "are impossible under the model); the row was not scored."
    )
    assert all(bad[f"p_{c}"] == "" for c in model.causes)
    assert bad["p_other_cause"] == ""
    assert bad["top_cause"] == ""
    assert bad["triage"] == "emergency"  # the red flag still counts
    assert bad["triage_reason"] != ""
    assert bad["red_flags"] != ""
    assert got.iloc[0]["error"] == got.iloc[2]["error"] == ""
    assert got.iloc[2]["p_stroke"] != ""


def test_d4_score_frame_too(model, nan_for_second_row):
    frame = score_frame(model, pd.DataFrame({"onset": ["sudden", "gradual"]}))
    assert frame["error"].iloc[0] == ""
    assert frame["error"].iloc[1].startswith("row 2: could not score this row:")
    assert frame.filter(regex="^p_").iloc[1].isna().all()  # p_other_cause too
    assert frame["p_other_cause"].iloc[0] > 0


def test_dask_excel_safe_and_strict_like_local(model, cluster, tmp_path):
    from legnumb.io.batch import score_dask

    src = tmp_path / "f.csv"
    src.write_text('case_id,=note,onset\n=1,"=A1,B",sudden\n-2,@x,=bad\n+3,ok,\n')
    local, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    score_file(model, src, local, excel_safe=True)
    score_dask(model, src, dask_out, scheduler=cluster.scheduler_address, excel_safe=True)
    assert dask_out.read_bytes() == local.read_bytes()
    assert local.read_text().splitlines()[1].startswith("'=1,\"'=A1,B\",sudden,")
    typo = tmp_path / "typo.csv"
    typo.write_text("case_id,onst,sex\nA,sudden,\n")
    with pytest.raises(InputError, match="--strict: column 2 'onst' looks like a typo"):
        score_dask(
            model, typo, tmp_path / "t.csv", scheduler=cluster.scheduler_address, strict=True
        )
    assert not (tmp_path / "t.csv").exists()


def test_summary_times_every_stage(model, tmp_path):
    summary = score_file(model, examples_path(), tmp_path / "out.csv")
    assert tuple(summary.seconds) == STAGES
    assert all(v >= 0.0 for v in summary.seconds.values())
    assert summary.seconds["infer"] > 0.0
