"""``pingsdk schema export``: write a schema-repository tree from Ping classes."""

from __future__ import annotations

import argparse
import sys
import warnings

from pingsdk import Ping
from pingsdk._cli import Commands
from pingsdk._model._loader import load_pings
from pingsdk.schema import SchemaWarning, export_repository
from pingsdk.schema._generator import DRAFTS

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``pingsdk schema export``."""
    parser = commands.schema.add_parser(
        "export",
        help="export ping schemas and validation examples into a schema-repository tree",
        description=(
            "Write schemas/<ns>/<doctype>/<doctype>.<v>.schema.json and "
            "validation/<ns>/<doctype>.<v>.<name>.<pass|fail>.json for every Ping class in "
            "each TARGET. Prints each file written, then 'removed FILE' for each validation "
            "file of an example a class no longer declares (only files export wrote: named "
            "<doctype>.<v>.<name>.<pass|fail>.json for that class and in export's format)."
        ),
    )
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="a module path (myapp.pings), a .py file, or module:Class",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the repository root")
    parser.add_argument(
        "--draft",
        choices=sorted(DRAFTS),
        default="draft-04",
        help="JSON Schema draft (default: draft-04)",
    )
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    classes: list[type[Ping]] = []
    for target in args.targets:
        classes.extend(c for c in load_pings(target) if c not in classes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchemaWarning)
        written = export_repository(classes, args.out, draft=args.draft)
    for path in written:
        print(path)
    for path in written.removed:
        print(f"removed {path}")
    for warning in caught:
        print(f"pingsdk: warning: {warning.message}", file=sys.stderr)
    return 0
