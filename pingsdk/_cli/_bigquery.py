"""``pingsdk schema bigquery``: print the BigQuery table schema (``.bq``) for a JSON schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._bigquery import bigquery_schema
from .._validation import load_schema
from . import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``pingsdk schema bigquery``."""
    parser = commands.schema.add_parser(
        "bigquery",
        help="print the BigQuery table schema (.bq) the pipeline creates for a JSON schema",
        description=(
            "Print the BigQuery table schema the pipeline creates for SCHEMA, formatted like "
            "the schema repository's .bq files. Fields that will not become columns are "
            "reported as warnings on stderr."
        ),
    )
    parser.add_argument("schema", metavar="SCHEMA.json", help="a JSON schema file")
    parser.add_argument(
        "--namespace",
        help="document namespace (default: NS from a schemas/NS/DOCTYPE/... path); "
        "'telemetry' gets the telemetry metadata columns, others the structured ones",
    )
    parser.add_argument(
        "--transpiler-defaults",
        action="store_true",
        help="use the transpiler's defaults instead of the production settings "
        "(names kept, untypeable fields as STRING, REQUIRED kept, no metadata columns)",
    )
    parser.add_argument("--out", metavar="FILE", help="write the .bq text to FILE, not stdout")
    parser.set_defaults(func=_run)


def namespace_from_path(path: Path) -> str | None:
    """``schemas/<ns>/<doctype>/<doctype>.<v>.schema.json`` -> ``<ns>`` (None otherwise)."""
    parts = path.resolve().parts
    if len(parts) >= 4 and parts[-4] == "schemas":
        return parts[-3]
    return None


def _run(args: argparse.Namespace) -> int:
    path = Path(args.schema)
    if not path.is_file():
        print(f"pingsdk: error: {path}: no such file", file=sys.stderr)
        return 2
    schema = load_schema(path)
    namespace = args.namespace or namespace_from_path(path)
    result = bigquery_schema(schema, namespace=namespace, production=not args.transpiler_defaults)
    for dropped in result.dropped:
        print(
            f"pingsdk: warning: {dropped.path or '(document)'}: not a column: {dropped.reason}",
            file=sys.stderr,
        )
    for cast in result.cast:
        print(
            f"pingsdk: warning: {cast.path or '(document)'}: stored as a JSON STRING: "
            f"{cast.reason}",
            file=sys.stderr,
        )
    text = result.render()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
