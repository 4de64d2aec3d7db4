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
        "nodes, numbers and sources it holds, the numbers per source kind and per range basis, "
        "how many literature numbers have a published confidence interval as their range, how "
        "many numbers rest on judgement alone, the orders of the multi-state findings, and the "
        "triage rules and thresholds (validated like the numbers).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "priors", nargs="?", metavar="DIR", help="priors directory (default: shipped priors)"
    )
    p.add_argument(
        "--list-judgement",
        action="store_true",
        help="also list every number that rests on judgement alone (no literature source)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate, build the network, print the summary."""
    from legnumb.network.bayesnet import build_network
    from legnumb.network.priors import RANGE_BASES, load_priors

    if args.priors is not None:
        check_priors_dir(args.priors, option="check-priors")
    from legnumb.diagnosis.policy import load_policy

    try:
        ps = load_priors(args.priors)
        policy = load_policy(
            ps.directory, schema=ps.schema, sources={k: s.kind for k, s in ps.sources.items()}
        )
    except PriorsError as exc:
        print(exc)
        return 1
    net = ps.network()
    bn = build_network(net.to_cpts())
    n_aux = len(bn.nodes()) - len(net.variables)
    kinds = Counter(ps.sources[n.source_id].kind for n in ps.numbers)
    used = {n.source_id for n in ps.numbers} | {o.source_id for o in ps.orders.values()}
    src_kinds = Counter(ps.sources[s].kind for s in used)
    print(f"priors: {ps.directory}")
    print(f"sha256: {ps.sha256}")
    print(
        f"valid: yes; pgmpy check_model passed ({len(bn.nodes())} nodes, of which {n_aux} "
        f"auxiliary noisy-MAX nodes; {len(bn.edges())} edges)"
    )
    print(
        f"numbers: {len(ps.numbers)}  ("
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(n.kind for n in ps.numbers).items()))
        + ")"
    )
    by_file = Counter(n.file for n in ps.numbers)
    print("numbers per file: " + ", ".join(f"{f}.csv {c}" for f, c in by_file.items()))
    print("numbers per source kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    bases = Counter(n.range_basis for n in ps.numbers)
    print(
        "numbers per range basis: " + ", ".join(f"{b} {bases[b]}" for b in RANGE_BASES if bases[b])
    )
    print(
        f"sources: {len(ps.sources)} listed, {len(used)} cited by numbers and orders  ("
        + ", ".join(f"{k} {v}" for k, v in sorted(src_kinds.items()))
        + ")"
    )
    lit = [n for n in ps.numbers if ps.sources[n.source_id].kind == "literature"]
    ci = sum(1 for n in lit if n.range_basis == "ci")
    print(f"literature numbers whose range is a published confidence interval: {ci} of {len(lit)}")
    judged = [n for n in ps.numbers if ps.sources[n.source_id].kind != "literature"]
    share = len(judged) / len(ps.numbers)
    print(
        "numbers resting on expert judgement alone: "
        f"{len(judged)} of {len(ps.numbers)} ({share:.0%})"
    )
    if getattr(args, "list_judgement", False):
        print(
            "numbers resting on judgement alone "
            "(node | kind | state | parent=state: value [low-high, basis]):"
        )
        for n in judged:
            parent = f"{n.parent}={n.parent_state}" if n.parent else "-"
            print(
                f"  {n.node} | {n.kind} | {n.state or '-'} | {parent}: {n.value:g} "
                f"[{n.low:g}-{n.high:g}, {n.range_basis}] ({n.source_id})"
            )
    print(f"orders of the multi-state findings (bottom < top): {len(ps.orders)}")
    for o in ps.orders.values():
        print(f"  {o.node}: {' < '.join(o.states)}  [{o.source_id}]")
    levels = Counter(r.level for r in policy.rules)
    print(
        f"triage policy: {len(policy.rules)} rules ("
        + ", ".join(f"{k} {v}" for k, v in sorted(levels.items()))
        + "); likely from "
        + ", ".join(f"{k} {v:.0%}" for k, v in policy.thresholds.items())
    )
    rule_sources = {r.source_id for r in policy.rules} | set(policy.threshold_sources.values())
    print(f"sources cited by the triage policy: {len(rule_sources)}")
    for r in policy.rules:
        when = " & ".join(f"{c.column}={'|'.join(c.states)}" for c in r.when) or "(default)"
        print(f"  {r.rule_id:<5} {r.level:<9} {when}  [{r.source_id}]")
    return 0
