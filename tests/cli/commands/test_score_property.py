"""Fuzzing ``legnumb score`` in-process: random CSV bytes either stop the run cleanly (exit 2,
no output file) or give exactly one output row per input record, in order (issue 12)."""

from __future__ import annotations

import csv
import functools
import io
import os
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import legnumb.cli.commands.score as score_command
from legnumb.cli.main import main
from legnumb.io.batch import score_file

_SHARED = {}


@pytest.fixture(scope="module", autouse=True)
def _shared_model(model):
    _SHARED["model"] = model  # hypothesis tests take no function-scoped fixture


_NAMES = ["case_id", "onset", "laterality", "diabetes", "note", "Onset ", "lateralty"]
#: The small alphabet the bodies are built from: cells, separators, quotes, line ends, NULs.
_TOKENS = [
    "A1",
    "sudden",
    "one_leg",
    "both_legs",
    "yes",
    "maybe",
    "",
    " ",
    "=1+2",
    ",",
    ",",
    '"',
    '""',
    '"x,y"',
    '"a\nb"',
    "\n",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "\x00",
    "é",
]


@st.composite
def csv_bytes(draw):
    """A header of known (and near-known) columns, then a body of random tokens."""
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=4))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = ",".join(names) + newline
    if draw(st.integers(0, 9)) == 0:
        header = '"' + header  # a quote opened in the header
    body = "".join(draw(st.lists(st.sampled_from(_TOKENS), max_size=40)))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    blank_first = draw(st.sampled_from(["", "\n", "\r\n\r\n"]))
    return (bom + blank_first + header + body).encode("utf-8")


def _records(data: bytes) -> int:
    """Data records as the csv module reads them, blank lines included; header not counted."""
    text = data.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    while records and not any(cell.strip(" \t") for cell in records[0][:1]) and len(records[0]) < 2:
        records.pop(0)  # blank lines before the header
    return len(records) - 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_bytes(), st.sampled_from([32, 128, 1 << 22]))
def test_score_fuzz_exit_2_or_one_row_per_record(data, block_bytes):
    model = _SHARED["model"]
    run_file = functools.partial(score_file, block_bytes=block_bytes)
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(score_command, "model_from_args", return_value=model),
        mock.patch.object(score_command, "score_file", run_file),
    ):
        src, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        src.write_bytes(data)
        code = main(["score", str(src), "-o", str(out), "-q", "--threads", "1"])
        left = sorted(os.listdir(tmp))
        written = out.read_bytes() if out.exists() else None
    assert code in (0, 1, 2)
    if code == 2:
        assert left == ["in.csv"]
        return
    assert left == ["in.csv", "out.csv"]
    rows = list(csv.reader(io.StringIO(written.decode("utf-8"), newline="")))
    assert len(rows) - 1 == _records(data)
    width = len(rows[0])
    assert all(len(r) == width for r in rows)
    errors = sum(1 for r in rows[1:] if r[-3])
    assert code == (1 if errors else 0)
