"""Schema evolution: which differences between two versions of a JSON schema break deployed data.

A schema that is already in the schema repository has a BigQuery table, validation examples and
senders in the field. For the same ``(namespace, doctype, version)`` only changes that keep every
previously valid payload valid *and* keep every column are allowed; anything else needs a new
version. :func:`compare_schemas` lists every difference and classifies it; ``pattern`` changes
are decided by :mod:`pingsdk.schema._patterns`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from pingsdk.schema._patterns import compare_patterns
from pingsdk.schema._reading import ANNOTATIONS, KEYWORDS, declared_types, resolve_ref
from pingsdk.schema._validation import json_path

__all__ = ["SchemaChange", "compare_schemas"]

# Keywords handled by a dedicated rule below; any other keyword that differs is treated
# conservatively as breaking, because pingsdk cannot prove it compatible.
_HANDLED = frozenset(
    {
        "type",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "pattern",
        "format",
        "multipleOf",
        "uniqueItems",
        "required",
        "properties",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "items",
        "additionalItems",
        "$ref",
        "definitions",
        "$defs",
        "$schema",
        "mozPipelineMetadata",
    }
)
_LOWER = ("minLength", "minItems", "minProperties")
_UPPER = ("maxLength", "maxItems", "maxProperties")
_MAX_DEPTH = 64


@dataclasses.dataclass(frozen=True, slots=True)
class SchemaChange:
    """One difference between two versions of a schema.

    Attributes:
        path: where in the payload, as a JSON path: ``$`` is the root, ``.name`` a property,
            ``[*]`` the items of an array, ``[0]`` a tuple position, ``.*`` the values of a map
            (``additionalProperties``).
        kind: a stable code, e.g. ``field-removed``, ``type-changed``, ``enum-widened``.
        breaking: ``True`` when a payload valid before may fail now, or a column would change:
            such a change needs a new schema version.
        message: what changed, in words.
        review: ``True`` when pingsdk cannot decide (a ``pattern`` that is not a regular
            expression): not breaking, but a person should check it. Added in 0.2.

    Added in 0.1.
    """

    path: str
    kind: str
    breaking: bool
    message: str
    review: bool = False

    def __str__(self) -> str:
        if self.breaking:
            return f"BREAKING {self.path}: {self.message} (needs a new version)"
        if self.review:
            return f"review {self.path}: {self.message} (pingsdk cannot decide; check by hand)"
        return f"compatible {self.path}: {self.message}"


def compare_schemas(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SchemaChange]:
    """Every difference between ``old`` and ``new``, classified breaking or compatible.

    Breaking: a removed (or renamed) field, a changed type or narrowed nullability, a field newly
    required, a narrowed enum or bound (``minimum``/``maximum``, lengths, item and property
    counts), a ``pattern`` added or narrowed (some string it accepted no longer matches), a
    new or changed ``format``, an object closed (``additionalProperties`` true or absent
    becoming ``false``) or a map's value type narrowed, and any change to a keyword pingsdk
    cannot reason about (``anyOf``, ``oneOf``, ...).
    Compatible: a new optional field, a widened enum or bound, a ``pattern`` widened, rewritten
    to an equivalent one or removed, an added ``null``, a field no longer required, an opened
    object, documentation (``description``, ``title``) or ``mozPipelineMetadata`` changes, and
    members that are not JSON Schema keywords (validators and the transpiler ignore them).
    Review (:attr:`SchemaChange.review`): a ``pattern`` change that cannot be decided because a
    pattern is not a regular expression.

    Patterns are compared as languages (:func:`compare_patterns`): ``^[0-9]{2}\\.`` to
    ``^[0-9]{2,3}\\.`` is a widening, ``^\\d+$`` and ``^[0-9]+$`` are equal, also as
    ``patternProperties`` keys.

    Local ``$ref`` s (``#/definitions/...``) are followed on both sides.

    Args:
        old: the schema already deployed.
        new: the candidate for the same version.

    Returns:
        The changes in document order (breaking and compatible alike); empty when equal.

    Example:
        >>> old = {"type": "object", "properties": {"a": {"type": "string"}}}
        >>> new = {"type": "object", "properties": {"a": {"type": "integer"}}}
        >>> [str(c) for c in compare_schemas(old, new)]
        ['BREAKING $.a: type changed from string to integer (needs a new version)']
    """
    out: list[SchemaChange] = []
    if old.get("$schema") != new.get("$schema"):
        out.append(
            SchemaChange(
                "$",
                "draft-changed",
                True,
                f"declared draft changed from {old.get('$schema')!r} to {new.get('$schema')!r}",
            )
        )
    old_meta, new_meta = old.get("mozPipelineMetadata"), new.get("mozPipelineMetadata")
    if old_meta != new_meta:
        keys = _changed_keys(old_meta, new_meta)
        out.append(
            SchemaChange("$", "metadata-changed", False, f"mozPipelineMetadata changed: {keys}")
        )
    _Comparer(old, new, out).compare(old, new, "$", 0)
    return out


def _changed_keys(old: object, new: object) -> str:
    old_map = old if isinstance(old, Mapping) else {}
    new_map = new if isinstance(new, Mapping) else {}
    keys = sorted(k for k in {*old_map, *new_map} if old_map.get(k) != new_map.get(k))
    return ", ".join(keys) if keys else "(block added or removed)"


def _child(path: str, key: str) -> str:
    return path + json_path([key])[1:]


def _show(types: frozenset[str] | None) -> str:
    if not types:
        return "any"
    return " or ".join(sorted(types))


def _canon(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _enum(schema: Mapping[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _bound_candidates(schema: Mapping[str, Any], key: str) -> list[tuple[float, bool]]:
    """``(value, strict)`` pairs from ``minimum``/``maximum`` and their exclusive keyword.

    Draft-04 writes ``exclusiveMinimum: true`` beside ``minimum``; draft-06 gives the exclusive
    bound its own number.
    """
    found: list[tuple[float, bool]] = []
    excl = schema.get("exclusive" + key[0].upper() + key[1:])
    if isinstance(schema.get(key), (int, float)):
        found.append((schema[key], excl is True))
    if isinstance(excl, (int, float)) and not isinstance(excl, bool):
        found.append((excl, True))
    return found


def _lower_bound(schema: Mapping[str, Any]) -> tuple[float, bool] | None:
    """The effective lower bound as ``(value, strict)``; larger is stricter."""
    found = _bound_candidates(schema, "minimum")
    return max(found) if found else None


def _upper_bound(schema: Mapping[str, Any]) -> tuple[float, bool] | None:
    """The effective upper bound as ``(value, strict)``; smaller is stricter."""
    found = _bound_candidates(schema, "maximum")
    return min(found, key=lambda b: (b[0], not b[1])) if found else None


def _show_bound(bound: tuple[float, bool] | None, op: str) -> str:
    if bound is None:
        return "none"
    return f"{op}{'' if bound[1] else '='} {bound[0]}"


def _open(value: object) -> bool:
    return value is None or value is True or value == {}


class _Comparer:
    def __init__(self, old_root: Mapping[str, Any], new_root: Mapping[str, Any], out: list[Any]):
        self.old_root = old_root
        self.new_root = new_root
        self.out: list[SchemaChange] = out
        self.active: set[tuple[int, int]] = set()

    def add(
        self, path: str, kind: str, breaking: bool, message: str, *, review: bool = False
    ) -> None:
        self.out.append(SchemaChange(path, kind, breaking, message, review))

    def compare(self, old: Any, new: Any, path: str, depth: int) -> None:
        old = resolve_ref(old, self.old_root)
        new = resolve_ref(new, self.new_root)
        if old == new or depth > _MAX_DEPTH:
            return
        if isinstance(old, bool) or isinstance(new, bool):
            # draft-06 boolean schemas: true accepts anything, false nothing.
            old_s = {} if old is True else old
            new_s = {} if new is True else new
            if new is False:
                self.add(path, "closed", True, "schema became false: nothing validates here")
                return
            if old is False:
                self.add(path, "opened", False, "schema was false, now accepts values")
                return
            old, new = old_s, new_s
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            self.add(path, "keyword-changed", True, "schema is not an object on one side")
            return
        pair = (id(old), id(new))
        if pair in self.active:
            return  # a recursive definition already being compared
        self.active.add(pair)
        try:
            self._compare(old, new, path, depth)
        finally:
            self.active.discard(pair)

    def _compare(
        self, old: Mapping[str, Any], new: Mapping[str, Any], path: str, depth: int
    ) -> None:
        for key in sorted(ANNOTATIONS):
            if old.get(key) != new.get(key):
                self.add(path, "annotation-changed", False, f"{key} changed")
        for key in sorted({*old, *new} - ANNOTATIONS - _HANDLED - KEYWORDS):
            if old.get(key) != new.get(key):
                self.add(
                    path,
                    "annotation-changed",
                    False,
                    f"{key} changed (not a JSON Schema keyword: validators and the transpiler "
                    "ignore it)",
                )
        if not self._types(old, new, path):
            return
        self._enum(old, new, path)
        self._bounds(old, new, path)
        self._strings(old, new, path)
        self._objects(old, new, path, depth)
        self._arrays(old, new, path, depth)
        for key in sorted(({*old, *new} & KEYWORDS) - ANNOTATIONS - _HANDLED):
            if old.get(key) != new.get(key):
                self.add(
                    path,
                    "keyword-changed",
                    True,
                    f"{key} changed; pingsdk cannot prove this compatible",
                )

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> bool:
        """Report type changes; ``False`` when the structures differ too much to go deeper."""
        old_t, new_t = declared_types(old), declared_types(new)
        if old_t == new_t:
            return True
        if old_t is None or new_t is None:
            self.add(
                path, "type-changed", True, f"type changed from {_show(old_t)} to {_show(new_t)}"
            )
            return False
        old_core, new_core = old_t - {"null"}, new_t - {"null"}
        if old_core != new_core:
            self.add(
                path, "type-changed", True, f"type changed from {_show(old_t)} to {_show(new_t)}"
            )
            return False
        if "null" in old_t:
            self.add(path, "nullability-narrowed", True, "null is no longer allowed")
        else:
            self.add(path, "nullability-widened", False, "null is now allowed")
        return True

    def _enum(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_e, new_e = _enum(old), _enum(new)
        if old_e is None and new_e is None:
            return
        if new_e is None:
            self.add(path, "enum-widened", False, "enum removed: any value of the type is allowed")
            return
        if old_e is None:
            shown = ", ".join(_canon(v) for v in new_e)
            self.add(path, "enum-narrowed", True, f"values restricted to the enum [{shown}]")
            return
        old_c, new_c = {_canon(v) for v in old_e}, {_canon(v) for v in new_e}
        if old_c - new_c:
            shown = ", ".join(sorted(old_c - new_c))
            self.add(path, "enum-narrowed", True, f"enum values removed: {shown}")
        if new_c - old_c:
            shown = ", ".join(sorted(new_c - old_c))
            self.add(path, "enum-widened", False, f"enum values added: {shown}")

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_lo, new_lo = _lower_bound(old), _lower_bound(new)
        if old_lo != new_lo:
            narrowed = new_lo is not None and (old_lo is None or new_lo > old_lo)
            self._bound(
                path, "minimum", _show_bound(old_lo, ">"), _show_bound(new_lo, ">"), narrowed
            )
        old_hi, new_hi = _upper_bound(old), _upper_bound(new)
        if old_hi != new_hi:
            narrowed = new_hi is not None and (
                old_hi is None or (new_hi[0], not new_hi[1]) < (old_hi[0], not old_hi[1])
            )
            self._bound(
                path, "maximum", _show_bound(old_hi, "<"), _show_bound(new_hi, "<"), narrowed
            )
        for key in _LOWER:
            o, n = old.get(key), new.get(key)
            if o != n:
                self._bound(path, key, str(o), str(n), n is not None and (o is None or n > o))
        for key in _UPPER:
            o, n = old.get(key), new.get(key)
            if o != n:
                self._bound(path, key, str(o), str(n), n is not None and (o is None or n < o))
        o, n = old.get("multipleOf"), new.get("multipleOf")
        if o != n:
            widened = n is None or (o is not None and n != 0 and (o / n) == int(o / n))
            self._bound(path, "multipleOf", str(o), str(n), not widened)
        if bool(old.get("uniqueItems")) != bool(new.get("uniqueItems")):
            self._bound(
                path,
                "uniqueItems",
                str(bool(old.get("uniqueItems"))),
                str(bool(new.get("uniqueItems"))),
                bool(new.get("uniqueItems")),
            )

    def _bound(self, path: str, key: str, old: str, new: str, narrowed: bool) -> None:
        kind = "bound-narrowed" if narrowed else "bound-widened"
        self.add(
            path, kind, narrowed, f"{key} {'narrowed' if narrowed else 'widened'}: {old} -> {new}"
        )

    def _strings(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        o, n = old.get("pattern"), new.get("pattern")
        if o != n:
            self._pattern(path, o, n)
        o, n = old.get("format"), new.get("format")
        if o != n:
            # Validators here ignore formats, but date-time decides the column type.
            self.add(path, "format-changed", True, f"format changed from {o!r} to {n!r}")

    def _pattern(self, path: str, o: object, n: object) -> None:
        if n is None:
            self.add(path, "pattern-removed", False, f"pattern {o!r} removed")
            return
        if not isinstance(n, str) or not (o is None or isinstance(o, str)):
            self.add(path, "pattern-changed", True, f"pattern changed from {o!r} to {n!r}")
            return
        relation = compare_patterns(o, n)
        change = f"pattern {n!r} added" if o is None else f"pattern changed from {o!r} to {n!r}"
        if relation.verdict == "equal":
            self.add(path, "pattern-equivalent", False, f"{change}: it accepts the same strings")
        elif relation.verdict == "widened":
            self.add(
                path, "pattern-widened", False, f"{change}: every string it accepted still matches"
            )
        elif relation.verdict == "narrowed":
            lost = (
                f": {relation.example!r} matched before and no longer does"
                if relation.example is not None
                else ": some strings that matched no longer do"
            )
            self.add(path, "pattern-changed", True, change + lost)
        else:
            found = (
                f"; {relation.example!r} matched before and no longer does"
                if relation.example is not None
                else "; no counterexample found"
            )
            self.add(
                path, "pattern-review", False, f"{change}: {relation.reason}{found}", review=True
            )

    def _objects(
        self, old: Mapping[str, Any], new: Mapping[str, Any], path: str, depth: int
    ) -> None:
        old_props: Mapping[str, Any] = old.get("properties") or {}
        new_props: Mapping[str, Any] = new.get("properties") or {}
        old_req = set(old.get("required") or ())
        new_req = set(new.get("required") or ())
        removed = [k for k in old_props if k not in new_props]
        added = [k for k in new_props if k not in old_props]
        for key in removed:
            twins = [a for a in added if _same_shape(old_props[key], new_props[a])]
            if len(twins) == 1:
                self.add(
                    _child(path, key),
                    "field-renamed",
                    True,
                    f"field removed; renamed to {twins[0]!r}?",
                )
            else:
                self.add(_child(path, key), "field-removed", True, "field removed")
        for key in old_props:
            if key in new_props:
                self.compare(old_props[key], new_props[key], _child(path, key), depth + 1)
        for key in added:
            if key in new_req:
                self.add(_child(path, key), "field-added-required", True, "new field is required")
            else:
                self.add(_child(path, key), "field-added", False, "new optional field")
        for key in sorted(new_req - old_req):
            if key not in added:
                self.add(_child(path, key), "newly-required", True, "field is newly required")
        for key in sorted(old_req - new_req):
            if key in removed:
                continue  # already reported as removed
            self.add(_child(path, key), "no-longer-required", False, "field is no longer required")
        self._additional(old, new, path, depth)
        old_pat: Mapping[str, Any] = old.get("patternProperties") or {}
        new_pat: Mapping[str, Any] = new.get("patternProperties") or {}
        renamed: dict[str, str] = {}  # new key -> old key of the same language
        for pattern in old_pat:
            if pattern not in new_pat:
                twin = next(
                    (
                        k
                        for k in new_pat
                        if k not in old_pat
                        and k not in renamed
                        and compare_patterns(pattern, k).verdict == "equal"
                    ),
                    None,
                )
                if twin is not None:
                    renamed[twin] = pattern
        for pattern in old_pat:
            where = f"{path}.<{pattern}>"
            if pattern in new_pat:
                self.compare(old_pat[pattern], new_pat[pattern], where, depth + 1)
            elif pattern in renamed.values():
                twin = next(k for k, v in renamed.items() if v == pattern)
                self.add(
                    where,
                    "pattern-equivalent",
                    False,
                    f"pattern property key rewritten as {twin!r}, which matches the same keys",
                )
                self.compare(old_pat[pattern], new_pat[twin], where, depth + 1)
            else:
                self.add(where, "field-removed", True, "pattern property removed")
        for pattern in new_pat:
            if pattern not in old_pat and pattern not in renamed:
                closed_before = old.get("additionalProperties") is False
                self.add(
                    f"{path}.<{pattern}>",
                    "pattern-property-added",
                    not closed_before,
                    "pattern property added"
                    + ("" if closed_before else ": keys matching it are now constrained"),
                )
        self._subschema(old, new, "propertyNames", f"{path}.<keys>", depth)

    def _additional(
        self, old: Mapping[str, Any], new: Mapping[str, Any], path: str, depth: int
    ) -> None:
        if "additionalProperties" not in old and "additionalProperties" not in new:
            return
        o, n = old.get("additionalProperties"), new.get("additionalProperties")
        if o == n or (_open(o) and _open(n)):
            return
        where = path + ".*"
        if n is False:
            was = "open" if _open(o) else "a map"
            self.add(
                path,
                "closed",
                True,
                f"object closed (additionalProperties: false; was {was}): other keys now fail",
            )
        elif o is False:
            self.add(path, "opened", False, "object opened to additional properties")
        elif _open(n):
            self.add(where, "map-widened", False, "map values may now be anything")
        elif _open(o):
            self.add(
                where, "map-narrowed", True, "additional properties (map values) now constrained"
            )
        else:
            self.compare(o, n, where, depth + 1)

    def _arrays(
        self, old: Mapping[str, Any], new: Mapping[str, Any], path: str, depth: int
    ) -> None:
        o, n = old.get("items"), new.get("items")
        if isinstance(o, list) and isinstance(n, list):
            for index, (a, b) in enumerate(zip(o, n, strict=False)):
                self.compare(a, b, f"{path}[{index}]", depth + 1)
            if len(o) != len(n):
                self.add(path, "items-changed", True, f"tuple length changed: {len(o)} -> {len(n)}")
        elif isinstance(o, list) or isinstance(n, list):
            if o is not None and n is not None:
                self.add(path, "items-changed", True, "changed between a tuple and a list")
            else:
                self._subschema(old, new, "items", f"{path}[*]", depth)
        else:
            self._subschema(old, new, "items", f"{path}[*]", depth)
        self._subschema(old, new, "additionalItems", f"{path}[+]", depth)

    def _subschema(
        self, old: Mapping[str, Any], new: Mapping[str, Any], key: str, path: str, depth: int
    ) -> None:
        o, n = old.get(key), new.get(key)
        if o == n:
            return
        if n is None or n is True or n == {}:
            if not _open(o):
                self.add(path, f"{key}-widened", False, f"{key} constraint removed")
        elif o is None or o is True or o == {}:
            self.add(path, f"{key}-narrowed", True, f"{key} constraint added")
        else:
            self.compare(o, n, path, depth + 1)


def _same_shape(a: Any, b: Any) -> bool:
    """Equal apart from annotations (for guessing renames)."""
    return bool(_strip(a) == _strip(b))


def _strip(schema: Any) -> Any:
    if isinstance(schema, Mapping):
        return {k: _strip(v) for k, v in schema.items() if k not in ANNOTATIONS}
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema
