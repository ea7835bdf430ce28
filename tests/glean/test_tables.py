"""The tables of a Glean application: what mozilla-schema-generator builds, column by column.

The expected columns below are written out from the generator's rules (glean_ping.py,
generic_ping.py, probes.py, schema.py, configs/glean.yaml) for the service declared in
``data/metrics.yaml`` and ``data/pings.yaml``: each metric under ``metrics.<type>`` with its
``category.name`` (snake_cased by the transpiler), url and text metrics under ``url2`` and
``text2``, labeled metrics as repeated key/value records, events only in ``events``, nothing for
types the service does not declare.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pingsdk import ConfigurationError
from pingsdk._cli import main
from pingsdk.glean._generator_rules import RENAMED_TYPES
from pingsdk.glean._payload import sanitize_application_id
from pingsdk.glean._tables import (
    PINGSDK_FILES,
    PINGSDK_METRICS_YAML,
    PINGSDK_PINGS_YAML,
    GleanTable,
    export_glean_tables,
    glean_schemas,
    glean_tables,
    is_pingsdk_file,
    table_payload,
)
from pingsdk.schema import SchemaWarning, bigquery_schema
from pingsdk.schema._export import render_schema
from tests.support import SAMPLE

DATA = Path(__file__).resolve().parent / "data"
METRICS = DATA / "metrics.yaml"
PINGS = DATA / "pings.yaml"
MPS = SAMPLE
GLEAN_DIR = MPS / "schemas" / "glean" / "glean"
APP_ID = "org.example.ReportService"
NAMESPACE = "org-example-reportservice"

ERROR_DESCRIPTIONS = {
    "glean.error.invalid_label": "Counts the number of times a metric was set with an invalid "
    "label.\nThe labels are the `category.name` identifier of the metric.\n",
    "glean.error.invalid_overflow": "Counts the number of times a metric was set a value that "
    "overflowed.\nThe labels are the `category.name` identifier of the metric.\n",
    "glean.error.invalid_state": "Counts the number of times a timing metric was used "
    "incorrectly.\nThe labels are the `category.name` identifier of the metric.\n",
    "glean.error.invalid_value": "Counts the number of times a metric was set to an invalid "
    "value.\nThe labels are the `category.name` identifier of the metric.\n",
}

ERROR_COLUMNS = [
    line
    for name in ("label", "overflow", "state", "value")
    for line in (
        f"metrics.labeled_counter.glean_error_invalid_{name} RECORD REPEATED",
        f"metrics.labeled_counter.glean_error_invalid_{name}.key STRING NULLABLE",
        f"metrics.labeled_counter.glean_error_invalid_{name}.value INT64 NULLABLE",
    )
]

USAGE_METRIC_COLUMNS = [
    "metrics RECORD NULLABLE",
    "metrics.boolean RECORD NULLABLE",
    "metrics.boolean.service_enabled BOOL NULLABLE",
    "metrics.counter RECORD NULLABLE",
    "metrics.counter.service_requests INT64 NULLABLE",
    "metrics.custom_distribution RECORD NULLABLE",
    "metrics.custom_distribution.service_batch_size RECORD NULLABLE",
    "metrics.custom_distribution.service_batch_size.count INT64 NULLABLE",
    "metrics.custom_distribution.service_batch_size.sum INT64 NULLABLE",
    "metrics.custom_distribution.service_batch_size.values RECORD REPEATED",
    "metrics.custom_distribution.service_batch_size.values.key STRING NULLABLE",
    "metrics.custom_distribution.service_batch_size.values.value INT64 NULLABLE",
    "metrics.datetime RECORD NULLABLE",
    "metrics.datetime.service_started_at STRING NULLABLE",
    "metrics.labeled_counter RECORD NULLABLE",
    *ERROR_COLUMNS,
    "metrics.labeled_counter.service_requests_by_status RECORD REPEATED",
    "metrics.labeled_counter.service_requests_by_status.key STRING NULLABLE",
    "metrics.labeled_counter.service_requests_by_status.value INT64 NULLABLE",
    "metrics.labeled_string RECORD NULLABLE",
    "metrics.labeled_string.service_backend_versions RECORD REPEATED",
    "metrics.labeled_string.service_backend_versions.key STRING NULLABLE",
    "metrics.labeled_string.service_backend_versions.value STRING NULLABLE",
    "metrics.memory_distribution RECORD NULLABLE",
    "metrics.memory_distribution.service_response_size RECORD NULLABLE",
    "metrics.memory_distribution.service_response_size.count INT64 NULLABLE",
    "metrics.memory_distribution.service_response_size.sum INT64 NULLABLE",
    "metrics.memory_distribution.service_response_size.values RECORD REPEATED",
    "metrics.memory_distribution.service_response_size.values.key STRING NULLABLE",
    "metrics.memory_distribution.service_response_size.values.value INT64 NULLABLE",
    "metrics.quantity RECORD NULLABLE",
    "metrics.quantity.service_queue_depth INT64 NULLABLE",
    "metrics.rate RECORD NULLABLE",
    "metrics.rate.service_cache_hit_rate RECORD NULLABLE",
    "metrics.rate.service_cache_hit_rate.denominator INT64 NULLABLE",
    "metrics.rate.service_cache_hit_rate.numerator INT64 NULLABLE",
    "metrics.string RECORD NULLABLE",
    "metrics.string.service_region STRING NULLABLE",
    "metrics.string_list RECORD NULLABLE",
    "metrics.string_list.service_features STRING REPEATED",
    "metrics.text2 RECORD NULLABLE",
    "metrics.text2.service_last_error STRING NULLABLE",
    "metrics.timespan RECORD NULLABLE",
    "metrics.timespan.service_startup_time RECORD NULLABLE",
    "metrics.timespan.service_startup_time.time_unit STRING NULLABLE",
    "metrics.timespan.service_startup_time.value INT64 NULLABLE",
    "metrics.timing_distribution RECORD NULLABLE",
    "metrics.timing_distribution.service_request_duration RECORD NULLABLE",
    "metrics.timing_distribution.service_request_duration.bucket_count INT64 NULLABLE",
    "metrics.timing_distribution.service_request_duration.count INT64 NULLABLE",
    "metrics.timing_distribution.service_request_duration.histogram_type STRING NULLABLE",
    "metrics.timing_distribution.service_request_duration.overflow INT64 NULLABLE",
    "metrics.timing_distribution.service_request_duration.range FLOAT64 REPEATED",
    "metrics.timing_distribution.service_request_duration.sum INT64 NULLABLE",
    "metrics.timing_distribution.service_request_duration.time_unit STRING NULLABLE",
    "metrics.timing_distribution.service_request_duration.underflow INT64 NULLABLE",
    "metrics.timing_distribution.service_request_duration.values RECORD REPEATED",
    "metrics.timing_distribution.service_request_duration.values.key STRING NULLABLE",
    "metrics.timing_distribution.service_request_duration.values.value INT64 NULLABLE",
    "metrics.url2 RECORD NULLABLE",
    "metrics.url2.service_upstream STRING NULLABLE",
    "metrics.uuid RECORD NULLABLE",
    "metrics.uuid.service_instance_id STRING NULLABLE",
]

HEARTBEAT_METRIC_COLUMNS = [
    "metrics RECORD NULLABLE",
    "metrics.boolean RECORD NULLABLE",
    "metrics.boolean.service_enabled BOOL NULLABLE",
    "metrics.labeled_counter RECORD NULLABLE",
    *ERROR_COLUMNS,
    "metrics.quantity RECORD NULLABLE",
    "metrics.quantity.service_queue_depth INT64 NULLABLE",
    "metrics.string RECORD NULLABLE",
    "metrics.string.service_region STRING NULLABLE",
]

AUDIT_METRIC_COLUMNS = [
    "metrics RECORD NULLABLE",
    "metrics.counter RECORD NULLABLE",
    "metrics.counter.audit_actions INT64 NULLABLE",
    "metrics.labeled_counter RECORD NULLABLE",
    *ERROR_COLUMNS,
]

# The Glean schema's value schema of a labeled_counter (metrics.labeled_counter's
# additionalProperties), which the generator copies for each labeled counter.
LABELED_COUNTER = {
    "additionalProperties": {"type": "integer"},
    "propertyNames": {
        "comment": "This must be at least the length of 'category.name' metric names to "
        "support error reporting",
        "maxLength": 111,
        "type": "string",
    },
    "type": "object",
}


def _columns(fields: list[dict[str, Any]], prefix: str = "") -> Iterator[str]:
    for field in fields:
        path = f"{prefix}{field['name']}"
        yield f"{path} {field['type']} {field['mode']}"
        yield from _columns(field.get("fields", []), path + ".")


def _metric_columns(table: GleanTable) -> list[str]:
    return [line for line in _columns(table.bigquery.fields) if line.startswith("metrics")]


def _without(fields: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [field for field in fields if field["name"] != name]


@pytest.fixture(scope="module")
def tables() -> dict[str, GleanTable]:
    return glean_tables([METRICS, PINGSDK_METRICS_YAML], [PINGS, PINGSDK_PINGS_YAML], APP_ID)


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GLEAN_DIR / name).read_text(encoding="utf-8"))
    return loaded


# ---------------------------------------------------------------------------------------------
# The tables, column by column.


def test_one_table_per_declared_ping(tables: dict[str, GleanTable]) -> None:
    assert list(tables) == ["audit-log", "deletion-request", "events", "heartbeat", "usage"]
    usage = tables["usage"]
    assert usage.application_id == NAMESPACE
    assert str(usage.schema_path) == f"schemas/{NAMESPACE}/usage/usage.1.schema.json"
    assert str(usage.bq_path) == f"schemas/{NAMESPACE}/usage/usage.1.bq"


def test_usage_has_one_column_per_metric(tables: dict[str, GleanTable]) -> None:
    assert _metric_columns(tables["usage"]) == USAGE_METRIC_COLUMNS


def test_heartbeat_and_audit_log_columns(tables: dict[str, GleanTable]) -> None:
    assert _metric_columns(tables["heartbeat"]) == HEARTBEAT_METRIC_COLUMNS
    assert _metric_columns(tables["audit-log"]) == AUDIT_METRIC_COLUMNS


def test_pingsdk_pings_hold_only_the_error_counters(tables: dict[str, GleanTable]) -> None:
    # The service's event is sent in `usage`; events never get metrics columns anyway.
    for ping in ("deletion-request", "events"):
        assert _metric_columns(tables[ping]) == [
            "metrics RECORD NULLABLE",
            "metrics.labeled_counter RECORD NULLABLE",
            *ERROR_COLUMNS,
        ]


def test_metric_descriptions_become_column_descriptions(tables: dict[str, GleanTable]) -> None:
    metrics = {f["name"]: f for f in tables["usage"].bigquery.fields}["metrics"]
    by_type = {f["name"]: {c["name"]: c for c in f["fields"]} for f in metrics["fields"]}
    assert by_type["counter"]["service_requests"]["description"] == "Requests handled.\n"
    assert by_type["url2"]["service_upstream"]["description"] == (
        "The upstream the service forwards reports to.\n"
    )
    assert (
        by_type["labeled_counter"]["glean_error_invalid_value"]["description"]
        == (ERROR_DESCRIPTIONS["glean.error.invalid_value"])
    )


def test_heartbeat_metrics_schema_is_exactly_the_injected_metrics(
    tables: dict[str, GleanTable],
) -> None:
    expected = {
        "additionalProperties": False,
        "properties": {
            "boolean": {
                "type": "object",
                "properties": {
                    "service.enabled": {
                        "type": "boolean",
                        "description": "Whether the service was enabled by its configuration.\n",
                    }
                },
            },
            "labeled_counter": {
                "type": "object",
                "properties": {
                    name: {**LABELED_COUNTER, "description": description}
                    for name, description in ERROR_DESCRIPTIONS.items()
                },
            },
            "quantity": {
                "type": "object",
                "properties": {
                    "service.queue_depth": {
                        "type": "integer",
                        "description": "Requests waiting when the ping was collected.\n",
                    }
                },
            },
            "string": {
                "type": "object",
                "properties": {
                    "service.region": {
                        "type": "string",
                        "description": "The cloud region the service runs in.\n",
                    }
                },
            },
        },
        "type": "object",
    }
    assert tables["heartbeat"].schema["properties"]["metrics"] == expected


def test_everything_but_metrics_is_the_glean_schema(tables: dict[str, GleanTable]) -> None:
    # The generator changes only `metrics` (and mozPipelineMetadata): every other column is
    # the Glean schema's, with the structured ingestion metadata columns.
    for ping, base in (
        ("usage", "glean.1.schema.json"),
        ("heartbeat", "glean.1.schema.json"),
        ("deletion-request", "glean.1.schema.json"),
        ("audit-log", "glean-min.1.schema.json"),
    ):
        table = tables[ping]
        # The generic schema's metric maps are not the production table's columns (#10).
        with pytest.warns(SchemaWarning, match="one column per metric"):
            plain = bigquery_schema(_load(base), namespace=NAMESPACE).fields
        assert _without(table.bigquery.fields, "metrics") == _without(plain, "metrics"), ping
        schema = {k: v for k, v in table.schema.items() if k != "mozPipelineMetadata"}
        original = _load(base)
        original.pop("mozPipelineMetadata")
        assert {**schema, "properties": _drop(schema["properties"], "metrics")} == {
            **original,
            "properties": _drop(original["properties"], "metrics"),
        }, ping


def _drop(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def test_tables_without_info_sections_start_from_glean_min(
    tables: dict[str, GleanTable],
) -> None:
    names = [f["name"] for f in tables["audit-log"].bigquery.fields]
    assert "client_info" not in names
    assert "ping_info" not in names
    assert "client_info" in [f["name"] for f in tables["usage"].bigquery.fields]


def test_pipeline_metadata(tables: dict[str, GleanTable]) -> None:
    expected = {
        "usage": ("usage_v1", True),
        "heartbeat": ("heartbeat_v1", True),
        "audit-log": ("audit_log_v1", False),
        "deletion-request": ("deletion_request_v1", True),
        "events": ("events_v1", True),
    }
    for ping, (table, info_sections) in expected.items():
        assert tables[ping].schema["mozPipelineMetadata"] == {
            "bq_dataset_family": "org_example_reportservice",
            "bq_metadata_format": "structured",
            "bq_table": table,
            "include_info_sections": info_sections,
            "json_object_path_regex": "metrics\\.object\\..*",
        }


def test_reasons_do_not_change_the_table(tables: dict[str, GleanTable]) -> None:
    # The generator leaves ping_info.reason a free string, whatever reasons pings.yaml lists.
    reason = tables["usage"].schema["properties"]["ping_info"]["properties"]["reason"]
    assert reason == {"maxLength": 30, "type": "string"}


def test_a_ping_without_metrics_has_no_metrics_column(tmp_path: Path) -> None:
    pings = tmp_path / "pings.yaml"
    pings.write_text(
        PINGS.read_text(encoding="utf-8")
        + "\nquiet:\n  description: Nothing is sent in it.\n  include_client_id: false\n"
        "  bugs: [https://example.com/1]\n  data_reviews: [https://example.com/1]\n"
        "  notification_emails: [telemetry@example.com]\n",
        encoding="utf-8",
    )
    quiet = glean_tables([METRICS], [pings], APP_ID)["quiet"]
    assert "metrics" not in quiet.schema["properties"]
    assert "metrics" not in [f["name"] for f in quiet.bigquery.fields]


def test_object_metrics_are_json_columns_and_all_pings_reach_every_table(
    tmp_path: Path,
) -> None:
    metrics = tmp_path / "metrics.yaml"
    metrics.write_text(
        """---
$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0
app:
  everywhere:
    type: counter
    description: Sent in every ping.
    bugs: [https://example.com/1]
    data_reviews: [https://example.com/1]
    notification_emails: [a@example.com]
    expires: never
    send_in_pings: [all-pings]
  blob:
    type: object
    description: Structured data.
    bugs: [https://example.com/1]
    data_reviews: [https://example.com/1]
    notification_emails: [a@example.com]
    expires: never
    structure:
      type: array
      items:
        type: object
        properties:
          key: {type: string}
          score: {type: number}
    send_in_pings: [usage]
""",
        encoding="utf-8",
    )
    # `all-pings` is reserved for Glean's own metrics; allow_reserved reads such files.
    tables = glean_tables([metrics], [PINGS], APP_ID, allow_reserved=True)
    assert _metric_columns(tables["usage"]) == [
        "metrics RECORD NULLABLE",
        "metrics.counter RECORD NULLABLE",
        "metrics.counter.app_everywhere INT64 NULLABLE",
        "metrics.object RECORD NULLABLE",
        "metrics.object.app_blob JSON NULLABLE",
    ]
    for ping in ("heartbeat", "audit-log"):
        assert _metric_columns(tables[ping]) == [
            "metrics RECORD NULLABLE",
            "metrics.counter RECORD NULLABLE",
            "metrics.counter.app_everywhere INT64 NULLABLE",
        ]


# ---------------------------------------------------------------------------------------------
# The schemas accept what Glean sends.


def _fits(schema: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """Whether a payload only uses sections and metric types the schema has."""
    properties = schema["properties"]
    if not set(payload) <= set(properties):
        return False
    metric_types = properties.get("metrics", {}).get("properties", {})
    return set(payload.get("metrics", {})) <= set(metric_types)


def test_schemas_are_draft_06_and_accept_the_glean_examples_that_fit(
    tables: dict[str, GleanTable],
) -> None:
    examples = sorted((MPS / "validation" / "glean").glob("glean.1.*.pass.json"))
    assert examples
    fitted: dict[str, list[str]] = {}
    for ping, table in tables.items():
        jsonschema.Draft6Validator.check_schema(table.schema)
        validator = jsonschema.Draft6Validator(table.schema)
        for example in examples:
            payload = table_payload(json.loads(example.read_text(encoding="utf-8")))
            if _fits(table.schema, payload):
                errors = [e.message for e in validator.iter_errors(payload)]
                assert errors == [], (ping, example.name)
                fitted.setdefault(ping, []).append(example.name)
    # The examples using only the service's metric types (baseline and metrics use others;
    # the tests at the end declare every example's own metrics).
    assert fitted["usage"] == [
        "glean.1.activation.pass.json",
        "glean.1.bookmarks-sync.pass.json",
        "glean.1.events.pass.json",
        "glean.1.events_with_session.pass.json",
        "glean.1.history-sync.pass.json",
        "glean.1.locale.pass.json",
    ]
    assert fitted["heartbeat"] == [
        "glean.1.events.pass.json",
        "glean.1.events_with_session.pass.json",
        "glean.1.locale.pass.json",
    ]


def _glean_payload() -> dict[str, Any]:
    """A usage ping as Glean sends it, with a value for every metric of the service."""
    return {
        "ping_info": {
            "seq": 3,
            "start_time": "2026-12-02T16:00+00:00",
            "end_time": "2026-12-02T17:00+00:00",
            "reason": "scheduled",
            "experiments": {"fast-cache": {"branch": "treatment"}},
        },
        "client_info": {
            "client_id": "2d2a4b8c-3e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "first_run_date": "2026-11-30+00:00",
            "os": "Linux",
            "os_version": "6.1.0",
            "architecture": "x86_64",
            "app_build": "412",
            "app_display_version": "2.4.0",
            "app_channel": "production",
            "locale": "en-US",
            "telemetry_sdk_build": "pingsdk 0.2.0",
        },
        "metrics": {
            "boolean": {"service.enabled": True},
            "counter": {"service.requests": 1250},
            "labeled_counter": {
                "service.requests_by_status": {"2xx": 1200, "4xx": 45, "5xx": 5},
                "glean.error.invalid_value": {"service.region": 1},
            },
            "string": {"service.region": "eu-west-1"},
            "labeled_string": {"service.backend_versions": {"db": "16.2", "cache": "7.2"}},
            "string_list": {"service.features": ["fast-cache", "batch-upload"]},
            "quantity": {"service.queue_depth": 7},
            "uuid": {"service.instance_id": "0f6e2a4c-8b1d-4e3f-9a5b-7c6d5e4f3a2b"},
            "url": {"service.upstream": "https://reports.example.com/v2"},
            "text": {"service.last_error": "upstream timed out after 30 s"},
            "datetime": {"service.started_at": "2026-12-02T15:58:12+00:00"},
            "timespan": {"service.startup_time": {"time_unit": "millisecond", "value": 840}},
            "timing_distribution": {
                "service.request_duration": {"sum": 51234567, "values": {"30048": 2, "35890": 1}}
            },
            "memory_distribution": {
                "service.response_size": {"sum": 3145728, "values": {"1024": 3, "2048": 0}}
            },
            "custom_distribution": {
                "service.batch_size": {"sum": 430, "values": {"1": 0, "100": 3, "200": 1}}
            },
            "rate": {"service.cache_hit_rate": {"numerator": 930, "denominator": 1250}},
        },
        "events": [
            {
                "timestamp": 0,
                "category": "service",
                "name": "request_failed",
                "extra": {"status": "503", "route": "/reports/{id}", "retried": "true"},
            }
        ],
    }


def test_a_glean_shaped_ping_fills_one_column_per_metric(
    tables: dict[str, GleanTable],
) -> None:
    payload = _glean_payload()
    jsonschema.Draft6Validator(_load("glean.1.schema.json")).validate(payload)
    usage = tables["usage"]
    loaded = table_payload(payload)
    checker = jsonschema.Draft6Validator.FORMAT_CHECKER
    jsonschema.Draft6Validator(usage.schema, format_checker=checker).validate(loaded)
    # As sent, url and text are under their Glean names, which the table has no column for.
    assert not jsonschema.Draft6Validator(usage.schema).is_valid(payload)
    columns = set(_metric_columns(usage))
    for metric_type, values in loaded["metrics"].items():
        for name in values:
            column = f"metrics.{metric_type}.{name.replace('.', '_')}"
            assert any(line.startswith(column + " ") for line in columns), column


def test_table_payload_moves_the_renamed_types_and_keeps_the_original() -> None:
    payload = {"metrics": {"url": {"a.b": "https://x"}, "url2": {"c.d": "https://y"}}}
    assert table_payload(payload) == {"metrics": {"url2": {"c.d": "https://y", "a.b": "https://x"}}}
    assert payload == {"metrics": {"url": {"a.b": "https://x"}, "url2": {"c.d": "https://y"}}}


def test_a_metric_type_the_application_does_not_declare_is_not_in_its_table(
    tables: dict[str, GleanTable],
) -> None:
    payload = _glean_payload()
    payload["metrics"]["labeled_boolean"] = {"service.flags": {"a": True}}
    assert not jsonschema.Draft6Validator(tables["usage"].schema).is_valid(table_payload(payload))


# ---------------------------------------------------------------------------------------------
# pingsdk's own metrics.


def test_pingsdk_metrics_are_gleans_error_counters() -> None:
    from glean_parser import parser

    result = parser.parse_objects([PINGSDK_METRICS_YAML], {"allow_reserved": True})
    assert list(result) == []
    errors = result.value["glean.error"]
    assert sorted(errors) == ["invalid_label", "invalid_overflow", "invalid_state", "invalid_value"]
    for name, metric in errors.items():
        assert metric.type == "labeled_counter"
        assert metric.send_in_pings == ["all-pings"]
        assert metric.description == ERROR_DESCRIPTIONS[f"glean.error.{name}"]


def test_pingsdk_pings_are_gleans_builtin_pings() -> None:
    from glean_parser import parser

    result = parser.parse_objects([PINGSDK_PINGS_YAML], {"allow_reserved": True})
    assert list(result) == []
    pings = result.value["pings"]
    assert sorted(pings) == ["deletion-request", "events"]
    deletion = pings["deletion-request"]
    assert (deletion.include_client_id, deletion.send_if_empty) == (True, True)
    assert deletion.reason_codes == ["at_init", "set_upload_enabled"]
    assert pings["events"].reason_codes == ["inactive", "max_capacity", "startup"]
    assert set(PINGSDK_FILES) == {PINGSDK_METRICS_YAML, PINGSDK_PINGS_YAML}


def test_without_pingsdk_metrics_the_tables_have_no_error_columns() -> None:
    usage = glean_tables([METRICS], [PINGS], APP_ID)["usage"]
    assert not [line for line in _metric_columns(usage) if "glean_error" in line]


def test_a_copy_of_pingsdk_metrics_is_still_pingsdks(tmp_path: Path) -> None:
    copy = tmp_path / "vendored" / "pingsdk-metrics.yaml"
    copy.parent.mkdir()
    shutil.copyfile(PINGSDK_METRICS_YAML, copy)
    assert is_pingsdk_file(copy)
    assert not is_pingsdk_file(METRICS)
    usage = glean_tables([METRICS, copy], [PINGS], APP_ID)["usage"]
    assert set(ERROR_COLUMNS) <= set(_metric_columns(usage))


def test_shipped_glean_schemas_are_the_repository_copies() -> None:
    shipped = PINGSDK_METRICS_YAML.parent / "data"
    for name in ("glean.1.schema.json", "glean-min.1.schema.json"):
        assert (shipped / name).read_bytes() == (GLEAN_DIR / name).read_bytes(), name


# ---------------------------------------------------------------------------------------------
# Files and the command line.


def test_export_writes_the_repository_layout(tmp_path: Path, tables: dict[str, GleanTable]) -> None:
    files = [METRICS, PINGSDK_METRICS_YAML]
    pings = [PINGS, PINGSDK_PINGS_YAML]
    written = export_glean_tables(files, pings, APP_ID, tmp_path)
    relative = [str(path.relative_to(tmp_path)) for path in written]
    assert relative == [
        f"schemas/{NAMESPACE}/{ping}/{ping}.1.{ext}"
        for ping in ("audit-log", "deletion-request", "events", "heartbeat", "usage")
        for ext in ("schema.json", "bq")
    ]
    usage_dir = tmp_path / "schemas" / NAMESPACE / "usage"
    assert (usage_dir / "usage.1.bq").read_text(encoding="utf-8") == tables["usage"].render_bq()
    schema_text = (usage_dir / "usage.1.schema.json").read_text(encoding="utf-8")
    assert schema_text == render_schema(tables["usage"].schema)
    assert json.loads(schema_text) == glean_schemas(files, pings, APP_ID)["usage"]
    before = {path: path.stat().st_mtime_ns for path in written}
    again = export_glean_tables(files, pings, APP_ID, tmp_path)
    assert again == written
    assert {path: path.stat().st_mtime_ns for path in again} == before


def test_cli_issue_form_and_pings_option_give_the_same_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    args = ["--app-id", APP_ID, "--pingsdk-files"]
    assert main(["glean", "export", str(METRICS), str(PINGS), *args, "--out", str(first)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0].endswith(f"{NAMESPACE}/audit-log/audit-log.1.schema.json")
    assert out.err == ""
    assert (
        main(["glean", "export", str(METRICS), "--pings", str(PINGS), *args, "--out", str(second)])
        == 0
    )
    capsys.readouterr()
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 10
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes()


def test_cli_notes_missing_pingsdk_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["glean", "export", str(METRICS), str(PINGS), "--app-id", APP_ID, "--out", str(tmp_path)]
    )
    assert code == 0
    assert "--pingsdk-files" in capsys.readouterr().err


def test_cli_runs_as_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingsdk",
            "glean",
            "export",
            str(METRICS),
            str(PINGS),
            "--pingsdk-files",
            "--app-id",
            APP_ID,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    bq = tmp_path / "schemas" / NAMESPACE / "usage" / "usage.1.bq"
    assert [
        line for line in _columns(json.loads(bq.read_text())) if line.startswith("metrics")
    ] == (USAGE_METRIC_COLUMNS)


def test_cli_errors_are_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["glean", "export", str(tmp_path / "nope.yaml"), "--app-id", APP_ID, "--out", str(tmp_path)]
    )
    assert code == 2
    assert capsys.readouterr().err == f"pingsdk: error: {tmp_path / 'nope.yaml'}: no such file\n"


# ---------------------------------------------------------------------------------------------
# Bad input.


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "metrics.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_metrics_yaml_reports_glean_parsers_messages(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "---\n$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n"
        "app:\n  thing:\n    type: gauge\n    description: A gauge.\n",
    )
    with pytest.raises(ConfigurationError, match="glean_parser found") as caught:
        glean_tables([bad], [PINGS], APP_ID)
    assert "'gauge' is not one of" in str(caught.value)
    assert str(bad) in str(caught.value)


def test_application_files_may_not_use_reserved_names(tmp_path: Path) -> None:
    reserved = tmp_path / "metrics.yaml"
    reserved.write_text(
        PINGSDK_METRICS_YAML.read_text(encoding="utf-8").replace(
            "Counts the number of times a metric was set to an invalid value.",
            "Not pingsdk's file any more.",
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match="reserved for Glean internal use"):
        glean_tables([reserved], [PINGS], APP_ID)
    assert "usage" in glean_tables([reserved], [PINGS], APP_ID, allow_reserved=True)


def test_a_metric_defined_twice_across_files_is_refused(tmp_path: Path) -> None:
    twice = tmp_path / "copy.yaml"
    shutil.copyfile(METRICS, twice)
    with pytest.raises(ConfigurationError, match="glean_parser found"):
        glean_tables([METRICS, twice, PINGSDK_METRICS_YAML], [PINGS], APP_ID)


def test_no_pings_no_tables() -> None:
    with pytest.raises(ConfigurationError, match="declare no ping"):
        glean_tables([METRICS], [], APP_ID)
    with pytest.raises(ConfigurationError, match=r"no metrics\.yaml or pings\.yaml"):
        glean_tables([], [], APP_ID)


def test_missing_glean_parser_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "glean_parser", None)
    monkeypatch.setitem(sys.modules, "glean_parser.parser", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'pingsdk\[glean\]'"):
        glean_tables([METRICS], [PINGS], APP_ID)


def test_metrics_no_table_holds_are_warned_about(tmp_path: Path) -> None:
    lonely = _write(
        tmp_path,
        "---\n$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n"
        "app:\n  lonely:\n    type: counter\n    description: Sent in the default ping.\n"
        "    bugs: [https://example.com/1]\n    data_reviews: [https://example.com/1]\n"
        "    notification_emails: [a@example.com]\n    expires: never\n",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glean_tables([lonely], [PINGS], APP_ID)
    messages = [str(w.message) for w in caught if issubclass(w.category, SchemaWarning)]
    assert messages == [
        "metric app.lonely is sent in metrics, which none of the pings files declares: no "
        "table has a column for it (pass the pings.yaml that declares it)"
    ]


@pytest.mark.parametrize(
    ("given", "sanitized"),
    [
        ("org.mozilla.Fenix", "org-mozilla-fenix"),
        ("my_service", "my-service"),
        ("a..b", "a-b"),
        ("Report Service 2", "report-service-2"),
    ],
)
def test_application_ids_are_sanitised_as_glean_does(given: str, sanitized: str) -> None:
    assert sanitize_application_id(given) == sanitized


def test_an_application_id_without_letters_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no ASCII letter or digit"):
        glean_tables([METRICS], [PINGS], "...")


# ---------------------------------------------------------------------------------------------
# The Glean schema's own examples, against a table declaring exactly their metrics.

# Types in Glean's examples glean_parser no longer declares (jwe was removed) or never did.
_UNDECLARABLE = {"enumeration", "jwe", "number", "usage", "use_counter"}

# Parameters glean_parser requires for some types, with any valid value.
_TYPE_PARAMETERS: dict[str, str] = {
    "quantity": "    unit: things\n",
    "custom_distribution": (
        "    range_min: 0\n    range_max: 100\n    bucket_count: 10\n    histogram_type: linear\n"
    ),
    "dual_labeled_counter": (
        "    dual_labels:\n      key:\n        description: The key.\n"
        "      category:\n        description: The category.\n"
    ),
}


def _declarable(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k not in _UNDECLARABLE}


def _declaring(tmp_path: Path, example: Mapping[str, Any]) -> tuple[Path, Path]:
    """A metrics.yaml declaring every metric of ``example`` in a ping ``sample``, and the
    pings.yaml declaring ``sample`` (without info sections if the example has none)."""
    by_category: dict[str, list[str]] = {}
    for metric_type, values in sorted(example.get("metrics", {}).items()):
        for identifier in sorted(values):
            category, _, name = identifier.rpartition(".")
            by_category.setdefault(category, []).append(
                f"  {name}:\n    type: {metric_type}\n"
                f"    description: An example {metric_type}.\n"
                "    bugs: [https://example.com/1]\n    data_reviews: [https://example.com/1]\n"
                "    notification_emails: [a@example.com]\n    expires: never\n"
                f"    send_in_pings: [sample]\n{_TYPE_PARAMETERS.get(metric_type, '')}"
            )
    metrics = "---\n$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n" + "".join(
        f"{category}:\n" + "".join(entries) for category, entries in by_category.items()
    )
    info = "" if "ping_info" in example else "  metadata:\n    include_info_sections: false\n"
    pings = (
        "---\n$schema: moz://mozilla.org/schemas/glean/pings/2-0-0\nsample:\n"
        "  description: A sample.\n  include_client_id: true\n"
        "  bugs: [https://example.com/1]\n  data_reviews: [https://example.com/1]\n"
        f"  notification_emails: [a@example.com]\n{info}"
    )
    (tmp_path / "metrics.yaml").write_text(metrics, encoding="utf-8")
    (tmp_path / "pings.yaml").write_text(pings, encoding="utf-8")
    return tmp_path / "metrics.yaml", tmp_path / "pings.yaml"


@pytest.mark.parametrize(
    "example",
    sorted(p.name for p in (MPS / "validation" / "glean").glob("glean.1.*.pass.json")),
)
def test_every_glean_pass_example_fits_a_table_declaring_its_metrics(
    example: str, tmp_path: Path
) -> None:
    payload = json.loads((MPS / "validation" / "glean" / example).read_text(encoding="utf-8"))
    if "metrics" in payload:
        payload["metrics"] = _declarable(payload["metrics"])
    metrics, pings = _declaring(tmp_path, payload)
    table = glean_tables([metrics], [pings], APP_ID)["sample"]
    validator = jsonschema.Draft6Validator(table.schema)
    assert [e.message for e in validator.iter_errors(table_payload(payload))] == []
    # Every metric of the example has its column.
    columns = set(_metric_columns(table))
    for metric_type, values in table_payload(payload).get("metrics", {}).items():
        for name in values:
            column = f"metrics.{metric_type}.{name.replace('.', '_')}"
            assert any(line.startswith(column + " ") for line in columns), column


@pytest.mark.parametrize(
    "example",
    sorted(p.name for p in (MPS / "validation" / "glean").glob("glean.1.*.fail.json")),
)
def test_every_glean_fail_example_fails_for_the_same_reasons(example: str, tmp_path: Path) -> None:
    payload = json.loads((MPS / "validation" / "glean" / example).read_text(encoding="utf-8"))
    # A table without the undeclarable types refuses them like any undeclared type.
    metrics, pings = _declaring(
        tmp_path, {**payload, "metrics": _declarable(payload.get("metrics", {}))}
    )
    table = glean_tables([metrics], [pings], APP_ID)["sample"]
    # Refused for the same reasons, at the same places (url2/text2 are url/text as sent).
    sent_name = {renamed: name for name, renamed in RENAMED_TYPES.items()}
    in_table = [
        ([sent_name.get(str(p), p) for p in error.absolute_path], error.message)
        for error in jsonschema.Draft6Validator(table.schema).iter_errors(table_payload(payload))
    ]
    in_glean = [
        (list(error.absolute_path), error.message)
        for error in jsonschema.Draft6Validator(_load("glean.1.schema.json")).iter_errors(payload)
    ]
    assert in_table
    assert sorted(in_table, key=str) == sorted(in_glean, key=str)
