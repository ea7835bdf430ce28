"""validate_payload and validate_repository: the schema repository's own test, reusable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pingsdk
from pingsdk.schema._validation import find_schema, repository_schemas, schema_index

SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["a"],
    "properties": {
        "a": {
            "type": "array",
            "items": {"type": "object", "properties": {"b": {"type": "integer"}}},
        },
        "when": {"type": "string", "format": "date-time"},
        "odd key": {"type": "string"},
    },
}


def test_issues_carry_json_paths() -> None:
    issues = pingsdk.schema.validate_payload(
        SCHEMA, {"a": [{"b": 1}, {"b": "x"}], "odd key": 3, "z": 1}
    )
    assert [(i.path, i.keyword) for i in issues] == [
        ("$", "additionalProperties"),
        ("$.a[1].b", "type"),
        ('$["odd key"]', "type"),
    ]
    assert str(issues[1]) == "$.a[1].b: 'x' is not of type 'integer'"
    assert pingsdk.schema.validate_payload(SCHEMA, {}) == [
        pingsdk.schema.ValidationIssue("$", "'a' is a required property", "required")
    ]


def test_formats_only_when_asked() -> None:
    naive = {"a": [], "when": "2025-03-01T09:30:00"}
    assert pingsdk.schema.validate_payload(SCHEMA, naive) == []
    issues = pingsdk.schema.validate_payload(SCHEMA, naive, format_check=True)
    assert [(i.path, i.keyword) for i in issues] == [("$.when", "format")]
    aware = {"a": [], "when": "2025-03-01T09:30:00.5+05:30"}
    assert pingsdk.schema.validate_payload(SCHEMA, aware, format_check=True) == []


def write(root: Path, relative: str, content: object) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


def test_repository_semantics(tmp_path: Path) -> None:
    write(tmp_path, "schemas/my-app/my-ping/my-ping.1.schema.json", SCHEMA)
    write(tmp_path, "validation/my-app/my-ping.1.ok.pass.json", {"a": []})
    write(tmp_path, "validation/my-app/my-ping.1.bad.fail.json", {})
    # Failures, each with its reason:
    # '-' and '_' differ for the repository's test (the pipeline treats them alike).
    write(tmp_path, "validation/my_app/my_ping.1.underscored.pass.json", {"a": []})
    write(tmp_path, "validation/my-app/my-ping.1.wrong.pass.json", {"a": 1})
    write(tmp_path, "validation/my-app/my-ping.1.lenient.fail.json", {"a": []})
    write(tmp_path, "validation/my-app/my-ping.2.nosuch.pass.json", {"a": []})
    write(tmp_path, "validation/my-app/my-ping.1.broken.pass.json", "{not json")
    write(tmp_path, "validation/my-app/badname.pass.json", {})
    write(tmp_path, "schemas/my-app/bad/bad.1.schema.json", {"type": 12})
    write(tmp_path, "validation/my-app/bad.1.x.pass.json", {})

    report = pingsdk.schema.validate_repository(tmp_path)
    reasons = {r.path.relative_to(tmp_path).as_posix(): r.reason for r in report.failures}
    assert reasons == {
        "validation/my-app/bad.1.x.pass.json": (
            "schema bad.1.schema.json is invalid under its draft: 12 is not valid under any of "
            "the given schemas"
        ),
        "validation/my-app/badname.pass.json": (
            "not named validation/<namespace>/<doctype>.<version>.<name>.<pass|fail>.json"
        ),
        "validation/my-app/my-ping.1.broken.pass.json": reasons[
            "validation/my-app/my-ping.1.broken.pass.json"
        ],
        "validation/my-app/my-ping.1.lenient.fail.json": "validates, expected not to",
        "validation/my-app/my-ping.1.wrong.pass.json": (
            "does not validate: $.a: 1 is not of type 'array'"
        ),
        "validation/my-app/my-ping.2.nosuch.pass.json": (
            "schema missing: schemas/my-app/my-ping/my-ping.2.schema.json"
        ),
        "validation/my_app/my_ping.1.underscored.pass.json": (
            "schema missing: schemas/my_app/my_ping/my_ping.1.schema.json "
            "(schemas/my-app/my-ping/my-ping.1.schema.json differs only in '-'/'_'; the "
            "repository's test compares names exactly)"
        ),
    }
    assert reasons["validation/my-app/my-ping.1.broken.pass.json"].startswith("not JSON")
    assert (report.passed, report.failed) == (2, 7)
    assert report.summary() == "2 passed, 7 failed"
    assert not report.ok


def test_pairing_follows_the_repositorys_test(tmp_path: Path) -> None:
    # A schema in a folder not named after its doctype, as schemas/glean/glean/glean-min.1.
    write(tmp_path, "schemas/glean/glean/glean-min.1.schema.json", SCHEMA)
    write(tmp_path, "validation/glean/glean-min.1.sample.pass.json", {"a": []})
    write(tmp_path, "validation/glean/glean-min.1.empty.fail.json", {})
    # Underscores match underscores exactly.
    write(tmp_path, "schemas/my_app/my_ping/my_ping.1.schema.json", SCHEMA)
    write(tmp_path, "validation/my_app/my_ping.1.sample.pass.json", {"a": []})
    # A schema directly under its namespace folder is loaded too.
    write(tmp_path, "schemas/flat/flat.3.schema.json", SCHEMA)
    write(tmp_path, "validation/flat/flat.3.sample.pass.json", {"a": []})
    # Deeper than schemas/<ns>/<folder>/: the repository's test refuses the tree.
    write(tmp_path, "schemas/deep/a/b/deep.1.schema.json", SCHEMA)
    report = pingsdk.schema.validate_repository(tmp_path)
    outcome = {r.path.relative_to(tmp_path).as_posix(): (r.ok, r.reason) for r in report.results}
    assert outcome == {
        "validation/glean/glean-min.1.sample.pass.json": (True, ""),
        "validation/glean/glean-min.1.empty.fail.json": (True, ""),
        "validation/my_app/my_ping.1.sample.pass.json": (True, ""),
        "validation/flat/flat.3.sample.pass.json": (True, ""),
        "schemas/deep/a/b/deep.1.schema.json": (
            False,
            "schema too deep: the repository's test allows only "
            "schemas/<namespace>/<folder>/<file>.schema.json",
        ),
    }
    pairs = {r.path.name: r.schema for r in report.results}
    assert pairs["glean-min.1.sample.pass.json"] == (
        tmp_path / "schemas/glean/glean/glean-min.1.schema.json"
    )
    # The exact index and the pipeline's index (the edge's) hold the same files.
    exact = repository_schemas(tmp_path / "schemas")
    assert set(exact) == {
        ("glean", "glean-min", "1"),
        ("my_app", "my_ping", "1"),
        ("flat", "flat", "3"),
    }
    assert schema_index(tmp_path / "schemas") == {
        ("glean", "glean_min", 1): tmp_path / "schemas/glean/glean/glean-min.1.schema.json",
        ("my_app", "my_ping", 1): tmp_path / "schemas/my_app/my_ping/my_ping.1.schema.json",
        ("flat", "flat", 3): tmp_path / "schemas/flat/flat.3.schema.json",
    }


def test_pipeline_index_prefers_the_standard_layout(tmp_path: Path) -> None:
    # Two files that the pipeline's name rule cannot tell apart: the exact layout wins.
    write(tmp_path, "schemas/app/other/my-ping.1.schema.json", SCHEMA)
    write(tmp_path, "schemas/app/my-ping/my-ping.1.schema.json", SCHEMA)
    assert schema_index(tmp_path / "schemas") == {
        ("app", "my_ping", 1): tmp_path / "schemas/app/my-ping/my-ping.1.schema.json"
    }


def test_pipeline_index_takes_versions_by_the_one_version_rule(tmp_path: Path) -> None:
    # "²" is a digit to str.isdigit() but not to int(); "01" is not how a version is written.
    # Neither may stop the index (the edge's schema store, validate_payload's lookups).
    write(tmp_path, "schemas/app/my-ping/my-ping.1.schema.json", SCHEMA)
    write(tmp_path, "schemas/app/my-ping/my-ping.\u00b2.schema.json", SCHEMA)
    write(tmp_path, "schemas/app/my-ping/my-ping.01.schema.json", SCHEMA)
    write(tmp_path, "schemas/app/my-ping/my-ping.99999999999999999999.schema.json", SCHEMA)
    assert schema_index(tmp_path / "schemas") == {
        ("app", "my_ping", 1): tmp_path / "schemas/app/my-ping/my-ping.1.schema.json"
    }
    assert find_schema(tmp_path, "app", "my-ping", 1) == (
        tmp_path / "schemas/app/my-ping/my-ping.1.schema.json"
    )


def test_find_schema(tmp_path: Path) -> None:
    write(tmp_path, "schemas/my-app/my-ping/my-ping.1.schema.json", SCHEMA)
    expected = tmp_path / "schemas/my-app/my-ping/my-ping.1.schema.json"
    assert find_schema(tmp_path, "my-app", "my-ping", 1) == expected
    assert find_schema(tmp_path, "my_app", "my_ping", 1) == expected
    assert find_schema(tmp_path, "my-app", "my-ping", 2) is None


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(pingsdk.ConfigurationError, match="no validation/ or schemas/ directory"):
        pingsdk.schema.validate_repository(tmp_path)


def test_schemas_without_examples_yet(tmp_path: Path) -> None:
    write(tmp_path, "schemas/my-app/my-ping/my-ping.1.schema.json", SCHEMA)
    report = pingsdk.schema.validate_repository(tmp_path)
    assert report.ok and report.summary() == "0 passed, 0 failed"


def test_mps_sample_passes(mps_sample: Path) -> None:
    report = pingsdk.schema.validate_repository(mps_sample)
    assert [str(f) for f in report.failures] == []
    files = sorted((mps_sample / "validation").rglob("*.json"))
    assert report.passed == len(files) > 100
    assert {r.expect for r in report.results} == {"pass", "fail"}
    # Every example found its schema (none is reported missing).
    assert all(r.schema is not None for r in report.results)
    # Every schema file is indexed, glean-min in schemas/glean/glean/ included.
    files = sorted((mps_sample / "schemas").rglob("*.schema.json"))
    assert sorted(schema_index(mps_sample / "schemas").values()) == files
    assert ("glean", "glean_min", 2) in schema_index(mps_sample / "schemas")
