"""``legnumb sensitivity [CASES.csv] (--case-id ID | --all) [--target CAUSE] -o DIR``.

Writes, per case, the one-way table of every hand-set number and the robustness summary
as CSV, and the tornado, sensitivity-function and robustness plots as PNG. Every file is
written whole or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import argparse
from pathlib import Path

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
        ok="every case asked for was analysed and its files written",
        rows="some cases carry errors (an invalid value, a row with more cells than the "
        "header);\n     they are printed with their row numbers and the other cases are "
        "analysed",
    )
)


def register(subparsers) -> None:
    """Add the ``sensitivity`` subcommand."""
    p = subparsers.add_parser(
        "sensitivity",
        help="which hand-set numbers a case's ranking rests on, and how robust it is",
        description="For one case (or every case): move each hand-set number across its own "
        "documented range (one-way sensitivity, tornado, sensitivity functions with the "
        "admissible deviation of the top cause), and rescore the case under joint draws of "
        "all numbers within their ranges (robustness). Writes CSV tables and PNG plots to DIR. "
        "Without CASES.csv the bundled examples are used.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cases_options(p, ids="to find the case given with --case-id and to name the files")
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


def _csv_bytes(df) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    from legnumb.io.symptom_csv import atomic_output

    with atomic_output(path) as out:
        out.write(data)


def run(args: argparse.Namespace) -> int:
    """Analyse the case(s) and write the files; 0, or 1 when some cases carry errors."""
    import matplotlib

    matplotlib.use("Agg")

    from legnumb.analysis.sensitivity import check_target, decisive_numbers, one_way, robustness
    from legnumb.io.cases import (
        case_label,
        check_unique_ids,
        row_errors,
        row_number,
        select_case,
    )
    from legnumb.plots.sensitivity import (
        plot_decisive,
        plot_robustness,
        plot_sensitivity_functions,
        plot_tornado,
    )
    from legnumb.plots.style import figure_bytes

    if args.draws < 1:
        raise InputError(f"--draws must be at least 1. Got {args.draws} instead.")
    if args.top < 1:
        raise InputError(f"--top must be at least 1. Got {args.top} instead.")
    model = model_from_args(args)
    cases = read_cases(args, "sensitivity", schema=model.schema)
    target = check_target(model, args.target)
    ids = id_column(args)
    if args.all:
        check_unique_ids(cases, id_column=ids)
        labels = list(cases.index)
    else:
        labels = [select_case(cases, args.case_id, id_column=ids).name]
    from legnumb.io.symptom_csv import output_directory

    out = output_directory(args.output, what="the output")
    errors = row_errors(cases)
    status = 0
    results = []
    used: set[str] = set()
    for label in labels:
        row = cases.loc[label]
        cid = case_label(cases, label, id_column=ids, row=row)
        if label in errors:
            status = 1
            print(f"{printable(cid)}: not analysed: {printable(errors[label])}")
            continue
        ow = one_way(model, row, target=target, case_id=cid)
        rob = robustness(model, row, target=target, case_id=cid, n_draws=args.draws, seed=args.seed)
        stem = _safe(cid)
        if stem.lower() in used:  # two ids with the same file name ("a/b" and "a_b")
            stem = f"{stem}_row{row_number(cases, label)}"
        used.add(stem.lower())
        # everything is drawn before any file is written: a failure leaves no files of this case
        files = {
            f"{stem}_oneway.csv": _csv_bytes(ow.table),
            f"{stem}_robustness.csv": _csv_bytes(rob.summary),
            f"{stem}_tornado.png": figure_bytes(plot_tornado(ow, n=args.top), dpi=110),
            f"{stem}_functions.png": figure_bytes(plot_sensitivity_functions(ow), dpi=110),
            f"{stem}_robustness.png": figure_bytes(plot_robustness(rob), dpi=110),
        }
        for name, data in files.items():
            _write(out / name, data)
        results.append(ow)
        decisive = ow.numbers[ow.numbers["decisive"]]
        print(
            f"{printable(cid)}: top cause {ow.top_cause} (P = {ow.posterior[ow.top_cause]:.3f}); "
            f"target {ow.target} (P = {ow.posterior[ow.target]:.3f}); "
            f"{len(decisive)} number(s) change the top cause within their range; "
            f"top cause kept in {rob.stability:.1%} of {rob.n_draws} joint draws"
        )
        for r in decisive.head(5).itertuples(index=False):
            print(f"    decisive: {printable(r.label)} = {r.base:.3g} [{r.low:.3g}-{r.high:.3g}]")
    if len(results) > 1:
        table = decisive_numbers(results)
        png = figure_bytes(plot_decisive(table), dpi=110)
        _write(out / "decisive_numbers.csv", _csv_bytes(table))
        _write(out / "decisive_numbers.png", png)
    print(f"wrote {len(results)} case(s) to {printable(out)}")
    return status


def _safe(name: str) -> str:
    """A file-name-safe version of a case id."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return keep.strip(".") or "case"
