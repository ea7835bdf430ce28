"""Schema comparison: each kind of breaking and compatible change, and real version pairs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from pingsdk.schema._evolution import SchemaChange, compare_schemas
from tests.schema.support import load

BASE: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-f0-9]+$", "description": "Id."},
        "count": {"type": "integer", "minimum": 0, "maximum": 100},
        "share": {"type": "number", "minimum": 0, "exclusiveMinimum": False},
        "channel": {"type": ["string", "null"], "enum": ["release", "beta", None]},
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "extra": {"type": "object", "properties": {"a": {"type": "boolean"}}},
        "when": {"type": "string", "format": "date-time"},
    },
}


def _changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with the dotted ``path`` set (``value=...`` deletes the key)."""
    schema = copy.deepcopy(BASE)
    *parents, last = path.split("/")
    target = schema
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return schema


def _only(changes: list[SchemaChange]) -> SchemaChange:
    assert len(changes) == 1, [str(c) for c in changes]
    return changes[0]


BREAKING = [
    ("properties/count", ..., "$.count", "field-removed"),
    ("properties/id/type", "integer", "$.id", "type-changed"),
    ("properties/channel/type", "string", "$.channel", "nullability-narrowed"),
    ("properties/count/type", "number", "$.count", "type-changed"),
    ("required", ["id", "count"], "$.count", "newly-required"),
    ("properties/channel/enum", ["release", None], "$.channel", "enum-narrowed"),
    ("properties/name/enum", ["a", "b"], "$.name", "enum-narrowed"),
    ("properties/count/minimum", 1, "$.count", "bound-narrowed"),
    ("properties/count/maximum", 99, "$.count", "bound-narrowed"),
    ("properties/share/exclusiveMinimum", True, "$.share", "bound-narrowed"),
    ("properties/share/maximum", 1, "$.share", "bound-narrowed"),
    ("properties/name/minLength", 2, "$.name", "bound-narrowed"),
    ("properties/name/maxLength", 10, "$.name", "bound-narrowed"),
    ("properties/tags/maxItems", 4, "$.tags", "bound-narrowed"),
    ("properties/tags/minItems", 1, "$.tags", "bound-narrowed"),
    ("properties/id/pattern", "^[a-f]+$", "$.id", "pattern-changed"),
    ("properties/name/pattern", "^x", "$.name", "pattern-changed"),
    ("properties/when/format", "date", "$.when", "format-changed"),
    ("properties/extra/additionalProperties", False, "$.extra", "closed"),
    ("additionalProperties", False, "$", "closed"),
    ("properties/counts/additionalProperties", {"type": "string"}, "$.counts.*", "type-changed"),
    ("properties/counts/additionalProperties", False, "$.counts", "closed"),
    ("properties/extra/additionalProperties", {"type": "integer"}, "$.extra.*", "map-narrowed"),
    ("properties/tags/items", {"type": "integer"}, "$.tags[*]", "type-changed"),
    ("properties/extra/properties/a/type", "string", "$.extra.a", "type-changed"),
    ("properties/tags/uniqueItems", True, "$.tags", "bound-narrowed"),
    ("properties/count/multipleOf", 2, "$.count", "bound-narrowed"),
    ("properties/id/oneOf", [{"minLength": 1}], "$.id", "keyword-changed"),
    ("$schema", "http://json-schema.org/draft-06/schema#", "$", "draft-changed"),
]


@pytest.mark.parametrize(("where", "value", "path", "kind"), BREAKING)
def test_breaking(where: str, value: Any, path: str, kind: str) -> None:
    change = _only(compare_schemas(BASE, _changed(where, value)))
    assert (change.path, change.kind, change.breaking) == (path, kind, True)
    assert str(change).startswith(f"BREAKING {path}: ")
    assert str(change).endswith("(needs a new version)")


COMPATIBLE = [
    ("properties/new", {"type": "string"}, "$.new", "field-added"),
    ("properties/channel/enum", ["release", "beta", "nightly", None], "$.channel", "enum-widened"),
    ("properties/channel/enum", ..., "$.channel", "enum-widened"),
    ("properties/count/type", ["integer", "null"], "$.count", "nullability-widened"),
    ("required", [], "$.id", "no-longer-required"),
    ("properties/count/minimum", -1, "$.count", "bound-widened"),
    ("properties/count/maximum", ..., "$.count", "bound-widened"),
    ("properties/name/maxLength", 30, "$.name", "bound-widened"),
    ("properties/tags/maxItems", ..., "$.tags", "bound-widened"),
    ("properties/id/pattern", ..., "$.id", "pattern-removed"),
    ("properties/id/description", "The id.", "$.id", "annotation-changed"),
    ("properties/counts/additionalProperties", True, "$.counts.*", "map-widened"),
    ("properties/extra/additionalProperties", True, None, None),
    ("mozPipelineMetadata", {"bq_table": "x_v1"}, "$", "metadata-changed"),
]


@pytest.mark.parametrize(("where", "value", "path", "kind"), COMPATIBLE)
def test_compatible(where: str, value: Any, path: str | None, kind: str | None) -> None:
    changes = compare_schemas(BASE, _changed(where, value))
    if kind is None:  # additionalProperties absent and true mean the same
        assert changes == []
        return
    change = _only(changes)
    assert (change.path, change.kind, change.breaking) == (path, kind, False)
    assert str(change).startswith(f"compatible {path}: ")


def test_equal_schemas_have_no_changes() -> None:
    assert compare_schemas(BASE, copy.deepcopy(BASE)) == []


def test_new_required_field_is_breaking() -> None:
    new = _changed("properties/new", {"type": "string"})
    new["required"] = ["id", "new"]
    change = _only(compare_schemas(BASE, new))
    assert (change.path, change.kind, change.breaking) == ("$.new", "field-added-required", True)


def test_rename_is_reported_as_breaking_with_a_hint() -> None:
    new = copy.deepcopy(BASE)
    new["properties"]["total"] = new["properties"].pop("count")
    changes = compare_schemas(BASE, new)
    assert [(c.path, c.kind, c.breaking) for c in changes] == [
        ("$.count", "field-renamed", True),
        ("$.total", "field-added", False),
    ]
    assert "renamed to 'total'" in changes[0].message


def test_opening_a_closed_object_is_compatible() -> None:
    old = _changed("additionalProperties", False)
    change = _only(compare_schemas(old, BASE))
    assert (change.kind, change.breaking) == ("opened", False)


def test_draft06_numeric_exclusive_bounds() -> None:
    old = {"type": "number", "exclusiveMinimum": 0}
    assert _only(compare_schemas(old, {"type": "number", "minimum": 0})).breaking is False
    assert _only(compare_schemas(old, {"type": "number", "exclusiveMinimum": 1})).breaking
    assert _only(compare_schemas({"type": "number"}, {"type": "number", "maximum": 5})).breaking


def test_refs_are_followed_on_both_sides() -> None:
    old = {
        "definitions": {"e": {"type": "object", "properties": {"n": {"type": "string"}}}},
        "properties": {"e": {"$ref": "#/definitions/e"}},
    }
    new = {"properties": {"e": {"type": "object", "properties": {"n": {"type": "integer"}}}}}
    change = _only([c for c in compare_schemas(old, new) if c.kind != "keyword-changed"])
    assert (change.path, change.kind) == ("$.e.n", "type-changed")


def test_recursive_definitions_terminate() -> None:
    tree = {
        "definitions": {
            "node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/definitions/node"}}},
            }
        },
        "$ref": "#/definitions/node",
    }
    other = copy.deepcopy(tree)
    other["definitions"]["node"]["properties"]["v"] = {"type": "string"}
    changes = compare_schemas(tree, other)
    assert ("$.v", "field-added") in [(c.path, c.kind) for c in changes]


def test_real_version_pairs(mps_sample: Path) -> None:
    core9 = load(mps_sample / "schemas/telemetry/core/core.9.schema.json")
    core10 = load(mps_sample / "schemas/telemetry/core/core.10.schema.json")
    breaking = [c for c in compare_schemas(core9, core10) if c.breaking]
    # core.10 pins "v" to 10: rightly a new version.
    assert [(c.path, c.kind) for c in breaking] == [("$.v", "enum-narrowed")]
    sync4 = load(mps_sample / "schemas/telemetry/sync/sync.4.schema.json")
    sync5 = load(mps_sample / "schemas/telemetry/sync/sync.5.schema.json")
    assert any(c.breaking for c in compare_schemas(sync4, sync5))
    for path in sorted((mps_sample / "schemas").rglob("*.schema.json")):
        schema = load(path)
        assert compare_schemas(schema, load(path)) == [], path
