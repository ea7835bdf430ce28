"""``pingsdk schema bigquery``: print the BigQuery table schema (``.bq``) for a JSON schema."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from pingsdk import ConfigurationError
from pingsdk._cli import Commands
from pingsdk.schema import SchemaWarning, bigquery_schema
from pingsdk.schema._reading import not_a_schema
from pingsdk.schema._validation import load_schema

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``pingsdk schema bigquery``."""
    parser = commands.schema.add_parser(
        "bigquery",
        help="print the BigQuery table schema (.bq) the pipeline creates for a JSON schema",
        description=(
            "Print the BigQuery table schema the pipeline creates for SCHEMA, formatted like "
            "the schema repository's .bq files. Fields that will not become columns, and "
            "columns of the production table this file cannot produce (Glean metrics), are "
            "reported as warnings on stderr. A file that is not a JSON Schema (a payload, "
            "say) is refused with exit status 2."
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
    parser.add_argument(
        "--json-object-path-regex",
        metavar="REGEX",
        help="columns whose dotted path matches REGEX become JSON columns (default: the "
        "schema's mozPipelineMetadata.json_object_path_regex)",
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
    problem = not_a_schema(schema)
    if problem is not None:
        raise ConfigurationError(
            f"{path}: not a JSON Schema ({problem}); give the ping's .schema.json file, not a "
            "payload or another JSON document"
        )
    namespace = args.namespace or namespace_from_path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchemaWarning)
        result = bigquery_schema(
            schema,
            namespace=namespace,
            production=not args.transpiler_defaults,
            json_object_path_regex=args.json_object_path_regex,
        )
    for warning in caught:
        print(f"pingsdk: warning: {warning.message}", file=sys.stderr)
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
