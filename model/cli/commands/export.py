"""``legnumb export --format bif|xmlbif -o FILE``: the network for GeNIe, SamIam or Hugin.

The text comes from pgmpy's own writers (:func:`legnumb.network.bayesnet.network_text`) and
is written like every output: to a temporary file renamed over FILE only once complete. pgmpy
1.1 writes every probability with Python's ``str(float)``, the shortest decimal that reads
back as the same float64, so a file read back gives the same posteriors to rounding.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from legnumb.cli.common import add_priors_option, epilog, exit_codes, model_from_args, printable
from legnumb.errors import InputError

__all__ = ["EPILOG", "FORMATS", "register", "run"]

FORMATS: tuple[str, ...] = ("bif", "xmlbif")

EPILOG = epilog(
    exit_codes(
        ok="the file was written",
        extra="  (1 is not used: the network is written whole or not at all)",
    )
)


def register(subparsers) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="write the network as BIF or XMLBIF (GeNIe, SamIam, Hugin)",
        description="Write the Bayesian network (structure and every CPT expanded from the "
        "priors) in an exchange format, with pgmpy's writers. Each finding with several "
        "causes is written as a chain of auxiliary nodes named <finding>_max<k> (parent "
        "divorcing of its noisy-MAX table); leave them unobserved. The file appears only when "
        "it is complete.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", choices=FORMATS, required=True, help="file format")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="file to write")
    add_priors_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the file; exit 0."""
    from legnumb.io.symptom_csv import atomic_output
    from legnumb.network.bayesnet import network_text

    path = Path(args.output)
    if path.is_dir():
        raise InputError(f"-o {path}: expected a file name; got a directory.")
    if not path.parent.is_dir():
        raise InputError(
            f"-o {path}: expected an existing folder; directory {str(path.parent)!r} "
            "does not exist."
        )
    model = model_from_args(args)
    text = network_text(model.network, fmt=args.format)
    with atomic_output(path) as out:  # renamed over the file only once it is all written
        out.write(text.encode("utf-8"))
    n_nodes = len(model.network.nodes())
    n_aux = n_nodes - len(set(model.network.nodes()) & set(model.schema.nodes))
    n_arcs = len(model.network.edges())
    print(
        f"wrote {args.format.upper()} network ({n_nodes} nodes, of which {n_aux} auxiliary "
        f"noisy-MAX nodes; {n_arcs} arcs; model {model.version}, priors {model.priors_hash}) "
        f"to {printable(path)}"
    )
    return 0
