"""``legnumb export --format bif|xmlbif -o FILE``: the network for GeNIe, SamIam or Hugin.

The file is written with pgmpy's own writers (:func:`legnumb.network.bayesnet.write_network`). pgmpy
1.1 writes every probability with Python's ``str(float)``, the shortest decimal that reads
back as the same float64, so a file read back gives the same posteriors to rounding.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.errors import InputError

__all__ = ["FORMATS", "register", "run"]

FORMATS: tuple[str, ...] = ("bif", "xmlbif")


def register(subparsers) -> None:
    """Add the ``export`` subcommand."""
    from legnumb import DISCLAIMER

    p = subparsers.add_parser(
        "export",
        help="write the network as BIF or XMLBIF (GeNIe, SamIam, Hugin)",
        description="Write the Bayesian network (structure and every CPT expanded from the "
        "priors) in an exchange format, with pgmpy's writers.",
        epilog=DISCLAIMER,
    )
    p.add_argument("--format", choices=FORMATS, required=True, help="file format")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="file to write")
    add_priors_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the file; exit 0."""
    from legnumb.network.bayesnet import write_network

    path = Path(args.output)
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name.")
    if not path.parent.is_dir():
        raise InputError(f"{path}: directory {str(path.parent)!r} does not exist.")
    model = model_from_args(args)
    write_network(model.network, path, fmt=args.format)
    n_nodes = len(model.network.nodes())
    n_arcs = len(model.network.edges())
    print(
        f"wrote {args.format.upper()} network ({n_nodes} nodes, {n_arcs} arcs; model "
        f"{model.version}, priors {model.priors_hash}) to {path}"
    )
    return 0
