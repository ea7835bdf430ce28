"""Stage 2 of the transpiler: names, nullability and unions, on the type tree in place.

Properties get legal (in production snake_case) column names; fields that are not required
become nullable; each union collapses into one structurally compatible type, or a JSON atom
that the next stage drops or casts; paths matching ``json_object_path_regex`` become JSON
columns. The steps run in the original transpiler's order (:func:`normalize`), which decides
the outcome when a union member or a renamed property collides with another.
"""

from __future__ import annotations

import copy
import dataclasses

from pingsdk._naming import column_name
from pingsdk.schema._bigquery._result import DroppedField
from pingsdk.schema._bigquery._tree import Context, Tag, join_path, json_atom, named

__all__ = ["normalize"]


def normalize(tree: Tag, ctx: Context, dropped: list[DroppedField]) -> None:
    """Run stage 2 on ``tree``, appending the properties left out to ``dropped``.

    Names are normalized again after collapsing, because merged alternatives bring names of
    their own; nullability is inferred again because a collapse can make a field optional.
    """
    _normalize_names(tree, ctx, "", dropped)
    _infer_nullability(tree, ctx.force_nullable)
    _collapse(tree)
    _normalize_names(tree, ctx, "", dropped)
    _mark_json_columns(tree, ctx, "")
    _infer_nullability(tree, ctx.force_nullable)


def _normalize_names(tag: Tag, ctx: Context, path: str, dropped: list[DroppedField]) -> None:
    """Rename properties to legal (and, in production, snake_case) column names, recursively."""
    if tag.kind == "object":
        renamed: dict[str, Tag] = {}
        origin: dict[str, str] = {}
        for key in sorted(tag.fields):
            child = tag.fields[key]
            name = column_name(key, normalize_case=ctx.normalize_case)
            if not name:
                dropped.append(
                    DroppedField(join_path(path, child.source or key), "not a valid column name")
                )
                continue
            if name in renamed:
                # Two properties map to one column: the renamed one wins, as in the transpiler.
                keep, lose = (key, origin[name]) if key != name else (origin[name], key)
                dropped.append(
                    DroppedField(
                        join_path(path, lose), f"its column name {name!r} is taken by {keep!r}"
                    )
                )
                if keep == origin[name]:
                    continue
            renamed[name] = child
            origin[name] = key
        tag.fields = renamed
        if tag.required is not None:
            names = (column_name(r, normalize_case=ctx.normalize_case) for r in tag.required)
            tag.required = {n for n in names if n}
        for child in tag.fields.values():
            _normalize_names(child, ctx, join_path(path, child.source), dropped)
    else:
        for child in tag.items:
            _normalize_names(child, ctx, _child_path(path, child), dropped)


def _child_path(path: str, child: Tag) -> str:
    if child.source.startswith(("[", "{")):
        return f"{path}{child.source}"
    return path


def _mark_json_columns(tag: Tag, ctx: Context, path: str) -> None:
    """Turn subtrees whose column path matches ``json_object_path_regex`` into JSON columns."""
    if ctx.json_path is None:
        return
    if tag.kind == "object":
        for name, child in tag.fields.items():
            column_path = join_path(path, name)
            if ctx.json_path.search(column_path):
                child.kind, child.atom = "atom", "json_column"
                child.fields, child.items = {}, []
            else:
                _mark_json_columns(child, ctx, column_path)
    else:
        for child in tag.items:
            _mark_json_columns(child, ctx, path)


def _infer_nullability(tag: Tag, force: bool) -> None:
    if tag.kind == "null":
        tag.nullable = True
    elif tag.kind == "object":
        required = tag.required or set()
        for key, child in tag.fields.items():
            _infer_nullability(child, force)
            # A required field that may be null is still nullable.
            child.nullable |= key not in required
    else:
        for child in tag.items:
            _infer_nullability(child, force)
    if force:
        tag.nullable = True


def _collapse(tag: Tag) -> None:
    """Replace union nodes by one structurally compatible type (a JSON atom if none)."""
    if tag.kind == "object":
        for child in tag.fields.values():
            _collapse(child)
    elif tag.kind == "union":
        merged = _collapse_union(tag.items)
        tag.kind, tag.atom, tag.why = merged.kind, merged.atom, merged.why
        tag.fields, tag.required, tag.items = merged.fields, merged.required, merged.items
        tag.nullable = merged.nullable
        # A merged alternative may still hold unions of its own (an alternative that only one
        # side declares is taken as is); the pipeline's columns show them collapsed too.
        _collapse(tag)
    else:
        for child in tag.items:
            _collapse(child)


def _collapse_union(members: list[Tag]) -> Tag:
    """The transpiler's union collapse; order-dependent in the same ways as the original."""
    is_null = any(m.kind == "null" for m in members)
    if len(members) == 1:
        only = copy.deepcopy(members[0])
        return dataclasses.replace(only, nullable=is_null, description=None, title=None)
    items = [
        _collapse_union(m.items) if m.kind == "union" else m for m in members if m.kind != "null"
    ]
    nullable = is_null or any(m.nullable for m in items)
    if not items:
        merged = Tag("null")
    elif all(m.kind == "atom" for m in items):
        merged = _merge_atoms(items)
    elif all(m.kind == "object" for m in items):
        merged = _merge_objects(items)
    elif all(m.kind == "map" for m in items):
        value = _collapse_union([m.items[0] for m in items])
        merged = Tag("map", items=[named(value, "{}")])
    elif all(m.kind == "array" for m in items):
        value = _collapse_union([m.items[0] for m in items])
        merged = Tag("array", items=[named(value, "[]")])
    else:
        kinds = sorted({m.atom or m.kind for m in items})
        merged = json_atom(f"a union of incompatible types ({', '.join(kinds)})")
    merged.nullable = nullable
    _infer_nullability(merged, force=False)
    return merged


def _merge_atoms(items: list[Tag]) -> Tag:
    result = ""
    for item in items:
        if not result:
            result = item.atom
        elif {result, item.atom} == {"integer", "number"}:
            result = "number"
        elif result != item.atom or result not in ("boolean", "integer", "number", "string"):
            kinds = sorted({i.atom for i in items})
            return json_atom(f"a union of incompatible types ({', '.join(kinds)})")
    return Tag("atom", result)


def _merge_objects(items: list[Tag]) -> Tag:
    merged = copy.deepcopy(items[0])
    for right in items[1:]:
        union: dict[str, list[Tag]] = {k: [v] for k, v in merged.fields.items()}
        for key, value in right.fields.items():
            union.setdefault(key, []).append(value)
        fields = {key: named(_collapse_union(values), key) for key, values in union.items()}
        conflicts = sorted(k for k, v in fields.items() if v.kind == "atom" and v.atom == "json")
        if conflicts:
            return json_atom(f"the alternatives disagree on {', '.join(conflicts)}")
        if merged.required is not None and right.required is not None:
            required: set[str] | None = merged.required & right.required
        else:
            required = merged.required if merged.required is not None else right.required
        merged = Tag("object", fields=fields, required=required)
    return merged
