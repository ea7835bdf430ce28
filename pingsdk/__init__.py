"""pingsdk: model telemetry pings and send them reliably to a Mozilla-style data pipeline.

What an application imports to model and send pings lives here. The other stories have
public subpackages of their own, each imported the first time it is used:

- :mod:`pingsdk.schema`: JSON Schema export, repository validation, BigQuery, Parquet,
  schema evolution and the data review text;
- :mod:`pingsdk.monitoring`: a ping's docType monitor thresholds;
- :mod:`pingsdk.wire`: submit paths and URLs, as pure functions;
- :mod:`pingsdk.edge`: a local validating edge server;
- :mod:`pingsdk.testing`: a test kit and pytest plugin;
- :mod:`pingsdk.glean`: Glean-compatible pings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pingsdk._client._async import AsyncPingClient
from pingsdk._client._sync import PingClient
from pingsdk._delivery._retry import RetryPolicy
from pingsdk._delivery._stats import ClientStats, DeliveryReport
from pingsdk._exceptions import (
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
    SubmitError,
    UploadDisabledError,
)
from pingsdk._files import default_queue_path
from pingsdk._lazy import attach, say_module
from pingsdk._model._keywords import PingInfo
from pingsdk._model._ping import Ping
from pingsdk._model._registry import PingRegistry, default_registry
from pingsdk._model._review import DataCategory, DataReview
from pingsdk._version import __version__
from pingsdk.wire._urls import AppInfo

if TYPE_CHECKING:
    from pingsdk import edge as edge
    from pingsdk import glean as glean
    from pingsdk import monitoring as monitoring
    from pingsdk import schema as schema
    from pingsdk import testing as testing
    from pingsdk import wire as wire

__all__ = [
    "AppInfo",
    "AsyncPingClient",
    "ClientStats",
    "ConfigurationError",
    "DataCategory",
    "DataReview",
    "DeliveryReport",
    "EdgeUnavailableError",
    "InvalidPingError",
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
    "RetryPolicy",
    "SubmitError",
    "UploadDisabledError",
    "__version__",
    "default_queue_path",
    "default_registry",
]

# Subpackages, imported on first attribute use (``pingsdk.schema.export_schema(...)`` works
# after a bare ``import pingsdk``) so that sending pings never loads the tooling.
_SUBPACKAGES: dict[str, str] = {
    name: name for name in ("edge", "glean", "monitoring", "schema", "testing", "wire")
}

# Names that lived here before 0.4: using one says where it went.
_MOVED: dict[str, str] = {
    **dict.fromkeys(
        (
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
        ),
        "pingsdk.schema",
    ),
    **dict.fromkeys(
        (
            "ChannelThresholds",
            "DocTypeMonitor",
            "DuplicateThreshold",
            "IngestionErrorThreshold",
            "LatencyThreshold",
            "ShapeThreshold",
            "SizeThreshold",
            "VolumeThreshold",
            "render_monitor_config",
        ),
        "pingsdk.monitoring",
    ),
    **dict.fromkeys(("build_submit_url", "legacy_submit_path", "submit_path"), "pingsdk.wire"),
}

for _name in __all__:
    say_module(globals()[_name], __name__)
del _name

if not TYPE_CHECKING:
    # Hidden from type checkers, which would otherwise accept any attribute (typos included).
    __getattr__, __dir__ = attach(__name__, _SUBPACKAGES, globals(), moved=_MOVED)
