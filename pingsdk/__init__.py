"""pingsdk: model, export, send and test telemetry pings for a Mozilla-style data pipeline.

The public API is re-exported here; every other module is private. Subpackages
``pingsdk.edge`` (a local validating edge server) and ``pingsdk.testing`` (a test kit and pytest
plugin) are public too.
"""

from __future__ import annotations

from ._async_client import AsyncPingClient
from ._bigquery import BigQueryResult, DroppedField, bigquery_schema, render_bq
from ._client import PingClient
from ._compat import SchemaChange, compare_schemas
from ._exceptions import (
    ConfigurationError,
    EdgeUnavailableError,
    InvalidPingError,
    PayloadTooLargeError,
    PingDefinitionError,
    PingExpiredError,
    PingRejectedError,
    PingSDKError,
    QueueBusyError,
    QueueCorruptError,
    QueueError,
    QueueFullError,
    SchemaExportError,
    SchemaWarning,
    SubmitError,
    UploadDisabledError,
)
from ._export import export_repository, export_schema, render_schema, schema_path
from ._monitoring import (
    ChannelThresholds,
    DocTypeMonitor,
    DuplicateThreshold,
    IngestionErrorThreshold,
    LatencyThreshold,
    ShapeThreshold,
    SizeThreshold,
    VolumeThreshold,
    render_monitor_config,
)
from ._parquet import parquet_schema, parquet_schema_notes
from ._ping import Ping, PingInfo, PingRegistry, default_registry
from ._queue import default_queue_path
from ._retry import RetryPolicy
from ._review import DataCategory, DataReview
from ._review_text import missing_review_facts, review_request
from ._stats import ClientStats, DeliveryReport
from ._urls import AppInfo, build_submit_url, legacy_submit_path, submit_path
from ._validation import (
    ExampleResult,
    RepositoryReport,
    ValidationIssue,
    validate_payload,
    validate_repository,
)
from ._version import __version__

__all__ = [
    "AppInfo",
    "AsyncPingClient",
    "BigQueryResult",
    "ChannelThresholds",
    "ClientStats",
    "ConfigurationError",
    "DataCategory",
    "DataReview",
    "DeliveryReport",
    "DocTypeMonitor",
    "DroppedField",
    "DuplicateThreshold",
    "EdgeUnavailableError",
    "ExampleResult",
    "IngestionErrorThreshold",
    "InvalidPingError",
    "LatencyThreshold",
    "PayloadTooLargeError",
    "Ping",
    "PingClient",
    "PingDefinitionError",
    "PingExpiredError",
    "PingInfo",
    "PingRegistry",
    "PingRejectedError",
    "PingSDKError",
    "QueueBusyError",
    "QueueCorruptError",
    "QueueError",
    "QueueFullError",
    "RepositoryReport",
    "RetryPolicy",
    "SchemaChange",
    "SchemaExportError",
    "SchemaWarning",
    "ShapeThreshold",
    "SizeThreshold",
    "SubmitError",
    "UploadDisabledError",
    "ValidationIssue",
    "VolumeThreshold",
    "__version__",
    "bigquery_schema",
    "build_submit_url",
    "compare_schemas",
    "default_queue_path",
    "default_registry",
    "export_repository",
    "export_schema",
    "legacy_submit_path",
    "missing_review_facts",
    "parquet_schema",
    "parquet_schema_notes",
    "render_bq",
    "render_monitor_config",
    "render_schema",
    "review_request",
    "schema_path",
    "submit_path",
    "validate_payload",
    "validate_repository",
]

# Public objects say "pingsdk.X" in reprs and docs, not the private module they live in.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "pingsdk"
del _name, _obj
