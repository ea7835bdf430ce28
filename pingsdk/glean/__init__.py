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

from ._app import DEFAULT_ENDPOINT, GleanApp
from ._common import CommonMetricData, ErrorType, Lifetime, MemoryUnit, TimeUnit
from ._definitions import Namespace
from ._distribution_metrics import (
    CustomDistributionMetric,
    DistributionData,
    MemoryDistributionMetric,
    TimerId,
    TimingDistributionMetric,
)
from ._event_metric import EventMetric, RecordedEvent
from ._labeled_metrics import (
    LabeledBooleanMetric,
    LabeledCounterMetric,
    LabeledMetric,
    LabeledQuantityMetric,
    LabeledStringMetric,
)
from ._metric_base import Metric
from ._payload import KNOWN_CLIENT_ID
from ._ping_type import PingType
from ._simple_metrics import (
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
from ._time_metrics import DatetimeMetric, TimespanMetric

__all__ = [
    "DEFAULT_ENDPOINT",
    "KNOWN_CLIENT_ID",
    "BooleanMetric",
    "CommonMetricData",
    "CounterMetric",
    "CustomDistributionMetric",
    "DatetimeMetric",
    "DistributionData",
    "ErrorType",
    "EventMetric",
    "GleanApp",
    "LabeledBooleanMetric",
    "LabeledCounterMetric",
    "LabeledMetric",
    "LabeledQuantityMetric",
    "LabeledStringMetric",
    "Lifetime",
    "MemoryDistributionMetric",
    "MemoryUnit",
    "Metric",
    "Namespace",
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
]
