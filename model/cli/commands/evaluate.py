"""``legnumb evaluate [CASES.csv] [--plot FILE.png]``: accuracy on cases with known answers."""

from __future__ import annotations

import argparse

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
        ok="every case was scored and compared",
        rows="some cases carry errors (an invalid value, a row with more cells than the "
        "header);\n     they are listed, count as misses, and the others are evaluated",
    )
)


def register(subparsers) -> None:
    """Add the ``evaluate`` subcommand."""
    p = subparsers.add_parser(
        "evaluate",
        help="top-1/top-3 accuracy and triage agreement on cases with expected answers",
        description="Score a CSV that carries expected_cause and expected_triage and print "
        "top-1 and top-3 accuracy, triage agreement, under-triaged cases, a per-cause table "
        "and the misses. Without CASES.csv the bundled examples are used. The file is read as "
        "`legnumb score` reads it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cases_options(p)
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the confusion matrix to this PNG (its folder must exist)",
    )
    add_priors_option(p)
    p.set_defaults(func=run)


def _check_plot_path(text: str):
    from pathlib import Path

    path = Path(text)
    if path.is_dir():
        raise InputError(f"--plot {path}: expected a file name for the PNG; got a directory.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(
            f"--plot {path}: expected an existing folder for the PNG; no such directory "
            f"{str(folder)!r}."
        )
    return path


def run(args: argparse.Namespace) -> int:
    """Print the evaluation; 0, or 1 when some cases could not be scored."""
    import pandas as pd

    from legnumb.analysis.evaluate import evaluate

    plot = _check_plot_path(args.plot) if args.plot else None
    model = model_from_args(args)
    cases = read_cases(args, "evaluate", schema=model.schema)
    ev = evaluate(model, cases, id_column=id_column(args))
    s = ev.summary
    print(
        f"model {model.version}, priors {model.priors_hash}: {s['n']} cases, {s['scored']} scored"
    )
    print(f"top-1 accuracy   {s['top1']:.1%}")
    print(f"top-3 accuracy   {s['top3']:.1%}")
    print(
        f"triage agreement {s['triage_agreement']:.1%}  "
        f"(under-triaged: {s['under_triaged']}, over-triaged: {s['over_triaged']})"
    )
    print(
        f"emergency recall {s['emergency_recall']:.1%} of {s['emergencies']} expected emergencies"
    )
    print("\ntriage, expected (rows) by given (columns):")
    print(ev.triage_table.to_string())
    print("\nper cause:")
    with pd.option_context("display.width", 120):
        print(ev.per_cause.to_string())
        print("\nmisses:" if len(ev.misses) else "\nmisses: none")
        if len(ev.misses):
            cols = [
                "case_id",
                "expected_cause",
                "top_cause",
                "p_top",
                "p_expected",
                "rank_expected",
                "expected_triage",
                "triage",
            ]
            misses = ev.misses[cols].copy()
            for c in ("case_id", "expected_cause", "expected_triage"):
                misses[c] = misses[c].map(printable)
            print(misses.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    unscored = ev.cases[ev.cases["error"] != ""]
    if len(unscored):
        print(f"\nnot scored: {len(unscored)} case(s)")
        for e in unscored["error"]:
            print(f"  {printable(e)}")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from legnumb.plots.evaluation import plot_confusion
        from legnumb.plots.style import save_figure

        save_figure(plot_confusion(ev), plot, dpi=120)
        print(f"\nconfusion matrix written to {printable(plot)}")
    return 1 if len(unscored) else 0
