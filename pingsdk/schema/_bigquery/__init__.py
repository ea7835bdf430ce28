"""BigQuery table schemas from JSON schemas, as the pipeline's transpiler writes them.

This reproduces mozilla/jsonschema-transpiler (``--type bigquery``) in the original's three
stages. Production settings are those the schema repository uses for its ``.bq`` files
(``--normalize-case --resolve drop --force-nullable --tuple-struct``), with the ingestion
metadata columns merged in first. Nothing here reads files.

The map, in the order a schema goes through it:

- :mod:`._transpile`: :func:`bigquery_schema`, the entry point: settings, then the rest in order.
- :mod:`._pipeline`: what the data pipeline adds around the transpiler: the ingestion metadata
  columns (:func:`ingestion_metadata_schema`), the schema generator's fixes for
  :data:`COMMON_PING_DOCTYPES`, and the warnings about Glean tables a schema cannot produce.
- :mod:`._tree`: stage 1, the JSON schema becomes a type tree (the transpiler's AST).
- :mod:`._normalize`: stage 2, column names, nullability, unions collapsed, JSON columns.
- :mod:`._columns`: stage 3, the tree becomes BigQuery columns; untypeable fields dropped or
  cast to STRING.
- :mod:`._result`: what comes back: :class:`BigQueryResult`, :class:`DroppedField`, and
  :func:`render_bq` for the ``.bq`` file text.
"""

from __future__ import annotations

from pingsdk.schema._bigquery._pipeline import COMMON_PING_DOCTYPES, ingestion_metadata_schema
from pingsdk.schema._bigquery._result import BigQueryResult, DroppedField, render_bq
from pingsdk.schema._bigquery._transpile import bigquery_schema

__all__ = [
    "COMMON_PING_DOCTYPES",
    "BigQueryResult",
    "DroppedField",
    "bigquery_schema",
    "ingestion_metadata_schema",
    "render_bq",
]
