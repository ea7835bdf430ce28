"""Distributions: timing (nanoseconds), memory (bytes) and custom, bucketed exactly as Glean.

Timing: functional buckets, base 2, 8 per magnitude; samples below one ``time_unit`` count as one
unit, samples above 10 minutes' worth of units (600 billion units, as glean-core's
``MAX_SAMPLE_TIME``) are clamped with ``invalid_overflow``. Memory: functional buckets, base 2, 16
per magnitude; samples above 1 TiB are clamped with ``invalid_value``. Custom: precomputed
exponential or linear buckets over ``[range_min, range_max]``. Negative samples are
``invalid_value`` (one per sample) and skipped. Stopping an unknown timer is ``invalid_state``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pingsdk.glean._common import CommonMetricData, ErrorType, MemoryUnit, TimeUnit, is_int
from pingsdk.glean._histogram import accumulate
from pingsdk.glean._metric_base import Metric

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = [
    "CustomDistributionMetric",
    "DistributionData",
    "MemoryDistributionMetric",
    "TimerId",
    "TimingDistributionMetric",
]

MAX_SAMPLE_TIME = 1000 * 1000 * 1000 * 60 * 10
"""glean-core's cap on a timing sample, in the metric's time unit."""
MAX_BYTES = 1 << 40
"""glean-core's cap on a memory sample: 1 TiB."""

TimerId = int
"""What :meth:`TimingDistributionMetric.start` returns, for ``stop_and_accumulate``."""


@dataclasses.dataclass(frozen=True, slots=True)
class DistributionData:
    """A distribution as :meth:`test_get_value` returns it.

    Attributes:
        values: bucket minimum -> count (only the filled buckets).
        sum: sum of the samples (nanoseconds for timing, bytes for memory).
        count: number of samples.
    """

    values: dict[int, int]
    sum: int
    count: int


def distribution_data(raw: Any) -> DistributionData | None:
    """The :class:`DistributionData` of a stored histogram (``None`` stays ``None``)."""
    if raw is None:
        return None
    values = {int(k): int(v) for k, v in raw["values"].items()}
    return DistributionData(values=values, sum=int(raw["sum"]), count=int(raw["count"]))


class _Distribution(Metric):
    _bucketing: list[Any]

    def _valid_samples(self, samples: Sequence[int]) -> list[int]:
        """The non-negative int samples to record (none while not recording).

        Each other sample is counted as ``invalid_value``.
        """
        if not self._should_record():
            return []
        given = list(samples)
        good = [s for s in given if is_int(s) and s >= 0]
        if len(good) < len(given):
            self._error(ErrorType.INVALID_VALUE, len(given) - len(good))
        return good

    def _add(self, samples: list[int]) -> None:
        if samples:
            bucketing = self._bucketing
            self._record(lambda old: accumulate(old, bucketing, samples))

    def test_get_value(self, ping_name: str | None = None) -> DistributionData | None:
        """The stored distribution, or ``None``."""
        return distribution_data(self._raw(ping_name))


class TimingDistributionMetric(_Distribution):
    """Durations, in nanoseconds, in Glean's timing buckets."""

    ptype = "timing_distribution"

    def __init__(
        self, app: GleanApp, meta: CommonMetricData, time_unit: TimeUnit = TimeUnit.NANOSECOND
    ) -> None:
        super().__init__(app, meta)
        self._bucketing = ["functional", 2.0, 8.0]
        self.time_unit = TimeUnit(time_unit)
        self._ids = itertools.count(1)
        self._starts: dict[int, int] = {}
        self._lock = threading.Lock()

    def start(self) -> TimerId:
        """Start a timer; returns its id for :meth:`stop_and_accumulate` or :meth:`cancel`."""
        now = time.monotonic_ns()
        with self._lock:
            timer = next(self._ids)
            self._starts[timer] = now
        return timer

    def stop_and_accumulate(self, timer_id: TimerId) -> None:
        """Stop a timer and record its duration; an unknown id is ``invalid_state``."""
        now = time.monotonic_ns()
        with self._lock:
            started = self._starts.pop(timer_id, None)
        if not self._should_record():
            return
        if started is None:
            self._error(ErrorType.INVALID_STATE)
            return
        duration = now - started
        low, high = self.time_unit.nanos, self.time_unit.nanos * MAX_SAMPLE_TIME
        if duration < low:
            duration = low  # glean-core rounds up to one unit, without an error
        elif duration > high:
            self._error(ErrorType.INVALID_OVERFLOW)
            duration = high
        self._add([duration])

    def cancel(self, timer_id: TimerId) -> None:
        """Forget a timer without recording (no error for an unknown id)."""
        with self._lock:
            self._starts.pop(timer_id, None)

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        """Time a ``with`` block; an exception cancels the timer."""
        timer = self.start()
        try:
            yield
        except BaseException:
            self.cancel(timer)
            raise
        self.stop_and_accumulate(timer)

    def accumulate_samples(self, samples: Sequence[int]) -> None:
        """Record durations given in the metric's ``time_unit``."""
        good = self._valid_samples(samples)
        too_long = sum(1 for s in good if s > MAX_SAMPLE_TIME)
        if too_long:
            self._error(ErrorType.INVALID_OVERFLOW, too_long)
        unit = self.time_unit.nanos
        self._add([min(max(s, 1), MAX_SAMPLE_TIME) * unit for s in good])

    def accumulate_single_sample(self, sample: int) -> None:
        """Record one duration given in the metric's ``time_unit``."""
        self.accumulate_samples([sample])


class MemoryDistributionMetric(_Distribution):
    """Sizes, in bytes, in Glean's memory buckets."""

    ptype = "memory_distribution"

    def __init__(
        self, app: GleanApp, meta: CommonMetricData, memory_unit: MemoryUnit = MemoryUnit.BYTE
    ) -> None:
        super().__init__(app, meta)
        self._bucketing = ["functional", 2.0, 16.0]
        self.memory_unit = MemoryUnit(memory_unit)

    def accumulate(self, sample: int) -> None:
        """Record one size in the metric's ``memory_unit``."""
        self.accumulate_samples([sample])

    def accumulate_samples(self, samples: Sequence[int]) -> None:
        """Record sizes in the metric's ``memory_unit``."""
        good = self._valid_samples(samples)
        unit = self.memory_unit.bytes
        in_bytes = [s * unit for s in good]
        too_big = sum(1 for s in in_bytes if s > MAX_BYTES)
        if too_big:
            self._error(ErrorType.INVALID_VALUE, too_big)
        self._add([min(s, MAX_BYTES) for s in in_bytes])


class CustomDistributionMetric(_Distribution):
    """Samples in precomputed exponential or linear buckets over ``[range_min, range_max]``."""

    ptype = "custom_distribution"

    def __init__(
        self,
        app: GleanApp,
        meta: CommonMetricData,
        *,
        range_min: int,
        range_max: int,
        bucket_count: int,
        histogram_type: str = "exponential",
    ) -> None:
        from pingsdk._exceptions import ConfigurationError

        super().__init__(app, meta)
        if histogram_type not in ("exponential", "linear"):
            raise ConfigurationError(
                f"{meta.identifier}: histogram_type must be 'exponential' or 'linear', "
                f"got {histogram_type!r}"
            )
        if not (0 <= range_min < range_max) or bucket_count < 3:
            raise ConfigurationError(
                f"{meta.identifier}: need 0 <= range_min < range_max and bucket_count >= 3, "
                f"got {range_min}, {range_max}, {bucket_count}"
            )
        self._bucketing = [histogram_type, range_min, range_max, bucket_count]

    def accumulate_samples(self, samples: Sequence[int]) -> None:
        """Record samples; negative ones are ``invalid_value`` and skipped."""
        self._add(self._valid_samples(samples))

    def accumulate_single_sample(self, sample: int) -> None:
        """Record one sample."""
        self.accumulate_samples([sample])
