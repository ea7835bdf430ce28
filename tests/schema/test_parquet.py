"""Parquet message-type text: grammar, real old outputs, nested/map/list/optional fields."""

from __future__ import annotations

from pathlib import Path

import pytest

import pingsdk
from pingsdk.schema._parquet import parquet_file_name, parquet_schema, parquet_schema_notes
from tests.schema.support import load

from .parquet_grammar import Message, ParquetSyntaxError, parse

CORE9 = "schemas/telemetry/core/core.9.parquetmr.txt"
SHIELD3 = "schemas/telemetry/shield-study/shield-study.3.parquetmr.txt"

NESTED = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["id", "engine"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-f0-9-]{36}$"},
        "when": {"type": "string", "format": "date-time"},
        "ratio": {"type": ["number", "null"]},
        "flag": {"type": "boolean"},
        "engine": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": ["integer", "null"]},
            },
        },
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "labels": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "maybe": {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
        "engines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hits"],
                "properties": {"hits": {"type": "integer"}},
            },
        },
        "grid": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
    },
}

NESTED_TEXT = """\
message demo {
  required binary id (UTF8);
  optional binary when (UTF8);
  optional double ratio;
  optional boolean flag;
  required group engine {
    required binary name (UTF8);
    optional int64 version;
  }
  optional group counts (MAP) {
    repeated group key_value {
      required binary key (UTF8);
      required int64 value;
    }
  }
  optional group labels (MAP) {
    repeated group key_value {
      required binary key (UTF8);
      optional binary value (UTF8);
    }
  }
  optional group tags (LIST) {
    repeated group list {
      required binary element (UTF8);
    }
  }
  optional group maybe (LIST) {
    repeated group list {
      optional int64 element;
    }
  }
  optional group engines (LIST) {
    repeated group list {
      required group element {
        required int64 hits;
      }
    }
  }
  optional group grid (LIST) {
    repeated group list {
      required group element (LIST) {
        repeated group list {
          required double element;
        }
      }
    }
  }
}
"""


def test_real_old_outputs_parse(mps_sample: Path) -> None:
    core = parse((mps_sample / CORE9).read_text())
    assert core.name == "core"
    assert core.field("searches").annotation == "MAP"
    assert core.field("experiments").annotation == "LIST"
    shield = parse((mps_sample / SHIELD3).read_text())
    assert shield.name == "shield-study"
    assert shield.field("payload").child("data").child("attributes").annotation == "MAP"


@pytest.mark.parametrize(
    "bad",
    [
        "message m { required binary x (UTF8) }",
        "message m { required text x; }",
        "message m { mandatory int64 x; }",
        "message m { optional group g { } }",
        "message m { required int64 x (UTF8); }",
        "message m { optional group m (MAP) { repeated group kv { required int64 key; "
        "required int64 value; } } }",
        "message m { optional group l (LIST) { required group list { required int64 element; } } }",
        "message m { required int64 x; } trailing",
    ],
)
def test_grammar_parser_rejects(bad: str) -> None:
    with pytest.raises(ParquetSyntaxError):
        parse(bad)


def test_nested_map_list_optional_exact_text() -> None:
    text = parquet_schema(NESTED, name="demo", metadata=False)
    assert text == NESTED_TEXT
    assert parse(text).name == "demo"
    assert parquet_schema_notes(NESTED) == []


def test_metadata_group_is_first_and_matches_core9(mps_sample: Path) -> None:
    text = parquet_schema(NESTED, name="demo")
    ours = parse(text).fields[0]
    old = parse((mps_sample / CORE9).read_text()).field("metadata")
    assert ours.shape() == old.shape()


def _top(message: Message) -> dict[str, tuple[object, ...]]:
    return {f.name: f.shape() for f in message.fields}


# Differences between the old core.9 output and core.9.schema.json that no schema can explain:
# the old output was generated from an earlier core.9 schema plus Hindsight's own header fields.
NOT_DERIVABLE = {
    "application": "filled from the submission's application header, not from the schema",
    "metadata_appVersion": "a Hindsight header field, not in the schema",
    "searches": "old output stored map values as int32; JSON 'integer' is int64",
}


def test_core9_structure_matches_old_output(mps_sample: Path) -> None:
    schema = load(mps_sample / "schemas/telemetry/core/core.9.schema.json")
    ours = parse(parquet_schema(schema, name="core"))
    old = parse((mps_sample / CORE9).read_text())
    assert ours.name == old.name
    ours_top, old_top = _top(ours), _top(old)
    compared = 0
    for name, shape in old_top.items():
        if name in NOT_DERIVABLE:
            continue
        assert name in ours_top, f"{name} missing from our output"
        assert ours_top[name] == shape, name
        compared += 1
    assert compared == len(old_top) - len(NOT_DERIVABLE) == 22
    # The map is structurally the same; only the value's width differs.
    searches = ours.field("searches").children[0].children[1]
    assert (searches.repetition, searches.primitive) == ("required", "int64")
    assert old.field("searches").children[0].children[1].primitive == "int32"
    # Fields the old output predates still come out (fennec, os, ...).
    assert {"fennec", "os", "displayVersion"} <= set(ours_top)


def test_every_sample_schema_gives_parsable_text(mps_sample: Path) -> None:
    paths = sorted((mps_sample / "schemas").rglob("*.schema.json"))
    assert len(paths) > 30
    for path in paths:
        schema = load(path)
        has_metadata = "metadata" in (schema.get("properties") or {})
        text = parquet_schema(schema, name=path.name.split(".")[0], metadata=not has_metadata)
        message = parse(text)
        assert message.fields, path


def test_json_text_fallbacks_are_noted() -> None:
    schema = {
        "type": "object",
        "properties": {
            "either": {"type": ["string", "integer"]},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "blob": {"type": "object"},
            "anything": {},
            "kind": {"enum": ["a", "b"]},
        },
    }
    text = parquet_schema(schema, name="x", metadata=False)
    assert parse(text).field("either").annotation == "UTF8"
    assert "optional binary kind (UTF8);" in text
    notes = parquet_schema_notes(schema)
    assert [n.split(":")[0] for n in notes] == ["either", "pair", "blob", "anything"]


def test_refs_followed_and_integer_number_union_is_double() -> None:
    schema = {
        "definitions": {"engine": {"type": "object", "properties": {"n": {"type": "string"}}}},
        "properties": {
            "e": {"$ref": "#/definitions/engine"},
            "v": {"type": ["integer", "number"]},
        },
    }
    message = parse(parquet_schema(schema, name="x", metadata=False))
    assert message.field("e").child("n").primitive == "binary"
    assert message.field("v").primitive == "double"


def test_names_the_grammar_cannot_hold() -> None:
    with pytest.raises(pingsdk.schema.SchemaExportError, match="Parquet field name"):
        parquet_schema({"properties": {"a b": {"type": "string"}}}, name="x")
    with pytest.raises(pingsdk.schema.SchemaExportError, match="metadata"):
        parquet_schema({"properties": {"metadata": {"type": "string"}}}, name="x")
    with pytest.raises(pingsdk.schema.SchemaExportError):
        parquet_schema({}, name="bad name")


def test_file_name() -> None:
    assert parquet_file_name("core", 9) == "core.9.parquetmr.txt"
