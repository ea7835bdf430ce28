"""``pingsdk schema parquet``, ``pingsdk schema check`` and ``pingsdk schema diff``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pingsdk import ConfigurationError
from pingsdk._cli import Commands
from pingsdk._model._loader import load_pings
from pingsdk._naming import parse_version
from pingsdk.schema import SchemaChange, compare_schemas, parquet_schema, parquet_schema_notes
from pingsdk.schema._parquet import parquet_file_name
from pingsdk.schema._validation import load_schema

__all__ = ["register"]

_SCHEMA_SUFFIX = ".schema.json"


def register(commands: Commands) -> None:
    """Add the ``schema parquet``, ``schema check`` and ``schema diff`` subcommands."""
    parquet = commands.schema.add_parser(
        "parquet",
        help="write the Hindsight Parquet message-type text of schemas",
        description=(
            "Write <doctype>.<version>.parquetmr.txt for each Ping class in TARGET (a module or "
            ".py file), or for TARGET itself when it is a <doctype>.<version>.schema.json file."
        ),
    )
    parquet.add_argument("target", metavar="TARGET")
    parquet.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: the current directory for Ping classes, laid out as "
        "the schema repository; beside the file for a .schema.json TARGET)",
    )
    parquet.add_argument(
        "--no-metadata",
        action="store_true",
        help="leave out the pipeline's metadata group",
    )
    parquet.set_defaults(func=_parquet)

    check = commands.schema.add_parser(
        "check",
        help="fail on breaking changes against a schema-repository checkout",
        description=(
            "Compare the exported schema of each Ping class in TARGET with the file at the same "
            "path in a mozilla-pipeline-schemas checkout. Exit 1 on a breaking change for the "
            "same version; a missing file is a new schema and passes. Changes marked 'review' "
            "are printed but do not fail the check."
        ),
    )
    check.add_argument("target", metavar="TARGET")
    check.add_argument(
        "--repo", type=Path, required=True, metavar="DIR", help="schema-repository checkout"
    )
    check.set_defaults(func=_check)

    diff = commands.schema.add_parser(
        "diff",
        help="list the differences between two schema files",
        description=(
            "Print every difference (BREAKING, review or compatible); exit 1 if any is "
            "breaking. 'review' marks a pattern change pingsdk cannot decide (a pattern that "
            "is not a regular expression); it does not fail the command."
        ),
    )
    diff.add_argument("old", type=Path, metavar="OLD.json")
    diff.add_argument("new", type=Path, metavar="NEW.json")
    diff.set_defaults(func=_diff)


def _schema_file_identity(path: Path) -> tuple[str, int]:
    """``(doctype, version)`` from ``<doctype>.<version>.schema.json``."""
    stem = path.name[: -len(_SCHEMA_SUFFIX)]
    doctype, _, version_text = stem.rpartition(".")
    version = parse_version(version_text)
    if not doctype or version is None:
        raise ConfigurationError(f"{path}: expected a file named <doctype>.<version>.schema.json")
    return doctype, version


def _ping_schemas(target: str) -> Iterator[tuple[str, int, Path, dict[str, Any]]]:
    """``(doctype, version, repository path, schema)`` for each Ping class in ``target``."""
    from pingsdk.schema import export_schema, schema_path

    for cls in load_pings(target):
        info = cls.ping_info()
        yield info.doctype, info.version, Path(schema_path(info)), export_schema(cls)


def _parquet(args: argparse.Namespace) -> int:
    target: str = args.target
    jobs: list[tuple[str, Path, dict[str, Any]]] = []
    if target.endswith(_SCHEMA_SUFFIX):
        path = Path(target)
        doctype, version = _schema_file_identity(path)
        out_dir = args.out if args.out is not None else path.parent
        jobs.append((doctype, out_dir / parquet_file_name(doctype, version), load_schema(path)))
    else:
        base = args.out if args.out is not None else Path()
        for doctype, version, rel, schema in _ping_schemas(target):
            jobs.append((doctype, base / rel.parent / parquet_file_name(doctype, version), schema))
    for doctype, out, schema in jobs:
        text = parquet_schema(schema, name=doctype, metadata=not args.no_metadata)
        for note in parquet_schema_notes(schema, name=doctype):
            print(f"pingsdk: warning: {out.name}: {note}", file=sys.stderr)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(out)
    return 0


def _report(label: str, changes: list[SchemaChange]) -> int:
    """Print the changes; the number of breaking ones."""
    for change in changes:
        print(f"{label}: {change}")
    return sum(change.breaking for change in changes)


def _check(args: argparse.Namespace) -> int:
    repo: Path = args.repo
    if not repo.is_dir():
        raise ConfigurationError(f"--repo {repo}: no such directory")
    if args.target.endswith(_SCHEMA_SUFFIX):
        raise ConfigurationError(
            "schema check compares Ping classes (a module or .py file); "
            "compare two schema files with: pingsdk schema diff OLD.json NEW.json"
        )
    failed = []
    for doctype, version, rel, schema in _ping_schemas(args.target):
        existing = repo / rel
        label = str(rel)
        if not existing.is_file():
            print(f"{label}: new schema (no file in {repo}): ok")
            continue
        changes = compare_schemas(load_schema(existing), schema)
        breaking = _report(label, changes)
        if breaking:
            failed.append(f"{doctype} version {version}")
            print(
                f"{label}: {breaking} breaking change(s) to a deployed schema: declare "
                f"version={version + 1} (a new schema file) instead of changing version "
                f"{version}",
                file=sys.stderr,
            )
        elif any(change.review for change in changes):
            print(f"{label}: {_summary(changes)}: ok, but review the changes marked 'review'")
        else:
            print(f"{label}: {'compatible' if changes else 'unchanged'}: ok")
    if failed:
        print(f"pingsdk: schema check failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _diff(args: argparse.Namespace) -> int:
    changes = compare_schemas(load_schema(args.old), load_schema(args.new))
    for change in changes:
        print(change)
    if not changes:
        print("no differences")
    else:
        print(_summary(changes))
    return 1 if any(change.breaking for change in changes) else 0


def _summary(changes: list[SchemaChange]) -> str:
    """``"N breaking, N compatible change(s)"``, with ``N to review`` when there are some."""
    breaking = sum(change.breaking for change in changes)
    review = sum(change.review for change in changes)
    compatible = len(changes) - breaking - review
    middle = f"{review} to review, " if review else ""
    return f"{breaking} breaking, {middle}{compatible} compatible change(s)"
