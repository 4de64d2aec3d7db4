"""``legnumb report [CASES.csv] -o DIR``: a self-contained HTML report for reviewers."""

from __future__ import annotations

import argparse
import os
import sys

from legnumb.cli.common import (
    add_cases_options,
    add_priors_option,
    epilog,
    exit_codes,
    id_column,
    model_from_args,
    printable,
    read_cases,
)
from legnumb.errors import InputError

__all__ = ["EPILOG", "register", "run"]

EPILOG = epilog(
    exit_codes(
        ok="the report was written",
        rows="the report was written, but some cases carry errors (an invalid value, a row\n"
        "     with more cells than the header): they are listed in it and not analysed",
    )
)


def register(subparsers) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="self-contained HTML report: network, priors and sources, accuracy, sensitivity",
        description="Write DIR/report.html for the reviewer who signs off on the priors: the "
        "network, every hand-set number with its source and range (expert judgement flagged), "
        "accuracy on the cases, per-case tornado and robustness, and the numbers most often "
        "decisive across cases. Figures are embedded, so the file can be mailed as is. "
        "Without CASES.csv the bundled examples are used.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cases_options(p, ids="to name the cases (ids must be unique)")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="output directory")
    p.add_argument(
        "--draws", type=int, default=1000, metavar="N", help="joint draws per case (1000)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the joint draws (default 0)")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for the per-case analyses and figures (default: CPUs, at most 4)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_priors_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; 0, or 1 when some cases carry errors."""
    import matplotlib

    matplotlib.use("Agg")
    from legnumb.app.report import write_report
    from legnumb.io.cases import row_errors

    if args.draws < 1:
        raise InputError(f"--draws must be at least 1. Got {args.draws} instead.")
    jobs = args.jobs if args.jobs is not None else min(4, os.cpu_count() or 1)
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1. Got {jobs} instead.")
    model = model_from_args(args)
    cases = read_cases(args, "report", schema=model.schema)
    errors = row_errors(cases)

    def progress(msg: str) -> None:
        print(printable(msg), file=sys.stderr, flush=True)

    path = write_report(
        model,
        cases,
        args.output,
        n_draws=args.draws,
        seed=args.seed,
        progress=None if args.quiet else progress,
        jobs=jobs,
        id_column=id_column(args),
    )
    for message in errors.values():
        print(f"legnumb report: not analysed: {printable(message)}", file=sys.stderr)
    print(f"wrote {printable(path)}")
    return 1 if errors else 0
