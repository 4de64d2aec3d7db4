"""``legnumb sensitivity CASES.csv (--case-id ID | --all) [--target CAUSE] -o DIR``.

Writes, per case, the one-way table of every hand-set number and the robustness summary
as CSV, and the tornado, sensitivity-function and robustness plots as PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.errors import InputError
from legnumb.io.cases import load_cases, select_case

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``sensitivity`` subcommand."""
    from legnumb import DISCLAIMER

    p = subparsers.add_parser(
        "sensitivity",
        help="which hand-set numbers a case's ranking rests on, and how robust it is",
        description="For one case (or every case): move each hand-set number across its own "
        "documented range (one-way sensitivity, tornado, sensitivity functions with the "
        "admissible deviation of the top cause), and rescore the case under joint draws of "
        "all numbers within their ranges (robustness). Writes CSV tables and PNG plots to DIR. "
        "Without CASES.csv the bundled examples are used.",
        epilog=DISCLAIMER,
    )
    p.add_argument(
        "cases", nargs="?", metavar="CASES.csv", help="cases (default: bundled examples)"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--case-id", metavar="ID", help="the case to analyse")
    which.add_argument("--all", action="store_true", help="analyse every case")
    p.add_argument("--target", metavar="CAUSE", help="cause to follow (default: the top cause)")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="output directory")
    p.add_argument(
        "--draws", type=int, default=1000, metavar="N", help="joint draws (default 1000)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the joint draws (default 0)")
    p.add_argument("--top", type=int, default=20, metavar="N", help="numbers in the tornado (20)")
    add_priors_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the case(s) and write the files; exit 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from legnumb.analysis.sensitivity import check_target, decisive_numbers, one_way, robustness
    from legnumb.plots.sensitivity import (
        plot_decisive,
        plot_robustness,
        plot_sensitivity_functions,
        plot_tornado,
    )

    if args.draws < 1:
        raise InputError(f"--draws must be at least 1. Got {args.draws} instead.")
    if args.top < 1:
        raise InputError(f"--top must be at least 1. Got {args.top} instead.")
    path = args.cases or "examples.csv"
    cases = load_cases(args.cases)
    model = model_from_args(args)
    target = check_target(model, args.target)
    rows = (
        [row for _, row in cases.iterrows()]
        if args.all
        else [select_case(cases, args.case_id, path=path)]
    )
    out = _out_dir(args.output)
    results = []
    for i, row in enumerate(rows):
        cid = str(row["case_id"]).strip() if "case_id" in row.index else f"row{i + 2}"
        ow = one_way(model, row, target=target, case_id=cid)
        rob = robustness(model, row, target=target, case_id=cid, n_draws=args.draws, seed=args.seed)
        results.append(ow)
        stem = _safe(cid)
        ow.table.to_csv(out / f"{stem}_oneway.csv", index=False)
        rob.summary.to_csv(out / f"{stem}_robustness.csv", index=False)
        for name, fig in (
            ("tornado", plot_tornado(ow, n=args.top)),
            ("functions", plot_sensitivity_functions(ow)),
            ("robustness", plot_robustness(rob)),
        ):
            fig.savefig(out / f"{stem}_{name}.png", dpi=110)
            plt.close(fig)
        decisive = ow.table[ow.table["decisive"]]
        print(
            f"{cid}: top cause {ow.top_cause} (P = {ow.posterior[ow.top_cause]:.3f}); "
            f"target {ow.target} (P = {ow.posterior[ow.target]:.3f}); "
            f"{len(decisive)} number(s) change the top cause within their range; "
            f"top cause kept in {rob.stability:.1%} of {rob.n_draws} joint draws"
        )
        for r in decisive.head(5).itertuples(index=False):
            print(f"    decisive: {r.label} = {r.base:.3g} [{r.low:.3g}-{r.high:.3g}]")
    if len(results) > 1:
        table = decisive_numbers(results)
        table.to_csv(out / "decisive_numbers.csv", index=False)
        fig = plot_decisive(table)
        fig.savefig(out / "decisive_numbers.png", dpi=110)
        plt.close(fig)
    print(f"wrote {len(results)} case(s) to {out}")
    return 0


def _out_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output directory ({exc}).") from exc
    return out


def _safe(name: str) -> str:
    """A file-name-safe version of a case id."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return keep or "case"
