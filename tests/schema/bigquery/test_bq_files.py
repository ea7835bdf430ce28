"""The key acceptance test: our .bq output against every .bq file of the schema repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pingsdk.schema import bigquery_schema, render_bq
from tests.support import SAMPLE, require_sample, sample_files

BQ_FILES = sample_files("schemas/*/*/*.bq")

# The repository's generator (mozilla-schema-generator) fills these columns from Firefox's probe
# dictionary before transpiling; the .schema.json leaves them untypeable (allOf/anyOf, or maps of
# mixed types), so no transpiler can produce them from the schema file alone. Everything else in
# these tables must still match byte for byte, and the column must be reported as dropped.
PROBE_FILLED = {
    "deletion-request.4.bq": "payload",
    "new-profile.4.bq": "payload.processes",
    "sync.4.bq": "payload.histograms",
}


def _schema_for(bq: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        bq.with_name(bq.name.removesuffix(".bq") + ".schema.json").read_text(encoding="utf-8")
    )
    return schema


def _without(fields: list[dict[str, Any]], dotted: str) -> list[dict[str, Any]]:
    head, _, rest = dotted.partition(".")
    out = []
    for field in fields:
        if field["name"] == head:
            if not rest:
                continue
            field = {**field, "fields": _without(field["fields"], rest)}
        out.append(field)
    return out


def test_the_sample_has_all_36_bq_files() -> None:
    require_sample()
    assert len(BQ_FILES) == 36


@pytest.mark.parametrize("bq", BQ_FILES, ids=lambda p: p.name)
def test_production_output_is_byte_identical(bq: Path) -> None:
    namespace = bq.parts[-3]
    result = bigquery_schema(_schema_for(bq), namespace=namespace)
    expected = bq.read_text(encoding="utf-8")
    if bq.name in PROBE_FILLED:
        column = PROBE_FILLED[bq.name]
        trimmed = render_bq(_without(json.loads(expected), column))
        assert result.render() == trimmed
        assert column in {d.path.split("{")[0] for d in result.dropped}
        assert result.render() != expected
        return
    assert result.render() == expected


def test_probe_filled_files_exist() -> None:
    require_sample()
    assert set(PROBE_FILLED) <= {p.name for p in BQ_FILES}
    assert (SAMPLE / "schemas" / "telemetry" / "sync" / "sync.4.bq").is_file()
