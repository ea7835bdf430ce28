"""bigquery_schema: modes, dropped-field reports, metadata, tuples, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pingsdk import ConfigurationError
from pingsdk.schema import BigQueryResult, DroppedField, bigquery_schema, render_bq
from pingsdk.schema._bigquery import ingestion_metadata_schema

DOC: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "clientId": {"type": "string", "description": "A UUID"},
        "count": {"type": "integer"},
        "either": {"type": ["string", "integer"]},
        "extra": {"type": "object"},
        "choice": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "linked": {"$ref": "#/definitions/x"},
        "pair": {
            "type": "array",
            "items": [{"type": "string"}, {"type": "number"}],
            "additionalItems": False,
        },
        "$schema": {"type": "string"},
    },
    "required": ["clientId", "count"],
}


def _names(result: BigQueryResult) -> list[str]:
    return [f["name"] for f in result.fields]


def test_production_drops_untypeable_fields_and_says_why() -> None:
    result = bigquery_schema(DOC, metadata=None)
    assert _names(result) == ["client_id", "count", "pair"]
    reasons = {d.path: d.reason for d in result.dropped}
    assert set(reasons) == {"$schema", "choice", "either", "extra", "linked"}
    assert "anyOf" in reasons["choice"]
    assert "$ref" in reasons["linked"]
    assert "integer" in reasons["either"] and "string" in reasons["either"]
    assert "neither properties nor additionalProperties" in reasons["extra"]
    assert "column name" in reasons["$schema"]
    assert all(f["mode"] == "NULLABLE" for f in result.fields)
    assert result.cast == []


def test_production_tuples_are_f0_records() -> None:
    pair = bigquery_schema(DOC, metadata=None).fields[-1]
    assert pair == {
        "name": "pair",
        "type": "RECORD",
        "mode": "NULLABLE",
        "fields": [
            {"name": "f0_", "type": "STRING", "mode": "NULLABLE"},
            {"name": "f1_", "type": "FLOAT64", "mode": "NULLABLE"},
        ],
    }


def test_transpiler_defaults_cast_to_string_and_keep_required() -> None:
    result = bigquery_schema(DOC, production=False)
    by_name = {f["name"]: f for f in result.fields}
    assert set(by_name) == {"clientId", "count", "either", "extra", "choice", "linked", "pair"}
    assert by_name["clientId"] == {
        "name": "clientId",
        "type": "STRING",
        "mode": "REQUIRED",
        "description": "A UUID",
    }
    assert by_name["either"]["type"] == "STRING"
    assert by_name["pair"]["type"] == "STRING"  # no tuple structs by default
    assert {d.path for d in result.cast} == {"choice", "either", "extra", "linked", "pair"}
    assert [d.path for d in result.dropped] == ["$schema"]


def test_each_setting_can_be_overridden() -> None:
    result = bigquery_schema(DOC, production=False, normalize_case=True, resolve="drop")
    assert _names(result) == ["client_id", "count"]
    assert result.fields[0]["mode"] == "REQUIRED"


def test_dropped_field_paths_use_the_original_names() -> None:
    schema = {
        "type": "object",
        "properties": {
            "fooBar": {
                "type": "object",
                "properties": {"deepList": {"type": "array", "items": {"type": "object"}}},
            },
            "byKey": {"type": "object", "additionalProperties": {"type": "object"}},
        },
    }
    result = bigquery_schema(schema, metadata=None)
    assert result.fields == []
    assert [str(d) for d in result.dropped] == [
        "(document): an object without any column",
        "byKey{}: an object with neither properties nor additionalProperties/patternProperties",
        "fooBar: an object without any column",
        "fooBar.deepList[]: an object with neither properties nor "
        "additionalProperties/patternProperties",
    ]
    assert isinstance(result.dropped[0], DroppedField)


def test_renamed_collisions_are_reported() -> None:
    schema = {"type": "object", "properties": {"fooBar": {"type": "string"}, "foo_bar": {}}}
    result = bigquery_schema(schema, metadata=None)
    assert _names(result) == ["foo_bar"]
    assert result.fields[0]["type"] == "STRING"
    assert [d.path for d in result.dropped] == ["foo_bar"]


@pytest.mark.parametrize(
    ("namespace", "uri"),
    [("telemetry", True), ("my-app", False), ("eng-workflow", False)],
)
def test_metadata_columns_follow_the_namespace(namespace: str, uri: bool) -> None:
    result = bigquery_schema({"type": "object", "properties": {}}, namespace=namespace)
    names = _names(result)
    assert names == [
        "additional_properties",
        "document_id",
        "metadata",
        "normalized_app_name",
        "normalized_channel",
        "normalized_country_code",
        "normalized_os",
        "normalized_os_version",
        "sample_id",
        "submission_timestamp",
    ]
    metadata = result.fields[names.index("metadata")]
    assert ("uri" in [f["name"] for f in metadata["fields"]]) is uri
    assert result.fields[-1] == {
        "name": "submission_timestamp",
        "type": "TIMESTAMP",
        "mode": "NULLABLE",
        "description": "Time when the ingestion edge server accepted this message",
    }


def test_metadata_format_from_the_schema_without_namespace() -> None:
    schema = {"type": "object", "mozPipelineMetadata": {"bq_metadata_format": "telemetry"}}
    metadata = next(f for f in bigquery_schema(schema).fields if f["name"] == "metadata")
    assert "uri" in [f["name"] for f in metadata["fields"]]


def test_a_document_field_named_like_a_metadata_column_is_replaced() -> None:
    schema = {"type": "object", "properties": {"sample_id": {"type": "string"}}}
    result = bigquery_schema(schema, namespace="my-app")
    assert [f["type"] for f in result.fields if f["name"] == "sample_id"] == ["INT64"]
    assert [d.path for d in result.dropped] == ["sample_id"]


def test_no_metadata_for_the_metadata_namespace_or_when_asked() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert _names(bigquery_schema(schema, namespace="metadata")) == ["a"]
    assert _names(bigquery_schema(schema, namespace="x", metadata=None)) == ["a"]
    custom = {"type": "object", "properties": {"b": {"type": "boolean"}}}
    assert _names(bigquery_schema(schema, metadata=custom)) == ["a", "b"]


@pytest.mark.parametrize("kind", ["structured", "telemetry"])
def test_embedded_metadata_equals_the_repository_files(kind: str, mps_sample: Path) -> None:
    metadata = mps_sample / "schemas" / "metadata"
    path = metadata / f"{kind}-ingestion" / f"{kind}-ingestion.1.schema.json"
    assert ingestion_metadata_schema(kind) == json.loads(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]


def test_common_ping_fixes_only_for_common_pings() -> None:
    env = {
        "type": "object",
        "properties": {
            "addons": {
                "type": "object",
                "properties": {
                    "theme": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "foreignInstall": {"type": ["integer", "boolean"]},
                        },
                    }
                },
            }
        },
    }
    schema: dict[str, Any] = {
        "type": "object",
        "mozPipelineMetadata": {"bq_table": "crash_v4", "bq_metadata_format": "telemetry"},
        "properties": {"environment": env},
    }

    def theme(result: BigQueryResult) -> list[str]:
        (environment,) = [f for f in result.fields if f["name"] == "environment"]
        return [f["name"] for f in environment["fields"][0]["fields"][0]["fields"]]

    assert theme(bigquery_schema(schema, namespace="telemetry")) == ["foreign_install", "id"]
    schema["mozPipelineMetadata"]["bq_table"] = "my_ping_v1"
    assert theme(bigquery_schema(schema, namespace="telemetry")) == ["id"]
    assert theme(bigquery_schema(schema, namespace="telemetry", common_ping=True)) == [
        "foreign_install",
        "id",
    ]


def test_descriptions_titles_and_the_length_limit() -> None:
    long = "x" * 2000
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "title": "T", "description": "D"},
            "b": {"type": "integer", "title": "T"},
            "c": {"type": "integer", "description": long},
        },
    }
    fields = bigquery_schema(schema, metadata=None).fields
    assert [f.get("description") for f in fields[:2]] == ["T - D", "T"]
    assert fields[2]["description"] == "x" * 1024


def test_json_columns_from_the_pipeline_metadata() -> None:
    schema = {
        "type": "object",
        "mozPipelineMetadata": {"json_object_path_regex": "metrics\\.object\\..*"},
        "properties": {
            "metrics": {
                "type": "object",
                "properties": {
                    "object": {
                        "type": "object",
                        "properties": {"thing": {"type": "object"}},
                    }
                },
            }
        },
    }
    (metrics,) = bigquery_schema(schema, metadata=None).fields
    assert metrics["fields"][0]["fields"] == [{"name": "thing", "type": "JSON", "mode": "NULLABLE"}]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "a: an array without items"),
        ({"type": "object", "properties": {"a": {"type": "date"}}}, "unknown type 'date'"),
        (
            {"type": "array", "items": [{"type": "string"}], "maxItems": 3},
            "must set maxItems",
        ),
        (
            {"type": "array", "items": [{"type": "string"}], "additionalItems": {}, "maxItems": 0},
            "maxItems is less than its length",
        ),
    ],
)
def test_schemas_the_transpiler_rejects(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        bigquery_schema(schema)


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="regular expression"):
        bigquery_schema({"type": "string"}, json_object_path_regex="(")
    with pytest.raises(ConfigurationError, match="resolve"):
        bigquery_schema({"type": "string"}, resolve="panic")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="metadata"):
        bigquery_schema({"type": "string"}, metadata="pioneer")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="object"):
        bigquery_schema(["not", "a", "schema"])  # type: ignore[arg-type]


def test_render_bq_format() -> None:
    text = render_bq([{"name": "é", "type": "STRING", "mode": "NULLABLE"}])
    assert (
        text == '[\n  {\n    "mode": "NULLABLE",\n    "name": "é",\n    "type": "STRING"\n  }\n]\n'
    )
    assert bigquery_schema({"type": "string"}).render() == render_bq(
        [{"name": "root", "type": "STRING", "mode": "NULLABLE"}]
    )
