"""pingsdk: model, export, send and test telemetry pings for a Mozilla-style data pipeline.

The public API is re-exported here; every other module is private. Subpackages
``pingsdk.edge`` (a local validating edge server) and ``pingsdk.testing`` (a test kit and pytest
plugin) are public too.
"""

from __future__ import annotations

from ._compat import SchemaChange, compare_schemas
from ._exceptions import (
    ConfigurationError,
    EdgeUnavailableError,
    PayloadTooLargeError,
    PingDefinitionError,
    PingExpiredError,
    PingRejectedError,
    PingSDKError,
    QueueCorruptError,
    QueueError,
    QueueFullError,
    SchemaExportError,
    SubmitError,
    UploadDisabledError,
)
from ._parquet import parquet_schema, parquet_schema_notes
from ._ping import Ping, PingInfo, PingRegistry, default_registry
from ._retry import RetryPolicy
from ._review import DataCategory, DataReview
from ._review_text import missing_review_facts, review_request
from ._urls import AppInfo, build_submit_url, legacy_submit_path, submit_path
from ._version import __version__

__all__ = [
    "AppInfo",
    "ConfigurationError",
    "DataCategory",
    "DataReview",
    "EdgeUnavailableError",
    "PayloadTooLargeError",
    "Ping",
    "PingDefinitionError",
    "PingExpiredError",
    "PingInfo",
    "PingRegistry",
    "PingRejectedError",
    "PingSDKError",
    "QueueCorruptError",
    "QueueError",
    "QueueFullError",
    "RetryPolicy",
    "SchemaChange",
    "SchemaExportError",
    "SubmitError",
    "UploadDisabledError",
    "__version__",
    "build_submit_url",
    "compare_schemas",
    "default_registry",
    "legacy_submit_path",
    "missing_review_facts",
    "parquet_schema",
    "parquet_schema_notes",
    "review_request",
    "submit_path",
]

# Public objects say "pingsdk.X" in reprs and docs, not the private module they live in.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "pingsdk"
del _name, _obj
