"""Score a symptom CSV, a DataFrame, or a Dask collection end to end.

:func:`score_file` reads a CSV in chunks (bounded memory), scores each chunk with the model
and writes every row, in input order, through one writer; the output file appears only when
the whole run succeeded (see :func:`legnumb.io.symptom_csv.atomic_output`).
:func:`score_dask` does the same with the input read by ``dask.dataframe`` (one CSV, a glob of CSVs, or Parquet) and the
encoding and scoring done on a Dask cluster; partitions come back in order and go through the
same writer, so its output is byte for byte the local engine's. :func:`score_frame` scores a
pandas DataFrame in memory and returns the same columns as the CLI writes
(``Model.score`` calls it). The rules, the row numbering and the output format are those of
:mod:`legnumb.io.symptom_csv`.

Examples
--------
>>> import pandas as pd
>>> from legnumb import load_model
>>> m = load_model()
>>> df = pd.DataFrame({"case_id": ["a", "b"], "laterality": ["one_leg", "sideways"]})
>>> out = score_frame(m, df)
>>> list(out.columns[:3]), out["error"].iloc[0], out["top_cause"].iloc[1]
(['case_id', 'laterality', 'p_positional_compression'], '', '')
>>> print(out["error"].iloc[1])
row 2: column 'laterality': Got 'sideways' instead; allowed: one_leg, both_legs
"""

from __future__ import annotations

import collections
import glob as globmod
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from legnumb.errors import ClusterError, InputError, InvalidArgumentError
from legnumb.io.symptom_csv import (
    BLOCK_BYTES,
    Chunk,
    CsvReader,
    Header,
    atomic_output,
    check_not_input,
    chunk_from_columns,
    encode_chunk,
    excel_safe_cell,
    format_chunk,
    format_header,
    output_columns,
    parse_header,
    row_error_text,
)

__all__ = [
    "BLOCKSIZE_EXPECTED",
    "STAGES",
    "ClusterError",
    "Summary",
    "parse_blocksize",
    "score_dask",
    "score_file",
    "score_frame",
]

#: Row errors repeated on standard error at the end of a run (all are in the output).
SHOWN_ERRORS = 5

#: The stages of a local scoring run, as timed in :attr:`Summary.seconds`.
STAGES = ("read", "validate", "infer", "triage", "format", "write")

#: Smallest CSV partition for the dask engine, in bytes (smaller ones only add overhead).
MIN_BLOCKSIZE = 1000
#: What ``blocksize`` accepts, in words (for messages).
BLOCKSIZE_EXPECTED = (
    "a size of at least 1kB such as 64MB, 500kB, 1MiB or 1000000, or 'none' for one "
    "partition per file"
)
#: Byte-size units as dask writes them: kB = 1000 bytes, KiB = 1024 bytes; case is ignored.
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    **{p + "b": 1000**k for k, p in enumerate("kmgt", 1)},
    **{p: 1000**k for k, p in enumerate("kmgt", 1)},
    **{p + "ib": 1024**k for k, p in enumerate("kmgt", 1)},
    **{p + "i": 1024**k for k, p in enumerate("kmgt", 1)},
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_blocksize(value: int | str | None) -> int | None:
    """Bytes per CSV partition for the dask engine, from a number or a size like ``64MB``.

    ``None`` or ``"none"`` means one partition per file.

    Raises
    ------
    InvalidArgumentError
        When the value is not a size of at least ``MIN_BLOCKSIZE`` bytes (or none).

    Examples
    --------
    >>> parse_blocksize("64MB"), parse_blocksize("1 KiB"), parse_blocksize(3000)
    (64000000, 1024, 3000)
    >>> parse_blocksize("none") is None
    True
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    size = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        found = _SIZE.fullmatch(value)
        unit = _SIZE_UNITS.get(found.group(2).lower()) if found else None
        if unit is not None:
            size = int(float(found.group(1)) * unit)
    if size is None or size < MIN_BLOCKSIZE:
        raise InvalidArgumentError(
            f"blocksize: expected {BLOCKSIZE_EXPECTED}. Got {value!r} instead."
        )
    return size


@dataclass
class Summary:
    """What a scoring run did.

    Attributes
    ----------
    source : str
        The input's name as used in messages.
    rows : int
        Data rows written.
    error_rows : int
        Rows whose ``error`` cell is not blank (not scored).
    short_rows : int
        Rows that had fewer cells than the header (missing cells read as blank).
    first_short_row : int
        The first of them (0 when none).
    blank_rows : int
        Rows that were blank lines, kept and scored as rows with nothing known.
    first_blank_row : int
        The first of them (0 when none).
    warnings : list of str
        Messages about the header (likely typos, replaced or repeated columns).
    typos : list of str
        Names of the columns that look like typos of known columns (carried through
        unread).
    first_errors : list of str
        The first few ``error`` cells.
    seconds : dict of str to float
        Wall-clock seconds per stage of a local run (:data:`STAGES`: reading the CSV,
        validating and coding the cells, inference, triage, formatting the output, writing
        it); empty for a Dask run.
    """

    source: str
    rows: int = 0
    error_rows: int = 0
    short_rows: int = 0
    first_short_row: int = 0
    blank_rows: int = 0
    first_blank_row: int = 0
    warnings: list[str] = field(default_factory=list)
    typos: list[str] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def row_warnings(self) -> list[str]:
        """Messages about the rows that are not errors (short rows, blank lines)."""
        out = []
        if self.short_rows:
            out.append(
                f"{self.source}: {self.short_rows} row(s) had fewer cells than the header "
                f"(first: row {self.first_short_row}); the missing cells were read as blank."
            )
        if self.blank_rows:
            out.append(
                f"{self.source}: {self.blank_rows} blank line(s) were kept as rows with nothing "
                f"known (first: row {self.first_blank_row})."
            )
        return out

    @property
    def exit_code(self) -> int:
        """0 when every row was scored, 1 when some rows carry errors."""
        return 1 if self.error_rows else 0


# --------------------------------------------------------------------------- core
@dataclass
class _Part:
    """A chunk after encoding and scoring, before row numbers and formatting."""

    passthrough: list[bytes]
    probabilities: np.ndarray
    top_cause: np.ndarray
    triage: np.ndarray
    triage_reason: np.ndarray
    red_flags: np.ndarray
    p_other_cause: np.ndarray
    n_findings: np.ndarray
    problems: dict[int, list[str]]
    short_rows: int = 0
    first_short_row: int = 0
    blank_rows: int = 0
    first_blank_row: int = 0
    source: str | None = None


def _check_model(model) -> None:
    if tuple(model.columns) != tuple(model.schema.columns):
        raise InvalidArgumentError("model.columns must be in schema order")


def _score_chunk(
    model, chunk: Chunk, header: Header, n_threads: int = 1, seconds: dict | None = None
) -> _Part:
    """Encode a chunk and score it; the expensive step (it runs on Dask workers).

    With ``seconds``, the time spent validating, inferring and triaging is added to it.
    """
    start = time.perf_counter()
    enc = encode_chunk(chunk, header, schema=model.schema)
    if seconds is not None:
        seconds["validate"] += time.perf_counter() - start
    res = model.score_codes(enc.codes, row_ok=enc.row_ok, n_threads=n_threads, seconds=seconds)
    names = [f"p_{c}" for c in model.causes]
    probs = res[names].to_numpy(dtype=float)
    text = ("top_cause", "triage", "triage_reason", "red_flags")
    cols = {k: res[k].to_numpy(dtype=object) for k in text}
    other = res["p_other_cause"].to_numpy(dtype=float)
    problems = enc.problems
    finite = np.isfinite(probs).all(axis=1) & np.isfinite(other)
    broken = np.flatnonzero(enc.row_ok & ~finite)
    if len(broken):  # a row the model could not score is an error, never a blank result
        probs, other = np.array(probs, copy=True), np.array(other, copy=True)
        cols = {k: np.array(v, copy=True) for k, v in cols.items()}
        problems = dict(problems)
        for r in broken.tolist():
            bad = np.flatnonzero(~np.isfinite(probs[r]))
            name, value = (
                (names[bad[0]], probs[r, bad[0]]) if len(bad) else ("p_other_cause", other[r])
            )
            problems[r] = [
                f"could not score this row: the model gave {value} for {name}, not a "
                "probability (exact inference for these answers would need more memory than "
                "the engine allows, with many answers above their lowest state at once, or "
                "the answers are impossible under the model); the row was not scored."
            ]
        # as for any row that is not scored: no posteriors, triage from the red flags alone
        redo = model.score_codes(enc.codes[broken], row_ok=np.zeros(len(broken), dtype=bool))
        probs[broken] = np.nan
        other[broken] = np.nan
        for k in text:
            cols[k][broken] = redo[k].to_numpy(dtype=object)
    return _Part(
        passthrough=chunk.passthrough,
        probabilities=probs,
        **cols,
        p_other_cause=other,
        n_findings=res["n_findings"].to_numpy(dtype=np.int64),
        problems=problems,
        short_rows=chunk.short_rows,
        first_short_row=chunk.first_short_row,
        blank_rows=chunk.blank_rows,
        first_blank_row=chunk.first_blank_row,
        source=header.source,
    )


def _render(
    part: _Part, *, first_row: int, source: str | None, model, excel_safe: bool = False
) -> tuple[bytes, list[str]]:
    """The output bytes of a scored chunk, and its error cells.

    The error cells are returned as made; with ``excel_safe`` those that begin like a
    formula get a leading ``'`` in the output only.
    """
    errors = row_error_text(
        part.problems, len(part.passthrough), first_row=first_row, source=source
    )
    text = format_chunk(
        part.passthrough,
        part.probabilities,
        part.top_cause,
        part.triage,
        part.triage_reason,
        part.red_flags,
        part.p_other_cause,
        part.n_findings,
        [excel_safe_cell(e) for e in errors] if excel_safe and part.problems else errors,
        version=model.version,
        priors_hash=model.priors_hash,
    )
    return text, errors


def _header_for(
    model, names: Sequence[str], source: str | None, *, excel_safe: bool = False
) -> Header:
    return parse_header(
        names,
        schema=model.schema,
        source=source,
        outputs=output_columns(model.causes),
        excel_safe=excel_safe,
    )


def _check_strict(header: Header) -> None:
    """``strict``: refuse a header with likely typos (before anything is written)."""
    if header.typos:
        typos = "; ".join(
            f"column {pos} {raw!r} looks like a typo of {known!r}"
            for pos, raw, known in header.typos
        )
        raise InputError(
            f"{header.source}: --strict: {typos}. Fix the header, or run without --strict "
            "to carry such columns through unread; nothing was written."
        )


def _out_names(model, header: Header) -> list[str]:
    names = [header.names[j] for j in header.keep] + list(output_columns(model.causes))
    return [excel_safe_cell(n) for n in names] if header.excel_safe else names


def _note(summary: Summary, errors: Sequence[str], part: _Part) -> None:
    bad = [e for e in errors if e] if part.problems else []
    summary.error_rows += len(bad)
    room = SHOWN_ERRORS - len(summary.first_errors)
    if room > 0:
        summary.first_errors.extend(bad[:room])
    if part.short_rows:
        if not summary.short_rows:
            summary.first_short_row = part.first_short_row
        summary.short_rows += part.short_rows
    if part.blank_rows:
        if not summary.blank_rows:
            summary.first_blank_row = part.first_blank_row
        summary.blank_rows += part.blank_rows


# --------------------------------------------------------------------------- DataFrame
def score_frame(model, df: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Score a DataFrame of raw symptom-CSV cells; the columns of ``legnumb score``'s output.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    df : pandas.DataFrame
        One row per person; column names and values follow the CSV contract. Missing values
        (NaN, None) are blank cells; other values are read as ``str(value)``.
    source : str, optional
        A name put in front of the row numbers in the ``error`` column.

    Returns
    -------
    pandas.DataFrame
        ``df``'s columns (values untouched; columns named like an output column are left
        out), then ``p_<cause>`` (float, NaN when not scored), ``top_cause``, ``triage``,
        ``triage_reason``, ``red_flags``, ``p_other_cause``, ``n_findings``, ``error``, ``model_version`` and ``priors_hash``, with ``df``'s index.
        Header problems (likely typos, replaced columns) are issued as ``UserWarning``.

    Raises
    ------
    InputError
        When no column of the contract is present.
    """
    _check_model(model)
    header = _header_for(model, [str(c) for c in df.columns], source)
    for w in header.warnings:
        warnings.warn(w, UserWarning, stacklevel=2)
    columns = [df.iloc[:, j].to_numpy(dtype=object) for j in range(df.shape[1])]
    chunk = chunk_from_columns(columns, header, first_row=1, passthrough=False)
    part = _score_chunk(model, chunk, header)
    errors = row_error_text(part.problems, len(df), first_row=1, source=source)
    out = df.iloc[:, list(header.keep)].copy()
    scores = {f"p_{c}": part.probabilities[:, i] for i, c in enumerate(model.causes)}
    scores["top_cause"] = part.top_cause.astype(str)
    scores["triage"] = part.triage.astype(str)
    scores["triage_reason"] = part.triage_reason.astype(str)
    scores["red_flags"] = part.red_flags.astype(str)
    scores["p_other_cause"] = part.p_other_cause
    scores["n_findings"] = part.n_findings
    scores["error"] = np.array(errors, dtype=object).astype(str)
    scores["model_version"] = np.full(len(df), model.version, dtype=object).astype(str)
    scores["priors_hash"] = np.full(len(df), model.priors_hash, dtype=object).astype(str)
    added = pd.DataFrame(scores, index=df.index)
    return pd.concat([out, added], axis=1)


# --------------------------------------------------------------------------- local
def _progress(*, total: int | None, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        disable=not enabled,
        delay=1.0,
        file=sys.stderr,
        leave=False,
    )


def score_file(
    model,
    source: str | Path | BinaryIO,
    output: str | Path = "-",
    *,
    encoding: str = "utf-8",
    block_bytes: int = BLOCK_BYTES,
    progress: bool = False,
    name: str | None = None,
    on_header: Callable[[Sequence[str]], None] | None = None,
    n_threads: int = 1,
    excel_safe: bool = False,
    strict: bool = False,
) -> Summary:
    """Score a symptom CSV into ``output`` (``"-"``: standard output), chunk by chunk.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    source : str, Path or binary stream
        The input CSV; ``"-"`` reads standard input.
    output : str or Path
        Where to write; written to a temporary file and renamed at the end, so a failed or
        interrupted run leaves no partial file.
    encoding : str
        Text encoding of the input (UTF-8 by default; a BOM is always dropped).
    block_bytes : int
        Input bytes per chunk; memory use is a small multiple of this.
    progress : bool
        Show a progress bar on standard error (only for runs longer than a second).
    name : str, optional
        The input's name in messages (the file's name by default).
    on_header : callable, optional
        Called with the header's warnings before any row is read (the CLI prints them).
    n_threads : int
        Threads for the inference engine; the output is byte-identical for any value.
    excel_safe : bool
        Write input cells (and error cells) that a spreadsheet would run as a formula with
        a leading ``'`` (see :func:`~legnumb.io.symptom_csv.excel_safe_cell`).
    strict : bool
        Refuse a header with a column name that looks like a typo of a known column
        (:class:`~legnumb.errors.InputError`, nothing written) instead of warning.

    Returns
    -------
    Summary
        Row counts and messages; ``summary.exit_code`` is 0 or 1.

    Raises
    ------
    InputError
        When the input cannot be used (missing, empty, not text, no known column) or the
        output cannot be written (:class:`~legnumb.io.symptom_csv.OutputError`: the input
        itself, not a regular file, a full disk); no output file is written then.
    """
    _check_model(model)
    if isinstance(source, (str, Path)):
        check_not_input(output, [source])
    with CsvReader(source, encoding=encoding, block_bytes=block_bytes, name=name) as reader:
        header = _header_for(model, reader.names, reader.name, excel_safe=excel_safe)
        summary = Summary(
            reader.name,
            warnings=list(header.warnings),
            typos=[raw for _, raw, _ in header.typos],
        )
        if on_header is not None:
            on_header(header.warnings)
        if strict:
            _check_strict(header)
        bar = _progress(total=reader.size, name=reader.name, enabled=progress)
        sec = summary.seconds = dict.fromkeys(STAGES, 0.0)
        clock = time.perf_counter
        with bar, atomic_output(output) as out:
            out.write(format_header(_out_names(model, header)))
            mark = clock()
            for chunk in reader.chunks(header):
                sec["read"] += clock() - mark
                part = _score_chunk(model, chunk, header, n_threads, seconds=sec)
                mark = clock()
                text, errors = _render(
                    part,
                    first_row=chunk.first_row,
                    source=reader.name,
                    model=model,
                    excel_safe=excel_safe,
                )
                sec["format"] += clock() - mark
                mark = clock()
                out.write(text)
                summary.rows += chunk.n_rows
                _note(summary, errors, part)
                bar.update(chunk.n_bytes)
                sec["write"] += clock() - mark
                mark = clock()
            sec["read"] += clock() - mark
            mark = clock()
        sec["write"] += clock() - mark  # the output file is flushed and moved into place
    return summary


# --------------------------------------------------------------------------- dask
_PATH_COLUMN = "__legnumb_path__"


def _expand(inputs: str | Path | Sequence[str | Path]) -> list[str]:
    items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    paths: list[str] = []
    for item in items:
        text = str(item)
        if "://" in text:
            paths.append(text)  # a remote URL: dask reads it
            continue
        found = sorted(globmod.glob(text)) if globmod.has_magic(text) else [text]
        if not found:
            raise InputError(f"{text}: no file matches this pattern.")
        for p in found:
            if Path(p).is_dir():
                found_in = sorted(str(q) for q in Path(p).glob("*.parquet"))
                if not found_in:
                    raise InputError(f"{p}: is a directory without .parquet files.")
                paths.extend(found_in)
            elif not Path(p).is_file():
                raise InputError(f"{p}: no such file.")
            else:
                paths.append(p)
    return paths


def _is_parquet(paths: Sequence[str]) -> bool:
    kinds = {Path(p).suffix.lower() in (".parquet", ".pq") for p in paths}
    if len(kinds) > 1:
        raise InputError("mixing Parquet and CSV inputs is not supported; give one kind.")
    return kinds.pop()


def _dask_part(model, pdf: pd.DataFrame, header: Header, parquet: bool) -> _Part:
    """Worker side: a pandas partition of raw cells -> a scored :class:`_Part`."""
    path = None
    if not parquet:
        path = pdf[_PATH_COLUMN].iloc[0] if len(pdf) else None
        pdf = pdf.drop(columns=[_PATH_COLUMN])
    if not parquet and not isinstance(pdf.index, pd.RangeIndex):
        # pandas reads a first row with one cell too many as an index column, shifting cells
        raise pd.errors.ParserError(
            f"{path or header.source}: a row has more cells than the header"
        )
    if pdf.shape[1] != header.width:
        raise InputError(
            f"{path or header.source}: has {pdf.shape[1]} columns; expected {header.width} "
            f"like the first file."
        )
    columns = [pdf.iloc[:, j].to_numpy(dtype=object) for j in range(pdf.shape[1])]
    chunk = chunk_from_columns(columns, header, first_row=1)
    part = _score_chunk(model, chunk, header)
    if path is not None:
        part.source = Path(str(path)).name
    return part


def score_dask(
    model,
    inputs: str | Path | Sequence[str | Path],
    output: str | Path = "-",
    *,
    scheduler: str | None = None,
    encoding: str = "utf-8",
    blocksize: int | str | None = "64MB",
    progress: bool = False,
    on_header: Callable[[Sequence[str]], None] | None = None,
    window: int = 4,
    excel_safe: bool = False,
    strict: bool = False,
) -> Summary:
    """Score with ``dask.dataframe``: one CSV, a glob of CSVs, or Parquet files.

    Partitions are encoded and scored on the cluster, at most ``window`` ahead of the
    writer, and written in order through the same writer as :func:`score_file`; for a CSV
    that the local engine and pandas read alike, the output is byte for byte the same.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model (sent to the workers once).
    inputs : str, Path or sequence of them
        CSV paths or globs (all with the same header), or ``.parquet`` files or directories.
    output : str or Path
        Where to write (``"-"``: standard output); written atomically.
    scheduler : str, optional
        Address of a running Dask scheduler; otherwise a small ``LocalCluster`` (two worker
        threads in this process) is started and closed at the end.
    encoding : str
        Text encoding of CSV inputs.
    blocksize : int or str or None
        Bytes per CSV partition (dask's ``read_csv``), at least 1000, as a number or a size
        such as ``"64MB"`` (see :func:`parse_blocksize`); None means one partition per file,
        which is needed when quoted cells contain line breaks.
    progress : bool
        Progress bar on standard error.
    on_header : callable, optional
        Called with the header's warnings before any row is read.
    window : int
        Partitions in flight at once (bounds the memory used for results).
    excel_safe, strict : bool
        As for :func:`score_file`.

    Returns
    -------
    Summary
        Row counts and messages; ``summary.exit_code`` is 0 or 1.

    Raises
    ------
    InputError
        When the input cannot be read or the output cannot be written; nothing is written.
    InvalidArgumentError
        When ``blocksize`` is not a size of at least 1000 bytes (or None).
    ClusterError
        When the scheduler at ``scheduler`` cannot be reached.

    Notes
    -----
    Row numbers in ``error`` count data rows per CSV file (for Parquet, across all files).
    The CSV reading is pandas', which is stricter than the local engine's: a row with more
    cells than the header, or bytes not in ``encoding``, stops the run (exit 2) instead of
    becoming a row error; run the local engine on such a file to find the row.
    """
    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            "the dask engine needs the 'dask' extra: pip install 'legnumb[dask]'."
        ) from exc
    _check_model(model)
    blocksize = parse_blocksize(blocksize)
    paths = _expand(inputs)
    check_not_input(output, paths)
    parquet = _is_parquet(paths)
    many = len(paths) > 1
    source = Path(paths[0]).name if not many else str(inputs)
    try:
        if parquet:
            ddf = dd.read_parquet(paths)
            names = tuple(str(c) for c in ddf.columns)
        else:
            names = _csv_names(paths, encoding=encoding)
            ddf = dd.read_csv(
                paths,
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,  # a blank line is a row with nothing known
                encoding=encoding,
                blocksize=blocksize,
                include_path_column=_PATH_COLUMN,
            )
    except (ValueError, OSError) as exc:
        raise InputError(f"{source}: dask cannot read the input ({exc}).") from exc
    header = _header_for(model, names, source, excel_safe=excel_safe)
    summary = Summary(
        source, warnings=list(header.warnings), typos=[raw for _, raw, _ in header.typos]
    )
    if on_header is not None:
        on_header(header.warnings)
    if strict:
        _check_strict(header)
    cluster = None
    client = None
    try:
        if scheduler:
            client = _connect(Client, scheduler)
        else:
            cluster = LocalCluster(
                n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
            )
            client = Client(cluster, set_as_default=False)
        model_future = client.scatter(model, broadcast=True)
        parts = ddf.to_delayed()
        bar = _progress(total=len(parts), name=source, enabled=progress)
        rows_by_file: dict[str, int] = collections.defaultdict(int)
        with bar, atomic_output(output) as out:
            out.write(format_header(_out_names(model, header)))
            for part in _in_order(client, dask, parts, model_future, header, parquet, window):
                key = part.source or ""
                first_row = rows_by_file[key] + 1
                text, errors = _render(
                    part,
                    first_row=first_row,
                    source=part.source,
                    model=model,
                    excel_safe=excel_safe,
                )
                out.write(text)
                n = len(part.passthrough)
                rows_by_file[key] += n
                summary.rows += n
                _note(summary, errors, part)
                bar.update(1)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{source}: pandas could not read the CSV ({str(exc).strip()}). The local engine "
            "reads ragged rows and names the line of bad bytes: run without --engine dask."
        ) from exc
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return summary


def _connect(client_class, scheduler: str):
    """A client of the scheduler at ``scheduler``; a clear error when it cannot be reached."""
    try:
        return client_class(scheduler, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(
            f"cannot reach the Dask scheduler at {scheduler} ({reason}). Check the address and "
            "that 'dask scheduler' runs there, or leave out --scheduler to start a local "
            "cluster."
        ) from exc


def _in_order(client, dask, parts, model_future, header, parquet, window) -> Iterator[_Part]:
    """Compute partitions with at most ``window`` in flight, yielding results in order."""
    task = dask.delayed(_dask_part, pure=True)
    pending: collections.deque = collections.deque()
    it = iter(parts)
    for delayed_part in it:
        pending.append(client.compute(task(model_future, delayed_part, header, parquet)))
        if len(pending) >= window:
            break
    while pending:
        result = pending.popleft().result()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(client.compute(task(model_future, nxt, header, parquet)))
        yield result


def _csv_names(paths: Sequence[str], *, encoding: str) -> tuple[str, ...]:
    names = None
    for p in paths:
        if "://" in p:
            continue
        with CsvReader(p, encoding=encoding) as reader:
            if names is None:
                names = reader.names
            elif reader.names != names:
                raise InputError(
                    f"{reader.name}: its header differs from {Path(paths[0]).name}'s; all CSV "
                    "files given together must have the same columns in the same order."
                )
    if names is None:
        raise InputError("no local CSV file to read the header from.")
    return names
