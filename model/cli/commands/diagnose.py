"""``legnumb diagnose [CASES.csv]``: a ranked table per case (bundled examples by default)."""

from __future__ import annotations

import argparse
import textwrap

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
from legnumb.errors import EvidenceError, InputError

__all__ = ["EPILOG", "format_case", "register", "run"]

EPILOG = epilog(
    exit_codes(
        ok="every case was scored",
        rows="some cases carry errors (an invalid value, a row with more cells than the "
        "header);\n     each is printed with its row number and the other cases are scored",
    )
)


def register(subparsers) -> None:
    """Add the ``diagnose`` subcommand."""
    p = subparsers.add_parser(
        "diagnose",
        help="print ranked causes, triage and red flags per case (bundled examples by default)",
        description="Print a ranked table of likely causes, the triage level and the red flags "
        "for each case of a small symptom CSV, with the probability that no listed cause is "
        "present and how many columns the case answered. Without CASES.csv, the 57 bundled "
        "worked examples are used. The file is read as `legnumb score` reads it (same rules, "
        "same row numbers, same messages). For large files use `legnumb score`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cases_options(p)
    p.add_argument(
        "--top", type=int, default=5, metavar="N", help="causes to show per case (default 5)"
    )
    add_priors_option(p)
    p.set_defaults(func=run)


def _bar(p: float, width: int = 24) -> str:
    return "#" * round(p * width)


def format_case(
    label: str, diagnosis, *, top: int = 5, expected: str = "", n_columns: int | None = None
) -> str:
    """Text block for one case: header, triage, red flags, ranked posteriors.

    The ranked posteriors are followed by P(no listed cause) and by how many columns the case
    answered (``n_findings``, "of ``n_columns``" when given).
    """
    lines = [label + (f"   [expected: {expected}]" if expected else "")]
    flags = "; ".join(diagnosis.red_flags) or "none"
    lines.append(f"  triage: {diagnosis.triage.upper():<10} red flags: {flags}")
    lines.append(f"  why this level: {diagnosis.triage_reason}")
    for i, (cause, p) in enumerate(diagnosis.ranked.head(top).items(), start=1):
        lines.append(f"  {i:>2}. {cause.replace('_', ' '):<26} {p:7.1%}  {_bar(p)}")
    other = diagnosis.p_other_cause
    of = f" of {n_columns}" if n_columns is not None else ""
    lines.append(
        f"      {'no listed cause':<26} {other:7.1%}  "
        f"(findings answered: {diagnosis.n_findings}{of})"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print one block per case; returns 1 when some rows could not be scored."""
    from legnumb import DISCLAIMER
    from legnumb.io.cases import case_evidence, case_label, row_errors, row_number, source_name
    from legnumb.network.schema import normalize_name

    if args.top < 1:
        raise InputError(f"--top: expected a whole number >= 1. Got {args.top} instead.")
    model = model_from_args(args)
    cases = read_cases(args, "diagnose", schema=model.schema)
    source = source_name(cases)
    ids = id_column(args)
    errors = row_errors(cases)
    columns = {normalize_name(c): c for c in cases.columns}
    print(textwrap.fill(DISCLAIMER, width=100))
    print(
        f"model {model.version}, priors {model.priors_hash}, {len(cases)} case(s) from "
        f"{printable(source)}\n"
    )
    status = 0
    for label, row in cases.iterrows():
        name = printable(case_label(cases, label, id_column=ids, row=row))
        story = row[columns["story"]] if "story" in columns else ""
        story = textwrap.shorten(printable(story), width=90, placeholder="...")
        head = f"{name}  {story}".rstrip()
        expected = "/".join(
            printable(row[columns[c]]).strip()
            for c in ("expected_cause", "expected_triage")
            if c in columns and str(row[columns[c]]).strip()
        )
        if label in errors:
            status = 1
            print(f"{head}\n  not scored: {printable(errors[label])}\n")
            continue
        try:
            where = f"{source}, row {row_number(cases, label)}"
            d = model.diagnose(case_evidence(model.schema, row, where=where))
        except EvidenceError as exc:
            status = 1
            text = "\n  ".join(printable(line) for line in str(exc).splitlines())
            print(f"{head}\n  not scored: {text}\n")
            continue
        n = len(model.columns)
        print(format_case(head, d, top=args.top, expected=expected, n_columns=n) + "\n")
    return status
