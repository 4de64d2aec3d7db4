"""``legnumb report CASES.csv -o DIR``: a self-contained HTML report for reviewers."""

from __future__ import annotations

import argparse
import os
import sys

from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.errors import InputError
from legnumb.io.cases import load_cases

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``report`` subcommand."""
    from legnumb import DISCLAIMER

    p = subparsers.add_parser(
        "report",
        help="self-contained HTML report: network, priors and sources, accuracy, sensitivity",
        description="Write DIR/report.html for the reviewer who signs off on the priors: the "
        "network, every hand-set number with its source and range (expert judgement flagged), "
        "accuracy on the cases, per-case tornado and robustness, and the numbers most often "
        "decisive across cases. Figures are embedded, so the file can be mailed as is. "
        "Without CASES.csv the bundled examples are used.",
        epilog=DISCLAIMER,
    )
    p.add_argument(
        "cases", nargs="?", metavar="CASES.csv", help="cases (default: bundled examples)"
    )
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
    """Write the report; exit 0."""
    import matplotlib

    matplotlib.use("Agg")
    from legnumb.app.report import write_report

    if args.draws < 1:
        raise InputError(f"--draws must be at least 1. Got {args.draws} instead.")
    jobs = args.jobs if args.jobs is not None else min(4, os.cpu_count() or 1)
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1. Got {jobs} instead.")
    cases = load_cases(args.cases)
    model = model_from_args(args)

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    path = write_report(
        model,
        cases,
        args.output,
        n_draws=args.draws,
        seed=args.seed,
        path=args.cases or "examples.csv",
        progress=None if args.quiet else progress,
        jobs=jobs,
    )
    print(f"wrote {path}")
    return 0
