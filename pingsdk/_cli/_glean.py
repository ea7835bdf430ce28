"""``pingsdk glean export``: a Glean application's schemas and BigQuery tables."""

from __future__ import annotations

import argparse
import sys
import warnings

from pingsdk._cli import Commands, _usage
from pingsdk.glean import PINGSDK_FILES, export_glean_tables, is_pingsdk_file
from pingsdk.schema import SchemaWarning

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``pingsdk glean`` and ``pingsdk glean export``."""
    glean_parser = commands.top.add_parser("glean", help="Glean applications: tables")
    glean = glean_parser.add_subparsers(dest="glean_command", metavar="COMMAND")
    glean_parser.set_defaults(func=_usage(glean_parser))
    parser = glean.add_parser(
        "export",
        help="write the JSON schema and BigQuery table of each ping of a Glean application",
        description=(
            "Build, from the application's metrics.yaml and pings.yaml files, what the "
            "pipeline's schema generator builds: for each ping, "
            "schemas/<app id>/<ping>/<ping>.1.schema.json with every metric injected under "
            "metrics.<type>.<category.name>, and the BigQuery table <ping>.1.bq beside it. "
            "The tables hold exactly the metrics of the files given. Prints each file written."
        ),
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="metrics.yaml and pings.yaml files, in any order (glean_parser tells them apart "
        "by their $schema)",
    )
    parser.add_argument(
        "--pings",
        action="append",
        default=[],
        metavar="PINGS.yaml",
        help="a pings.yaml file (repeatable; the same as giving it as a FILE)",
    )
    parser.add_argument(
        "--app-id",
        required=True,
        metavar="ID",
        help="the application id given to Glean, e.g. org.example.my-service (sanitised as "
        "Glean does for the directory and dataset names)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the repository root")
    parser.add_argument(
        "--pingsdk-files",
        action="store_true",
        help="also read pingsdk's own metrics.yaml (the glean.error.* metrics it records in "
        "every ping) and pings.yaml (the deletion-request and events pings it sends): "
        + ", ".join(str(path) for path in PINGSDK_FILES),
    )
    parser.add_argument(
        "--allow-reserved",
        action="store_true",
        help="accept names reserved for Glean in every file (to read the Glean SDK's own "
        "metrics.yaml and pings.yaml)",
    )
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    metrics_files = list(args.files)
    if args.pingsdk_files:
        metrics_files.extend(PINGSDK_FILES)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchemaWarning)
        written = export_glean_tables(
            metrics_files,
            args.pings,
            args.app_id,
            args.out,
            allow_reserved=args.allow_reserved,
        )
    for path in written:
        print(path)
    for warning in caught:
        print(f"pingsdk: warning: {warning.message}", file=sys.stderr)
    if not any(is_pingsdk_file(path) for path in [*metrics_files, *args.pings]):
        print(
            "pingsdk: note: pingsdk's own metrics.yaml and pings.yaml are not among these "
            "files, so there are no columns for its glean.error.* metrics and no tables for its "
            "deletion-request and events pings; add --pingsdk-files",
            file=sys.stderr,
        )
    return 0
