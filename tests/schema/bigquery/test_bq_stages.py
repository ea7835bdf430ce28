"""The transpiler's three stages each do their own part, and compose into bigquery_schema (#9)."""

from __future__ import annotations

from typing import Any

from pingsdk.schema import DroppedField, bigquery_schema
from pingsdk.schema._bigquery._columns import to_columns
from pingsdk.schema._bigquery._normalize import normalize
from pingsdk.schema._bigquery._tree import Context, type_tree

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "clientId": {"type": ["integer", "number", "null"]},
        "extra": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["clientId"],
}


def _context(resolve: Any) -> Context:
    return Context(
        normalize_case=True,
        force_nullable=False,
        tuple_struct=True,
        resolve=resolve,
        json_path=None,
    )


def test_the_type_tree_keeps_names_and_unions() -> None:
    tree = type_tree(SCHEMA, _context("drop"))
    assert sorted(tree.fields) == ["clientId", "extra"]
    union = tree.fields["clientId"]
    assert union.kind == "union"
    assert [m.atom or m.kind for m in union.items] == ["integer", "number", "null"]
    assert tree.fields["extra"].why == "anyOf is not translated by the transpiler"


def test_normalize_renames_and_collapses_and_columns_drop_or_cast() -> None:
    for resolve, expected_extra in (("drop", []), ("cast", [("extra", "STRING")])):
        ctx = _context(resolve)
        tree = type_tree(SCHEMA, ctx)
        early: list[DroppedField] = []
        normalize(tree, ctx, early)
        assert early == []
        assert sorted(tree.fields) == ["client_id", "extra"]
        client_id = tree.fields["client_id"]
        assert (client_id.kind, client_id.atom, client_id.nullable) == ("atom", "number", True)

        fields, dropped, cast = to_columns(tree, ctx)
        columns = [(f["name"], f["type"]) for f in fields]
        assert columns == [("client_id", "FLOAT64"), *expected_extra]
        reason = DroppedField("extra", "anyOf is not translated by the transpiler")
        assert (dropped, cast) == (([reason], []) if resolve == "drop" else ([], [reason]))

        whole = bigquery_schema(SCHEMA, metadata=None, force_nullable=False, resolve=resolve)
        assert whole.fields == fields
        assert (whole.dropped, whole.cast) == (dropped, cast)
