"""Validate payloads against a schema with the schema's declared draft, as the repository does."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import jsonschema.validators

from ._exceptions import ConfigurationError

__all__ = ["ValidationIssue", "load_schema", "schema_validator", "validate_payload"]

_DRAFTS: dict[str, type[jsonschema.protocols.Validator]] = {
    "http://json-schema.org/draft-04/schema#": jsonschema.Draft4Validator,
    "http://json-schema.org/draft-04/schema": jsonschema.Draft4Validator,
    "http://json-schema.org/draft-06/schema#": jsonschema.Draft6Validator,
    "http://json-schema.org/draft-06/schema": jsonschema.Draft6Validator,
    "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
    "http://json-schema.org/draft-07/schema": jsonschema.Draft7Validator,
}


@dataclasses.dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One reason a payload does not match its schema.

    Attributes:
        path: JSON path of the offending value, e.g. ``$.engines[2].count`` (``$`` is the root).
        message: the validator's message.
        keyword: the schema keyword that failed (``type``, ``required``, ...).
    """

    path: str
    message: str
    keyword: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read a JSON schema file; ConfigurationError if it is not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: a schema must be a JSON object")
    return data


def schema_validator(
    schema: Mapping[str, Any], *, format_check: bool = False
) -> jsonschema.protocols.Validator:
    """A validator for ``schema`` using its declared ``$schema`` draft.

    No format assertion unless ``format_check`` (the repository's tests assert none either).
    An undeclared draft falls back to draft-04, the production validator's draft.
    """
    declared = schema.get("$schema")
    cls = _DRAFTS.get(declared) if isinstance(declared, str) else None
    if cls is None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    checker = cls.FORMAT_CHECKER if format_check else None
    return cls(schema, format_checker=checker)


def json_path(parts: Sequence[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``$.a[0].b`` (keys that are not identifiers are bracket-quoted)."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def validate_payload(
    schema: Mapping[str, Any] | jsonschema.protocols.Validator,
    payload: Any,
    *,
    format_check: bool = False,
) -> list[ValidationIssue]:
    """Every way ``payload`` fails ``schema``, sorted by path; empty when valid."""
    validator = (
        schema_validator(schema, format_check=format_check)
        if isinstance(schema, Mapping)
        else schema
    )
    issues = [
        ValidationIssue(
            path=json_path(list(err.absolute_path)),
            message=err.message,
            keyword=str(err.validator),
        )
        for err in validator.iter_errors(payload)
    ]
    return sorted(issues, key=lambda i: (i.path, i.keyword, i.message))
