"""The schema repository story: export a ping's JSON Schema and everything derived from it.

- :func:`export_schema`, :func:`export_repository`, :func:`render_schema`, :func:`schema_path`:
  a ping's JSON Schema in mozilla-pipeline-schemas' layout and draft, with example pings.
- :func:`validate_payload`, :func:`validate_repository`: payloads and a whole ``schemas/`` tree
  checked the way the schema repository's own tests check them.
- :func:`bigquery_schema`, :func:`render_bq`: the BigQuery table the pipeline would create.
- :func:`parquet_schema`, :func:`parquet_schema_notes`: the older Hindsight Parquet output.
- :func:`compare_schemas`: what changed between two versions of a schema, and whether the
  pipeline accepts the change.
- :func:`review_request`, :func:`missing_review_facts`: the data review request text.

Each name is imported on first use, so ``import pingsdk`` never loads jsonschema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pingsdk._exceptions import SchemaExportError, SchemaWarning
from pingsdk._lazy import attach, say_module

if TYPE_CHECKING:
    from pingsdk.schema._bigquery import (
        BigQueryResult,
        DroppedField,
        bigquery_schema,
        render_bq,
    )
    from pingsdk.schema._evolution import SchemaChange, compare_schemas
    from pingsdk.schema._export import (
        export_repository,
        export_schema,
        render_schema,
        schema_path,
    )
    from pingsdk.schema._parquet import parquet_schema, parquet_schema_notes
    from pingsdk.schema._review_text import missing_review_facts, review_request
    from pingsdk.schema._validation import (
        ExampleResult,
        RepositoryReport,
        ValidationIssue,
        validate_payload,
        validate_repository,
    )

_LAZY: dict[str, str] = {
    "BigQueryResult": "_bigquery",
    "DroppedField": "_bigquery",
    "bigquery_schema": "_bigquery",
    "render_bq": "_bigquery",
    "SchemaChange": "_evolution",
    "compare_schemas": "_evolution",
    "export_repository": "_export",
    "export_schema": "_export",
    "render_schema": "_export",
    "schema_path": "_export",
    "parquet_schema": "_parquet",
    "parquet_schema_notes": "_parquet",
    "missing_review_facts": "_review_text",
    "review_request": "_review_text",
    "ExampleResult": "_validation",
    "RepositoryReport": "_validation",
    "ValidationIssue": "_validation",
    "validate_payload": "_validation",
    "validate_repository": "_validation",
}

__all__ = [
    "BigQueryResult",
    "DroppedField",
    "ExampleResult",
    "RepositoryReport",
    "SchemaChange",
    "SchemaExportError",
    "SchemaWarning",
    "ValidationIssue",
    "bigquery_schema",
    "compare_schemas",
    "export_repository",
    "export_schema",
    "missing_review_facts",
    "parquet_schema",
    "parquet_schema_notes",
    "render_bq",
    "render_schema",
    "review_request",
    "schema_path",
    "validate_payload",
    "validate_repository",
]

say_module(SchemaExportError, __name__)
say_module(SchemaWarning, __name__)

if not TYPE_CHECKING:
    # Hidden from type checkers, which would otherwise accept any attribute (typos included).
    __getattr__, __dir__ = attach(__name__, _LAZY, globals())
