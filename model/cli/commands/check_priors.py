"""``legnumb check-priors [DIR]``: validate a priors directory and summarize it."""

from __future__ import annotations

import argparse
from collections import Counter

from legnumb.cli.common import check_priors_dir, epilog, exit_codes
from legnumb.errors import PriorsError

__all__ = ["EPILOG", "register", "run"]

EPILOG = epilog(
    exit_codes(
        ok="the priors are valid",
        rows="the priors have problems: every one is printed with its file, row and key",
    )
)


def register(subparsers) -> None:
    """Add the ``check-priors`` subcommand."""
    p = subparsers.add_parser(
        "check-priors",
        help="validate the priors and print a summary",
        description="Validate every number and source of a priors directory (all problems are "
        "reported at once, with file, row, key and what was expected), then print how many "
        "nodes, numbers and sources it holds and how many numbers rest on expert judgement alone.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "priors", nargs="?", metavar="DIR", help="priors directory (default: shipped priors)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate, build the network, print the summary."""
    from legnumb.network.bayesnet import build_network
    from legnumb.network.priors import load_priors

    if args.priors is not None:
        check_priors_dir(args.priors, option="check-priors")
    try:
        ps = load_priors(args.priors)
    except PriorsError as exc:
        print(exc)
        return 1
    bn = build_network(ps.expand())
    kinds = Counter(ps.sources[n.source_id].kind for n in ps.numbers)
    used = {n.source_id for n in ps.numbers}
    src_kinds = Counter(ps.sources[s].kind for s in used)
    print(f"priors: {ps.directory}")
    print(f"sha256: {ps.sha256}")
    print(
        f"valid: yes; pgmpy check_model passed ({len(bn.nodes())} nodes, {len(bn.edges())} edges)"
    )
    print(
        f"numbers: {len(ps.numbers)}  ("
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(n.kind for n in ps.numbers).items()))
        + ")"
    )
    print(
        f"sources: {len(ps.sources)} listed, {len(used)} cited  ("
        + ", ".join(f"{k} {v}" for k, v in sorted(src_kinds.items()))
        + ")"
    )
    share = kinds["expert_judgement"] / len(ps.numbers)
    print(
        "numbers resting on expert judgement alone: "
        f"{kinds['expert_judgement']} of {len(ps.numbers)} ({share:.0%})"
    )
    by_file = Counter(n.file for n in ps.numbers)
    print("numbers per file: " + ", ".join(f"{f}.csv {c}" for f, c in by_file.items()))
    return 0
