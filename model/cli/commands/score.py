"""``legnumb score``: score every row of a symptom CSV (decision support, not a diagnosis).

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="legnumb")
>>> _ = register(parser.add_subparsers())
>>> args = parser.parse_args(["score", "cases.csv", "-o", "scored.csv", "-q"])
>>> args.input, args.output, args.quiet, args.engine
('cases.csv', 'scored.csv', True, 'local')
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from legnumb.cli.common import add_priors_option, model_from_args

__all__ = ["register", "run"]

DESCRIPTION = """\
Score every row of a symptom CSV (see model/data/CONTRACT.md). The output has every input
row, in input order, with the input cells unchanged, then p_<cause> for each cause (six
decimals), top_cause, triage, red_flags, error, model_version and priors_hash.

Rows are numbered from 1 for the first data row (the header is not counted). A row with an
invalid value is kept, with an error naming the row, column, value and allowed states, and
is not scored; its red flags are still listed. The output file appears only when the whole
run succeeded.
"""

EPILOG = """\
exit status:
  0  every row was scored
  1  some rows carry errors (see the error column); the others were scored
  2  unusable input (missing file, not a CSV, no known column, bad bytes) or a usage
     error; a message is printed on standard error and no output file is written
  130 interrupted (Ctrl-C); no output file is written

This is decision support for clinicians and researchers, not a diagnosis.
"""


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
        help="where to write the scored CSV (default '-': standard output)",
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
        help="with --engine dask: address of a running scheduler (default: start a small "
        "local cluster)",
    )
    parser.add_argument(
        "--blocksize",
        metavar="BYTES",
        default="64MB",
        help="with --engine dask: bytes per CSV partition (default 64MB); 'none' for one "
        "partition per file, needed when quoted cells hold line breaks",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="threads for the local inference engine (default: one per CPU core); the "
        "output is byte-identical for any N",
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


def _print_warnings(messages: Sequence[str]) -> None:
    for msg in messages:
        print(f"legnumb score: warning: {msg}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run ``legnumb score``; returns 0, 1 or 2 (see the epilog), 130 when interrupted."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        kept = "" if args.output == "-" else f"; {args.output} was not written"
        print(f"legnumb score: interrupted{kept}.", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from legnumb.errors import InputError
    from legnumb.io.batch import score_dask, score_file

    if args.engine == "local" and args.scheduler:
        raise InputError("--scheduler needs --engine dask.")
    model = model_from_args(args)
    progress = not args.quiet and sys.stderr.isatty()
    if args.engine == "dask":
        if args.input == "-":
            raise InputError("--engine dask cannot read standard input; give a file.")
        blocksize = None if str(args.blocksize).lower() == "none" else args.blocksize
        summary = score_dask(
            model,
            args.input,
            args.output,
            scheduler=args.scheduler,
            encoding=args.encoding,
            blocksize=blocksize,
            progress=progress,
            on_header=_print_warnings,
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
        )
    _print_warnings(summary.row_warnings)
    if not args.quiet:
        where = "" if args.output == "-" else f" to {args.output}"
        print(
            f"legnumb score: {summary.source}: {summary.rows} row(s) written{where}; "
            f"{summary.rows - summary.error_rows} scored, {summary.error_rows} with errors.",
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
    return summary.exit_code
