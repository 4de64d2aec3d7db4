"""``legnumb diagnose [CASES.csv]``: a ranked table per case (bundled examples by default)."""

from __future__ import annotations

import argparse
import sys
import textwrap

from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.errors import EvidenceError
from legnumb.io.cases import load_cases
from legnumb.network.schema import normalize_name

__all__ = ["format_case", "register", "run"]


def register(subparsers) -> None:
    """Add the ``diagnose`` subcommand."""
    from legnumb import DISCLAIMER

    p = subparsers.add_parser(
        "diagnose",
        help="print ranked causes, triage and red flags per case (bundled examples by default)",
        description="Print a ranked table of likely causes, the triage level and the red flags "
        "for each case of a small symptom CSV. Without CASES.csv, the 30 bundled worked examples "
        "are used. For large files use `legnumb score`.",
        epilog=DISCLAIMER,
    )
    p.add_argument(
        "cases", nargs="?", metavar="CASES.csv", help="symptom CSV (default: bundled examples)"
    )
    p.add_argument(
        "--top", type=int, default=5, metavar="N", help="causes to show per case (default 5)"
    )
    add_priors_option(p)
    p.set_defaults(func=run)


def _bar(p: float, width: int = 24) -> str:
    return "#" * round(p * width)


def format_case(label: str, diagnosis, *, top: int = 5, expected: str = "") -> str:
    """Text block for one case: header, triage, red flags, ranked posteriors."""
    lines = [label + (f"   [expected: {expected}]" if expected else "")]
    flags = "; ".join(diagnosis.red_flags) or "none"
    lines.append(f"  triage: {diagnosis.triage.upper():<10} red flags: {flags}")
    for i, (cause, p) in enumerate(diagnosis.ranked.head(top).items(), start=1):
        lines.append(f"  {i:>2}. {cause.replace('_', ' '):<26} {p:7.1%}  {_bar(p)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print one block per case; returns 1 when some rows could not be scored."""
    from legnumb import DISCLAIMER

    model = model_from_args(args)
    cases = load_cases(args.cases)
    source = args.cases or "bundled examples.csv"
    known = {
        c: normalize_name(c) for c in cases.columns if normalize_name(c) in model.schema.columns
    }
    for col in cases.columns:
        if col not in known:
            hint = model.schema.closest_column(col)
            if hint:
                print(
                    f"warning: {source}: column {col!r} is not known; did you mean {hint!r}?",
                    file=sys.stderr,
                )
    print(textwrap.fill(DISCLAIMER, width=100))
    print(
        f"model {model.version}, priors {model.priors_hash}, {len(cases)} case(s) from {source}\n"
    )
    status = 0
    for i, row in enumerate(cases.itertuples(index=False), start=2):
        rec = dict(zip(cases.columns, row, strict=True))
        case_id = rec.get("case_id", f"row {i}")
        story = textwrap.shorten(rec.get("story", ""), width=90, placeholder="...")
        label = f"{case_id}  {story}".rstrip()
        expected = "/".join(
            x for x in (rec.get("expected_cause", ""), rec.get("expected_triage", "")) if x
        )
        try:
            d = model.diagnose({known[c]: v for c, v in rec.items() if c in known})
        except EvidenceError as exc:
            status = 1
            print(f"{label}\n  not scored: {source}, row {i}: {exc}\n")
            continue
        print(format_case(label, d, top=args.top, expected=expected) + "\n")
    return status
