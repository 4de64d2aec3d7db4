"""``legnumb evaluate CASES.csv [--plot FILE.png]``: accuracy on cases with known answers."""

from __future__ import annotations

import argparse

from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.io.cases import load_cases

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``evaluate`` subcommand."""
    from legnumb import DISCLAIMER

    p = subparsers.add_parser(
        "evaluate",
        help="top-1/top-3 accuracy and triage agreement on cases with expected answers",
        description="Score a CSV that carries expected_cause and expected_triage and print "
        "top-1 and top-3 accuracy, triage agreement, under-triaged cases, a per-cause table "
        "and the misses. Without CASES.csv the bundled examples are used.",
        epilog=DISCLAIMER,
    )
    p.add_argument(
        "cases", nargs="?", metavar="CASES.csv", help="cases (default: bundled examples)"
    )
    p.add_argument("--plot", metavar="FILE.png", help="draw the confusion matrix to this PNG")
    add_priors_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the evaluation; exit 0."""
    import pandas as pd

    from legnumb.analysis.evaluate import evaluate

    model = model_from_args(args)
    cases = load_cases(args.cases)
    ev = evaluate(model, cases, path=args.cases or "examples.csv")
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
            print(ev.misses[cols].to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from legnumb.plots.evaluation import plot_confusion

        fig = plot_confusion(ev)
        fig.savefig(args.plot, dpi=120)
        print(f"\nconfusion matrix written to {args.plot}")
    return 0
