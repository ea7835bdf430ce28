"""Stage 3 of the transpiler: the normalized type tree becomes BigQuery columns.

Columns are BigQuery's JSON schema form (``name``, ``type``, ``mode``, optional
``description`` and ``fields``), sorted by name at every level. A node no column type fits is
left out (``resolve="drop"``) or stored as a JSON-encoded STRING (``resolve="cast"``), and
reported either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pingsdk.schema._bigquery._result import DroppedField
from pingsdk.schema._bigquery._tree import Context, Tag, join_path

__all__ = ["to_columns"]

_ROOT_COLUMN = "root"
_MAX_DESCRIPTION = 1024
_BQ_ATOMS = {
    "boolean": "BOOL",
    "integer": "INT64",
    "number": "FLOAT64",
    "string": "STRING",
    "datetime": "TIMESTAMP",
    "bytes": "BYTES",
    "json_column": "JSON",
}


class _Unrepresentable(Exception):  # noqa: N818 - internal control flow, never escapes
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


class _Translator:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.dropped: list[DroppedField] = []
        self.cast: list[DroppedField] = []

    def unrepresentable(self, path: str, reason: str) -> dict[str, Any]:
        if self.ctx.resolve == "drop":
            raise _Unrepresentable(path, reason)
        self.cast.append(DroppedField(path, reason))
        return {"type": "STRING"}

    def column(self, tag: Tag, path: str) -> dict[str, Any]:
        """``type`` (and ``fields``) of the column for ``tag``, plus its mode and description."""
        out = self.data_type(tag, path)
        if tag.kind in ("array", "map"):
            out["mode"] = "REPEATED"
        elif tag.nullable or tag.kind == "null" or self.ctx.force_nullable:
            out["mode"] = "NULLABLE"
        else:
            out["mode"] = "REQUIRED"
        description = tag.description
        if tag.title:
            description = f"{tag.title} - {description}" if description else tag.title
        if description:
            # BigQuery refuses column descriptions longer than this.
            out["description"] = description[:_MAX_DESCRIPTION]
        return out

    def record(self, members: Iterable[tuple[str, Tag, str]]) -> list[dict[str, Any]]:
        fields = []
        for name, child, child_path in members:
            try:
                fields.append({"name": name, **self.column(child, child_path)})
            except _Unrepresentable as exc:
                self.dropped.append(DroppedField(exc.path, exc.reason))
        return sorted(fields, key=lambda f: str(f["name"]))

    def data_type(self, tag: Tag, path: str) -> dict[str, Any]:
        if tag.kind == "atom":
            if tag.atom == "json":
                return self.unrepresentable(path, tag.why or "no single type")
            return {"type": _BQ_ATOMS[tag.atom]}
        if tag.kind == "object":
            fields = self.record(
                (name, child, join_path(path, child.source or name))
                for name, child in tag.fields.items()
            )
            if not fields:
                return self.unrepresentable(path, "an object without any column")
            return {"type": "RECORD", "fields": fields}
        if tag.kind == "tuple":
            fields = self.record(
                (f"f{i}_", child, f"{path}[{i}]") for i, child in enumerate(tag.items)
            )
            if not fields:
                return self.unrepresentable(path, "a tuple without any column")
            return {"type": "RECORD", "fields": fields}
        if tag.kind == "array":
            items = tag.items[0]
            inner = self.column(items, f"{path}[]")
            if items.kind == "array":
                # BigQuery has no arrays of arrays: the inner array becomes a record's column.
                return {"type": "RECORD", "fields": [{"name": "list", **inner}]}
            inner.pop("mode")
            inner.pop("description", None)
            return inner
        if tag.kind == "map":
            key = {"mode": "NULLABLE" if self.ctx.force_nullable else "REQUIRED", "type": "STRING"}
            value = self.column(tag.items[0], f"{path}{{}}")
            return {
                "type": "RECORD",
                "fields": [{"name": "key", **key}, {"name": "value", **value}],
            }
        if tag.kind == "null":
            return self.unrepresentable(path, "only null is allowed")
        return self.unrepresentable(path, "a union left inside a merged alternative")


def to_columns(
    tree: Tag, ctx: Context
) -> tuple[list[dict[str, Any]], list[DroppedField], list[DroppedField]]:
    """The table's columns for ``tree``, with the fields dropped and those cast to STRING.

    A document that is a record gives its fields as the columns; anything else is one column
    named ``root``.
    """
    translator = _Translator(ctx)
    try:
        column = translator.column(tree, "")
    except _Unrepresentable as exc:
        translator.dropped.append(DroppedField(exc.path, exc.reason))
        return [], translator.dropped, translator.cast
    if column["type"] == "RECORD" and tree.kind not in ("array", "map"):
        return list(column["fields"]), translator.dropped, translator.cast
    return [{"name": _ROOT_COLUMN, **column}], translator.dropped, translator.cast
