"""Read, encode and write symptom CSVs exactly as ``model/data/CONTRACT.md`` prescribes.

This module is the IO layer of ``legnumb score``; it needs only the schema, never the model.

Reading
    A file is read in blocks of bytes (``block_bytes``, 4 MiB by default), so memory does not
    grow with the file. A UTF-8 byte-order mark is dropped, CRLF, LF and lone CR line ends are
    all accepted, quoted fields may hold commas, quotes and line breaks (RFC 4180). A quote
    that is never closed (still open at the end of the file, or not closed within
    ``FIELD_LIMIT`` characters) stops the run with an :class:`~legnumb.errors.InputError` that
    names the line where it opened; it is never read as one long cell. The first record that
    is not blank is the header. After it, every record is a row: a blank line is a person with
    nothing known (all cells blank; kept in order and scored, and a note counts them), a line
    of only spaces is a row whose first cell holds those spaces.
    Blocks whose records all have as many cells as the header, with no quote left open, are
    read by pyarrow's CSV reader (the fast path); every other block goes through Python's
    :mod:`csv` module (the reference), row by row. Both give the same cells, which property
    tests check.

Encoding
    Bytes must be valid in the chosen encoding (UTF-8 unless ``encoding`` says otherwise, for
    example ``cp1252`` for files from Excel on Windows). The first invalid byte stops the run
    with an :class:`~legnumb.errors.InputError` that names the file line and byte offset; there
    is no silent fallback, because guessing an encoding could change a value. Files in UTF-16
    or that are not text at all are refused up front, and a NUL byte anywhere in the file
    stops the run naming its line and byte offset. Output is always UTF-8 without a BOM.

Rows and numbering
    "row N" always means the N-th data record, 1-based, header not counted: row 1 is the record
    a spreadsheet shows on its line 2. File lines ("line N", 1-based, header counted, quoted line
    breaks counted) are only used for problems with the file itself (bad bytes, broken quoting).

Cells
    Names and states are trimmed and matched ignoring case; yes/no columns also take
    ``y``/``n``, ``true``/``false`` and ``1``/``0``. A blank cell is "not known". Any other value
    makes the row an error (kept, not scored; its red flags are still found). A row with fewer
    cells than the header has its missing cells read as blank (a warning counts them). A row
    with more cells than the header is an error and is not interpreted at all, because its cells
    cannot be matched to columns; its extra cells are quoted in the error and left out of the
    output, which stays rectangular.

Columns
    Unknown columns are carried to the output unchanged and in place; one whose name is close
    to a known column gets a "did you mean" warning. A known column given twice (say
    ``laterality`` and ``Laterality``) is read from both: blank cells defer to the other copy,
    equal states agree, and different states make the row an error; both copies stay in the
    output. An input column named like an output column (``triage``, ``p_stroke``, ``error``, ...,
    typically when an already scored file is scored again) is replaced by the new value: it is
    left out and a warning says so. A file with no known column is refused.

Output
    Every input row in input order: the input cells (re-quoted only where CSV needs it), then
    ``p_<cause>`` (six decimals, ``%.6f``; blank when the row was not scored), ``top_cause``,
    ``triage``, ``red_flags``, ``error``, ``model_version`` and ``priors_hash``. The version and
    the priors hash are plain columns so that ``pandas.read_csv`` reads them without options.
    Lines end with ``\\n``. The same input gives the same bytes on every run. Cells that a
    spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) are written back
    unchanged, as the contract says, unless the header asks for ``excel_safe`` (a leading
    ``'``). :func:`atomic_output` writes through a temporary file renamed at the end: a
    symlink is followed to its target, anything but a regular file (a FIFO, a device) is
    refused, an existing file keeps its permission bits, and a failed write (a full disk)
    raises :class:`OutputError` and leaves nothing behind.

Examples
--------
>>> import io
>>> from legnumb.network.schema import load_schema
>>> reader = CsvReader(io.BytesIO(b"\\xef\\xbb\\xbfcase_id, Laterality \\r\\nA1,BOTH_LEGS\\r\\n"))
>>> header = parse_header(reader.names, schema=load_schema(), source="x.csv")
>>> header.known
(('laterality', (1,)),)
>>> chunk = next(reader.chunks(header))
>>> enc = encode_chunk(chunk, header, schema=load_schema())
>>> int(enc.codes[0, list(load_schema().columns).index("laterality")])
1
>>> format_probabilities(np.array([[0.25, np.nan]]))
[b'0.250000,']
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import gc
import io
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from legnumb.errors import InputError, OutputError
from legnumb.network.schema import Schema, invalid_state, normalize_name, shown

__all__ = [
    "BLOCK_BYTES",
    "Chunk",
    "CsvReader",
    "Encoded",
    "Header",
    "OutputError",
    "atomic_output",
    "check_encoding",
    "check_not_input",
    "chunk_from_columns",
    "chunk_from_rows",
    "encode_chunk",
    "encode_strings",
    "excel_safe_cell",
    "format_chunk",
    "format_header",
    "format_probabilities",
    "output_columns",
    "output_directory",
    "output_target",
    "parse_header",
    "quote_cell",
    "row_error_text",
    "same_file",
]

#: Bytes read at a time; a block is cut at its last line end.
BLOCK_BYTES = 4 << 20
#: Longest field the csv module accepts (an unclosed quote would otherwise swallow the file).
FIELD_LIMIT = 1 << 20
#: Longest physical line read before giving up (bounds memory on files without line ends).
MAX_LINE = 64 << 20

_BOM = codecs.BOM_UTF8
_YES_NO_SYNONYMS = {"yes": ("y", "true", "1"), "no": ("n", "false", "0")}
_QUOTE_CHARS = (",", '"', "\r", "\n")


def output_columns(causes: Sequence[str]) -> tuple[str, ...]:
    """The columns ``legnumb score`` appends, in order.

    >>> output_columns(["stroke", "sciatica"])[:3]
    ('p_stroke', 'p_sciatica', 'top_cause')
    """
    return (
        *(f"p_{c}" for c in causes),
        "top_cause",
        "triage",
        "triage_reason",
        "red_flags",
        "p_other_cause",
        "n_findings",
        "error",
        "model_version",
        "priors_hash",
    )


def quote_cell(text: str) -> str:
    """Quote one cell the way CSV needs (only when it holds ``,``, ``"`` or a line break).

    >>> quote_cell('say "hi", then go')
    '"say ""hi"", then go"'
    >>> quote_cell("plain")
    'plain'
    """
    if any(ch in text for ch in _QUOTE_CHARS):
        return '"' + text.replace('"', '""') + '"'
    return text


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_safe_cell(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula.

    Excel, LibreOffice and Google Sheets treat a cell that begins with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return as a formula; the ``'`` makes them show it as text.

    >>> print(excel_safe_cell("=1+2"), excel_safe_cell("one_leg"))
    '=1+2 one_leg
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --------------------------------------------------------------------------- header
@dataclass(frozen=True)
class Header:
    """What the header row of a symptom CSV means.

    Attributes
    ----------
    source : str or None
        The file name used in messages (None for a DataFrame).
    names : tuple of str
        The header cells exactly as read, in file order.
    keep : tuple of int
        Positions of the input columns carried to the output (all but those named like an
        output column).
    known : tuple of (str, tuple of int)
        Each schema column found, in schema order, with the positions that hold it.
    warnings : tuple of str
        Messages about the header (likely typos, replaced columns, duplicates).
    typos : tuple of (int, str, str)
        Columns whose name looks like a typo of a known column: 1-based position, the name
        as read and the known column it is close to. They are carried through unread.
    excel_safe : bool
        Write input cells that a spreadsheet would run as a formula with a leading ``'``
        (see :func:`excel_safe_cell`); off by default, as the contract keeps cells unchanged.
    """

    source: str | None
    names: tuple[str, ...]
    keep: tuple[int, ...]
    known: tuple[tuple[str, tuple[int, ...]], ...]
    warnings: tuple[str, ...] = ()
    typos: tuple[tuple[int, str, str], ...] = ()
    excel_safe: bool = False

    @property
    def width(self) -> int:
        """Number of columns in the header."""
        return len(self.names)

    @property
    def known_positions(self) -> tuple[int, ...]:
        """Every position holding a known column, in the order of :attr:`known`."""
        return tuple(p for _, positions in self.known for p in positions)

    @property
    def keeps_all(self) -> bool:
        """True when every input column goes to the output."""
        return len(self.keep) == len(self.names)


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def parse_header(
    names: Sequence[str],
    *,
    schema: Schema,
    source: str | None = None,
    outputs: Sequence[str] = (),
    excel_safe: bool = False,
) -> Header:
    """Match header cells to schema columns, following the contract.

    Parameters
    ----------
    names : sequence of str
        The header cells as read.
    schema : Schema
        The columns to look for.
    source : str, optional
        File name for messages.
    outputs : sequence of str, optional
        Output column names; input columns with these names are left out (and warned about).
    excel_safe : bool, optional
        Prefix cells that a spreadsheet would run as a formula (see :attr:`Header.excel_safe`).

    Raises
    ------
    InputError
        When no column of the schema is present.

    Examples
    --------
    >>> from legnumb.network.schema import load_schema
    >>> h = parse_header(["id", "Lateralty", " sex"], schema=load_schema(), source="a.csv")
    >>> h.known
    (('sex', (2,)),)
    >>> print(h.warnings[0])
    a.csv: column 2 'Lateralty' is not a known column; did you mean 'laterality'? \
It is carried to the output unchanged and not used for scoring.
    """
    names = tuple(str(n) for n in names)
    where = _where(source)
    output_set = {normalize_name(o) for o in outputs}
    positions: dict[str, list[int]] = {}
    keep: list[int] = []
    warnings: list[str] = []
    typos: list[tuple[int, str, str]] = []
    for pos, raw in enumerate(names):
        norm = normalize_name(raw)
        if norm in output_set:
            warnings.append(
                f"{where}column {pos + 1} {raw!r} has the name of an output column; "
                "it is replaced by the new value and left out of the output."
            )
            continue
        keep.append(pos)
        if norm in schema.columns:
            positions.setdefault(norm, []).append(pos)
        elif norm:
            guess = schema.closest_column(norm)
            if guess is not None:
                typos.append((pos + 1, raw, guess))
                warnings.append(
                    f"{where}column {pos + 1} {raw!r} is not a known column; did you mean "
                    f"{guess!r}? It is carried to the output unchanged and not used for scoring."
                )
    for name, where_all in positions.items():
        if len(where_all) > 1:
            cols = ", ".join(f"{p + 1} {names[p]!r}" for p in where_all)
            warnings.append(
                f"{where}column {name!r} appears {len(where_all)} times (columns {cols}); "
                "a row is read from all of them and is an error where they disagree."
            )
    if not positions:
        raise InputError(_no_known_column_message(names, schema=schema, where=where))
    known = tuple((c, tuple(positions[c])) for c in schema.columns if c in positions)
    return Header(
        source, names, tuple(keep), known, tuple(warnings), tuple(typos), bool(excel_safe)
    )


def _no_known_column_message(names: tuple[str, ...], *, schema: Schema, where: str) -> str:
    shown = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
    msg = f"{where}no known column in the header. Got {shown} instead; expected some of: "
    msg += ", ".join(list(schema.columns)[:6]) + ", ... (see model/data/columns.csv)."
    joined = ",".join(names)
    for sep, label in ((";", "semicolons"), ("\t", "tabs")):
        if sep in joined and any(
            normalize_name(part) in schema.columns for part in joined.split(sep)
        ):
            return (
                msg + f" The file seems to separate cells with {label}; save it as CSV with commas."
            )
    guesses = [g for g in (schema.closest_column(n) for n in names) if g]
    if guesses:
        msg += f" Closest known name: {guesses[0]!r}."
    return msg


# --------------------------------------------------------------------------- reading
@dataclass
class Chunk:
    """Consecutive data rows of one file, as read.

    Attributes
    ----------
    first_row : int
        Row number (1-based data row) of the first row.
    n_rows : int
        Number of rows.
    passthrough : list of bytes
        Each row's kept input cells, serialized as CSV (UTF-8, no line end).
    cells : list of pyarrow.StringArray
        The known cells, one array of ``n_rows`` per position of
        :attr:`Header.known_positions`.
    problems : dict of int to list of str
        Problems found while reading, by row index within the chunk.
    unreadable : numpy.ndarray
        bool per row: the row is not interpreted at all (it has more cells than the header).
    short_rows : int
        Rows that had fewer cells than the header (blank lines not counted).
    first_short_row : int
        Row number of the first of them (0 when none).
    blank_rows : int
        Rows that were blank lines (kept as rows with nothing known).
    first_blank_row : int
        Row number of the first of them (0 when none).
    n_bytes : int
        Input bytes this chunk consumed (for progress).
    """

    first_row: int
    n_rows: int
    passthrough: list[bytes]
    cells: list
    problems: dict[int, list[str]] = field(default_factory=dict)
    unreadable: np.ndarray | None = None
    short_rows: int = 0
    first_short_row: int = 0
    blank_rows: int = 0
    first_blank_row: int = 0
    n_bytes: int = 0


def check_encoding(encoding: str) -> str:
    """The codec name of ``encoding`` if legnumb can read files in it.

    Raises
    ------
    InputError
        When the encoding is unknown, or does not write commas, quotes and line ends as
        ASCII (UTF-16, say).
    """
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputError(f"unknown encoding {encoding!r}; try utf-8 or cp1252.") from exc
    probe = ',"\r\n'
    try:
        ascii_safe = probe.encode(name) == probe.encode("ascii") and name != "utf-8-sig"
    except (UnicodeError, LookupError):  # LookupError: not a text encoding (rot13, hex)
        ascii_safe = False
    if name == "utf-8-sig":
        return "utf-8"  # the BOM is always dropped anyway
    if not ascii_safe:
        raise InputError(
            f"encoding {encoding!r} is not supported: legnumb reads encodings that write "
            "commas, quotes and line ends as ASCII (utf-8, cp1252, latin-1, ...). Save the "
            "file as 'CSV UTF-8'."
        )
    return name


def _count_lines(data: bytes) -> int:
    """Line ends in ``data``, counting CRLF, LF and lone CR once each."""
    if b"\r" not in data:
        return data.count(b"\n")
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


class _Blocks:
    """Blocks of UTF-8 bytes that end at a line end, decoded and checked strictly."""

    def __init__(self, stream: BinaryIO, *, encoding: str, block_bytes: int, name: str) -> None:
        self.stream = stream
        self.encoding = encoding
        self.block_bytes = block_bytes
        self.name = name
        self.lines_before = 0  # physical lines in blocks already handed out
        self.bytes_before = 0  # input bytes in blocks already handed out
        self._carry = b""
        self._eof = False
        self._first = True
        self._hint = ""

    def _read(self) -> bytes:
        data = self.stream.read(self.block_bytes)
        if not data:
            self._eof = True
        return data

    def _sniff(self, data: bytes) -> bytes:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(
                f"{self.name}: the file is UTF-16 text; save it as 'CSV UTF-8' (comma "
                "delimited) and try again."
            )
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
            self.bytes_before += len(_BOM)
        if data.startswith(b"PK\x03\x04"):
            self._hint = " It looks like an Excel workbook or a zip file; export it as CSV first."
        elif data.startswith(b"\x1f\x8b"):
            self._hint = " It looks gzip-compressed; decompress it first."
        return data

    def _check_nul(self, before: bytes, data: bytes) -> None:
        """Refuse a NUL byte anywhere in the file, naming its line and byte offset.

        ``before`` is what was read, but not handed out, ahead of the new ``data``.
        """
        at = data.find(b"\x00")
        if at >= 0:
            head = before + data[:at]
            line = self.lines_before + _count_lines(head) + 1
            raise InputError(
                f"{self.name}: line {line} (byte offset {self.bytes_before + len(head)}) holds "
                f"a NUL byte, so it is not a CSV text file.{self._hint}"
            )

    def __iter__(self) -> Iterator[bytes]:
        while True:
            buf = self._carry
            cut = -1
            while not self._eof:
                data = self._read()
                if self._first:
                    self._first = False
                    data = self._sniff(data)
                self._check_nul(buf, data)
                buf += data
                cut = max(buf.rfind(b"\n"), buf.rfind(b"\r", 0, len(buf) - 1))
                if cut >= 0 and len(buf) >= self.block_bytes:
                    break
                if cut < 0 and len(buf) > MAX_LINE:
                    raise InputError(
                        f"{self.name}: line {self.lines_before + 1} is longer than "
                        f"{MAX_LINE >> 20} MiB; this does not look like a CSV file."
                    )
            if self._eof:
                block, self._carry = buf, b""
            else:
                block, self._carry = buf[: cut + 1], buf[cut + 1 :]
            if not block:
                return
            text = self._decode(block)
            self.lines_before += _count_lines(block)
            self.bytes_before += len(block)
            yield text
            if self._eof and not self._carry:
                return

    def _decode(self, block: bytes) -> bytes:
        try:
            text = block.decode(self.encoding)
        except UnicodeDecodeError as exc:
            line = self.lines_before + _count_lines(block[: exc.start]) + 1
            bad = block[exc.start : exc.start + 4]
            raise InputError(
                f"{self.name}: line {line} (byte offset {self.bytes_before + exc.start}) is "
                f"not valid {self.encoding}: got bytes {bad!r}. Save the file as 'CSV UTF-8', "
                "or give the encoding it was written in (e.g. --encoding cp1252 for files from "
                "Excel on Windows)."
            ) from exc
        return block if self.encoding == "utf-8" else text.encode("utf-8")


class _LineFeed:
    """Lines (with their line ends) of one block after another, for :func:`csv.reader`.

    After the last line it hands out :data:`_END` once, a line no CSV file holds (NUL bytes
    are refused), so that a quote still open at the end of the file shows as NUL bytes at the
    end of the last cell instead of being closed silently by the csv module. It also keeps
    the lines of the record being read (from :meth:`mark`), to find where a quote opened.
    """

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._lines: list[str] = []
        self._i = 0
        self.line_no = 0  # physical lines handed out so far
        self.ended = False  # _END was handed out
        self.record_line = 0  # physical lines before the current record
        self._record_i = 0  # where the current record starts in _lines
        self._spill: list[str] = []  # its lines from earlier blocks

    def load(self, block: bytes, line_no: int | None = None) -> None:
        """Start on ``block``, whose first line follows file line ``line_no`` (if given)."""
        self._lines = io.StringIO(block.decode("utf-8"), newline="").readlines()
        self._i = 0
        self._record_i = 0
        if line_no is not None:
            self.line_no = line_no

    def mark(self) -> None:
        """A new record starts at the next line."""
        self.record_line = self.line_no
        self._record_i = self._i
        if self._spill:
            self._spill = []

    def record_text(self) -> str:
        """The lines of the current record handed out so far (without :data:`_END`)."""
        return "".join(self._spill + self._lines[self._record_i : self._i])

    @property
    def exhausted(self) -> bool:
        """True when every line of the current block has been handed out."""
        return self._i >= len(self._lines)

    def remainder(self) -> bytes:
        """The lines of the current block not yet handed out, as bytes; the block ends here."""
        rest = "".join(self._lines[self._i :]).encode("utf-8")
        self._lines, self._i = [], 0
        return rest

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        while self._i >= len(self._lines):
            if self.ended:
                raise StopIteration  # ends the csv reader
            block = next(self._blocks, None)
            if block is None:
                self.ended = True
                return _END
            self._spill.extend(self._lines[self._record_i :])
            self.load(block)
        line = self._lines[self._i]
        self._i += 1
        self.line_no += 1
        return line


class CsvReader:
    """Read a symptom CSV in chunks of rows; see the module docstring for the rules.

    Parameters
    ----------
    source : str, Path or binary file object
        A path, ``"-"`` for standard input, or an open binary stream.
    encoding : str, optional
        The text encoding; ``utf-8`` by default (a byte-order mark is always dropped).
    block_bytes : int, optional
        How many bytes to read at a time.
    name : str, optional
        The file name used in messages (the path's name by default).
    fast : bool, optional
        Read plain blocks with pyarrow, the fast path (default); False forces the csv module.

    Raises
    ------
    InputError
        When the file is missing, empty, not text, not in ``encoding`` or has no header.
    """

    def __init__(
        self,
        source: str | Path | BinaryIO,
        *,
        encoding: str = "utf-8",
        block_bytes: int = BLOCK_BYTES,
        name: str | None = None,
        fast: bool = True,
    ) -> None:
        self._own = None
        if isinstance(source, (str, Path)):
            if str(source) == "-":
                stream, self.name = sys.stdin.buffer, name or "<stdin>"
            else:
                path = Path(source)
                self.name = name or path.name
                stream = self._own = _open_input(path)
        else:
            stream, self.name = source, name or getattr(source, "name", None) or "<stream>"
            if not isinstance(self.name, str):
                self.name = "<stream>"
        self.size = _size_of(stream)
        self.fast = fast
        try:
            encoding = check_encoding(encoding)
            self._blocks = _Blocks(
                stream, encoding=encoding, block_bytes=block_bytes, name=self.name
            )
            self._block_iter = _head_first(iter(self._blocks))
            self._feed = _LineFeed(self._block_iter)
            self._csv = csv.reader(self._feed)
            self._next_row = 1
            self.names = self._read_header()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the file if this reader opened it."""
        if self._own is not None:
            self._own.close()
            self._own = None

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def bytes_read(self) -> int:
        """Input bytes handed to the parser so far."""
        return self._blocks.bytes_before

    def _records(self, *, until_block_end: bool, header: bool = False) -> Iterator[list[str]]:
        """Records from the csv module (to the end of the current block if asked).

        A blank line is the record ``[]``; before the header (``header=True``), blank lines
        and lines of only spaces or tabs are skipped.
        """
        feed = self._feed
        old = csv.field_size_limit(FIELD_LIMIT)
        try:
            while not (until_block_end and feed.exhausted):
                feed.mark()
                row = next(self._csv, None)
                if row is None:
                    return
                if feed.ended:
                    if row == [_END]:  # read from the start of a record: the file ended
                        return
                    if "\x00" in row[-1]:  # read inside a quoted cell: it was never closed
                        raise InputError(self._quote_message(at_end=True))
                if not header or (row and (len(row) > 1 or row[0].strip(" \t"))):
                    yield row
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise InputError(self._quote_message(at_end=False)) from exc
            raise InputError(  # pragma: no cover - the default dialect raises nothing else
                f"{self.name}: line {feed.line_no}: not readable as CSV ({exc})."
            ) from exc
        finally:
            csv.field_size_limit(old)

    def _quote_message(self, *, at_end: bool) -> str:
        """Why the current record cannot be read: a quote left open, or an endless cell."""
        feed = self._feed
        text = feed.record_text()
        at = _open_quote(text)
        if at is None:  # an unquoted cell over the limit
            return (
                f"{self.name}: line {feed.record_line + 1}: not readable as CSV: a cell of this "
                f"record is longer than {FIELD_LIMIT >> 20} MiB; this does not look like a "
                "CSV file."
            )
        line = feed.record_line + _count_lines(text[:at].encode("utf-8")) + 1
        how = (
            "is never closed (it runs to the end of the file)"
            if at_end
            else f"is not closed within {FIELD_LIMIT >> 20} MiB"
        )
        return (
            f"{self.name}: line {line}: not readable as CSV: a quote opened on this line {how}, "
            "so the rows after it would be read as one cell. Close the quote (a quote inside "
            'a quoted cell is written "") or remove it.'
        )

    def _read_header(self) -> tuple[str, ...]:
        records = self._records(until_block_end=False, header=True)
        try:
            row = next(records, None)
        finally:
            records.close()
        if row is None:
            raise InputError(
                f"{self.name}: the file is empty; expected a header row naming the columns."
            )
        return tuple(row)

    def chunks(self, header: Header) -> Iterator[Chunk]:
        """Yield the data rows as :class:`Chunk` objects, in file order."""
        fast = self.fast
        rest = self._feed.remainder()  # what follows the header in its block
        pending = [rest] if rest else []
        done = self._blocks.bytes_before - len(rest)
        while True:
            if pending:
                block, line_no = pending.pop(), self._feed.line_no
            else:
                block, line_no = next(self._block_iter, None), None
            if block is None:
                return
            chunk = _fast_chunk(block, header, self._next_row) if fast else None
            if chunk is None:
                if line_no is None:  # a block of _Blocks ends where it stopped counting
                    line_no = self._blocks.lines_before - _count_lines(block)
                self._feed.load(block, line_no)
                with _no_gc():
                    rows = list(self._records(until_block_end=True))
                    chunk = chunk_from_rows(rows, header, first_row=self._next_row)
                    del rows
            chunk.n_bytes = self._blocks.bytes_before - done
            done = self._blocks.bytes_before
            if chunk.n_rows:
                self._next_row += chunk.n_rows
                yield chunk


#: Handed to the csv module after the last line (see :class:`_LineFeed`).
#: From the start of a record it reads as the one cell ``_END``; inside a quoted cell its
#: quote closes the cell and the cell ends with NUL bytes, so the two cases differ.
_END = '\x00"\x00'
_QUOTED = re.compile(r'"(?:[^"]+|"")*')
_UNQUOTED = re.compile(r"[^,\r\n]*")


def _open_quote(text: str) -> int | None:
    """Offset of a quote still open at the end of ``text``, read as :mod:`csv` reads it.

    A quote opens a cell only at the start of a cell; inside an unquoted cell it is an
    ordinary character; ``""`` inside a quoted cell is a quote.

    >>> _open_quote('A,"x""y\\nB,C')
    2
    >>> _open_quote('A,x"y,"z",w\\n') is None
    True
    """
    pos, n = 0, len(text)
    while pos < n:
        if text[pos] == '"':
            end = _QUOTED.match(text, pos).end()
            if end >= n:
                return pos
            pos = end + 1  # after the closing quote; csv keeps what follows it
        pos = _UNQUOTED.match(text, pos).end() + 1  # past the comma or line end
    return None


def _head_first(blocks: Iterator[bytes], head: int = 1 << 16) -> Iterator[bytes]:
    """Split the first block after its first line end past ``head`` bytes.

    The header is parsed with the csv module from the small first piece only; the big rest
    of the block stays eligible for the fast path.
    """
    first = next(blocks, None)
    if first is None:
        return
    cut = first.find(b"\n", head) + 1
    if 0 < cut < len(first):
        yield first[:cut]
        yield first[cut:]
    else:
        yield first
    yield from blocks


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small lists (rows of cells).

    Building a chunk allocates hundreds of thousands of lists that live until the chunk is
    done; collecting them repeatedly is pure overhead (about 4x the parse time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _open_input(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file.") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a CSV file.") from exc
    except PermissionError as exc:
        raise InputError(f"{path}: permission denied.") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from exc


def _size_of(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size or None
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


# --------------------------------------------------------------------------- chunks
def _arrow_table(block: bytes, width: int, *, skip_blank: bool):
    """The cells of ``block`` read by pyarrow as strings, or None when it cannot be trusted.

    A sentinel record (``width`` cells holding a NUL, which no file read here holds) is read
    after the block: pyarrow silently closes a quote still open at the end of its input, so
    a quote left open in the block swallows the sentinel and shows. A record of another
    width than ``width`` (pyarrow raises) also gives None. With ``skip_blank`` blank lines
    are skipped; without it each is a record of empty cells.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    ends = block.endswith((b"\n", b"\r"))
    data = block + (b"" if ends else b"\n") + b",".join([b"\x00"] * width) + b"\n"
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=skip_blank
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
                check_utf8=False,  # the block was decoded strictly already
            ),
        )
    except pa.ArrowInvalid:
        return None
    n = table.num_rows - 1
    if n < 0 or table.column(0)[n].as_py() != "\x00":
        return None
    return table.slice(0, n)


def _fast_chunk(block: bytes, header: Header, first_row: int) -> Chunk | None:
    """Read a block with pyarrow's CSV reader; None when it needs the csv module.

    pyarrow reads the cells the csv module reads (property tests check it) when every
    record has the header's width and no quote is left open at the end of the block. Blank
    lines are found by reading the block a second time without them; a block that holds
    both blank lines and records of only empty cells (``,,``) goes to the csv module, as
    does every block of a one-column file (where any line is a record).
    """
    width = header.width
    if width == 1:
        return None
    table = _arrow_table(block, width, skip_blank=False)
    if table is None:
        return None
    columns = [_one_chunk(c) for c in table.columns]
    blank = _empty_rows(columns)
    if blank.any():
        skipped = _arrow_table(block, width, skip_blank=True)
        if skipped is None:  # pragma: no cover - it read the block with blank lines
            return None
        n_blank = table.num_rows - skipped.num_rows
        if n_blank == 0:
            blank[:] = False
        elif n_blank != int(blank.sum()):
            return None  # which empty records are blank lines is the csv module's call
    if b'"' not in block and header.keeps_all and not header.excel_safe:
        # no quotes: no cell holds a comma, quote or line break, so each line as read is
        # its row written back (quote_cell quotes nothing)
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = block.split(b"\n")
        if lines[-1] == b"":
            lines.pop()  # after the last line end
        if blank.any():
            empty = b"," * (width - 1)
            lines = [line or empty for line in lines]
        passthrough = lines
    else:
        passthrough = _passthrough([_as_list(columns[j]) for j in header.keep], header.excel_safe)
    return Chunk(
        first_row=first_row,
        n_rows=len(blank),
        passthrough=passthrough,
        cells=[columns[p] for p in header.known_positions],
        unreadable=np.zeros(len(blank), dtype=bool),
        **_blank_info(blank, first_row),
    )


def _one_chunk(column):
    """A pyarrow ChunkedArray as one Array."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _lengths(cells) -> np.ndarray:
    """Byte length of each cell of a pyarrow string array."""
    import pyarrow.compute as pc

    return pc.binary_length(cells).to_numpy()


def _empty_rows(columns: Sequence) -> np.ndarray:
    """True for the rows whose cells (pyarrow string arrays) are all empty."""
    empty = _lengths(columns[0]) == 0
    for col in columns[1:]:
        rows = np.flatnonzero(empty)
        if not len(rows):
            break
        empty[rows[_lengths(col.take(rows)) > 0]] = False
    return empty


def _as_list(cells) -> list[str]:
    """A pyarrow string array as a list of str."""
    return cells.to_numpy(zero_copy_only=False).tolist()


def _blank_info(blank: np.ndarray, first_row: int) -> dict[str, int]:
    """The :class:`Chunk` fields that count blank lines, from a mask of them."""
    at = np.flatnonzero(blank)
    return {"blank_rows": len(at), "first_blank_row": first_row + int(at[0]) if len(at) else 0}


def _passthrough(columns: Sequence[Sequence[str]], excel_safe: bool) -> list[bytes]:
    """Each row's cells of ``columns`` as one CSV line (UTF-8, no line end).

    A cell is quoted only where CSV needs it (:func:`quote_cell`); with ``excel_safe`` a
    cell that a spreadsheet would run as a formula gets a leading ``'``
    (:func:`excel_safe_cell`).
    """
    kept = [_quote_column(col, excel_safe=excel_safe) for col in columns]
    if not kept:
        return []
    return [line.encode("utf-8") for line in map(",".join, zip(*kept, strict=True))]


def _quote_column(col: Sequence[str], *, excel_safe: bool = False) -> Sequence[str]:
    if excel_safe:
        col = [excel_safe_cell(c) for c in col]
    joined = "".join(col)
    if not any(ch in joined for ch in _QUOTE_CHARS):
        return col
    return [quote_cell(c) for c in col]


def _strings(values: Sequence[str]):
    """Cells (str) as a pyarrow string array."""
    import pyarrow as pa

    return pa.array(values, type=pa.string())


def chunk_from_rows(rows: list[list[str]], header: Header, *, first_row: int) -> Chunk:
    """Build a :class:`Chunk` from rows of cells (lists of str), as the csv module gives them.

    Rows with fewer cells than the header get blank cells (an empty row, a blank line, is
    counted apart); rows with more are errors whose extra cells are dropped from the output.

    >>> from legnumb.network.schema import load_schema
    >>> h = parse_header(["id", "sex"], schema=load_schema())
    >>> c = chunk_from_rows([["a,b", "F"], ["x"], ["1", "male", "extra"]], h, first_row=1)
    >>> c.passthrough
    [b'"a,b",F', b'x,', b'1,male']
    >>> c.problems[2][0][:40]
    'has 3 cells but the header has 2; the ex'
    """
    width = header.width
    n_rows = len(rows)
    problems: dict[int, list[str]] = {}
    unreadable = np.zeros(n_rows, dtype=bool)
    short = 0
    first_short = 0
    blank = np.zeros(n_rows, dtype=bool)
    lens = np.fromiter(map(len, rows), dtype=np.int64, count=n_rows)
    for i in np.flatnonzero(lens != width).tolist():
        row = rows[i]
        if not row:
            blank[i] = True
            rows[i] = [""] * width
        elif len(row) < width:
            short += 1
            first_short = first_short or first_row + i
            rows[i] = row + [""] * (width - len(row))
        else:
            extra = ", ".join(shown(c) for c in row[width:][:5])
            more = ", ..." if len(row) - width > 5 else ""
            problems[i] = [
                f"has {len(row)} cells but the header has {width}; the extra cells "
                f"({extra}{more}) belong to no column, so the row was not read. Quote cells "
                "that contain commas."
            ]
            unreadable[i] = True
            rows[i] = row[:width]
    cols = list(zip(*rows, strict=True)) if n_rows else [()] * width
    return Chunk(
        first_row=first_row,
        n_rows=n_rows,
        passthrough=_passthrough([cols[j] for j in header.keep], header.excel_safe),
        cells=[_strings(cols[p]) for p in header.known_positions],
        problems=problems,
        unreadable=unreadable,
        short_rows=short,
        first_short_row=first_short,
        **_blank_info(blank, first_row),
    )


def chunk_from_columns(
    columns: Sequence[Sequence[object]],
    header: Header,
    *,
    first_row: int,
    passthrough: bool = True,
) -> Chunk:
    """Build a :class:`Chunk` from whole columns of values (a DataFrame's, say).

    Missing values (None, NaN) are blank cells; other values are read as ``str(value)``.
    With ``passthrough=False`` the rows are not serialized (``score_frame`` keeps values).

    >>> from legnumb.network.schema import load_schema
    >>> h = parse_header(["id", "sex"], schema=load_schema())
    >>> chunk_from_columns([["a", None], ["F", float("nan")]], h, first_row=1).passthrough
    [b'a,F', b',']
    """
    n_rows = len(columns[0]) if columns else 0
    cols = [_as_strings(c) for c in columns]
    return Chunk(
        first_row=first_row,
        n_rows=n_rows,
        passthrough=_passthrough([cols[j] for j in header.keep], header.excel_safe)
        if passthrough
        else [],
        cells=[_strings(cols[p]) for p in header.known_positions],
        unreadable=np.zeros(n_rows, dtype=bool),
    )


def _as_strings(values: Sequence[object]) -> list[str]:
    """Cells as str: missing values (None, NaN, NA) are blank, others ``str(value)``."""
    import pandas as pd

    arr = np.asarray(values, dtype=object)
    missing = pd.isna(arr)
    return ["" if m else v if type(v) is str else str(v) for v, m in zip(arr, missing, strict=True)]


# --------------------------------------------------------------------------- encoding
@dataclass(frozen=True)
class Encoded:
    """Cells of a chunk mapped to state codes.

    Attributes
    ----------
    codes : numpy.ndarray
        int64 ``(n_rows, len(schema.columns))``: state index in schema order, -1 when blank,
        invalid or not read.
    row_ok : numpy.ndarray
        bool per row: no problem at all, so the row can be scored.
    problems : dict of int to list of str
        Row index within the chunk -> what is wrong (without the row number).
    """

    codes: np.ndarray
    row_ok: np.ndarray
    problems: dict[int, list[str]]


class _Spellings:
    """Every accepted ASCII spelling (lower case) of every state, by column, for pyarrow.

    A cell that equals a spelling ignoring ASCII case is matched in bulk
    (``pyarrow.compute.index_in``); every other cell that is not blank goes through
    :meth:`Schema.normalize_state`, so nothing is decided here that the schema's rules
    would decide otherwise.
    """

    def __init__(self, schema: Schema) -> None:
        import pyarrow as pa

        self.schema = schema
        self.values = {}
        self.codes = {}
        for name, col in schema.columns.items():
            words: list[str] = []
            codes: list[int] = []
            for k, state in enumerate(col.states):
                for w in (state, *(_YES_NO_SYNONYMS.get(state, ()) if col.is_yes_no else ())):
                    if w.isascii() and w not in words:
                        words.append(w)
                        codes.append(k)
            self.values[name] = pa.array(words, type=pa.string())
            self.codes[name] = np.array([*codes, -2], dtype=np.int64)  # -2: no spelling

    def codes_of(self, cells, column: str) -> np.ndarray:
        """State codes of one column's cells: -1 blank (empty), -2 no spelling matched."""
        import pyarrow.compute as pc

        values, codes = self.values[column], self.codes[column]
        at = pc.index_in(pc.ascii_lower(cells), value_set=values).fill_null(len(values))
        out = codes[at.to_numpy()]
        out[_lengths(cells) == 0] = -1
        return out


_SPELLINGS: dict[int, _Spellings] = {}


def _spellings(schema: Schema) -> _Spellings:
    key = id(schema)
    found = _SPELLINGS.get(key)
    if found is None or found.schema is not schema:
        found = _SPELLINGS[key] = _Spellings(schema)
    return found


def _invalid_message(schema: Schema, column: str, raw_name: str, value: str) -> str:
    key, message = invalid_state(schema, column, value, raw_name=raw_name)
    return f"{key}: {message}"


def encode_chunk(chunk: Chunk, header: Header, *, schema: Schema) -> Encoded:
    """Map the known cells of a chunk to state codes, following the contract.

    Cells that equal a spelling (ignoring ASCII case) are matched in bulk with pyarrow;
    every other non-blank cell goes through :meth:`Schema.normalize_state`, so the result is
    what the schema's own rules say.
    """
    spell = _spellings(schema)
    columns = list(schema.columns)
    n_rows = chunk.n_rows
    col_index = {c: i for i, c in enumerate(columns)}
    pos_names = [(c, p) for c, positions in header.known for p in positions]
    codes_by_pos = np.full((n_rows, len(pos_names)), -1, dtype=np.int64)
    problems: dict[int, list[str]] = {i: list(p) for i, p in chunk.problems.items()}
    bad: list[tuple[int, int, str]] = []
    for k, (column, _) in enumerate(pos_names if n_rows else ()):
        cells = chunk.cells[k]
        found = spell.codes_of(cells, column)
        unmatched = np.flatnonzero(found == -2)
        if len(unmatched):
            states = schema.columns[column].states
            cache: dict[str, int | None] = {}
            values = cells.take(unmatched).to_pylist()
            for r, value in zip(unmatched.tolist(), values, strict=True):
                if value not in cache:
                    if not normalize_name(value):
                        cache[value] = -1  # only spaces: blank
                    else:
                        state = schema.normalize_state(column, value)
                        cache[value] = None if state is None else states.index(state)
                code = cache[value]
                if code is None:
                    bad.append((r, k, value))
                    code = -1
                found[r] = code
        codes_by_pos[:, k] = found
    bad.sort(key=lambda item: (item[0], pos_names[item[1]][1]))  # row, then file column
    for r, k, value in bad:
        column, p = pos_names[k]
        problems.setdefault(r, []).append(_invalid_message(schema, column, header.names[p], value))
    codes = np.full((n_rows, len(columns)), -1, dtype=np.int64)
    k = 0
    for column, positions in header.known:
        c = col_index[column]
        block = codes_by_pos[:, k : k + len(positions)]
        k += len(positions)
        if len(positions) == 1:
            codes[:, c] = block[:, 0]
            continue
        merged = block.max(axis=1)
        seen = np.where(block >= 0, block, merged[:, None])
        conflict = np.flatnonzero((seen != merged[:, None]).any(axis=1))
        codes[:, c] = merged
        states = schema.columns[column].states
        for r in conflict.tolist():
            got = ", ".join(
                f"{header.names[p]!r} (column {p + 1}) says {states[v]!r}"
                for p, v in zip(positions, block[r].tolist(), strict=True)
                if v >= 0
            )
            problems.setdefault(r, []).append(f"column {column!r} is given twice and {got}")
            codes[r, c] = -1
    if chunk.unreadable is not None and chunk.unreadable.any():
        codes[chunk.unreadable] = -1
    row_ok = np.ones(n_rows, dtype=bool)
    if problems:
        row_ok[list(problems)] = False
    return Encoded(codes, row_ok, problems)


def encode_strings(
    values: Sequence[str], column: str, *, schema: Schema
) -> tuple[np.ndarray, list[int]]:
    """Codes of one column's raw cells, and the indexes of invalid cells (for tests and tools).

    >>> from legnumb.network.schema import load_schema
    >>> encode_strings([" Yes", "n", "", "maybe"], "diabetes", schema=load_schema())
    (array([ 0,  1, -1, -1]), [3])
    """
    header = parse_header([column], schema=schema)
    chunk = chunk_from_rows([[v] for v in values], header, first_row=1)
    enc = encode_chunk(chunk, header, schema=schema)
    j = list(schema.columns).index(normalize_name(column))
    return enc.codes[:, j], sorted(enc.problems)


def row_error_text(
    problems: dict[int, list[str]], n_rows: int, *, first_row: int, source: str | None
) -> list[str]:
    """The ``error`` cell of each row: blank, or every problem with the file and row number.

    >>> row_error_text({1: ["a", "b"]}, 2, first_row=10, source="x.csv")
    ['', 'x.csv, row 11: a | b']
    """
    out = [""] * n_rows
    prefix = f"{source}, row " if source else "row "
    for i, msgs in problems.items():
        out[i] = f"{prefix}{first_row + i}: " + " | ".join(msgs)
    return out


# --------------------------------------------------------------------------- writing


def format_probabilities(p: np.ndarray) -> list[bytes]:
    """Each row of a probability matrix as CSV cells with ``%.6f`` (blank for NaN).

    Vectorized; the result equals ``",".join("%.6f" % x for x in row)`` for every value
    (near-ties and values outside [0, 1] are formatted by Python itself).

    >>> format_probabilities(np.array([[0.1234567, 1.0], [np.nan, 1e-9]]))
    [b'0.123457,1.000000', b',0.000000']
    """
    p = np.asarray(p, dtype=float)
    n_rows, n_cols = p.shape
    if n_rows == 0:
        return []
    if n_cols == 0:
        return [b""] * n_rows
    scaled = p * 1e6
    q = np.rint(scaled)
    # |scaled - q| is within 1e-6 of 0.5 only near a tie, where rounding the scaled float
    # might differ from rounding the exact decimal value: leave those to Python
    odd = ~((p >= 0) & (p <= 1)) | (np.abs(np.abs(scaled - q) - 0.5) < 1e-6) | np.signbit(p)
    q = np.where(odd, 0, q).astype(np.int32)
    cells = np.empty((n_rows, n_cols, 9), dtype=np.uint8)
    cells[:, :, 1] = 46  # "."
    cells[:, :, 8] = 44  # ","
    for k in range(7, 1, -1):  # six decimals, last first
        np.add(q % 10, 48, out=cells[:, :, k], casting="unsafe")
        q //= 10
    np.add(q, 48, out=cells[:, :, 0], casting="unsafe")
    width = 9 * n_cols - 1
    flat = np.ascontiguousarray(cells.reshape(n_rows, 9 * n_cols)[:, :width])
    out = flat.view(f"S{width}").ravel().tolist()
    for r in np.flatnonzero(odd.any(axis=1)).tolist():
        out[r] = ",".join("" if np.isnan(x) else format(x, ".6f") for x in p[r].tolist()).encode()
    return out


def _text_cells(columns: Sequence[Sequence[object]]) -> tuple[np.ndarray, list[list[bytes]]]:
    """Text columns with few distinct values: a combination code per row and the cells.

    Returns the code of each row's combination and, per code, the quoted UTF-8 cells;
    None/NaN are blank.
    """
    import pandas as pd

    key = None
    tables = []
    for values in columns:
        codes, uniques = _factorize(np.asarray(values, dtype=object))
        tables.append([b""] + [quote_cell(str(u)).encode("utf-8") for u in uniques])
        key = codes + 1 if key is None else key * len(tables[-1]) + codes + 1
    combo, seen = pd.factorize(key)
    cells = []
    for k in seen.tolist():
        parts = []
        for table in reversed(tables):
            k, i = divmod(k, len(table))
            parts.append(table[i])
        cells.append(parts[::-1])
    return combo, cells


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list]:
    """Codes (-1 for None/NaN) and the distinct values of a column of cells (object array).

    Strings are hashed by pyarrow (several times faster than pandas on fresh str objects);
    a column holding other objects is left to :func:`pandas.factorize`.
    """
    import pandas as pd
    import pyarrow as pa

    try:
        cells = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, list(uniques)
    enc = cells.dictionary_encode()
    return enc.indices.fill_null(-1).to_numpy(), enc.dictionary.to_pylist()


def format_chunk(
    passthrough: Sequence[bytes],
    probabilities: np.ndarray,
    top_cause: Sequence[object],
    triage: Sequence[object],
    triage_reason: Sequence[object],
    red_flags: Sequence[object],
    p_other_cause: np.ndarray,
    n_findings: np.ndarray,
    errors: Sequence[str],
    *,
    version: str,
    priors_hash: str,
) -> bytes:
    """The output lines of a chunk, as UTF-8 bytes ending with ``\\n``.

    >>> format_chunk([b"A1,one_leg"], np.array([[0.5]]), ["stroke"], ["emergency"],
    ...              ["stroke is likely"], [""], np.array([0.25]), np.array([1]), [""],
    ...              version="0.1.0", priors_hash="ab")
    b'A1,one_leg,0.500000,stroke,emergency,stroke is likely,,0.250000,1,,0.1.0,ab\\n'
    """
    n = len(passthrough)
    if n == 0:
        return b""
    constant = [quote_cell(version).encode("utf-8"), quote_cell(priors_hash).encode("utf-8")]
    combo, cells = _text_cells([top_cause, triage, triage_reason, red_flags])
    # ,top_cause,triage,triage_reason,red_flags, : one piece per combination
    text = np.array([b"," + b",".join(c) + b"," for c in cells], dtype=object)[combo]
    other = format_probabilities(np.asarray(p_other_cause, dtype=float).reshape(n, 1))
    counts = [b",%d" % k for k in np.asarray(n_findings, dtype=np.int64).tolist()]
    ends = [b",".join([b"", b"", *constant]) + b"\n"] * n  # ,error,model_version,priors_hash
    for i, e in enumerate(errors):
        if e:
            ends[i] = b",".join([b"", quote_cell(e).encode("utf-8"), *constant]) + b"\n"
    # the pieces of every line side by side, joined once
    columns = (passthrough, [b","] * n, format_probabilities(probabilities), text.tolist())
    pieces: list[bytes] = [b""] * (7 * n)
    for k, column in enumerate((*columns, other, counts, ends)):
        pieces[k::7] = column
    return b"".join(pieces)


def format_header(names: Sequence[str]) -> bytes:
    """A header line (with its line end).

    >>> format_header(["a,b", "c"])
    b'"a,b",c\\n'
    """
    return (",".join(quote_cell(n) for n in names) + "\n").encode("utf-8")


#: What a path is, for messages, by the file type bits of its mode.
_FILE_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _output_stat(path: str | Path) -> os.stat_result:
    """``os.stat`` of an output path, following symlinks (a seam for tests)."""
    return os.stat(path)


def _open_temp(fd: int) -> BinaryIO:
    """The temporary output file opened for writing (a seam for tests)."""
    return os.fdopen(fd, "wb")


def output_target(path: str | Path) -> tuple[Path, os.stat_result | None]:
    """The file that writing to ``path`` replaces, and its stat (None for a new file).

    A symlink is followed to its target (which may not exist yet). Anything else than a
    regular file or a new name in an existing directory is refused, so a FIFO, a device or a
    socket is never replaced by a regular file.

    Raises
    ------
    OutputError
        When the directory is missing, or ``path`` is a directory, a FIFO, a device, a
        socket, or cannot be looked at.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        st = _output_stat(path)  # the kernel follows links (also /dev/stdout and the like)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the output ({exc.strerror or exc}).") from exc
    if st is None:
        if not target.parent.is_dir():
            directory = target.parent if path.is_symlink() else path.parent
            raise OutputError(f"{path}: cannot write the output; no such directory {directory}.")
    elif stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a directory; give a file name for the output.")
    elif not stat.S_ISREG(st.st_mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(st.st_mode), "a special file")
        raise OutputError(
            f"{path}: is {kind}, not a regular file; legnumb writes its output only to a "
            "regular file or a new name and will not replace it. Give a file name, or "
            "'-o -' for standard output."
        )
    return target, st


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` name one file: same path after symlinks, or same inode.

    ``"-"`` (standard input or output) is never the same file as anything.
    """
    if str(a) == "-" or str(b) == "-":
        return False
    real_a, real_b = os.path.realpath(a), os.path.realpath(b)
    if real_a == real_b:
        return True
    try:
        return os.path.samefile(real_a, real_b)
    except OSError:
        return False


def check_not_input(output: str | Path, inputs: Sequence[str | Path]) -> None:
    """Refuse an output path that is one of the inputs (it would be overwritten).

    Raises
    ------
    OutputError
        When ``output`` names the same file as one of ``inputs``.
    """
    for source in inputs:
        if same_file(source, output):
            raise OutputError(
                f"{output}: is the input file {source} itself; scoring into it would "
                "overwrite the input. Give another output path."
            )


class _Output:
    """A binary output whose write errors become one :class:`OutputError`."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._raw = raw
        self.name = name

    def write(self, data: bytes) -> int:
        """Write ``data``; a failure (a full disk, say) raises :class:`OutputError`."""
        try:
            return self._raw.write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _write_error(self.name, exc) from exc

    def flush(self) -> None:
        """Flush the underlying file."""
        try:
            self._raw.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _write_error(self.name, exc) from exc


def _write_error(name: str, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason += " (the disk is full; free some space or write elsewhere)"
    return OutputError(
        f"{name}: cannot write the output: {reason}. Nothing was written; an existing file "
        "is left as it was."
    )


#: Temporary files are named ``.NAME.legnumb-PID-XXXXXXXX.tmp`` beside the output.
_TEMP_INFIX = "legnumb-"


def _remove_stale_temps(directory: Path, name: str) -> None:
    """Remove temporary files of ``name`` left by legnumb runs that no longer exist.

    Only files of our own naming whose process is gone (killed, say) are removed, and only
    regular files owned by the current user; a run still going keeps its file.
    """
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) is a liveness probe on POSIX
        return
    pattern = re.compile(rf"\.{re.escape(name)}\.{_TEMP_INFIX}(\d+)-[A-Za-z0-9_]+\.tmp")
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None or _process_exists(int(found.group(1))):
            continue
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                os.unlink(entry.path)


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def output_directory(path: str | Path, *, what: str) -> Path:
    """``path`` as a directory for ``what`` (made when missing), or an :class:`InputError`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     output_directory(tmp + "/new", what="the report").is_dir()
    True
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"-o {out}: expected a directory for {what}; got a file (not a directory)."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"-o {out}: cannot create the output directory ({exc.strerror or exc})."
        ) from exc
    return out


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[_Output]:
    """Write to a temporary file beside ``path``, renamed over it only on success.

    ``"-"`` writes to standard output instead (not atomic). A symlink is written through to
    its target; a FIFO, a device or anything else that is not a regular file is refused (see
    :func:`output_target`). An existing file keeps its permission bits. Temporary files left
    by runs that were killed are removed first. On any exception, including
    KeyboardInterrupt, the temporary file is removed and ``path`` is left as it was; a write
    that fails (a full disk, say) raises :class:`OutputError`.
    """
    if str(path) == "-":
        out = _Output(sys.stdout.buffer, "<standard output>")
        yield out
        out.flush()
        return
    path = Path(path)
    target, st = output_target(path)
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    _remove_stale_temps(target.parent, target.name)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.{_TEMP_INFIX}{os.getpid()}-", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the output ({exc.strerror or exc}).") from exc
    ours = False  # True once the caller is done: an OSError after that is the output's
    try:
        with _open_temp(fd) as raw:
            yield _Output(raw, str(path))
            ours = True
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if ours and isinstance(exc, OSError):
            raise _write_error(str(path), exc) from exc
        raise
