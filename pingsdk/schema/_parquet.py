"""The Hindsight ``parquet_schema`` message-type text of a JSON schema (the old Parquet output).

The repository kept one ``<doctype>.<version>.parquetmr.txt`` beside some telemetry schemas, in
parquet-mr's message-type grammar. This module derives that text from any JSON schema: objects
become groups, maps become ``(MAP)`` groups, arrays become ``(LIST)`` groups, and the pipeline's
``metadata`` group (as in ``core.9.parquetmr.txt``) is put first.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from pingsdk._exceptions import SchemaExportError
from pingsdk.schema._reading import declared_types, iter_properties, resolve_ref

__all__ = ["METADATA_FIELDS", "parquet_file_name", "parquet_schema", "parquet_schema_notes"]

METADATA_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("required", "binary", "documentId"),
    ("required", "int64", "Timestamp"),
    ("optional", "binary", "Date"),
    ("optional", "binary", "geoCountry"),
    ("optional", "binary", "geoCity"),
    ("optional", "binary", "appBuildId"),
    ("optional", "binary", "normalizedChannel"),
)
"""The ``metadata`` group of the old output, as in ``core.9.parquetmr.txt``:
``(repetition, primitive, name)``; every ``binary`` column is ``(UTF8)``."""

# Parquet-mr names end at whitespace and at the grammar's punctuation.
_NAME = re.compile(r"^[^\s;{}()]+$")
_PRIMITIVES = {"string": "binary", "integer": "int64", "number": "double", "boolean": "boolean"}
_MAX_DEPTH = 64


@dataclasses.dataclass
class _Node:
    repetition: str
    name: str
    primitive: str | None = None  # None for a group
    annotation: str | None = None
    children: list[_Node] = dataclasses.field(default_factory=list)

    def render(self, indent: int, lines: list[str]) -> None:
        pad = "  " * indent
        note = f" ({self.annotation})" if self.annotation else ""
        if self.primitive is not None:
            lines.append(f"{pad}{self.repetition} {self.primitive} {self.name}{note};")
            return
        lines.append(f"{pad}{self.repetition} group {self.name}{note} {{")
        for child in self.children:
            child.render(indent + 1, lines)
        lines.append(f"{pad}}}")


def _text(repetition: str, name: str) -> _Node:
    return _Node(repetition, name, "binary", "UTF8")


class _Converter:
    def __init__(self, root: Mapping[str, Any], name: str) -> None:
        self.root = root
        self.name = name
        self.notes: list[str] = []

    def fail(self, path: str, message: str) -> SchemaExportError:
        return SchemaExportError(f"{self.name}: {path}: {message}", ping=self.name, field=path)

    def fields(self, schema: Mapping[str, Any], path: str, depth: int) -> list[_Node]:
        nodes = []
        for key, sub, required in iter_properties(schema, self.root):
            where = f"{path}.{key}" if path else key
            if not _NAME.fullmatch(key):
                raise self.fail(
                    where, "a Parquet field name cannot contain whitespace, ';', '{', '}', '(', ')'"
                )
            nullable = "null" in (declared_types(sub) or ())
            repetition = "required" if required and not nullable else "optional"
            nodes.append(self.node(sub, key, repetition, where, depth + 1))
        return nodes

    def node(
        self, schema: Mapping[str, Any], name: str, repetition: str, path: str, depth: int
    ) -> _Node:
        if depth > _MAX_DEPTH:
            return self.json_text(name, repetition, path, "recursive definition")
        kind = self.kind(schema)
        if kind in _PRIMITIVES:
            annotation = "UTF8" if kind == "string" else None
            return _Node(repetition, name, _PRIMITIVES[kind], annotation)
        if kind == "object":
            return self.object(schema, name, repetition, path, depth)
        if kind == "array":
            return self.array(schema, name, repetition, path, depth)
        return self.json_text(name, repetition, path, kind)

    def kind(self, schema: Mapping[str, Any]) -> str:
        """One JSON type for the column, or a reason it has none."""
        types = declared_types(schema)
        if types is not None:
            core = types - {"null"}
            if core == {"integer", "number"}:
                return "number"  # every integer is a number: one double column holds both
            if len(core) == 1:
                return next(iter(core))
            return "a union of types" if core else "only null"
        if "properties" in schema or isinstance(schema.get("additionalProperties"), Mapping):
            return "object"
        if "items" in schema:
            return "array"
        values = schema.get("enum")
        if isinstance(values, list) and values:
            kinds = {_json_type(v) for v in values} - {"null"}
            if len(kinds) == 1:
                return next(iter(kinds))
        return "no declared type"

    def json_text(self, name: str, repetition: str, path: str, why: str) -> _Node:
        self.notes.append(f"{path}: stored as JSON text in a binary (UTF8) column ({why})")
        return _text(repetition, name)

    def object(
        self, schema: Mapping[str, Any], name: str, repetition: str, path: str, depth: int
    ) -> _Node:
        children = self.fields(schema, path, depth)
        if children:
            extra = schema.get("additionalProperties")
            if (isinstance(extra, Mapping) and extra) or schema.get("patternProperties"):
                self.notes.append(f"{path}: keys beyond its declared properties are not stored")
            return _Node(repetition, name, children=children)
        value = _map_value(schema)
        if value is None:
            return self.json_text(name, repetition, path, "an object without declared properties")
        value = resolve_ref(value, self.root)
        value_schema: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        nullable = "null" in (declared_types(value_schema) or ())
        value_node = self.node(
            value_schema, "value", "optional" if nullable else "required", path + ".*", depth + 1
        )
        key_value = _Node("repeated", "key_value", children=[_text("required", "key"), value_node])
        return _Node(repetition, name, annotation="MAP", children=[key_value])

    def array(
        self, schema: Mapping[str, Any], name: str, repetition: str, path: str, depth: int
    ) -> _Node:
        items = schema.get("items")
        if isinstance(items, list):
            return self.json_text(name, repetition, path, "a tuple")
        item = resolve_ref(items, self.root) if items is not None else {}
        item_schema: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
        nullable = "null" in (declared_types(item_schema) or ())
        element = self.node(
            item_schema, "element", "optional" if nullable else "required", path + "[]", depth + 1
        )
        wrapper = _Node("repeated", "list", children=[element])
        return _Node(repetition, name, annotation="LIST", children=[wrapper])


def _map_value(schema: Mapping[str, Any]) -> Any:
    """The value schema of a map object, or ``None`` when the object is not a map."""
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        return extra
    patterns = schema.get("patternProperties")
    if isinstance(patterns, Mapping) and patterns:
        values = list(patterns.values())
        if all(v == values[0] for v in values):
            return values[0]
    return None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "a non-scalar enum"


def _convert(json_schema: Mapping[str, Any], name: str, metadata: bool) -> tuple[_Node, list[str]]:
    if not _NAME.fullmatch(name):
        raise SchemaExportError(
            f"{name!r} cannot name a Parquet message (no whitespace, ';', braces or parentheses)",
            ping=name,
        )
    converter = _Converter(json_schema, name)
    message = _Node("message", name)
    if metadata:
        if "metadata" in (json_schema.get("properties") or {}):
            raise converter.fail(
                "metadata",
                "a top-level field named 'metadata' clashes with the pipeline's metadata group; "
                "rename the field or leave the metadata group out (metadata=False)",
            )
        group = _Node("required", "metadata")
        for repetition, primitive, field in METADATA_FIELDS:
            annotation = "UTF8" if primitive == "binary" else None
            group.children.append(_Node(repetition, field, primitive, annotation))
        message.children.append(group)
    message.children.extend(converter.fields(json_schema, "", 0))
    return message, converter.notes


def parquet_schema(json_schema: Mapping[str, Any], *, name: str, metadata: bool = True) -> str:
    """The parquet-mr message-type text Hindsight's ``parquet_schema`` used for this schema.

    Mapping: ``string`` (any ``format``, including ``date-time``) -> ``binary (UTF8)``,
    ``integer`` -> ``int64``, ``number`` -> ``double``, ``boolean`` -> ``boolean``; an object
    with ``properties`` -> a group; an object whose values are described only by
    ``additionalProperties`` (or one ``patternProperties`` schema) -> a ``(MAP)`` group with
    ``key_value``/``key``/``value``; an array -> a ``(LIST)`` group with ``list``/``element``. A
    field is ``required`` when its parent lists it in ``required`` and its type does not allow
    ``null``, else ``optional``; list elements and map values are ``optional`` only when their
    schema allows ``null``. What has no single column type (unions, tuples, objects without
    properties) is kept as JSON text in a ``binary (UTF8)`` column; :func:`parquet_schema_notes`
    lists those. Fields keep the schema's property order.

    Args:
        json_schema: a JSON schema (local ``$ref`` s are followed).
        name: the message name, by convention the doctype.
        metadata: put the pipeline's ``metadata`` group (:data:`METADATA_FIELDS`) first.

    Returns:
        The text, with two-space indentation and a trailing newline.

    Raises:
        SchemaExportError: a name the grammar cannot hold, or a top-level ``metadata`` field
            while ``metadata`` is true.

    Example:
        >>> print(parquet_schema({"properties": {"n": {"type": "integer"}}, "required": ["n"]},
        ...                      name="demo", metadata=False), end="")
        message demo {
          required int64 n;
        }
    """
    message, _ = _convert(json_schema, name, metadata)
    lines = [f"message {name} {{"]
    for child in message.children:
        child.render(1, lines)
    lines.append("}")
    return "\n".join(lines) + "\n"


def parquet_schema_notes(json_schema: Mapping[str, Any], *, name: str = "schema") -> list[str]:
    """Where :func:`parquet_schema` loses structure: fields kept as JSON text, keys dropped.

    Each note starts with the dotted field path (``[]`` for list elements, ``.*`` for map
    values).
    """
    _, notes = _convert(json_schema, name, metadata=False)
    return notes


def parquet_file_name(doctype: str, version: int) -> str:
    """The repository's file name for the text: ``<doctype>.<version>.parquetmr.txt``."""
    return f"{doctype}.{version}.parquetmr.txt"
