"""Glean's histogram bucketing, exactly: functional (timing, memory), exponential and linear.

A histogram is stored as a plain JSON-able dict so that it can live in memory or in SQLite
alike: ``{"values": {"<bucket minimum>": count}, "sum": int, "count": int, "bucketing": [...]}``
where ``bucketing`` is ``["functional", log_base, buckets_per_magnitude]`` or
``["exponential"|"linear", range_min, range_max, bucket_count]``. The payload form
(:func:`payload`) follows glean-core: ``{"sum": ..., "values": {...}}`` with the empty buckets
Glean fills in (functional: from the lowest to one past the highest filled bucket; precomputed:
from 0 to one past the highest filled bucket). ``count`` is not sent (glean-core stopped sending
it, bug 1799509).
"""

from __future__ import annotations

import bisect
import functools
import math
from typing import Any

__all__ = [
    "Histogram",
    "accumulate",
    "exponential_range",
    "functional_bucket_minimum",
    "linear_range",
    "new_histogram",
    "payload",
]

Histogram = dict[str, Any]
_U64_MAX = (1 << 64) - 1


def _exponent(log_base: float, buckets_per_magnitude: float) -> float:
    return float(log_base ** (1.0 / buckets_per_magnitude))


def _functional_index(sample: int, exponent: float) -> int:
    # glean-core: ((sample + 1) as f64).log(exponent) as u64; Rust's f64::log(b) is ln(x)/ln(b).
    return int(math.log(sample + 1) / math.log(exponent))


def _functional_minimum(index: int, exponent: float) -> int:
    return int(exponent ** float(index))


def functional_bucket_minimum(sample: int, log_base: float, buckets_per_magnitude: float) -> int:
    """The bucket a sample falls in, for Glean's functional bucketing (timing, memory)."""
    if sample == 0:
        return 0
    exponent = _exponent(log_base, buckets_per_magnitude)
    return _functional_minimum(_functional_index(sample, exponent), exponent)


@functools.lru_cache(maxsize=256)
def exponential_range(range_min: int, range_max: int, bucket_count: int) -> tuple[int, ...]:
    """glean-core's ``exponential_range``: an underflow bucket 0, then ``range_min`` (>= 1)..."""
    log_max = math.log(range_max)
    current = max(range_min, 1)
    ranges = [0, current]
    for i in range(2, bucket_count):
        log_current = math.log(current)
        log_ratio = (log_max - log_current) / (bucket_count - i)
        next_value = round_half_away(math.exp(log_current + log_ratio))
        current = next_value if next_value > current else current + 1
        ranges.append(current)
    return tuple(ranges)


@functools.lru_cache(maxsize=256)
def linear_range(range_min: int, range_max: int, bucket_count: int) -> tuple[int, ...]:
    """glean-core's ``linear_range``: an underflow bucket 0, then equal steps to ``range_max``."""
    ranges = [0]
    low = max(1, range_min)
    for i in range(1, bucket_count):
        ranges.append((low * (bucket_count - 1 - i) + range_max * (i - 1)) // (bucket_count - 2))
    return tuple(ranges)


def round_half_away(value: float) -> int:
    """Rust's ``f64::round``: halves round away from zero (Python's ``round`` goes to even)."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _ranges(bucketing: list[Any]) -> tuple[int, ...]:
    kind, low, high, count = bucketing
    return (exponential_range if kind == "exponential" else linear_range)(
        int(low), int(high), int(count)
    )


def new_histogram(bucketing: list[Any]) -> Histogram:
    """An empty histogram with the given bucketing description."""
    return {"values": {}, "sum": 0, "count": 0, "bucketing": list(bucketing)}


def accumulate(hist: Histogram | None, bucketing: list[Any], samples: list[int]) -> Histogram:
    """A copy of ``hist`` (or a new one) with ``samples`` (non-negative ints) added."""
    out = new_histogram(bucketing) if hist is None else {**hist, "values": dict(hist["values"])}
    values: dict[str, int] = out["values"]
    if bucketing[0] == "functional":
        exponent = _exponent(float(bucketing[1]), float(bucketing[2]))
        for sample in samples:
            key = (
                0
                if sample == 0
                else _functional_minimum(_functional_index(sample, exponent), exponent)
            )
            values[str(key)] = values.get(str(key), 0) + 1
    else:
        ranges = _ranges(bucketing)
        for sample in samples:
            key = ranges[bisect.bisect_right(ranges, sample) - 1]
            values[str(key)] = values.get(str(key), 0) + 1
    out["sum"] = min(int(out["sum"]) + sum(samples), _U64_MAX)
    out["count"] = int(out["count"]) + len(samples)
    return out


def payload(hist: Histogram) -> dict[str, Any]:
    """The histogram as glean-core serializes it, with Glean's zero-filled buckets."""
    values = {int(k): int(v) for k, v in hist["values"].items()}
    bucketing = hist["bucketing"]
    if values:
        if bucketing[0] == "functional":
            exponent = _exponent(float(bucketing[1]), float(bucketing[2]))
            low = _functional_index(min(values), exponent)
            high = _functional_index(max(values), exponent) + 1
            for index in range(low, high + 1):
                values.setdefault(_functional_minimum(index, exponent), 0)
        else:
            top = max(values)
            for bucket in _ranges(bucketing):
                values.setdefault(bucket, 0)
                if bucket > top:
                    break
    return {"sum": int(hist["sum"]), "values": {str(k): values[k] for k in sorted(values)}}
