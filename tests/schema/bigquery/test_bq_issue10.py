"""#10: the main ping's simpleMeasurements, warnings about production columns a schema cannot
produce (Glean), and `schema bigquery` refusing documents that are not JSON Schemas."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from pingsdk._cli import main
from pingsdk.schema import SchemaWarning, bigquery_schema
from tests.support import SAMPLE

SIX = [
    {"mode": "NULLABLE", "name": name, "type": "INT64"}
    for name in (
        "active_ticks",
        "blank_window_shown",
        "first_paint",
        "main",
        "session_restored",
        "total_time",
    )
]


def _load(relative: str) -> dict[str, Any]:
    path = SAMPLE / relative
    if not path.is_file():
        pytest.skip(f"mps-sample not found at {SAMPLE}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _column(fields: list[dict[str, Any]], dotted: str) -> dict[str, Any] | None:
    head, _, rest = dotted.partition(".")
    for field in fields:
        if field["name"] == head:
            return _column(field["fields"], rest) if rest else field
    return None


def _main_like(table: str) -> dict[str, Any]:
    schema = copy.deepcopy(_load("schemas/telemetry/main/main.4.schema.json"))
    schema["mozPipelineMetadata"]["bq_table"] = table
    return schema


@pytest.mark.parametrize("table", ["main_v5", "first_shutdown_v5", "main_v4"])
def test_main_ping_simple_measurements(table: str) -> None:
    schema = _main_like(table)
    # The schema file declares the group without properties.
    assert schema["properties"]["payload"]["properties"]["simpleMeasurements"] == {
        "properties": {},
        "type": "object",
    }
    result = bigquery_schema(schema, namespace="telemetry")
    column = _column(result.fields, "payload.simple_measurements")
    assert column == {
        "fields": SIX,
        "mode": "NULLABLE",
        "name": "simple_measurements",
        "type": "RECORD",
    }
    assert "payload.simpleMeasurements" not in {d.path for d in result.dropped}
    # The caller's schema is not modified.
    assert schema["properties"]["payload"]["properties"]["simpleMeasurements"]["properties"] == {}


def test_simple_measurements_only_for_main_and_first_shutdown() -> None:
    schema = _main_like("crash_v4")
    result = bigquery_schema(schema, namespace="telemetry")
    assert _column(result.fields, "payload.simple_measurements") is None
    assert "payload.simpleMeasurements" in {d.path for d in result.dropped}
    # Without the generator's steps, the main ping has no such columns either.
    plain = bigquery_schema(_main_like("main_v5"), namespace="telemetry", common_ping=False)
    assert _column(plain.fields, "payload.simple_measurements") is None


def test_generic_glean_schema_warns_that_metrics_columns_are_missing() -> None:
    schema = _load("schemas/glean/glean/glean.1.schema.json")
    with pytest.warns(SchemaWarning, match="one column per metric") as caught:
        bigquery_schema(schema, namespace="glean")
    assert len(caught) == 1
    assert "pingsdk glean export" in str(caught[0].message)
    # The transpiler's own defaults describe no production table: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bigquery_schema(schema, production=False)


def _per_app(with_objects: bool, with_regex: bool) -> dict[str, Any]:
    schema = copy.deepcopy(_load("schemas/glean/glean/glean.1.schema.json"))
    counter = schema["properties"]["metrics"]["properties"]["counter"]["additionalProperties"]
    groups: dict[str, Any] = {
        "counter": {"type": "object", "properties": {"app.opened": copy.deepcopy(counter)}}
    }
    if with_objects:
        groups["object"] = {
            "type": "object",
            "properties": {
                "app.shape": {"type": "object", "properties": {"a": {"type": "string"}}}
            },
        }
    schema["properties"]["metrics"] = {"type": "object", "properties": groups}
    if not with_regex:
        del schema["mozPipelineMetadata"]["json_object_path_regex"]
    return schema


def test_per_app_glean_schema_without_json_object_path_regex_warns() -> None:
    schema = _per_app(with_objects=True, with_regex=False)
    with pytest.warns(SchemaWarning, match=r"metrics\.object: object metrics are JSON columns"):
        result = bigquery_schema(schema, namespace="my-app")
    shape = _column(result.fields, "metrics.object.app_shape")
    assert shape is not None and shape["type"] == "RECORD"
    # Declared (or passed), the columns are JSON as in production, and nothing is warned.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for declared, passed in ((True, None), (False, r"metrics\.object\..*")):
            table = bigquery_schema(
                _per_app(with_objects=True, with_regex=declared),
                namespace="my-app",
                json_object_path_regex=passed,
            )
            column = _column(table.fields, "metrics.object.app_shape")
            assert column is not None and column["type"] == "JSON"
        # An application without object metrics: the regex changes nothing.
        bigquery_schema(_per_app(with_objects=False, with_regex=False), namespace="my-app")


def test_cli_refuses_documents_that_are_not_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real telemetry payload: its "type" is a member of the ping, not a JSON Schema type.
    payload = SAMPLE / "validation/telemetry/main.4.sample.pass.json"
    if not payload.is_file():
        pytest.skip(f"mps-sample not found at {SAMPLE}")
    assert main(["schema", "bigquery", str(payload)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"pingsdk: error: {payload}: not a JSON Schema (it is not valid")
    assert "give the ping's .schema.json file" in err
    glean_payload = tmp_path / "ping.json"
    glean_payload.write_text(json.dumps({"client_info": {}, "ping_info": {}, "metrics": {}}))
    assert main(["schema", "bigquery", str(glean_payload)]) == 2
    err = capsys.readouterr().err
    assert "none of its top-level members (client_info, metrics, ping_info) is a JSON Schema" in err
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert main(["schema", "bigquery", str(listed)]) == 2
    assert "a schema must be a JSON object" in capsys.readouterr().err


def test_cli_prints_production_warnings_and_takes_the_json_regex(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "metrics.1.schema.json"
    path.write_text(json.dumps(_per_app(with_objects=True, with_regex=False)))
    assert main(["schema", "bigquery", str(path), "--namespace", "my-app"]) == 0
    out, err = capsys.readouterr()
    assert "pingsdk: warning: metrics.object: object metrics are JSON columns" in err
    assert json.loads(out)
    regex = r"metrics\.object\..*"
    argv = ["schema", "bigquery", str(path), "--namespace", "my-app"]
    assert main([*argv, "--json-object-path-regex", regex]) == 0
    out, err = capsys.readouterr()
    assert "metrics.object" not in err
    column = _column(json.loads(out), "metrics.object.app_shape")
    assert column is not None and column["type"] == "JSON"
