"""Labeled metrics: one submetric per label (``metric["label"].add()``), as Glean's.

Static labels (declared ``labels:``) map any other label to ``__other__`` without an error.
Dynamic labels (none declared) keep the first 16 distinct labels per metric and ping; later
ones become ``__other__``. A dynamic label that is not printable ASCII of at most 111 bytes is
``invalid_label`` and recorded as ``__other__`` (glean-core's rules).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pingsdk.glean._common import CommonMetricData, ErrorType, MemoryUnit, TimeUnit
from pingsdk.glean._distribution_metrics import (
    CustomDistributionMetric,
    MemoryDistributionMetric,
    TimingDistributionMetric,
    distribution_data,
)
from pingsdk.glean._metric_base import Metric
from pingsdk.glean._simple_metrics import BooleanMetric, CounterMetric, QuantityMetric, StringMetric
from pingsdk.glean._storage import OTHER_LABEL

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = [
    "LabeledBooleanMetric",
    "LabeledCounterMetric",
    "LabeledCustomDistributionMetric",
    "LabeledMemoryDistributionMetric",
    "LabeledMetric",
    "LabeledQuantityMetric",
    "LabeledStringMetric",
    "LabeledTimingDistributionMetric",
]

M = TypeVar("M", bound=Metric)


class LabeledMetric(Generic[M]):
    """A family of submetrics of one type, one per label."""

    submetric_type: type[Metric] = Metric
    ptype = ""

    def __init__(
        self,
        app: GleanApp,
        meta: CommonMetricData,
        labels: Sequence[str] | None = None,
        **sub_args: Any,
    ) -> None:
        self._app = app
        self._meta = meta
        self._labels = None if labels is None else frozenset(str(label) for label in labels)
        self._submetrics: dict[str, M] = {}
        self._lock = threading.Lock()
        # The submetrics' own settings (time_unit...), checked now rather than at the first label.
        self._sub_args = sub_args
        self.submetric_type(app, meta, **sub_args)

    @property
    def meta(self) -> CommonMetricData:
        """The metric's category, name, pings and lifetime."""
        return self._meta

    def __getitem__(self, label: str) -> M:
        """The submetric of ``label`` (``__other__`` for an undeclared static label)."""
        with self._lock:
            sub = self._submetrics.get(label)
            if sub is None:
                dynamic = self._labels is None
                name = label if dynamic or label in (self._labels or ()) else OTHER_LABEL
                sub = self.submetric_type(self._app, self._meta, **self._sub_args)  # type: ignore[assignment]
                assert sub is not None
                sub._as_label(name, dynamic, self.ptype)
                self._submetrics[label] = sub
            return sub

    def test_get_value(self, ping_name: str | None = None) -> dict[str, Any]:
        """Every recorded label's value (``{}`` when none)."""
        store = self._meta.send_in_pings[0] if ping_name is None else ping_name
        values = self._app.storage.get_labels(self._meta, store)
        if self.ptype.endswith("_distribution"):
            return {label: distribution_data(raw) for label, raw in values.items()}
        return values

    def test_get_num_recorded_errors(
        self, error_type: ErrorType | str, ping_name: str | None = None
    ) -> int:
        """How many errors of ``error_type`` were recorded for this metric and not yet sent."""
        store = self._meta.send_in_pings[0] if ping_name is None else ping_name
        return self._app.storage.get_error_count(self._meta, ErrorType(error_type), store)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._meta.identifier}>"


class LabeledCounterMetric(LabeledMetric[CounterMetric]):
    """Counters by label: ``metric["label"].add()``."""

    submetric_type = CounterMetric
    ptype = "labeled_counter"


class LabeledStringMetric(LabeledMetric[StringMetric]):
    """Strings by label: ``metric["label"].set("value")``."""

    submetric_type = StringMetric
    ptype = "labeled_string"


class LabeledBooleanMetric(LabeledMetric[BooleanMetric]):
    """Booleans by label: ``metric["label"].set(True)``."""

    submetric_type = BooleanMetric
    ptype = "labeled_boolean"


class LabeledQuantityMetric(LabeledMetric[QuantityMetric]):
    """Quantities by label: ``metric["label"].set(3)``."""

    submetric_type = QuantityMetric
    ptype = "labeled_quantity"


class LabeledTimingDistributionMetric(LabeledMetric[TimingDistributionMetric]):
    """Timing distributions by label: ``metric["label"].accumulate_samples([...])``."""

    submetric_type = TimingDistributionMetric
    ptype = "labeled_timing_distribution"

    def __init__(
        self,
        app: GleanApp,
        meta: CommonMetricData,
        time_unit: TimeUnit = TimeUnit.NANOSECOND,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__(app, meta, labels, time_unit=time_unit)


class LabeledMemoryDistributionMetric(LabeledMetric[MemoryDistributionMetric]):
    """Memory distributions by label: ``metric["label"].accumulate(n)``."""

    submetric_type = MemoryDistributionMetric
    ptype = "labeled_memory_distribution"

    def __init__(
        self,
        app: GleanApp,
        meta: CommonMetricData,
        memory_unit: MemoryUnit = MemoryUnit.BYTE,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__(app, meta, labels, memory_unit=memory_unit)


class LabeledCustomDistributionMetric(LabeledMetric[CustomDistributionMetric]):
    """Custom distributions by label: ``metric["label"].accumulate_samples([...])``."""

    submetric_type = CustomDistributionMetric
    ptype = "labeled_custom_distribution"

    def __init__(
        self,
        app: GleanApp,
        meta: CommonMetricData,
        *,
        range_min: int,
        range_max: int,
        bucket_count: int,
        histogram_type: str = "exponential",
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            app,
            meta,
            labels,
            range_min=range_min,
            range_max=range_max,
            bucket_count=bucket_count,
            histogram_type=histogram_type,
        )
