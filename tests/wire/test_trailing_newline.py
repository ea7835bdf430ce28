"""A trailing newline never passes a check written with ``$`` (Python's ``$`` matches before a
final ``\\n``): every such check uses ``fullmatch`` (issue #8, item 12)."""

from __future__ import annotations

import pytest

import pingsdk
from pingsdk._naming import is_doc_id, parse_version
from pingsdk.schema._parquet import parquet_schema
from pingsdk.schema._validation import _is_rfc3339

DOC_ID = "0193a3c5-5f1e-7d2a-9c4b-2f6e8a1d3b57"


def test_edge_doc_id_and_version() -> None:
    assert is_doc_id(DOC_ID)
    assert not is_doc_id(DOC_ID + "\n")
    assert parse_version("4") == 4
    assert parse_version("4\n") is None


def test_review_owner_and_bug_url() -> None:
    with pytest.raises(pingsdk.ConfigurationError):
        pingsdk.DataReview(owners=("a@b.example\n",))
    with pytest.raises(pingsdk.ConfigurationError):
        pingsdk.DataReview(owners=("a@b.example",), bugs=("https://bugs.example/1\n",))


def test_date_time_format() -> None:
    assert _is_rfc3339("2025-01-01T00:00:00Z")
    assert not _is_rfc3339("2025-01-01T00:00:00Z\n")


def test_parquet_message_name() -> None:
    schema = {"type": "object", "properties": {}}
    assert parquet_schema(schema, name="abc").startswith("message abc")
    with pytest.raises(pingsdk.schema.SchemaExportError):
        parquet_schema(schema, name="abc\n")
