"""Metric and ping objects from ``metrics.yaml``/``pings.yaml``, read by glean_parser.

glean_parser is the format's own parser and validator (optional extra ``pingsdk[glean]``): the
files are checked exactly as Glean's build checks them, and every error it reports becomes one
:class:`~pingsdk.ConfigurationError`. Expired or ``disabled`` metrics load as objects that
record nothing, as in Glean.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pingsdk._exceptions import ConfigurationError
from pingsdk.glean._common import CommonMetricData, Lifetime, MemoryUnit, TimeUnit
from pingsdk.glean._distribution_metrics import (
    CustomDistributionMetric,
    MemoryDistributionMetric,
    TimingDistributionMetric,
)
from pingsdk.glean._event_metric import EventMetric
from pingsdk.glean._labeled_metrics import (
    LabeledBooleanMetric,
    LabeledCounterMetric,
    LabeledCustomDistributionMetric,
    LabeledMemoryDistributionMetric,
    LabeledQuantityMetric,
    LabeledStringMetric,
    LabeledTimingDistributionMetric,
)
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
from pingsdk.glean._tables import parse_files
from pingsdk.glean._time_metrics import DatetimeMetric, TimespanMetric

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = ["Namespace", "load_metrics", "load_pings"]

# Every metric type pingsdk.glean records, by its metrics.yaml name (also the payload's).
_TYPES: dict[str, type[Any]] = {
    cls.ptype: cls
    for cls in (
        BooleanMetric,
        CounterMetric,
        QuantityMetric,
        StringMetric,
        TextMetric,
        UrlMetric,
        UuidMetric,
        StringListMetric,
        RateMetric,
        DatetimeMetric,
        TimespanMetric,
        TimingDistributionMetric,
        MemoryDistributionMetric,
        CustomDistributionMetric,
        EventMetric,
        LabeledCounterMetric,
        LabeledStringMetric,
        LabeledBooleanMetric,
        LabeledQuantityMetric,
        LabeledTimingDistributionMetric,
        LabeledMemoryDistributionMetric,
        LabeledCustomDistributionMetric,
    )
}


class Namespace(types.SimpleNamespace):
    """Loaded objects as attributes; categories also by their YAML name (``ns["a.b"]``)."""

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name.replace(".", "_"))
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(vars(self))


def _parse(paths: tuple[Path, ...]) -> dict[str, dict[str, Any]]:
    # The tables' reader: the same checks, messages and glean_parser warning filter.
    objects: dict[str, dict[str, Any]] = parse_files(list(paths))
    return objects


def _meta(metric: Any) -> CommonMetricData:
    return CommonMetricData(
        category=metric.category,
        name=metric.name,
        send_in_pings=tuple(metric.send_in_pings),
        lifetime=Lifetime(metric.lifetime.name),
        disabled=bool(metric.is_disabled()),
    )


def _type_args(metric: Any) -> dict[str, Any]:
    """The constructor arguments a glean_parser metric declares beyond its common data."""
    args: dict[str, Any] = {}
    kind = metric.type.removeprefix("labeled_")
    if kind in ("datetime", "timespan", "timing_distribution"):
        args["time_unit"] = TimeUnit(metric.time_unit.name)
    elif kind == "memory_distribution":
        args["memory_unit"] = MemoryUnit(metric.memory_unit.name)
    elif kind == "custom_distribution":
        args["range_min"] = int(metric.range_min)
        args["range_max"] = int(metric.range_max)
        args["bucket_count"] = int(metric.bucket_count)
        args["histogram_type"] = metric.histogram_type.name
    elif kind == "event":
        args["allowed_extra_keys"] = sorted(str.__str__(k) for k in metric.extra_keys or {})
    if metric.type.startswith("labeled_"):
        labels = getattr(metric, "labels", None)
        # glean_parser's labels are CowString, whose == only works between CowStrings.
        args["labels"] = None if labels is None else sorted(str.__str__(x) for x in labels)
    return args


def make_metric(app: GleanApp, metric: Any) -> Any:
    """The pingsdk.glean object of one glean_parser metric; ConfigurationError if unsupported."""
    meta = _meta(metric)
    cls = _TYPES.get(metric.type)
    if cls is None:
        raise ConfigurationError(
            f"metric {meta.identifier}: type {metric.type!r} is not supported by pingsdk.glean"
        )
    return cls(app, meta, **_type_args(metric))


def load_metrics(app: GleanApp, *paths: Path) -> Namespace:
    """Metric objects for ``app`` from ``metrics.yaml`` files: ``ns.<category>.<name>``.

    Categories are attributes with dots as underscores (``service.core`` ->
    ``ns.service_core``), or ``ns["service.core"]``.

    Raises:
        ConfigurationError: a missing file, any error glean_parser reports, a metric type
            pingsdk.glean does not record, or glean_parser not installed.
    """
    root = Namespace()
    for category, items in _parse(paths).items():
        if category in ("pings", "tags"):
            continue
        group = Namespace()
        for name, metric in items.items():
            setattr(group, name, make_metric(app, metric))
        setattr(root, category.replace(".", "_"), group)
    return root


def load_pings(app: GleanApp, *paths: Path) -> Namespace:
    """Ping objects for ``app`` from ``pings.yaml`` files: ``ns.<name>`` (``-`` as ``_``).

    Raises:
        ConfigurationError: as :func:`load_metrics`, or a ping name already registered.
    """
    root = Namespace()
    for name, ping in _parse(paths).get("pings", {}).items():
        obj = PingType(
            app,
            name,
            include_client_id=bool(ping.include_client_id),
            send_if_empty=bool(ping.send_if_empty),
            reason_codes=tuple(ping.reason_codes or ()),
        )
        setattr(root, name.replace("-", "_"), obj)
    return root
