"""The IO layer of ``legnumb score`` on its own: reading, encoding and writing the contract."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legnumb.errors import InputError
from legnumb.io.symptom_csv import (
    CsvReader,
    atomic_output,
    chunk_from_rows,
    encode_chunk,
    encode_strings,
    format_probabilities,
    output_columns,
    parse_header,
    quote_cell,
)
from legnumb.network.schema import load_schema

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.columns)
OUTPUTS = output_columns(list(SCHEMA.causes))
SPELLINGS = sorted({x for c in SCHEMA.columns.values() for x in c.states} | set("yn10"))
SPELLINGS += ["true", "false"]
#: State codes of onset (contract v2: sudden, over_hours, gradual).
SUDDEN, GRADUAL = (SCHEMA.columns["onset"].states.index(s) for s in ("sudden", "gradual"))


def read(data: bytes, *, fast: bool = True, block_bytes: int = 1 << 20, encoding="utf-8"):
    """Header, chunks and encodings of a CSV given as bytes."""
    reader = CsvReader(
        io.BytesIO(data), name="t.csv", fast=fast, block_bytes=block_bytes, encoding=encoding
    )
    header = parse_header(reader.names, schema=SCHEMA, source="t.csv", outputs=OUTPUTS)
    chunks = list(reader.chunks(header))
    encs = [encode_chunk(c, header, schema=SCHEMA) for c in chunks]
    return header, chunks, encs


def flat(chunks, encs):
    """Everything a reader produced, concatenated over chunks (for comparisons)."""
    rows = [p for c in chunks for p in c.passthrough]
    codes = np.concatenate([e.codes for e in encs]) if encs else np.zeros((0, len(COLUMNS)))
    problems = {}
    for c, e in zip(chunks, encs, strict=True):
        for i, msgs in e.problems.items():
            problems[c.first_row + i] = msgs
    return rows, codes.tolist(), problems


def code(enc, column, row=0):
    return int(enc.codes[row, COLUMNS.index(column)])


# --------------------------------------------------------------------------- contract rules
def test_bom_and_crlf_are_accepted():
    data = b"\xef\xbb\xbfcase_id,laterality\r\nA1,one_leg\r\nA2,both_legs\r\n"
    header, chunks, encs = read(data)
    assert header.names == ("case_id", "laterality")
    assert chunks[0].passthrough == [b"A1,one_leg", b"A2,both_legs"]
    assert code(encs[0], "laterality", 0) == 0
    assert code(encs[0], "laterality", 1) == 1


def test_spaces_and_case_in_names_and_values():
    data = b" Laterality ,ONSET,Back_Pain\n  BOTH_LEGS , Sudden,YES\n"
    header, chunks, encs = read(data)
    assert dict(header.known) == {"onset": (1,), "laterality": (0,), "back_pain": (2,)}
    enc = encs[0]
    assert (code(enc, "laterality"), code(enc, "onset"), code(enc, "back_pain")) == (1, 0, 0)
    assert enc.row_ok.all()
    # the input cells go to the output as they were
    assert chunks[0].passthrough == [b"  BOTH_LEGS , Sudden,YES"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("y", 0), ("N", 1), ("true", 0), ("FALSE", 1), ("1", 0), ("0", 1), (" Yes ", 0), ("", -1)],
)
def test_yes_no_synonyms(value, expected):
    codes, bad = encode_strings([value], "diabetes", schema=SCHEMA)
    assert (int(codes[0]), bad) == (expected, [])


def test_synonyms_only_for_yes_no_columns():
    codes, bad = encode_strings(["y", "1"], "laterality", schema=SCHEMA)
    assert codes.tolist() == [-1, -1]
    assert bad == [0, 1]


def test_invalid_state_names_row_column_value_allowed_and_closest():
    data = b"id,laterality,diabetes\nA,one_leg,no\nB,both_leg,maybe\n"
    _, chunks, encs = read(data)
    enc = encs[0]
    assert enc.row_ok.tolist() == [True, False]
    assert code(enc, "laterality", 1) == -1
    assert code(enc, "diabetes", 1) == -1
    lat, dia = enc.problems[1]  # in file column order
    assert lat == (
        "column 'laterality': Got 'both_leg' instead; allowed: one_leg, both_legs; "
        "closest: 'both_legs'"
    )
    assert dia == (
        "column 'diabetes': Got 'maybe' instead; allowed: yes, no (or y/n, true/false, 1/0)"
    )
    assert chunks[0].passthrough[1] == b"B,both_leg,maybe"


def test_whitespace_only_cell_is_blank():
    codes, bad = encode_strings(["   ", "\t"], "onset", schema=SCHEMA)
    assert codes.tolist() == [-1, -1]
    assert bad == []


def test_typo_column_is_warned_and_carried():
    header = parse_header(["id", "lateralty", "onset"], schema=SCHEMA, source="t.csv")
    assert header.known == (("onset", (2,)),)
    assert header.keep == (0, 1, 2)
    (warning,) = header.warnings
    assert "t.csv: column 2 'lateralty'" in warning
    assert "did you mean 'laterality'?" in warning


def test_unknown_columns_are_carried_unchanged_in_place():
    data = b'notes,onset,case_id,story\n"a, b",sudden,X1,"said ""ouch"""\n'
    _, chunks, _ = read(data)
    assert chunks[0].passthrough == [b'"a, b",sudden,X1,"said ""ouch"""']


def test_no_known_column_is_unusable():
    with pytest.raises(InputError, match=r"t\.csv: no known column in the header"):
        read(b"foo,bar\n1,2\n")


def test_semicolon_file_gets_a_hint():
    with pytest.raises(InputError, match="semicolons"):
        read(b"case_id;laterality\nA;one_leg\n")


@pytest.mark.parametrize(("sep", "label"), [(b";", "semicolons"), (b"\t", "tabs")])
def test_separator_hint_is_printed_in_full(sep, label):
    with pytest.raises(InputError) as info:
        read(b"case_id" + sep + b"laterality\nA" + sep + b"one_leg\n")
    assert str(info.value).endswith(
        f"The file seems to separate cells with {label}; save it as CSV with commas."
    )


def test_empty_file_is_unusable():
    for data in (b"", b"\xef\xbb\xbf", b"\n\r\n\n"):
        with pytest.raises(InputError, match="the file is empty"):
            read(data)


def test_header_only_gives_no_rows():
    header, chunks, _ = read(b"case_id,laterality\r\n")
    assert header.names == ("case_id", "laterality")
    assert chunks == []


def test_blank_lines_are_rows_with_nothing_known():
    """A blank line after the header is a person with nothing known: kept, in order (D11)."""
    data = b"id,onset\n\nA,sudden\n\n  \t\n\r\nB,gradual\n"
    expected = [b",", b"A,sudden", b",", b"  \t,", b",", b"B,gradual"]
    for fast in (True, False):
        for block_bytes in (8, 1 << 20):
            _, chunks, encs = read(data, fast=fast, block_bytes=block_bytes)
            rows, codes, problems = flat(chunks, encs)
            assert rows == expected
            assert chunks[0].first_row == 1
            assert sum(c.n_rows for c in chunks) == 6
            assert sum(c.blank_rows for c in chunks) == 3
            assert next(c.first_blank_row for c in chunks if c.blank_rows) == 1
            assert sum(c.short_rows for c in chunks) == 1  # the line of spaces
            assert problems == {}
            onset = COLUMNS.index("onset")
            assert [r[onset] for r in codes] == [-1, SUDDEN, -1, -1, -1, GRADUAL]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b"laterality\none_leg\n\nboth_legs\n", [b"one_leg", b"", b"both_legs"]),
        (b"\n\r\nid,onset\nA,sudden\n", [b"A,sudden"]),  # blank lines before the header
        (b"onset\nsudden\n\n", [b"sudden", b""]),  # a blank last line
        (b'id,onset,note\n"a,b",sudden,x\r\n\r\nB,,y\r\n', [b'"a,b",sudden,x', b",,", b"B,,y"]),
    ],
)
def test_blank_rows_are_kept(data, rows, fast):
    _, chunks, _ = read(data, fast=fast)
    assert [p for c in chunks for p in c.passthrough] == rows


def test_short_rows_read_as_blank():
    data = b"id,onset,laterality\nA,sudden\nB\n"
    _, chunks, encs = read(data)
    assert chunks[0].passthrough == [b"A,sudden,", b"B,,"]
    assert chunks[0].short_rows == 2
    assert chunks[0].first_short_row == 1
    assert encs[0].row_ok.all()
    assert code(encs[0], "onset", 0) == 0
    assert code(encs[0], "laterality", 0) == -1


def test_long_rows_are_errors_not_read():
    data = b"id,onset,laterality\nA,sudden,one_leg,oops,more\nB,gradual,one_leg\n"
    _, chunks, encs = read(data)
    enc = encs[0]
    assert enc.row_ok.tolist() == [False, True]
    assert enc.codes[0].tolist() == [-1] * len(COLUMNS)  # not interpreted at all
    (msg,) = enc.problems[0]
    assert msg.startswith("has 5 cells but the header has 3; the extra cells ('oops', 'more')")
    assert chunks[0].passthrough == [b"A,sudden,one_leg", b"B,gradual,one_leg"]


def test_quoted_commas_quotes_and_newlines():
    data = b'id,onset,note\r\n"A,1",sudden,"line one\r\nline ""two"""\r\nB,gradual,x\r\n'
    _, chunks, encs = read(data)
    assert chunks[0].passthrough == [
        b'"A,1",sudden,"line one\r\nline ""two"""',
        b"B,gradual,x",
    ]
    assert [code(encs[0], "onset", i) for i in (0, 1)] == [SUDDEN, GRADUAL]


@pytest.mark.parametrize(
    "data",
    [
        b'id,onset,note\n"A,1",sudden,"x ""y"""\n"B\r\nC",gradual,""""\n',
        b'id,onset,note\r\n"A,1",sudden,"line\r\nbreak"\r\n\r\nB,,"a,b"\r\n',
        b'id,onset,note\nA,"sudden",x\n',  # a known column quoted
        b'id,onset,note\nA,sudden,"x"\n',  # quotes CSV does not need
        b'id,onset,note\nA,sudden,x"y\n',  # a stray quote
        b'id,onset,note\nA,sudden,"x"y\n',  # text after a closing quote
        b"id,onset,note\nA,sudden,x\r\n\r\nB,,\n\n",  # blank lines
        b"id,onset,note\rA,sudden,x\r\r",  # lone CR line ends, a blank line
        b"id,onset,note\nA,sudden,x",  # no line end at the end
    ],
)
def test_fast_path_takes_blocks_of_the_header_width(data):
    from legnumb.io.symptom_csv import _fast_chunk

    header = parse_header(["id", "onset", "note"], schema=SCHEMA)
    body = data.split(b"\n", 1)[1] if b"\n" in data else data.split(b"\r", 1)[1]
    assert _fast_chunk(body, header, 1) is not None
    assert flat(*read(data, fast=True)[1:]) == flat(*read(data, fast=False)[1:])


@pytest.mark.parametrize(
    "body",
    [
        b'A,sudden,"x,\n',  # a quoted cell running past the block
        b'A"b,"sudden,x\n',  # a quote opened after a stray one, running past the block
        b"A,sudden\n",  # a short row
        b"A,sudden,x,y\n",  # a long row
        b"A,sudden,x\n\n,,\n",  # a blank line and a record of empty cells
        b"  \nA,sudden,x\n",  # a line of spaces (a short row)
    ],
)
def test_fast_path_leaves_the_rest_to_the_csv_module(body):
    from legnumb.io.symptom_csv import _fast_chunk

    header = parse_header(["id", "onset", "note"], schema=SCHEMA)
    assert _fast_chunk(body, header, 1) is None


def test_quoted_state_is_read():
    _, chunks, encs = read(b'onset\n"sudden"\n')
    assert code(encs[0], "onset") == 0
    assert chunks[0].passthrough == [b"sudden"]  # quotes only where CSV needs them


def test_lone_cr_line_ends():
    _, chunks, _ = read(b"id,onset\rA,sudden\rB,gradual\r")
    assert chunks[0].passthrough == [b"A,sudden", b"B,gradual"]


def test_not_utf8_names_the_line():
    data = b"id,onset\nA,sudden\nB,gradual\nC \xe9t\xe9,sudden\n"
    with pytest.raises(InputError) as info:
        read(data)
    msg = str(info.value)
    assert "t.csv: line 4 (byte offset 30)" in msg
    assert "not valid utf-8" in msg
    assert "--encoding cp1252" in msg


def test_not_utf8_line_counts_across_blocks():
    data = b"id,onset\n" + b"A,sudden\n" * 5000 + b"\xff,sudden\n"
    with pytest.raises(InputError, match="line 5002 "):
        read(data, block_bytes=1000)


def test_cp1252_when_asked():
    data = "id,onset,note\nA,sudden,café\n".encode("cp1252")
    _, chunks, _ = read(data, encoding="cp1252")
    assert chunks[0].passthrough == ["A,sudden,café".encode()]  # output is UTF-8


def test_utf16_and_binary_are_refused():
    with pytest.raises(InputError, match="UTF-16"):
        read("onset\nsudden\n".encode("utf-16"))
    with pytest.raises(InputError, match="Excel workbook"):
        read(b"PK\x03\x04\x00\x00rest")
    with pytest.raises(InputError, match="not supported"):
        read(b"onset\n", encoding="utf-16")


def test_unclosed_quote_is_unusable_with_line():
    data = b'id,onset\nA,"sudden\n' + b"x" * 2_000_000 + b"\n"
    with pytest.raises(InputError, match=r"line \d+: not readable as CSV"):
        read(data)


_UNCLOSED = (
    b'case_id,note,laterality,bladder_bowel_problems\nA1,"5 ft 10,one_leg,no\nA2,ok,both_legs,yes\n'
)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("block_bytes", [16, 1 << 20])
def test_quote_open_at_end_of_file_is_unusable(fast, block_bytes):
    with pytest.raises(InputError) as info:
        read(_UNCLOSED, fast=fast, block_bytes=block_bytes)
    msg = str(info.value)
    assert msg.startswith("t.csv: line 2: not readable as CSV: a quote opened on this line")
    assert "never closed" in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'"case_id,onset\nA,sudden\n', 1),  # in the header
        (b'id,note,onset\nA,"x\r\ny","open\nrest\n', 3),  # on a later line of a record
        (b'id,onset\nA,x\nB,"y""\n', 3),  # an escaped quote does not close it
        (b'id,onset\rA,x\rB,"y\r', 3),  # lone CR line ends
        (b'onset\n"', 2),  # a lone quote at the very end
        (b'onset\nsudden\n"\n', 3),
        (b"id,onset\n" + b"A,x\n" * 3000 + b'B,"y\n' + b"C,z\n" * 3000, 3002),  # many blocks
    ],
)
def test_unclosed_quote_names_the_line_it_opened_on(data, line):
    for block_bytes in (64, 1 << 20):
        with pytest.raises(InputError, match=rf"^t\.csv: line {line}: not readable as CSV"):
            read(data, block_bytes=block_bytes)


def test_quote_over_the_field_limit_names_the_line_it_opened_on():
    data = b"id,onset\n" + b"A,sudden\n" * 10 + b'B,"x\n' + b"C,yyyyyyyy\n" * 200_000
    with pytest.raises(InputError) as info:
        read(data, block_bytes=1 << 16)
    msg = str(info.value)
    assert msg.startswith("t.csv: line 12: not readable as CSV: a quote opened on this line")
    assert "1 MiB" in msg


def test_unquoted_cell_over_the_field_limit():
    data = b"id,onset\nA,sudden\nB," + b"x" * 1_100_000 + b"\nC,sudden\n"
    with pytest.raises(InputError, match=r"^t\.csv: line 3: .* longer than 1 MiB"):
        read(data, fast=False)  # the pyarrow fast path has no field limit


def test_closed_quotes_at_end_of_file_are_fine():
    for data in (
        b'id,onset\nA,"x"\n',
        b'id,onset\nA,"x"',
        b'id,onset\nA,"x\n"',
        b'id,onset\nA,x"y\n',
    ):
        _, chunks, _ = read(data)
        assert sum(c.n_rows for c in chunks) == 1


@pytest.mark.parametrize("where", [0, 10, 100_000])
def test_nul_anywhere_is_unusable_with_line(where):
    rows = b"".join(b"A%06d,sudden\n" % i for i in range(20_000))
    cut = rows.index(b"\n", where) + 1 if where else 0
    line = 2 + rows[:cut].count(b"\n")
    data = b"id,onset\n" + rows[:cut] + b"B,\x00x\n" + rows[cut:]
    for block_bytes in (1 << 12, 1 << 20):
        with pytest.raises(InputError, match=rf"t\.csv: line {line} \(byte offset \d+\)"):
            read(data, block_bytes=block_bytes)


def test_endless_line_is_refused(monkeypatch):
    monkeypatch.setattr("legnumb.io.symptom_csv.MAX_LINE", 10_000)
    with pytest.raises(InputError, match="line 2 is longer than"):
        read(b"onset\n" + b"x" * 50_000, block_bytes=1000)


def test_duplicate_known_column():
    data = (
        b"laterality,id,Laterality \n"
        b"one_leg,A,one_leg\n"  # agree
        b"one_leg,B,\n"  # one blank
        b",C,both_legs\n"  # the other blank
        b"one_leg,D,both_legs\n"  # disagree
    )
    header, chunks, encs = read(data)
    assert header.known == (("laterality", (0, 2)),)
    assert any("appears 2 times" in w for w in header.warnings)
    enc = encs[0]
    assert [code(enc, "laterality", i) for i in range(4)] == [0, 0, 1, -1]
    assert enc.row_ok.tolist() == [True, True, True, False]
    assert enc.problems[3] == [
        "column 'laterality' is given twice and 'laterality' (column 1) says 'one_leg', "
        "'Laterality ' (column 3) says 'both_legs'"
    ]
    assert chunks[0].passthrough[3] == b"one_leg,D,both_legs"  # both copies stay


def test_output_named_columns_are_replaced():
    data = b"id,onset,triage,p_stroke,error\nA,sudden,old,0.1,\n"
    header, chunks, _ = read(data)
    assert header.keep == (0, 1)
    assert sum("name of an output column" in w for w in header.warnings) == 3
    assert chunks[0].passthrough == [b"A,sudden"]


def test_chunks_are_bounded_and_numbered():
    rows = b"".join(b"P%05d,sudden,one_leg\n" % i for i in range(3000))
    _, chunks, _ = read(b"id,onset,laterality\n" + rows, block_bytes=4096)
    assert len(chunks) > 10
    assert max(c.n_rows for c in chunks) < 300
    assert [c.first_row for c in chunks] == list(np.cumsum([1] + [c.n_rows for c in chunks[:-1]]))


# --------------------------------------------------------------------------- writing
def test_format_probabilities_matches_percent_format():
    values = [0.0, 1.0, 0.5, 0.1234565, 0.0000005, 0.9999995, 1e-300, 0.3, 2 / 3]
    p = np.array([values, [np.nan] * len(values)])
    got = format_probabilities(p)
    assert got[0].decode() == ",".join("%.6f" % v for v in values)  # noqa: UP031
    assert got[1] == b"," * (len(values) - 1)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(0, 1), st.just(0.5e-6), st.floats(-1e-12, 1 + 1e-12)),
        min_size=1,
        max_size=6,
    )
)
def test_format_probabilities_property(values):
    got = format_probabilities(np.array([values]))[0].decode()
    assert got == ",".join("%.6f" % v for v in values)  # noqa: UP031


def test_quote_cell():
    assert quote_cell("a\nb") == '"a\nb"'
    assert quote_cell("") == ""


def test_atomic_output_removes_temp_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def interrupted_write():
        with atomic_output(target) as out:
            out.write(b"partial")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_write()
    assert target.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_atomic_output_replaces_on_success(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_output(target) as out:
        out.write(b"new\n")
    assert target.read_bytes() == b"new\n"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_missing_input_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        CsvReader(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        CsvReader(tmp_path)


def test_missing_output_directory(tmp_path):
    with (
        pytest.raises(InputError, match="no such directory"),
        atomic_output(tmp_path / "no" / "out.csv"),
    ):
        pass


# --------------------------------------------------------------------------- properties
_NAMES = ["case_id", "onset", "laterality", "diabetes", "Onset ", "lateralty", "note"]
_CELL = st.one_of(
    st.sampled_from(["", "yes", "NO", " y ", "sudden", "Gradual", "one_leg", "both_legs", "1"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
    st.text(alphabet='ab, "\r\n', max_size=6),
)


@st.composite
def csv_files(draw):
    """Random CSV bytes (valid and invalid cells, ragged rows, quoting, line ends)."""
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=5))
    if not any(n.strip().lower() in SCHEMA.columns for n in names):
        names.append("onset")
    n = len(names)
    rows = draw(
        st.lists(
            st.lists(_CELL, min_size=max(1, n - 1), max_size=n + 1),
            max_size=12,
        )
    )
    # a record that is one empty cell is a blank line in CSV: make it non-blank
    rows = [r if any(c.strip() for c in r) or len(r) > 1 else ["x"] for r in rows]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    quote_all = draw(st.booleans())
    text = "".join(",".join(_quote(c, quote_all) for c in r) + newline for r in [names, *rows])
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + text.encode("utf-8"), names, rows


def _quote(cell: str, always: bool) -> str:
    """RFC 4180 quoting (csv.writer leaves a lone CR unquoted when lines end with LF)."""
    if always or any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), st.sampled_from([64, 256, 1 << 20]))
def test_fast_path_equals_csv_module(case, block_bytes):
    data, _, _ = case
    try:
        fast = read(data, fast=True, block_bytes=block_bytes)
    except InputError as exc:
        with pytest.raises(InputError, match=str(exc).split(":")[0]):
            read(data, fast=False)
        return
    slow = read(data, fast=False, block_bytes=1 << 20)
    assert flat(*fast[1:]) == flat(*slow[1:])


@st.composite
def rectangular_csv(draw):
    """Rectangular CSV that the fast paths should take: free text quoted only when needed."""
    names = ["id", "onset", "note", "laterality"]
    free = st.text(alphabet='ab ,"\r\n\u00e9', max_size=8)
    state = st.sampled_from(["", "sudden", "Gradual", "one_leg", " both_legs", "x"])
    rows = draw(st.lists(st.tuples(free, state, free, state), max_size=30))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(names)]
    for row in rows:
        lines.append(",".join(_quote(c, False) for c in row))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")  # a blank line
    return (newline.join(lines) + newline).encode("utf-8")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rectangular_csv(), st.sampled_from([64, 512, 1 << 20]))
def test_fast_paths_equal_csv_module_on_plain_files(data, block_bytes):
    fast = read(data, fast=True, block_bytes=block_bytes)
    slow = read(data, fast=False)
    assert flat(*fast[1:]) == flat(*slow[1:])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files())
def test_rows_order_and_cells_survive(case):
    data, names, rows = case
    header, chunks, _ = read(data, block_bytes=128)
    out = [p for c in chunks for p in c.passthrough]
    assert len(out) == len(rows)
    width = len(names)
    text = "".join(x.decode() + ",END\n" for x in out)  # as in the output: more cells follow
    back = [r[:-1] for r in csv.reader(io.StringIO(text, newline=""))]
    for got, row in zip(back, rows, strict=True):
        expected = (row + [""] * width)[:width]
        expected = [expected[j] for j in header.keep]
        assert got == expected


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(COLUMNS),
    st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda s, pre, post, upper: pre + (s.upper() if upper else s) + post,
            st.sampled_from(SPELLINGS),
            st.sampled_from(["", " ", "  ", "\t"]),
            st.sampled_from(["", " ", "\u00a0"]),
            st.booleans(),
        ),
    ),
)
def test_byte_encoder_equals_schema_rules(column, value):
    value = value.replace("\x00", "")
    codes, bad = encode_strings([value, "", value], column, schema=SCHEMA)
    state = SCHEMA.normalize_state(column, value) if value.strip() else None
    if not value.strip():
        assert codes.tolist() == [-1, -1, -1]
        assert bad == []
    elif state is None:
        assert codes.tolist() == [-1, -1, -1]
        assert bad == [0, 2]
    else:
        k = SCHEMA.columns[column].states.index(state)
        assert codes.tolist() == [k, -1, k]
        assert bad == []


def test_reader_closes_its_file(tmp_path):
    path = Path(tmp_path / "x.csv")
    path.write_bytes(b"onset\nsudden\n")
    with CsvReader(path) as reader:
        header = parse_header(reader.names, schema=SCHEMA)
        assert [c.n_rows for c in reader.chunks(header)] == [1]
    assert reader._own is None


def test_chunk_from_rows_pads_and_cuts():
    header = parse_header(["id", "onset"], schema=SCHEMA)
    chunk = chunk_from_rows([["a"], ["b", "sudden", "x"]], header, first_row=7)
    assert chunk.passthrough == [b"a,", b"b,sudden"]
    assert chunk.unreadable.tolist() == [False, True]


# --------------------------------------------------------------------------- D13
def test_excel_safe_cell():
    from legnumb.io.symptom_csv import excel_safe_cell

    for risky in ("=1+2", "+A1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert excel_safe_cell(risky) == "'" + risky
    for plain in ("", "a=b", "one_leg", "'=already", " =x"):
        assert excel_safe_cell(plain) == plain


def test_excel_safe_header_prefixes_passthrough_cells():
    names = ["id", "onset", "note"]
    rows = [["=1+2", "sudden", '=HYPERLINK("http://x","y")'], ["-3", "", "@a,b"], ["ok", "", ""]]
    plain = parse_header(names, schema=SCHEMA)
    safe = parse_header(names, schema=SCHEMA, excel_safe=True)
    assert chunk_from_rows([list(r) for r in rows], plain, first_row=1).passthrough[0] == (
        b'=1+2,sudden,"=HYPERLINK(""http://x"",""y"")"'
    )
    chunk = chunk_from_rows([list(r) for r in rows], safe, first_row=1)
    assert chunk.passthrough == [
        b'\'=1+2,sudden,"\'=HYPERLINK(""http://x"",""y"")"',
        b"'-3,,\"'@a,b\"",
        b"ok,,",
    ]


def test_excel_safe_reader_prefixes_cells():
    data = b"id,onset\n=1,sudden\n+2,gradual\n"
    reader = CsvReader(io.BytesIO(data), name="t.csv")
    header = parse_header(reader.names, schema=SCHEMA, excel_safe=True)
    (chunk,) = reader.chunks(header)
    assert chunk.passthrough == [b"'=1,sudden", b"'+2,gradual"]


# --------------------------------------------------------------------------- typos
def test_header_lists_likely_typos():
    header = parse_header(["id", "lateralty", "onst", "sex"], schema=SCHEMA, source="t.csv")
    assert header.typos == ((2, "lateralty", "laterality"), (3, "onst", "onset"))
