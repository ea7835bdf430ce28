"""Tests of the wire format: URLs, docIds, headers, encoding (pingsdk.wire)."""
