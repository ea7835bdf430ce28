"""``pingsdk validate``: payloads against a schema, or a whole schema-repository tree."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jsonschema

from pingsdk import ConfigurationError
from pingsdk._cli import Commands
from pingsdk.schema import validate_payload, validate_repository
from pingsdk.schema._validation import load_schema, schema_validator

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``pingsdk validate``."""
    parser = commands.top.add_parser(
        "validate",
        help="validate payloads against a schema, or a schema repository's examples",
        description=(
            "pingsdk validate SCHEMA.json PAYLOAD.json...: validate each payload with the "
            "schema's declared draft. pingsdk validate --repo DIR: run every "
            "validation/<ns>/<doctype>.<v>.<name>.<pass|fail>.json against its schema, as the "
            "schema repository's tests do. Exit status 1 if anything is invalid."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="SCHEMA.json PAYLOAD.json...")
    parser.add_argument("--repo", metavar="DIR", help="a schema-repository root")
    parser.add_argument(
        "--format-check",
        action="store_true",
        help="also assert 'format' keywords (the repository's tests do not)",
    )
    parser.set_defaults(func=_validate)


def _validate(args: argparse.Namespace) -> int:
    if args.repo is not None:
        if args.files:
            raise ConfigurationError(
                "give either --repo DIR or SCHEMA.json PAYLOAD.json..., not both"
            )
        return _validate_repo(Path(args.repo), args.format_check)
    if len(args.files) < 2:
        raise ConfigurationError(
            "usage: pingsdk validate SCHEMA.json PAYLOAD.json... (or --repo DIR)"
        )
    return _validate_payloads(
        Path(args.files[0]), [Path(p) for p in args.files[1:]], args.format_check
    )


def _validate_repo(root: Path, format_check: bool) -> int:
    report = validate_repository(root, format_check=format_check)
    for failure in report.failures:
        print(f"FAIL {failure.path.relative_to(root)}: {failure.reason}")
    print(report.summary())
    return 0 if report.ok else 1


def _validate_payloads(schema_path: Path, payloads: list[Path], format_check: bool) -> int:
    schema = load_schema(schema_path)
    validator = schema_validator(schema, format_check=format_check)
    try:
        type(validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(
            f"{schema_path}: not a valid schema under its declared draft: {exc.message}"
        ) from None
    invalid = 0
    for path in payloads:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            invalid += 1
            print(f"{path}: invalid: not JSON ({exc})")
            continue
        issues = validate_payload(validator, payload)
        if issues:
            invalid += 1
            print(f"{path}: invalid ({len(issues)} error(s))")
            for issue in issues:
                print(f"  {issue.path}: {issue.message}")
        else:
            print(f"{path}: valid")
    return 1 if invalid else 0
