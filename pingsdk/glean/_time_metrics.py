"""Datetime and timespan metrics, and Glean's date-time text at each precision."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pingsdk.glean._common import CommonMetricData, ErrorType, TimeUnit, is_int
from pingsdk.glean._metric_base import Metric
from pingsdk.glean._storage import RecordError

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = ["DatetimeMetric", "TimespanMetric", "iso_time"]


def _offset(value: dt.datetime) -> str:
    delta = value.utcoffset() or dt.timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


# Glean's text at each precision: the date and time fields, then the second's fraction digits.
_FORMATS = {
    TimeUnit.DAY: "%Y-%m-%d",
    TimeUnit.HOUR: "%Y-%m-%dT%H",
    TimeUnit.MINUTE: "%Y-%m-%dT%H:%M",
}
_FRACTION_DIGITS = {TimeUnit.MILLISECOND: 3, TimeUnit.MICROSECOND: 6, TimeUnit.NANOSECOND: 9}


def iso_time(value: dt.datetime, unit: TimeUnit) -> str:
    """glean-core's ``get_iso_time_string``: the local time with offset, truncated to ``unit``.

    A naive ``value`` is taken as local time.

    >>> iso_time(dt.datetime(2024, 5, 1, 13, 7, 9, 123456, dt.timezone.utc), TimeUnit.MINUTE)
    '2024-05-01T13:07+00:00'
    """
    if value.tzinfo is None:
        value = value.astimezone()
    text = value.strftime(_FORMATS.get(unit, "%Y-%m-%dT%H:%M:%S"))
    digits = _FRACTION_DIGITS.get(unit)
    if digits is not None:
        nanos = value.microsecond * 1000
        text += f".{nanos // 10 ** (9 - digits):0{digits}d}"
    return text + _offset(value)


_PARSE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?)?([+-])(\d\d):(\d\d)$"
)


def parse_iso_time(text: str) -> dt.datetime:
    """The datetime a Glean date-time text stands for (any precision)."""
    match = _PARSE.match(text)
    if match is None:
        raise ValueError(f"not a Glean date-time: {text!r}")
    y, mo, d, h, mi, s, frac, sign, oh, om = match.groups()
    offset = dt.timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return dt.datetime(
        int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro,
        dt.timezone(offset),
    )  # fmt: skip


class DatetimeMetric(Metric):
    """A date and time with an offset, kept at the metric's ``time_unit`` precision."""

    ptype = "datetime"

    def __init__(
        self, app: GleanApp, meta: CommonMetricData, time_unit: TimeUnit = TimeUnit.MILLISECOND
    ) -> None:
        super().__init__(app, meta)
        self.time_unit = TimeUnit(time_unit)

    def set(self, value: dt.datetime | None = None) -> None:
        """Set the value (default: now); a naive datetime is local time."""
        if value is None:
            value = dt.datetime.now().astimezone()
        if self._accepts(isinstance(value, dt.datetime)):
            text = iso_time(value, self.time_unit)
            self._record(lambda _old: text)

    def test_get_value(self, ping_name: str | None = None) -> dt.datetime | None:
        """The stored value (truncated to ``time_unit``), or ``None``."""
        return self._value(ping_name, parse_iso_time)

    def test_get_value_as_str(self, ping_name: str | None = None) -> str | None:
        """The stored value as it appears in the payload, or ``None``."""
        return self._value(ping_name, str)


class TimespanMetric(Metric):
    """One duration, sent as ``{"value": n, "time_unit": unit}`` (``n`` truncated to the unit).

    ``start()`` twice, ``stop()`` without ``start()``, ``set_raw_nanos()`` while running, and a
    second value while one is stored are ``invalid_state`` and change nothing, as in Glean.
    """

    ptype = "timespan"

    def __init__(
        self, app: GleanApp, meta: CommonMetricData, time_unit: TimeUnit = TimeUnit.MILLISECOND
    ) -> None:
        super().__init__(app, meta)
        self.time_unit = TimeUnit(time_unit)
        self._started: int | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start measuring."""
        if not self._should_record():
            return
        now = time.monotonic_ns()
        with self._lock:
            if self._started is not None:
                running = True
            else:
                running = False
                self._started = now
        if running:
            self._error(ErrorType.INVALID_STATE)

    def stop(self) -> None:
        """Stop measuring and record the elapsed time."""
        now = time.monotonic_ns()
        with self._lock:
            started, self._started = self._started, None
        if not self._should_record():
            return
        if started is None:
            self._error(ErrorType.INVALID_STATE)
            return
        self._set(now - started)

    def cancel(self) -> None:
        """Forget a running measurement (no error if none)."""
        with self._lock:
            self._started = None

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        """Time a ``with`` block; an exception cancels the measurement."""
        self.start()
        try:
            yield
        except BaseException:
            self.cancel()
            raise
        self.stop()

    def set_raw_nanos(self, elapsed_nanos: int) -> None:
        """Record a duration measured elsewhere, in nanoseconds."""
        if not self._accepts(is_int(elapsed_nanos) and elapsed_nanos >= 0):
            return
        with self._lock:
            running = self._started is not None
        if running:
            self._error(ErrorType.INVALID_STATE)
            return
        self._set(elapsed_nanos)

    def _set(self, nanos: int) -> None:
        stored = {"value": nanos // self.time_unit.nanos, "time_unit": self.time_unit.value}

        def update(old: Any) -> dict[str, Any]:
            if old is not None:
                raise RecordError(ErrorType.INVALID_STATE)
            return stored

        self._record(update)

    def test_get_value(self, ping_name: str | None = None) -> int | None:
        """The stored duration in ``time_unit``, or ``None``."""
        return self._value(ping_name, lambda raw: int(raw["value"]))
