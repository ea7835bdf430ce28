"""Bucketing matches glean-core: the expected values are those of glean-core's own unit tests."""

from __future__ import annotations

from pingsdk.glean._histogram import (
    accumulate,
    exponential_range,
    functional_bucket_minimum,
    linear_range,
    payload,
)

# glean-core/src/histogram/exponential.rs, default_exponential_buckets_are_correct
DEFAULT_EXPONENTIAL = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 21, 23, 25, 28, 31, 34,
    38, 42, 46, 51, 56, 62, 68, 75, 83, 92, 101, 111, 122, 135, 149, 164, 181, 200, 221,
    244, 269, 297, 328, 362, 399, 440, 485, 535, 590, 651, 718, 792, 874, 964, 1064, 1174,
    1295, 1429, 1577, 1740, 1920, 2118, 2337, 2579, 2846, 3140, 3464, 3822, 4217, 4653,
    5134, 5665, 6250, 6896, 7609, 8395, 9262, 10219, 11275, 12440, 13726, 15144, 16709,
    18436, 20341, 22443, 24762, 27321, 30144, 33259, 36696, 40488, 44672, 49288, 54381,
    60000,
]  # fmt: skip


def test_exponential_ranges() -> None:
    assert list(exponential_range(1, 100, 10)) == [0, 1, 2, 3, 5, 9, 16, 29, 54, 100]
    assert list(exponential_range(0, 100, 10)) == [0, 1, 2, 3, 5, 9, 16, 29, 54, 100]
    assert list(exponential_range(0, 60000, 100)) == DEFAULT_EXPONENTIAL


def test_linear_ranges() -> None:
    assert list(linear_range(1, 10, 10)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]
    assert list(linear_range(0, 100, 100)) == [*range(99), 100]


def test_precomputed_buckets_accumulate_like_glean() -> None:
    bucketing = ["exponential", 0, 60000, 100]
    hist = accumulate(None, bucketing, [1, 10, 100, 1000, 10000])
    assert hist["sum"] == 11111 and hist["count"] == 5
    assert hist["values"] == {"1": 1, "10": 1, "92": 1, "964": 1, "9262": 1}
    linear = accumulate(None, ["linear", 0, 100, 100], [1, 10, 100, 1000, 10000])
    assert linear["values"] == {"1": 1, "10": 1, "100": 3}


def test_functional_buckets_match_glean_core_tests() -> None:
    # timing_distribution.rs: 1, 2, 3 seconds in nanoseconds
    seconds = [functional_bucket_minimum(s * 10**9, 2.0, 8.0) for s in (1, 2, 3)]
    assert seconds == [984625593, 1969251187, 2784941737]
    # memory_distribution.rs: 1, 2, 3 kilobytes in bytes
    kilobytes = [functional_bucket_minimum(k * 1024, 2.0, 16.0) for k in (1, 2, 3)]
    assert kilobytes == [1023, 2047, 3024]
    for value in range(100):  # functional.rs: buckets round down and are fixed points
        low = functional_bucket_minimum(value, 2.0, 8.0)
        assert low <= value
        assert functional_bucket_minimum(low, 2.0, 8.0) == low


def test_payload_fills_empty_buckets_as_glean_does() -> None:
    functional = accumulate(None, ["functional", 2.0, 8.0], [10, 14])
    # Buckets 2**(i/8) for i = 27..32 are 10, 11, 12, 13, 14, 16: from the lowest filled
    # bucket to one past the highest, zero-filled.
    expected = {"10": 1, "11": 0, "12": 0, "13": 0, "14": 1, "16": 0}
    assert payload(functional) == {"sum": 24, "values": expected}
    custom = accumulate(None, ["exponential", 1, 100, 10], [4])
    # from the first bucket to one past the highest filled one
    assert payload(custom) == {"sum": 4, "values": {"0": 0, "1": 0, "2": 0, "3": 1, "5": 0}}
    assert payload(accumulate(None, ["linear", 1, 10, 10], [])) == {"sum": 0, "values": {}}
