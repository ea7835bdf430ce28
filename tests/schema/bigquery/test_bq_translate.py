"""The transpiler's own expectation files (transpiler-cases/translate) with the tool's defaults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pingsdk.schema import bigquery_schema
from tests.support import require_sample, sample_files


def _cases() -> list[Any]:
    cases = []
    for path in sample_files("transpiler-cases/translate/*.json"):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for case in suite["tests"]:
            cases.append(pytest.param(case, id=f"{path.stem}-{case['name']}"))
    return cases


CASES = _cases()


def _translate(case: dict[str, Any], **options: Any) -> Any:
    context = case["test"].get("context", {})
    return bigquery_schema(
        case["test"]["json"],
        production=False,
        json_object_path_regex=context.get("json_object_path_regex"),
        **options,
    )


def test_the_sample_has_the_translate_cases() -> None:
    require_sample()
    assert len(CASES) == 38


@pytest.mark.parametrize("case", CASES)
def test_transpiler_defaults_match_the_expected_columns(case: dict[str, Any]) -> None:
    expected = case["test"]["bigquery"]
    if not isinstance(expected, list):
        # A placeholder: this case holds an Avro expectation only (the transpiler's own suite
        # runs it as a should-panic test for BigQuery).
        pytest.skip(f"no BigQuery expectation in this case: {expected!r}")
    result = _translate(case)
    assert result.fields == expected
    assert result.dropped == []


@pytest.mark.parametrize("case", [c for c in CASES if not c.values[0]["compatible"]])
def test_incompatible_cases_are_reported(case: dict[str, Any]) -> None:
    if not isinstance(case["test"]["bigquery"], list):
        pytest.skip("Avro-only case")
    cast = _translate(case)
    dropped = _translate(case, resolve="drop")
    assert cast.cast, "an incompatible schema becomes a STRING column and says so"
    assert dropped.dropped, "with resolve='drop' the incompatible field is reported"
    assert not any(f["type"] == "STRING" and f["name"] == "root" for f in dropped.fields)
