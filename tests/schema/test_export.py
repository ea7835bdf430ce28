"""export_schema / export_repository: the files a team commits to the schema repository."""

from __future__ import annotations

import datetime
import json
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

import pingsdk
from examples.pings import SearchCounts, SessionSummary
from pingsdk.schema import _export

from .test_schema import CLASSES

ROOT = Path(__file__).resolve().parents[2]


def metadata_validator(sample: Path) -> jsonschema.Draft4Validator:
    metaschema = json.loads(
        (sample / "schemas/metadata/metaschema/metaschema.1.schema.json").read_text()
    )
    return jsonschema.Draft4Validator(metaschema)


def test_search_counts_schema() -> None:
    assert pingsdk.schema.export_schema(SearchCounts) == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "additionalProperties": False,
        "description": (
            "Daily search counts per engine, to learn which engines people actually use."
        ),
        "mozPipelineMetadata": {
            "bq_dataset_family": "pingsdk_demo",
            "bq_metadata_format": "structured",
            "bq_table": "search_counts_v1",
            "expiration_policy": {"collect_through_date": "2027-06-30", "delete_after_days": 180},
        },
        "properties": {
            "count": {"description": "Searches in the period.", "minimum": 0, "type": "integer"},
            "engine": {
                "description": "Search engine identifier.",
                "maxLength": 64,
                "minLength": 1,
                "type": "string",
            },
        },
        "required": ["engine", "count"],
        "type": "object",
    }


@pytest.mark.parametrize("draft", ["draft-04", "draft-06"])
def test_pipeline_metadata_passes_the_repository_metaschema(
    mps_sample: Path, draft: str, registry: pingsdk.PingRegistry
) -> None:
    class Legacy(
        pingsdk.Ping,
        namespace="telemetry",
        doctype="my-legacy",
        version=4,
        legacy_telemetry=True,
        registry=registry,
        review=pingsdk.DataReview(delete_after_days=775),
        pipeline_metadata={
            "submission_timestamp_granularity": "days",
            "geoip_skip_entries": 1,
            "$comment": "test",
        },
    ):
        x: int

    validator = metadata_validator(mps_sample)
    for cls in [SearchCounts, SessionSummary, Legacy, *CLASSES]:
        schema = pingsdk.schema.export_schema(cls, draft=draft)
        assert list(validator.iter_errors(schema)) == [], cls
    meta = pingsdk.schema.export_schema(Legacy)["mozPipelineMetadata"]
    assert meta == {
        "$comment": "test",
        "bq_dataset_family": "telemetry",
        "bq_metadata_format": "telemetry",
        "bq_table": "my_legacy_v4",
        "expiration_policy": {"delete_after_days": 775},
        "geoip_skip_entries": 1,
        "submission_timestamp_granularity": "days",
    }
    bad = {**pingsdk.schema.export_schema(SearchCounts), "mozPipelineMetadata": {"unknown": 1}}
    assert list(validator.iter_errors(bad)), "the metaschema must reject unknown keys"


def test_no_expiration_policy_without_review_facts(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="a-b", doctype="c-d", version=2, registry=registry):
        x: int

    assert pingsdk.schema.export_schema(P)["mozPipelineMetadata"] == {
        "bq_dataset_family": "a_b",
        "bq_metadata_format": "structured",
        "bq_table": "c_d_v2",
    }


def test_schema_path() -> None:
    assert pingsdk.schema.schema_path(SearchCounts.ping_info()) == PurePosixPath(
        "schemas/pingsdk-demo/search-counts/search-counts.1.schema.json"
    )


def test_render_schema() -> None:
    text = pingsdk.schema.render_schema({"b": 1, "a": {"é": "ü", "c": [2, 1]}})
    assert (
        text
        == '{\n  "a": {\n    "c": [\n      2,\n      1\n    ],\n    "é": "ü"\n  },\n  "b": 1\n}\n'
    )


def test_export_repository_tree(tmp_path: Path) -> None:
    written = pingsdk.schema.export_repository([SearchCounts, SessionSummary], tmp_path)
    relative = [p.relative_to(tmp_path).as_posix() for p in written]
    assert relative == [
        "schemas/pingsdk-demo/search-counts/search-counts.1.schema.json",
        "schemas/pingsdk-demo/search-counts/search-counts.1.bq",
        "validation/pingsdk-demo/search-counts.1.ddg.pass.json",
        "validation/pingsdk-demo/search-counts.1.negative.fail.json",
        "schemas/pingsdk-demo/session-summary/session-summary.1.schema.json",
        "schemas/pingsdk-demo/session-summary/session-summary.1.bq",
        "validation/pingsdk-demo/session-summary.1.full.pass.json",
        "validation/pingsdk-demo/session-summary.1.minimal.pass.json",
        "validation/pingsdk-demo/session-summary.1.bad_client_id.fail.json",
        "validation/pingsdk-demo/session-summary.1.extra_field.fail.json",
        "validation/pingsdk-demo/session-summary.1.negative_duration.fail.json",
        "validation/pingsdk-demo/session-summary.1.unknown_channel.fail.json",
    ]
    schema_file = written[0]
    assert schema_file.read_text(encoding="utf-8") == pingsdk.schema.render_schema(
        pingsdk.schema.export_schema(SearchCounts)
    )
    # Pass examples are what would be sent: defaults filled in, ids normalised.
    minimal = json.loads(written[7].read_text(encoding="utf-8"))
    assert minimal["tabs_opened"] == 0
    assert minimal["end_reason"] is None
    assert minimal["searches_by_engine"] == {}
    assert minimal["duration_seconds"] == 0.0
    fail = json.loads(written[8].read_text(encoding="utf-8"))
    assert fail["client_id"] == "not-a-uuid"
    report = pingsdk.schema.validate_repository(tmp_path)
    assert (report.passed, report.failed) == (8, 0)


def test_reexport_is_byte_identical_and_untouched(tmp_path: Path) -> None:
    first = pingsdk.schema.export_repository([SessionSummary], tmp_path)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first}
    second = pingsdk.schema.export_repository([SessionSummary], tmp_path)
    assert second == first
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in second} == before


def test_draft06_export(tmp_path: Path) -> None:
    written = pingsdk.schema.export_repository([SearchCounts], tmp_path, draft="draft-06")
    schema = json.loads(written[0].read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"
    assert pingsdk.schema.validate_repository(tmp_path).ok


def test_refuses_fail_example_that_validates(
    tmp_path: Path, registry: pingsdk.PingRegistry
) -> None:
    class P(
        pingsdk.Ping,
        namespace="a",
        doctype="b",
        version=1,
        registry=registry,
        fail_examples={"not_failing": {"x": 5}},
    ):
        x: int = Field(description="A number.")

    with pytest.raises(pingsdk.schema.SchemaExportError) as info:
        pingsdk.schema.export_repository([P], tmp_path)
    assert "P: fail_examples['not_failing'] validates against the exported schema" in str(
        info.value
    )
    assert list(tmp_path.iterdir()) == [], "nothing is written when a class fails"


def test_refuses_pass_example_that_does_not_validate(
    tmp_path: Path, registry: pingsdk.PingRegistry
) -> None:
    # A schema constraint pydantic does not enforce: the example is a valid model but not a
    # valid payload, so writing it as .pass.json would break the repository's tests.
    class P(
        pingsdk.Ping,
        namespace="a",
        doctype="b",
        version=1,
        registry=registry,
        examples={"too_long": {"code": "abcd"}},
    ):
        code: str = Field(description="A code.", json_schema_extra={"maxLength": 2})

    with pytest.raises(pingsdk.schema.SchemaExportError) as info:
        pingsdk.schema.export_repository([P], tmp_path)
    assert "P: examples['too_long'] serializes to a payload that does not validate" in str(
        info.value
    )
    assert "$.code: maxLength" in str(info.value)
    assert "abcd" not in str(info.value), "no payload contents in messages"


def test_refuses_two_classes_with_one_identity(tmp_path: Path) -> None:
    def make(name: str) -> type[pingsdk.Ping]:
        return type(
            name,
            (pingsdk.Ping,),
            {
                "__annotations__": {"x": Annotated[int, Field(description="A number.")]},
                "__module__": __name__,
                "__qualname__": name,
            },
            namespace="a",
            doctype="b",
            version=1,
            registry=pingsdk.PingRegistry(),
        )

    with pytest.raises(
        pingsdk.schema.SchemaExportError, match="B and A both declare namespace='a'"
    ):
        pingsdk.schema.export_repository([make("A"), make("B")], tmp_path)


def test_extra_artifact_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def notes_writer(
        cls: type[pingsdk.Ping], schema: dict[str, Any]
    ) -> list[tuple[PurePosixPath, str]]:
        path = pingsdk.schema.schema_path(cls.ping_info()).with_name("fields.txt")
        return [(path, json.dumps(sorted(schema["properties"])) + "\n")]

    monkeypatch.setattr(_export, "ARTIFACT_WRITERS", [*_export.ARTIFACT_WRITERS, notes_writer])
    written = pingsdk.schema.export_repository([SearchCounts], tmp_path)
    notes = tmp_path / "schemas/pingsdk-demo/search-counts/fields.txt"
    assert notes in written
    assert notes.read_text() == '["count", "engine"]\n'


def test_bq_file_is_the_transpiled_table(tmp_path: Path) -> None:
    pingsdk.schema.export_repository([SessionSummary], tmp_path)
    bq = tmp_path / "schemas/pingsdk-demo/session-summary/session-summary.1.bq"
    expected = pingsdk.schema.bigquery_schema(
        pingsdk.schema.export_schema(SessionSummary), namespace="pingsdk-demo"
    ).render()
    assert bq.read_text(encoding="utf-8") == expected
    columns = {c["name"]: c for c in json.loads(expected)}
    assert columns["searches_by_engine"]["mode"] == "REPEATED"  # a map: key/value records
    assert columns["environment"]["type"] == "RECORD"
    assert {"document_id", "submission_timestamp", "metadata"} <= set(columns)


def test_examples_are_constructible_and_unexpired() -> None:
    from examples.pings import realistic_session

    ping = realistic_session()
    payload = json.loads(ping.to_json_bytes())
    assert (
        pingsdk.schema.validate_payload(
            pingsdk.schema.export_schema(SessionSummary), payload, format_check=True
        )
        == []
    )
    assert not SessionSummary.is_expired(datetime.date(2026, 1, 1))
    assert SessionSummary.ping_info().category is pingsdk.DataCategory.STORED_CONTENT


def test_undocumented_fields_are_reported(tmp_path: Path, registry: pingsdk.PingRegistry) -> None:
    class Inner(BaseModel):
        documented: int = Field(description="Has one.")
        bare: int

    class P(pingsdk.Ping, namespace="a", doctype="b", version=1, registry=registry):
        """A ping with gaps in its documentation."""

        inner: Inner = Field(description="Nested.")
        tags: list[Inner] = Field(default_factory=list, description="Listed.")
        count: int

    with pytest.warns(pingsdk.schema.SchemaWarning) as caught:
        pingsdk.schema.export_repository([P], tmp_path)
    messages = [str(w.message) for w in caught]
    assert any(
        "P: no description for count, inner.bare, tags[].bare; add Field(description=...)" in m
        for m in messages
    ), messages
