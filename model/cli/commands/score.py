"""``legnumb score``: score every row of a symptom CSV (decision support, not a diagnosis).

Every option is checked against :data:`OPTION_RULES` (and the pairings in
:data:`OPTION_PAIRS`) before the model is loaded or a byte is read, so a bad value stops the
run at once with one line naming the option, what it accepts and what it got. Every failure
is exit 2 with one line on standard error (``--debug`` adds the traceback); SIGTERM and
SIGHUP are handled like Ctrl-C, so no temporary file is left behind.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="legnumb")
>>> _ = register(parser.add_subparsers())
>>> args = parser.parse_args(["score", "cases.csv", "-o", "scored.csv", "-q"])
>>> args.input, args.output, args.quiet, args.engine
('cases.csv', 'scored.csv', True, 'local')
>>> check_options(parser.parse_args(["score", "x.csv", "--threads", "100000"]))
Traceback (most recent call last):
...
legnumb.errors.InvalidArgumentError: --threads: expected a whole number from 1 to ...
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.errors import InvalidArgumentError, LegnumbError
from legnumb.io.batch import BLOCKSIZE_EXPECTED, parse_blocksize, score_dask, score_file
from legnumb.io.symptom_csv import check_encoding, check_not_input, output_target

__all__ = ["OPTION_PAIRS", "OPTION_RULES", "check_options", "register", "run"]

DESCRIPTION = """\
Score every row of a symptom CSV (see model/data/CONTRACT.md). The output has every input
row, in input order, with the input cells unchanged, then p_<cause> for each cause (six
decimals), top_cause, triage, triage_reason (why that level, in plain words), red_flags,
p_other_cause (the probability that no listed cause is present), n_findings (how many of the
model's columns the row answered), error, model_version and priors_hash. The posteriors are
decision support for a clinician, not a diagnosis. A version-1 file (without the columns
added in version 2 of the contract) is scored as it always was.

Rows are numbered from 1 for the first data row (the header is not counted). A row with an
invalid value is kept, with an error naming the row, column, value and allowed states, and
is not scored; its red flags are still listed. A blank line is a person with nothing known:
it is kept and scored. The output file appears only when the whole run succeeded; an
existing output keeps its permissions, a symlink is written through to its target, and
anything that is not a regular file (a FIFO, a device) is refused.

Spreadsheets: the input cells are written back unchanged, so a cell that begins with =, +,
-, @, a tab or a carriage return is run as a formula when the output is opened in Excel,
LibreOffice or Google Sheets (CSV injection). If the input may come from untrusted people
and the output will be opened in a spreadsheet, use --excel-safe: such cells are written
with a leading ' (the spreadsheet shows the text; the cell value then differs from the
input).
"""

EPILOG = """\
exit status:
  0  every row was scored
  1  some rows carry errors (see the error column); the others were scored
  2  unusable input or a failure: a missing file, not a CSV, no known column, bad
     bytes, a quote left open, a bad option, an output that is the input or not a
     regular file, a full disk, an unreachable scheduler; one line is printed on
     standard error (--debug adds the traceback) and no output file is written
  130 interrupted (Ctrl-C); no output file is written
  143 terminated (SIGTERM), 129 hung up (SIGHUP): as for Ctrl-C

This is decision support for clinicians and researchers, not a diagnosis.
"""

#: Most threads accepted by --threads (more only adds overhead; never below the CPU count).
MAX_THREADS = max(256, os.cpu_count() or 1)
#: Encodings offered as "did you mean" for a mistyped --encoding.
_COMMON_ENCODINGS = (
    "utf-8",
    "utf-8-sig",
    "cp1252",
    "latin-1",
    "iso-8859-15",
    "ascii",
    "mac-roman",
    "cp1250",
    "cp1251",
    "cp437",
    "cp850",
)


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``score`` subcommand; its ``func(args)`` returns the exit code."""
    parser = subparsers.add_parser(
        "score",
        help="score every row of a symptom CSV",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="symptom CSV ('-' for standard input); with --engine dask also a glob of CSV "
        "files or Parquet files",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        default="-",
        help="where to write the scored CSV (default '-': standard output); must not be the "
        "input; a symlink is written through, a FIFO or device is refused",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar and no summary; warnings and errors are still printed",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of the input (default utf-8; a byte-order mark is always "
        "dropped); e.g. cp1252 for CSV files saved by Excel on Windows",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="'local' reads the file in chunks in this process (default); 'dask' reads it "
        "with dask.dataframe and scores on a Dask cluster (needs the 'dask' extra)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="with --engine dask: address of a running scheduler, e.g. tcp://host:8786 "
        "(default: start a small local cluster)",
    )
    parser.add_argument(
        "--blocksize",
        metavar="BYTES",
        default=None,
        help="with --engine dask: bytes per CSV partition, at least 1kB (default 64MB); "
        "'none' for one partition per file, needed when quoted cells hold line breaks",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="threads for the local inference engine (default: one per CPU core; at most "
        f"{MAX_THREADS}); the output is byte-identical for any N",
    )
    parser.add_argument(
        "--excel-safe",
        action="store_true",
        help="write input cells (and error cells) that begin with =, +, -, @, a tab or a "
        "carriage return with a leading ' so that a spreadsheet shows them as text instead "
        "of running them as formulas (off by default: cells are written back unchanged)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse (exit 2, nothing written) a column name that looks like a typo of a "
        "known column, e.g. 'lateralty'; by default it is a warning and the column is "
        "carried through unread",
    )
    parser.add_argument(
        "--timings",
        action="store_true",
        help="at the end, print the seconds spent per stage (read, validate, infer, triage, "
        "format, write) on standard error (local engine)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a `legnumb --debug score ...` given before
        help="on a failure, also print the Python traceback",
    )
    add_priors_option(parser)
    parser.set_defaults(func=run)
    return parser


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1. Got {text!r} instead.")
    return n


# --------------------------------------------------------------------------- option rules
class _InvalidValueError(ValueError):
    """A value a rule refuses; ``hint`` is added to the message (e.g. a closest name)."""

    def __init__(self, hint: str = "") -> None:
        super().__init__(hint)
        self.hint = hint


@dataclass(frozen=True)
class Rule:
    """What one option accepts.

    Attributes
    ----------
    flag : str
        The option as typed (``--blocksize``), for messages.
    expected : str
        What it accepts, in words.
    check : callable
        Takes the value (never None) and raises ``ValueError`` when it is not accepted.
    """

    flag: str
    expected: str
    check: Callable[[object], object]


def _non_empty(value: object) -> None:
    if not str(value).strip():
        raise _InvalidValueError()


def _one_of(*choices: str) -> Callable[[object], None]:
    def check(value: object) -> None:
        if value not in choices:
            close = difflib.get_close_matches(str(value), choices, n=1)
            raise _InvalidValueError(f" Did you mean {close[0]!r}?" if close else "")

    return check


def _encoding(value: object) -> None:
    try:
        check_encoding(str(value))
    except LegnumbError as exc:
        close = difflib.get_close_matches(str(value).lower(), _COMMON_ENCODINGS, n=1)
        raise _InvalidValueError(f" Did you mean {close[0]!r}?" if close else "") from exc


def _threads(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THREADS:
        raise _InvalidValueError()


def _blocksize(value: object) -> None:
    parse_blocksize(value)  # raises InvalidArgumentError, a ValueError


_ADDRESS = re.compile(r"[A-Za-z][\w+.-]*://\S+|[\w.-]+:\d+")


def _address(value: object) -> None:
    if not _ADDRESS.fullmatch(str(value)):
        raise _InvalidValueError()


def _directory(value: object) -> None:
    if not Path(str(value)).is_dir():
        raise _InvalidValueError(" No such directory.")


#: Every valued option of ``legnumb score`` (by its ``args`` name) and what it accepts.
#: Checked by :func:`check_options` before anything is read; an option left unset (None)
#: is not checked.
OPTION_RULES: dict[str, Rule] = {
    "input": Rule(
        "INPUT",
        "a CSV file, '-' for standard input, or with --engine dask a glob of CSV files or "
        "Parquet files",
        _non_empty,
    ),
    "output": Rule("--output", "a file name, or '-' for standard output", _non_empty),
    "encoding": Rule(
        "--encoding",
        "a text encoding that writes commas, quotes and line ends as ASCII, such as utf-8, "
        "cp1252 or latin-1",
        _encoding,
    ),
    "engine": Rule("--engine", "one of: local, dask", _one_of("local", "dask")),
    "scheduler": Rule(
        "--scheduler", "an address such as tcp://scheduler:8786 or host:8786", _address
    ),
    "blocksize": Rule("--blocksize", BLOCKSIZE_EXPECTED, _blocksize),
    "threads": Rule("--threads", f"a whole number from 1 to {MAX_THREADS}", _threads),
    "priors": Rule("--priors", "a priors directory (see priors/README.md)", _directory),
}

#: Options that only make sense with others: (applies, holds, message when it does not).
OPTION_PAIRS: tuple[tuple[Callable, Callable, str], ...] = (
    (lambda a: a.scheduler is not None, lambda a: a.engine == "dask", "--scheduler needs --engine dask."),
    (lambda a: a.blocksize is not None, lambda a: a.engine == "dask", "--blocksize needs --engine dask."),
    (lambda a: getattr(a, "timings", False), lambda a: a.engine == "local", "--timings needs --engine local."),
    (
        lambda a: a.engine == "dask",
        lambda a: a.input != "-",
        "--engine dask cannot read standard input; give a file.",
    ),
)  # fmt: skip


def _shown(value: object) -> str:
    text = str(value)
    return text if text and not any(c.isspace() for c in text) else repr(text)


def check_options(args: argparse.Namespace) -> None:
    """Check every option of ``score`` against :data:`OPTION_RULES` and :data:`OPTION_PAIRS`.

    Also refuses an output that is the input or cannot be written (a FIFO, a device, a
    missing directory), so nothing is loaded or read for a run that cannot succeed.

    Raises
    ------
    InvalidArgumentError
        ``"--blocksize: expected ... Got -5 instead."``: the first option that breaks its
        rule.
    InputError
        When the output cannot be written or is the input.
    """
    for name, rule in OPTION_RULES.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            rule.check(value)
        except ValueError as exc:
            hint = exc.hint if isinstance(exc, _InvalidValueError) else ""
            raise InvalidArgumentError(
                f"{rule.flag}: expected {rule.expected}. Got {_shown(value)} instead.{hint}"
            ) from exc
    for applies, holds, message in OPTION_PAIRS:
        if applies(args) and not holds(args):
            raise InvalidArgumentError(message)
    if args.output != "-":
        output_target(args.output)
        if args.engine == "local":
            check_not_input(args.output, [args.input])


# --------------------------------------------------------------------------- running
class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so that cleanup runs as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: Signals handled like Ctrl-C (when not ignored, e.g. SIGHUP under nohup).
_SIGNALS = ("SIGTERM", "SIGHUP")


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`_Signalled` while the block runs."""
    previous = {}
    fired = []

    def handler(signum, frame):
        if not fired:  # a second signal must not interrupt the cleanup of the first
            fired.append(signum)
            raise _Signalled(signum)

    for name in _SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None or signal.getsignal(sig) == signal.SIG_IGN:
            continue
        with contextlib.suppress(ValueError, OSError):  # ValueError: not the main thread
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _print_warnings(messages: Sequence[str]) -> None:
    for msg in messages:
        print(f"legnumb score: warning: {msg}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run ``legnumb score``; 0, 1 or 2 (see the epilog), 128 + the signal when stopped."""
    debug = getattr(args, "debug", False)
    kept = "" if args.output == "-" else f"; {args.output} was not written"
    try:
        with _signals_as_interrupts():
            return _run(args)
    except _Signalled as exc:
        name = signal.Signals(exc.signum).name
        print(f"legnumb score: interrupted ({name}){kept}.", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print(f"legnumb score: interrupted{kept}.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # the reader of standard output went away (`| head`): main exits quietly
    except LegnumbError as exc:
        if debug:
            traceback.print_exc()
        print(f"legnumb score: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if debug:
            traceback.print_exc()
        what = " ".join(f"{type(exc).__name__}: {exc}".split())
        more = "" if debug else "; run with --debug to see the traceback"
        print(
            f"legnumb score: error: {what} (an unexpected failure{kept}{more}).",
            file=sys.stderr,
        )
        return 2


def _return_freed_memory() -> None:
    """Have glibc give large freed blocks (1 MiB or more) back to the system at once.

    The engine's threads allocate workspaces of up to hundreds of MiB; glibc's default
    (a threshold that rises after each free, and one heap per thread) keeps freed workspaces
    as resident memory, so peak memory grew with ``--threads`` (20,000 random rows at 16
    threads: 1,124 MiB peak; with this setting 760 MiB). Other systems: nothing to do.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _run(args: argparse.Namespace) -> int:
    check_options(args)
    _return_freed_memory()
    model = model_from_args(args)
    progress = not args.quiet and sys.stderr.isatty()
    if args.engine == "dask":
        summary = score_dask(
            model,
            args.input,
            args.output,
            scheduler=args.scheduler,
            encoding=args.encoding,
            blocksize="64MB" if args.blocksize is None else args.blocksize,
            progress=progress,
            on_header=_print_warnings,
            excel_safe=args.excel_safe,
            strict=args.strict,
        )
    else:
        summary = score_file(
            model,
            args.input,
            args.output,
            encoding=args.encoding,
            progress=progress,
            on_header=_print_warnings,
            n_threads=args.threads,
            excel_safe=args.excel_safe,
            strict=args.strict,
        )
    _print_warnings(summary.row_warnings)
    if not args.quiet:
        where = "" if args.output == "-" else f" to {args.output}"
        typos = ""
        if summary.typos:
            typos = (
                f"; {len(summary.typos)} column(s) that look like typos "
                f"({', '.join(summary.typos)}) were carried through unread"
            )
        print(
            f"legnumb score: {summary.source}: {summary.rows} row(s) written{where}; "
            f"{summary.rows - summary.error_rows} scored, {summary.error_rows} with "
            f"errors{typos}.",
            file=sys.stderr,
        )
        for err in summary.first_errors:
            print(f"legnumb score: error in {err}", file=sys.stderr)
        if summary.error_rows > len(summary.first_errors):
            print(
                f"legnumb score: ... and {summary.error_rows - len(summary.first_errors)} "
                "more (see the error column).",
                file=sys.stderr,
            )
    if getattr(args, "timings", False) and summary.seconds:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in summary.seconds.items())
        total = sum(summary.seconds.values())
        print(f"legnumb score: seconds: {stages} (total {total:.2f}).", file=sys.stderr)
    return summary.exit_code
