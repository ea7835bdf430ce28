"""Glean-compatible pings from Python: metrics and pings from ``metrics.yaml``/``pings.yaml``.

Sent through a :class:`pingsdk.PingClient`'s durable queue and uploader, in the ``glean.1``
format the pipeline builds tables from. See docs/glean.md.

Example::

    from pingsdk import glean

    app = glean.GleanApp("my-service", endpoint="https://incoming.example.com",
                         queue_path="telemetry.db", app_display_version="1.4.0")
    metrics = app.load_metrics("metrics.yaml")
    pings = app.load_pings("pings.yaml")
    metrics.service_core.requests.add()
    pings.service.submit()
"""

from __future__ import annotations

from pingsdk._lazy import say_module
from pingsdk.glean._app import DEFAULT_ENDPOINT, GleanApp
from pingsdk.glean._common import CommonMetricData, ErrorType, Lifetime, MemoryUnit, TimeUnit
from pingsdk.glean._definitions import Namespace
from pingsdk.glean._distribution_metrics import (
    CustomDistributionMetric,
    DistributionData,
    MemoryDistributionMetric,
    TimerId,
    TimingDistributionMetric,
)
from pingsdk.glean._event_metric import EventMetric, RecordedEvent
from pingsdk.glean._labeled_metrics import (
    LabeledBooleanMetric,
    LabeledCounterMetric,
    LabeledCustomDistributionMetric,
    LabeledMemoryDistributionMetric,
    LabeledMetric,
    LabeledQuantityMetric,
    LabeledStringMetric,
    LabeledTimingDistributionMetric,
)
from pingsdk.glean._metric_base import Metric
from pingsdk.glean._payload import KNOWN_CLIENT_ID
from pingsdk.glean._ping_type import PingType
from pingsdk.glean._simple_metrics import (
    BooleanMetric,
    CounterMetric,
    QuantityMetric,
    RateMetric,
    StringListMetric,
    StringMetric,
    TextMetric,
    UrlMetric,
    UuidMetric,
)
from pingsdk.glean._tables import (
    PINGSDK_FILES,
    PINGSDK_METRICS_YAML,
    PINGSDK_PINGS_YAML,
    GleanTable,
    export_glean_tables,
    glean_schemas,
    glean_tables,
    is_pingsdk_file,
    table_payload,
)
from pingsdk.glean._time_metrics import DatetimeMetric, TimespanMetric

__all__ = [
    "BooleanMetric",
    "CommonMetricData",
    "CounterMetric",
    "CustomDistributionMetric",
    "DEFAULT_ENDPOINT",
    "DatetimeMetric",
    "DistributionData",
    "ErrorType",
    "EventMetric",
    "GleanApp",
    "GleanTable",
    "KNOWN_CLIENT_ID",
    "LabeledBooleanMetric",
    "LabeledCounterMetric",
    "LabeledCustomDistributionMetric",
    "LabeledMemoryDistributionMetric",
    "LabeledMetric",
    "LabeledQuantityMetric",
    "LabeledStringMetric",
    "LabeledTimingDistributionMetric",
    "Lifetime",
    "MemoryDistributionMetric",
    "MemoryUnit",
    "Metric",
    "Namespace",
    "PINGSDK_FILES",
    "PINGSDK_METRICS_YAML",
    "PINGSDK_PINGS_YAML",
    "PingType",
    "QuantityMetric",
    "RateMetric",
    "RecordedEvent",
    "StringListMetric",
    "StringMetric",
    "TextMetric",
    "TimeUnit",
    "TimerId",
    "TimespanMetric",
    "TimingDistributionMetric",
    "UrlMetric",
    "UuidMetric",
    "export_glean_tables",
    "glean_schemas",
    "glean_tables",
    "is_pingsdk_file",
    "table_payload",
]

# Public objects say "pingsdk.glean.X" in reprs and docs, not the private module they live in.
for _name in __all__:
    say_module(globals()[_name], __name__)
del _name
