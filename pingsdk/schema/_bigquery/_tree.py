"""Stage 1 of the transpiler: a JSON schema becomes a small type tree (:class:`Tag`).

The tree is the original transpiler's AST: atoms, objects, maps, arrays, tuples and unions,
each node remembering the JSON property it came from for the reports. Nothing is renamed or
collapsed here; :mod:`._normalize` does that.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal

from pingsdk._exceptions import ConfigurationError

__all__ = ["Context", "Resolve", "Tag", "join_path", "json_atom", "named", "type_tree"]

Resolve = Literal["cast", "drop"]

_SCHEMA_ATOMS = ("null", "boolean", "number", "integer", "string", "object", "array")


@dataclasses.dataclass
class Tag:
    """One node of the type tree (the transpiler's AST)."""

    kind: str  # null, atom, object, map, array, tuple, union
    atom: str = ""  # boolean integer number string datetime bytes json json_column
    fields: dict[str, Tag] = dataclasses.field(default_factory=dict)
    required: set[str] | None = None
    items: list[Tag] = dataclasses.field(default_factory=list)  # array: [items]; map: [value]
    nullable: bool = False
    description: str | None = None
    title: str | None = None
    source: str = ""  # the path segment of the original JSON property, for reports
    why: str = ""  # for json atoms: what made the schema untypeable


@dataclasses.dataclass(frozen=True)
class Context:
    """The transpiler's settings, as its command-line flags name them.

    Attributes:
        normalize_case: snake_case column names (``--normalize-case``).
        force_nullable: every non-repeated column NULLABLE (``--force-nullable``).
        tuple_struct: tuples become records of ``f0_``, ``f1_``... (``--tuple-struct``).
        resolve: ``"drop"`` leaves untypeable fields out, ``"cast"`` stores them as STRING.
        json_path: column paths matching it become JSON columns (``json_object_path_regex``).
    """

    normalize_case: bool
    force_nullable: bool
    tuple_struct: bool
    resolve: Resolve
    json_path: re.Pattern[str] | None


def json_atom(why: str, description: str | None = None, title: str | None = None) -> Tag:
    """A node no column type fits (the transpiler's JSON atom); ``why`` goes into the report."""
    return Tag("atom", "json", why=why, description=description, title=title)


def _schema_error(path: str, problem: str) -> ConfigurationError:
    where = path or "the document"
    return ConfigurationError(f"{where}: {problem}; the pipeline's transpiler rejects it")


def type_tree(schema: Any, ctx: Context) -> Tag:
    """The type tree of a document schema.

    Raises:
        ConfigurationError: the schema is something the transpiler rejects (an array without
            ``items``, an inconsistent tuple, an unknown type).
    """
    return _from_schema(schema, ctx, "")


def _from_schema(schema: Any, ctx: Context, path: str) -> Tag:
    if schema is True or schema == {}:
        return json_atom("any value is allowed (empty schema)")
    if not isinstance(schema, Mapping):
        raise _schema_error(path, "a subschema must be a JSON object")
    declared = schema.get("type")
    if isinstance(declared, list):
        # A list of types ignores `format` (the transpiler does too: a nullable date-time
        # string stays a STRING column).
        members = [_atom(schema, str(t), ctx, path) for t in declared]
        nullable = "null" in declared
        union = Tag("union", items=members, nullable=nullable)
        union.description, union.title = _text(schema, "description"), _text(schema, "title")
        return union
    if isinstance(declared, str):
        atom = declared
        if declared == "string" and schema.get("format") == "date-time":
            atom = "datetime"
        elif declared == "string" and schema.get("format") == "bytes":
            atom = "bytes"
        return _atom(schema, atom, ctx, path)
    return _atom(schema, "object", ctx, path)


def _atom(schema: Mapping[str, Any], atom: str, ctx: Context, path: str) -> Tag:
    if atom not in (*_SCHEMA_ATOMS, "datetime", "bytes"):
        raise _schema_error(path, f"unknown type {atom!r}")
    if atom == "null":
        tag = Tag("null", nullable=True)
    elif atom == "object":
        tag = _object(schema, ctx, path)
    elif atom == "array":
        tag = _array(schema, ctx, path)
    else:
        tag = Tag("atom", atom)
    tag.description, tag.title = _text(schema, "description"), _text(schema, "title")
    return tag


def _text(schema: Mapping[str, Any], key: str) -> str | None:
    value = schema.get(key)
    return value if isinstance(value, str) else None


def _object(schema: Mapping[str, Any], ctx: Context, path: str) -> Tag:
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        fields = {
            str(key): named(_from_schema(sub, ctx, join_path(path, str(key))), str(key))
            for key, sub in properties.items()
        }
        required = schema.get("required")
        return Tag(
            "object",
            fields=fields,
            required={str(r) for r in required} if isinstance(required, list) else None,
        )
    additional = schema.get("additionalProperties")
    patterns = schema.get("patternProperties")
    value_path = f"{path}{{}}"
    if isinstance(additional, Mapping):
        value = _from_schema(additional, ctx, value_path)
        if isinstance(patterns, Mapping):
            extra = [_from_schema(sub, ctx, value_path) for sub in patterns.values()]
            value = Tag("union", items=[value, *extra])
        return Tag("map", items=[named(value, "{}")])
    if isinstance(patterns, Mapping):
        if not patterns:
            return json_atom("patternProperties is empty")
        members = [_from_schema(sub, ctx, value_path) for sub in patterns.values()]
        return Tag("map", items=[named(Tag("union", items=members), "{}")])
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and one_of:
        members = [_from_schema(sub, ctx, path) for sub in one_of]
        return Tag("union", items=members, nullable=any(m.kind == "null" for m in members))
    ignored = [k for k in ("$ref", "anyOf", "allOf", "not") if k in schema]
    if ignored:
        return json_atom(
            f"{' and '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} not "
            "translated by the transpiler"
        )
    return json_atom("an object with neither properties nor additionalProperties/patternProperties")


def _array(schema: Mapping[str, Any], ctx: Context, path: str) -> Tag:
    items = schema.get("items")
    if isinstance(items, list):
        if not ctx.tuple_struct:
            return json_atom("a tuple (items given as a list) needs tuple structs")
        return _tuple(schema, items, ctx, path)
    if items is None:
        raise _schema_error(path, "an array without items")
    return Tag("array", items=[named(_from_schema(items, ctx, f"{path}[]"), "[]")])


def _tuple(schema: Mapping[str, Any], items: list[Any], ctx: Context, path: str) -> Tag:
    members = [
        named(_from_schema(sub, ctx, f"{path}[{i}]"), f"[{i}]") for i, sub in enumerate(items)
    ]
    min_items = schema.get("minItems")
    min_items = min_items if isinstance(min_items, int) else len(members)
    for member in members[min_items:]:
        member.nullable = True
    max_items = schema.get("maxItems")
    max_items = max_items if isinstance(max_items, int) else 0
    extra = schema.get("additionalItems")
    if isinstance(extra, Mapping):
        if max_items < len(members):
            raise _schema_error(path, "a tuple whose maxItems is less than its length")
        for i in range(len(members), max_items):
            member = named(_from_schema(extra, ctx, f"{path}[{i}]"), f"[{i}]")
            member.nullable = True
            members.append(member)
    elif extra is None:
        if max_items != len(members):
            raise _schema_error(
                path, "a tuple allowing additional items must set maxItems (or additionalItems)"
            )
    elif extra is not False:
        raise _schema_error(path, "a tuple with additionalItems: true")
    return Tag("tuple", items=members)


def named(tag: Tag, source: str) -> Tag:
    """``tag``, remembering ``source`` (a property name, ``[]``, ``{}``, ``[2]``) for reports."""
    tag.source = source
    return tag


def join_path(path: str, name: str) -> str:
    """The dotted path of property ``name`` under ``path`` (the document is ``""``)."""
    return f"{path}.{name}" if path else name
