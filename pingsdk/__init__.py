"""pingsdk: model, export, send and test telemetry pings for a Mozilla-style data pipeline.

The public API is re-exported here; every other module is private. Subpackages
``pingsdk.edge`` (a local validating edge server) and ``pingsdk.testing`` (a test kit and pytest
plugin) are public too.

``import pingsdk`` loads what modelling and sending pings need. The schema tooling (BigQuery and
Parquet schemas, schema comparison, export, repository validation, review text) and jsonschema
are imported the first time one of their names is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._async_client import AsyncPingClient
from ._client import PingClient
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
from ._ping import Ping, PingInfo, PingRegistry, default_registry
from ._queue import default_queue_path
from ._retry import RetryPolicy
from ._review import DataCategory, DataReview
from ._stats import ClientStats, DeliveryReport
from ._urls import AppInfo, build_submit_url, legacy_submit_path, submit_path
from ._version import __version__

if TYPE_CHECKING:
    # Imported on first use (see __getattr__ below); type checkers and IDEs read them from here.
    from ._bigquery import BigQueryResult, DroppedField, bigquery_schema, render_bq
    from ._compat import SchemaChange, compare_schemas
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
    from ._review_text import missing_review_facts, review_request
    from ._validation import (
        ExampleResult,
        RepositoryReport,
        ValidationIssue,
        validate_payload,
        validate_repository,
    )

# Public name -> private module, for the names of the schema tooling, docType monitoring and
# validation: defining a ping without a monitor, and sending it, uses none of these modules.
_LAZY: dict[str, str] = {
    "BigQueryResult": "_bigquery",
    "DroppedField": "_bigquery",
    "bigquery_schema": "_bigquery",
    "render_bq": "_bigquery",
    "SchemaChange": "_compat",
    "compare_schemas": "_compat",
    "export_repository": "_export",
    "export_schema": "_export",
    "render_schema": "_export",
    "schema_path": "_export",
    "ChannelThresholds": "_monitoring",
    "DocTypeMonitor": "_monitoring",
    "DuplicateThreshold": "_monitoring",
    "IngestionErrorThreshold": "_monitoring",
    "LatencyThreshold": "_monitoring",
    "ShapeThreshold": "_monitoring",
    "SizeThreshold": "_monitoring",
    "VolumeThreshold": "_monitoring",
    "render_monitor_config": "_monitoring",
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


def _say_pingsdk(obj: object) -> None:
    """Public classes say "pingsdk.X" in reprs, docs and pickles, not the private module."""
    if isinstance(obj, type):
        obj.__module__ = __name__


for _name in __all__:
    if _name not in _LAZY:
        _say_pingsdk(globals()[_name])
del _name

if not TYPE_CHECKING:
    # Hidden from type checkers: a module-level __getattr__ would make them accept any
    # attribute of pingsdk, typos included (they see the lazy names imported above instead).

    def __getattr__(name: str) -> object:
        """Import a schema-tooling name the first time it is used (PEP 562)."""
        module_name = _LAZY.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module = importlib.import_module(f"{__name__}.{module_name}")
        # Bind every public name of that module at once, so __getattr__ runs once per module.
        for public, where in _LAZY.items():
            if where == module_name:
                obj = getattr(module, public)
                _say_pingsdk(obj)
                globals()[public] = obj
        return globals()[name]

    def __dir__() -> list[str]:
        """Every public name, including those not imported yet."""
        return sorted(set(globals()) | set(_LAZY))
