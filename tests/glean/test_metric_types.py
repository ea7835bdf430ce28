"""Each metric type records as glean-core does: limits, errors (never raised), lifetimes."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path

import pytest

from pingsdk.glean import (
    BooleanMetric,
    CommonMetricData,
    CounterMetric,
    CustomDistributionMetric,
    DatetimeMetric,
    ErrorType,
    EventMetric,
    GleanApp,
    LabeledCounterMetric,
    LabeledStringMetric,
    Lifetime,
    MemoryDistributionMetric,
    MemoryUnit,
    PingType,
    QuantityMetric,
    RateMetric,
    StringListMetric,
    StringMetric,
    TextMetric,
    TimespanMetric,
    TimeUnit,
    TimingDistributionMetric,
    UrlMetric,
    UuidMetric,
)
from tests.glean.support import AppFactory


def meta(name: str, lifetime: Lifetime = Lifetime.PING) -> CommonMetricData:
    return CommonMetricData("test", name, ("custom",), lifetime)


@pytest.fixture
def app(make_app: AppFactory) -> GleanApp:
    return make_app()


@pytest.mark.parametrize("lifetime", list(Lifetime))
def test_counter_adds_and_refuses_non_positive(app: GleanApp, lifetime: Lifetime) -> None:
    counter = CounterMetric(app, meta("c", lifetime))
    counter.add()
    counter.add(4)
    counter.add(0)
    counter.add(-2)
    counter.add("3")  # type: ignore[arg-type]
    assert counter.test_get_value() == 5
    assert counter.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 3


def test_counter_saturates_at_i32(app: GleanApp) -> None:
    counter = CounterMetric(app, meta("c"))
    counter.add(2**31 - 2)
    counter.add(5)
    assert counter.test_get_value() == 2**31 - 1


def test_string_cut_at_255_bytes_on_a_character_boundary(app: GleanApp) -> None:
    metric = StringMetric(app, meta("s"))
    metric.set("é" * 130)  # 260 bytes: cut before the character that would pass 255
    assert metric.test_get_value() == "é" * 127
    assert metric.test_get_num_recorded_errors("invalid_overflow") == 1
    metric.set("short")
    assert metric.test_get_value() == "short"


def test_text_limit_is_200_kib(app: GleanApp) -> None:
    metric = TextMetric(app, meta("t"))
    metric.set("x" * (200 * 1024 + 5))
    value = metric.test_get_value()
    assert value is not None and len(value) == 200 * 1024
    assert metric.test_get_num_recorded_errors(ErrorType.INVALID_OVERFLOW) == 1


def test_string_list_limits(app: GleanApp) -> None:
    metric = StringListMetric(app, meta("l"))
    metric.set([str(i) for i in range(105)])
    assert metric.test_get_value() == [str(i) for i in range(100)]
    metric.add("one more")
    assert len(metric.test_get_value() or []) == 100
    assert metric.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 2
    metric.set(["x" * 101])  # items: 100 bytes
    assert metric.test_get_value() == ["x" * 100]
    assert metric.test_get_num_recorded_errors(ErrorType.INVALID_OVERFLOW) == 1


def test_quantity_boolean_uuid(app: GleanApp) -> None:
    quantity = QuantityMetric(app, meta("q"))
    quantity.set(-1)
    assert quantity.test_get_value() is None
    quantity.set(7)
    assert quantity.test_get_value() == 7
    flag = BooleanMetric(app, meta("b"))
    flag.set(False)
    assert flag.test_get_value() is False
    ident = UuidMetric(app, meta("u"))
    ident.set("not-a-uuid")
    assert ident.test_get_value() is None
    assert ident.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1
    made = ident.generate_and_set()
    assert ident.test_get_value() == made and isinstance(made, uuid.UUID)


def test_url_rules(app: GleanApp) -> None:
    url = UrlMetric(app, meta("u"))
    url.set("data:text/plain,hello")
    url.set("no scheme here")
    assert url.test_get_value() is None
    assert url.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 2
    url.set("https://example.com/" + "a" * 9000)
    assert len(url.test_get_value() or "") == 8192
    assert url.test_get_num_recorded_errors(ErrorType.INVALID_OVERFLOW) == 1


def test_rate(app: GleanApp) -> None:
    rate = RateMetric(app, meta("r", Lifetime.USER))
    rate.add_to_numerator(2)
    rate.add_to_denominator(5)
    rate.add_to_numerator(-1)
    assert rate.test_get_value() == (2, 5)
    assert rate.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1


def test_datetime_precision_and_offset(app: GleanApp) -> None:
    zone = dt.timezone(dt.timedelta(hours=-5, minutes=-30))
    value = dt.datetime(2025, 3, 4, 5, 6, 7, 891234, zone)
    cases = {
        TimeUnit.DAY: "2025-03-04-05:30",
        TimeUnit.HOUR: "2025-03-04T05-05:30",
        TimeUnit.MINUTE: "2025-03-04T05:06-05:30",
        TimeUnit.SECOND: "2025-03-04T05:06:07-05:30",
        TimeUnit.MILLISECOND: "2025-03-04T05:06:07.891-05:30",
        TimeUnit.MICROSECOND: "2025-03-04T05:06:07.891234-05:30",
        TimeUnit.NANOSECOND: "2025-03-04T05:06:07.891234000-05:30",
    }
    for unit, text in cases.items():
        metric = DatetimeMetric(app, meta(f"d_{unit.value}"), unit)
        metric.set(value)
        assert metric.test_get_value_as_str() == text
        got = metric.test_get_value()
        assert got is not None and got.utcoffset() == zone.utcoffset(None)


def test_timespan_states(app: GleanApp) -> None:
    span = TimespanMetric(app, meta("span"), TimeUnit.MILLISECOND)
    span.stop()  # never started
    assert span.test_get_num_recorded_errors(ErrorType.INVALID_STATE) == 1
    span.start()
    span.start()  # already running
    span.stop()
    assert span.test_get_value() is not None
    span.set_raw_nanos(5_000_000)  # a value is already stored
    assert span.test_get_num_recorded_errors(ErrorType.INVALID_STATE) == 3
    other = TimespanMetric(app, meta("raw"), TimeUnit.SECOND)
    other.set_raw_nanos(2_999_999_999)
    assert other.test_get_value() == 2  # truncated to the unit


def test_timing_distribution_timers(app: GleanApp) -> None:
    timing = TimingDistributionMetric(app, meta("td"), TimeUnit.MILLISECOND)
    timer = timing.start()
    timing.stop_and_accumulate(timer)
    timing.stop_and_accumulate(timer)  # already stopped
    cancelled = timing.start()
    timing.cancel(cancelled)
    with timing.measure():
        pass
    data = timing.test_get_value()
    assert data is not None and data.count == 2
    assert data.sum >= 2 * 1_000_000  # below one unit counts as one unit (1 ms)
    assert timing.test_get_num_recorded_errors(ErrorType.INVALID_STATE) == 1


def test_timing_samples_limits(app: GleanApp) -> None:
    timing = TimingDistributionMetric(app, meta("td"), TimeUnit.NANOSECOND)
    timing.accumulate_samples([-1, 0, 10, 700 * 10**9])
    data = timing.test_get_value()
    assert data is not None and data.count == 3
    assert data.sum == 1 + 10 + 600 * 10**9  # 0 -> 1, too long -> 10 minutes
    assert timing.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1
    assert timing.test_get_num_recorded_errors(ErrorType.INVALID_OVERFLOW) == 1


def test_memory_distribution_units_and_cap(app: GleanApp) -> None:
    memory = MemoryDistributionMetric(app, meta("md"), MemoryUnit.KILOBYTE)
    memory.accumulate_samples([1, 2, 3])
    data = memory.test_get_value()
    assert data is not None
    assert data.values == {1023: 1, 2047: 1, 3024: 1}  # glean-core's own test values
    memory.accumulate(2 * 1024**3)  # 2 TiB in kilobytes: capped at 1 TiB
    assert memory.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1


def test_custom_distribution(app: GleanApp) -> None:
    custom = CustomDistributionMetric(
        app, meta("cd"), range_min=1, range_max=100, bucket_count=10, histogram_type="exponential"
    )
    custom.accumulate_samples([1, 4, 60, 1000, -5])
    data = custom.test_get_value()
    assert data is not None
    assert data.values == {1: 1, 3: 1, 54: 1, 100: 1}
    assert custom.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1


def test_labeled_static_and_dynamic(app: GleanApp) -> None:
    static = LabeledCounterMetric(app, meta("static"), labels=["a", "b"])
    static["a"].add()
    static["zzz"].add()
    assert static.test_get_value() == {"a": 1, "__other__": 1}
    assert static.test_get_num_recorded_errors(ErrorType.INVALID_LABEL) == 0

    dynamic = LabeledCounterMetric(app, meta("dynamic", Lifetime.APPLICATION))
    for i in range(20):
        dynamic[f"label_{i}"].add()
    dynamic["label_0"].add()  # an existing label stays itself
    values = dynamic.test_get_value()
    assert len(values) == 17 and values["__other__"] == 4 and values["label_0"] == 2

    strings = LabeledStringMetric(app, meta("strings"))
    strings["x" * 112].set("too long a label")
    strings["bad\nlabel"].set("control character")
    assert strings.test_get_value() == {"__other__": "control character"}
    assert strings.test_get_num_recorded_errors(ErrorType.INVALID_LABEL) == 2


def test_event_extras(app: GleanApp) -> None:
    event = EventMetric(app, meta("clicked"), ["button", "count"])
    event.record({"button": "ok", "count": 3})
    event.record({"unknown": "x"})  # not declared: not recorded
    event.record({"button": "y" * 600})
    events = event.test_get_value()
    assert events is not None and len(events) == 2
    assert events[0]["extra"] == {"button": "ok", "count": "3"}
    assert len(events[1]["extra"]["button"]) == 500
    assert event.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1
    assert event.test_get_num_recorded_errors(ErrorType.INVALID_OVERFLOW) == 1


def test_disabled_metric_records_nothing(app: GleanApp) -> None:
    off = CounterMetric(app, CommonMetricData("test", "off", ("custom",), disabled=True))
    off.add()
    assert off.test_get_value() is None


def test_bad_declarations_are_refused(app: GleanApp) -> None:
    from pingsdk import ConfigurationError

    with pytest.raises(ConfigurationError, match="snake_case"):
        CommonMetricData("test", "Bad-Name", ("custom",))
    with pytest.raises(ConfigurationError, match="not one string"):
        CommonMetricData("test", "name", "custom")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ping name"):
        CommonMetricData("test", "name", ("Bad Ping",))
    with pytest.raises(ConfigurationError, match="bucket_count"):
        CustomDistributionMetric(app, meta("x"), range_min=5, range_max=1, bucket_count=10)


def test_a_locked_queue_file_loses_the_value_but_never_raises(
    make_app: AppFactory, queue_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    app.storage.queue.busy_timeout = 0.2
    persisted = CounterMetric(app, meta("kept", Lifetime.USER))
    in_memory = CounterMetric(app, meta("mem"))
    ping = PingType(app, "custom")
    in_memory.add()
    holder = sqlite3.connect(queue_file)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        persisted.add()  # waits 0.2 s, then gives up without raising
        assert ping.submit() is None  # not stored; its data is kept
    finally:
        holder.rollback()
        holder.close()
    assert any("not recorded" in r.getMessage() for r in caplog.records)
    assert any("not stored, its data is kept" in r.getMessage() for r in caplog.records)
    assert persisted.test_get_value() is None
    assert in_memory.test_get_value() == 1
    assert ping.submit() is not None


def test_labeled_distributions(app: GleanApp) -> None:
    from pingsdk.glean import DistributionData, LabeledTimingDistributionMetric

    timing = LabeledTimingDistributionMetric(app, meta("by_route"), TimeUnit.MILLISECOND)
    timing["/a"].accumulate_samples([1, 1])
    timing["/a"].accumulate_samples([-1])
    values = timing.test_get_value()
    assert set(values) == {"/a"}
    data = values["/a"]
    assert isinstance(data, DistributionData) and data.count == 2 and data.sum == 2_000_000
    assert timing.test_get_num_recorded_errors(ErrorType.INVALID_VALUE) == 1
