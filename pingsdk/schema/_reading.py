"""Reading JSON schemas: the keyword tables, local ``$ref`` s, declared types and properties.

Shared by schema evolution, the Parquet schema and the data review text, and by the CLI to
tell a schema from a payload (:func:`not_a_schema`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from pingsdk.schema._validation import schema_validator

__all__ = [
    "ANNOTATIONS",
    "KEYWORDS",
    "declared_types",
    "iter_properties",
    "not_a_schema",
    "resolve_ref",
]

# Keywords that document a schema but never change what validates or which columns exist.
ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "$comment",
        "comment",
        "examples",
        "default",
        "readOnly",
        "writeOnly",
        "$id",
        "id",
        "deprecated",
    }
)
# Every keyword of JSON Schema drafts 4 to 2020-12. A member outside this set (``processData``,
# a root-level ``name``) is ignored by validators and by the transpiler: an annotation.
KEYWORDS = frozenset(
    {
        *("$schema", "$id", "id", "$ref", "$comment", "$defs", "definitions", "$anchor"),
        *("$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "$vocabulary"),
        *("title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated"),
        *("type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum"),
        *("exclusiveMinimum", "maxLength", "minLength", "pattern", "format", "contentEncoding"),
        *("contentMediaType", "contentSchema", "items", "additionalItems", "prefixItems"),
        *("maxItems", "minItems", "uniqueItems", "contains", "maxContains", "minContains"),
        *("unevaluatedItems", "properties", "patternProperties", "additionalProperties"),
        *("required", "maxProperties", "minProperties", "dependencies", "dependentRequired"),
        *("dependentSchemas", "propertyNames", "unevaluatedProperties", "allOf", "anyOf"),
        *("oneOf", "not", "if", "then", "else"),
    }
)


def not_a_schema(document: object) -> str | None:
    """Why ``document`` is not a JSON Schema (a payload, say), or ``None`` when it is one.

    A schema has at least one top-level member that is a JSON Schema keyword beyond the
    annotations (``type``, ``properties``, ``$schema``, ...), and is valid under its declared
    draft's metaschema (draft-04 when undeclared).

    >>> not_a_schema({"type": "object", "properties": {}}) is None
    True
    >>> not_a_schema({"clientId": "x", "count": 3})
    'none of its top-level members (clientId, count) is a JSON Schema keyword'
    """
    if not isinstance(document, Mapping):
        return "it is not a JSON object"
    if not (set(document) & (KEYWORDS - ANNOTATIONS)):
        members = ", ".join(sorted(str(k) for k in document)[:5]) or "none"
        return f"none of its top-level members ({members}) is a JSON Schema keyword"
    validator = schema_validator(document)
    try:
        type(validator).check_schema(dict(document))
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        return f"it is not valid under its draft's metaschema at {where}: {exc.message}"
    return None


def declared_types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The ``type`` keyword as a set (``None`` when the schema declares no type).

    >>> sorted(declared_types({"type": ["string", "null"]}) or ())
    ['null', 'string']
    """
    declared = schema.get("type")
    if declared is None:
        return None
    if isinstance(declared, str):
        return frozenset({declared})
    return frozenset(t for t in declared if isinstance(t, str))


def resolve_ref(schema: Any, root: Mapping[str, Any]) -> Any:
    """Follow local ``$ref`` s (``#/definitions/x``, ``#/$defs/x``) from ``schema`` within ``root``.

    Remote or broken references, and reference cycles, are returned unresolved.
    """
    seen: set[str] = set()
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref: str = schema["$ref"]
        if not ref.startswith("#") or ref in seen:
            return schema
        seen.add(ref)
        target: Any = root
        for raw in ref[1:].split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                return schema
            target = target[part]
        schema = target
    return schema


def iter_properties(
    schema: Mapping[str, Any], root: Mapping[str, Any]
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """``(name, resolved subschema, required)`` for each property of an object schema."""
    required = set(schema.get("required") or ())
    for name, sub in (schema.get("properties") or {}).items():
        resolved = resolve_ref(sub, root)
        yield name, resolved if isinstance(resolved, Mapping) else {}, name in required
