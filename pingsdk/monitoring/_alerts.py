"""The docType monitor's alerts, evaluated the way ``moz_telemetry_doctype_monitor.lua`` does.

Pure: no clock, no I/O. Feed :class:`Submission` records to a :class:`DocTypeAlerts` and call
:meth:`DocTypeAlerts.advance` with the time; it runs the monitor's timer once per monitor
minute (``ticker_interval = 60``) and returns the alerts it would send, with the monitor's own
texts (the golden texts of its integration test,
``moz_telemetry/tests/integration/doctype_monitor/run/output/doctype_monitor.lua``).

The monitor keeps per-minute circular buffers (8 days + 1 row) per normalized channel. At each
timer event, with ``c`` the buffer's current minute:

* hour = minutes ``[c-60, c-1]``, day = ``[c-1440, c-1]``, the same day a week earlier
  (``hday``) = day - 10080 minutes. The current minute is left out.
* volume: if the channel had valid data in the hour but more than ``inactivity_timeout``
  minutes of the hour were empty and the last ``inactivity_timeout`` minutes (plus the current
  one) are empty: "No new valid data ...". With ``percent_delta``, and a valid submission in the
  first minute of ``hday``: compare the day's count with ``hday``'s.
* size: once the day holds 24,000 valid submissions, compare the average size with ``average``.
* ingestion_error: once the hour holds 1,000 valid submissions or 1,000 errors, the error
  percentage of the hour; the diagnostic lists errors of the last 61 minutes by message.
* duplicate: once the day holds 24,000 valid submissions or 24,000 duplicates, the duplicate
  percentage of the day.
* shape: with a valid submission in the first minute of ``hday``: SAX words (24 letters,
  cardinality 6) of both days' per-minute counts and their MINDIST (symtseries' algorithm and
  tables, reproduced exactly, not approximated).
* latency: receipt minus creation time in hour buckets (clamped to 0..191 h), in a window that
  restarts after 60 latency checks; once it holds 1,000 submissions, the share later than
  ``hours``.

Alerts are throttled per channel (all alert types of a channel share one throttle, as the
monitor keys ``alert.send`` by channel): inactivity and ingestion errors for 90 minutes, the
others for the configured ``throttle``. Time scales: ``minute`` is how many seconds one monitor
minute lasts (60 in production; smaller in tests), and every window, throttle and latency
bucket scales with it.
"""

# The alert texts use printf-style formatting on purpose: they are the monitor's Lua
# string.format templates (C printf semantics for %d, %g and %.4g), kept character for character.
# ruff: noqa: UP031

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pingsdk.monitoring._thresholds import CHANNELS, DocTypeMonitor, normalize_channel
from pingsdk.schema._validation import lookup_name

if TYPE_CHECKING:
    from pingsdk._model._ping import Ping

__all__ = [
    "SAX_CARDINALITY",
    "Alert",
    "AlertBoard",
    "ChannelStats",
    "DocTypeAlerts",
    "Submission",
    "dashboard_uri",
    "format_alert",
    "parse_window",
    "replay",
    "sax_mindist",
    "sax_word",
    "submission_from_record",
]

MINS_IN_HOUR = 60
MINS_IN_DAY = 1440
MINS_IN_WEEK = 7 * MINS_IN_DAY
ROWS = MINS_IN_DAY * 8 + 1
LATENCY_HOURS = 192
SAX_CARDINALITY = 6
SAX_WORD = 24
_SAX_EPS = 1e-2

# symtseries (src/symtseries.c) for cardinality 6: breakpoints, and the MINDIST table with a
# 7th row/column for an all-NaN frame ('#').
_BREAKS = (-math.inf, -0.967, -0.430, 0.0, 0.430, 0.967, math.inf)
_DIST = (
    (0.000, 0.000, 0.537, 0.967, 1.398, 1.935, 1.935),
    (0.000, 0.000, 0.000, 0.431, 0.861, 1.398, 1.398),
    (0.537, 0.000, 0.000, 0.000, 0.431, 0.967, 0.967),
    (0.967, 0.431, 0.000, 0.000, 0.000, 0.537, 0.967),
    (1.398, 0.861, 0.431, 0.000, 0.000, 0.000, 1.398),
    (1.935, 1.398, 0.967, 0.537, 0.000, 0.000, 1.935),
    (1.935, 1.398, 0.967, 0.967, 1.398, 1.935, 0.000),
)

_SIZE_TEMPLATE = "The average message size has changed by %g%% (current avg: %dB)\n\ngraph: %s\n"
_LATENCY_TEMPLATE = "%g%% of submissions received after %d hours expected up to %g%%\n\ngraph: %s\n"

_INGESTION_ERROR_TEMPLATE = """\
Ingestion Data for the Last Hour
================================
valid            : %d
error            : %d
percent_error    : %g
max_percent_error: %g

graph: %s

Diagnostic (count/error)
========================
%s
"""

_DUPLICATE_TEMPLATE = """\
Duplicate Data for the Last Hour
================================
unique               : %d
duplicate            : %d
percent_duplicate    : %g
max_percent_duplicate: %g

graph: %s
"""

_SHAPE_TEMPLATE = """\
SAX Analysis
============
start time : %s
end time   : %s
current    : %s
historical : %s
mindist    : %g
max_mindist: %g

graph: %s
"""

Kind = Literal["valid", "error", "duplicate"]


@dataclasses.dataclass(frozen=True, slots=True)
class Submission:
    """One submission as the monitor sees it.

    Attributes:
        at: receipt time, seconds since the epoch.
        kind: ``valid`` (a ``telemetry`` message), ``error`` (``telemetry.error``: failed
            decoding or validation) or ``duplicate`` (``telemetry.duplicate``).
        channel: the raw channel (normalized here); ``None`` counts as ``Other``.
        size: the submission's size in bytes (valid submissions).
        created: the ping's creation time, seconds since the epoch (``None``: latency 0).
        error: the error message of an ingestion error (the diagnostic's ``DecodeError``).
    """

    at: float
    kind: Kind
    channel: str | None = None
    size: int = 0
    created: float | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    """An alert the monitor sends.

    Attributes:
        at: the timer event's time (seconds since the epoch).
        channel: the normalized channel (the monitor's alert id).
        alert_type: the thresholds entry that fired (``volume``, ``size``, ...).
        summary: the monitor's summary (``inactivitiy timeout`` [sic], ``volume``, ``size``,
            ``ingestion error``, ``duplicate``, ``shape``, ``latency``).
        detail: the monitor's alert text.
        annotation: the graph annotation the monitor adds.
    """

    at: float
    channel: str
    alert_type: str
    summary: str
    detail: str
    annotation: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)


def dashboard_uri(hostname: str, logger: str) -> Callable[[str], str]:
    """The monitor's graph links: ``heka.alert.get_dashboard_uri`` for a plugin and host."""

    def normalize(text: str) -> str:
        return "".join(ch if ch.isalnum() or ch == "." else "_" for ch in text)

    def uri(cbuf: str) -> str:
        return (
            f"https://{hostname}/dashboard_output/graphs/{normalize(logger)}.{normalize(cbuf)}.html"
        )

    return uri


def _symbol(value: float) -> int:
    """symtseries ``get_symbol`` for cardinality 6: 6 is the all-NaN frame."""
    c = SAX_CARDINALITY
    if math.isnan(value):
        return c
    if value == -math.inf:
        return c - 1
    for i in range(c):
        if _BREAKS[i] - _SAX_EPS < value <= _BREAKS[i + 1] - _SAX_EPS:
            return c - i - 1
    return 0


def sax_word(values: list[float]) -> list[int]:
    """The SAX symbols (24 frames, cardinality 6) of a series; ``nan`` marks a missing value."""
    finite = [v for v in values if math.isfinite(v)]
    mu = sum(finite) / len(finite) if finite else 0.0
    std = math.sqrt(sum((v - mu) ** 2 for v in finite) / len(finite)) if finite else 0.0
    frame = len(values) // SAX_WORD
    out = []
    for i in range(SAX_WORD):
        chunk = [v for v in values[i * frame : (i + 1) * frame] if not math.isnan(v)]
        if not chunk:
            average = math.nan
        else:
            total = sum(chunk)
            if math.isnan(total):
                average = math.nan
            elif not math.isfinite(total):
                average = total
            elif std < _SAX_EPS:
                average = 0.0
            else:
                average = (total - len(chunk) * mu) / (len(chunk) * std)
        out.append(_symbol(average))
    return out


def sax_text(symbols: list[int]) -> str:
    """A SAX word as the monitor prints it (``A``..``F``, ``#`` for an all-NaN frame)."""
    c = SAX_CARDINALITY
    return "".join("#" if s == c else chr(ord("A") + c - s - 1) for s in symbols)


def sax_mindist(a: list[int], b: list[int], n: int) -> float:
    """MINDIST of two SAX words of a series of ``n`` values."""
    distance = sum(_DIST[x][y] ** 2 for x, y in zip(a, b, strict=True))
    return math.sqrt(n / len(a)) * math.sqrt(distance)


class _Sliding:
    """A running sum of a per-minute series over ``[c - back_start, c - back_end]``."""

    def __init__(self, series: dict[int, int], back_start: int, back_end: int) -> None:
        self.series = series
        self.back_start = back_start
        self.back_end = back_end
        self.lo = 0
        self.hi = -1
        self.total = 0

    def move(self, c: int) -> None:
        lo, hi = c - self.back_start, c - self.back_end
        if lo == self.lo and hi == self.hi:
            return
        if lo > self.hi or lo < self.lo or hi - self.hi > hi - lo:
            self.total = sum(v for m, v in self.series.items() if lo <= m <= hi)
        else:
            get = self.series.get
            self.total -= sum(get(m, 0) for m in range(self.lo, lo))
            self.total += sum(get(m, 0) for m in range(self.hi + 1, hi + 1))
        self.lo, self.hi = lo, hi

    def added(self, minute: int, value: int) -> None:
        if self.lo <= minute <= self.hi:
            self.total += value


class _Column:
    """One channel's buffers (the monitor's columns of volume, size, errors, duplicates)."""

    def __init__(self) -> None:
        self.volume: dict[int, int] = {}
        self.present: dict[int, int] = {}  # 1 where the volume cell is a number, not NaN
        self.size: dict[int, int] = {}
        self.errors: dict[int, int] = {}
        self.duplicates: dict[int, int] = {}
        self.diagnostics: dict[str, dict[int, int]] = {}
        self.latency: list[int] = [0] * LATENCY_HOURS
        self.hour_volume = _Sliding(self.volume, 60, 1)
        self.hour_present = _Sliding(self.present, 60, 1)
        self.hour_errors = _Sliding(self.errors, 60, 1)
        self.day_volume = _Sliding(self.volume, MINS_IN_DAY, 1)
        self.day_size = _Sliding(self.size, MINS_IN_DAY, 1)
        self.day_duplicates = _Sliding(self.duplicates, MINS_IN_DAY, 1)
        self.hday_volume = _Sliding(self.volume, MINS_IN_DAY + MINS_IN_WEEK, 1 + MINS_IN_WEEK)
        self._windows = (
            (self.hour_volume, self.volume),
            (self.hour_present, self.present),
            (self.hour_errors, self.errors),
            (self.day_volume, self.volume),
            (self.day_size, self.size),
            (self.day_duplicates, self.duplicates),
            (self.hday_volume, self.volume),
        )

    def add(self, series: dict[int, int], minute: int, value: int) -> None:
        series[minute] = series.get(minute, 0) + value
        for window, of in self._windows:
            if of is series:
                window.added(minute, value)

    def move(self, c: int) -> None:
        for window, _ in self._windows:
            window.move(c)

    def prune(self, c: int) -> None:
        oldest = c - ROWS + 1
        for series in (self.volume, self.present, self.size, self.errors, self.duplicates):
            for minute in [m for m in series if m < oldest]:
                del series[minute]
        for text, series in list(self.diagnostics.items()):
            for minute in [m for m in series if m < c - MINS_IN_HOUR]:
                del series[minute]
            if not series:
                del self.diagnostics[text]

    def values(self, start: int, end: int) -> list[float]:
        """Per-minute counts of ``[start, end]``, NaN where no valid submission arrived."""
        return [
            float(self.volume[m]) if m in self.volume else math.nan for m in range(start, end + 1)
        ]


class DocTypeAlerts:
    """The monitor of one docType: add submissions, advance time, collect alerts.

    Args:
        monitor: the ping's :class:`~pingsdk.monitoring.DocTypeMonitor` (thresholds, throttle...).
        minute: seconds per monitor minute (60 in production).
        dashboard: the ``graph:`` link of an alert for a buffer name (``volume``, ``size``,
            ``ingestion_error``, ``duplicate``, ``latency``).
        start: when the monitor starts (its first timer event is the next minute boundary).
    """

    def __init__(
        self,
        monitor: DocTypeMonitor,
        *,
        minute: float = 60.0,
        dashboard: Callable[[str], str] | None = None,
        start: float | None = None,
    ) -> None:
        if not (minute > 0 and math.isfinite(minute)):
            raise ValueError(f"minute must be a positive number of seconds, got {minute!r}")
        self.monitor = monitor
        self.minute = minute
        self.dashboard = dashboard or dashboard_uri("localhost", "analysis.doctype_monitor")
        self.thresholds = monitor.thresholds_table()
        self.columns = {name: _Column() for name in CHANNELS}
        self.current: int | None = None  # the buffers' current minute
        self.next_tick: int | None = None if start is None else self._minute(start) + 1
        self.alert_times: dict[str, float] = {}
        self.latency_checks = 0
        self.ticks = 0
        # Set by AlertBoard: which ping this monitor watches.
        self.namespace = ""
        self.doctype = ""
        self.version = 0

    def _minute(self, t: float) -> int:
        return math.floor(t / self.minute)

    def _advance_to(self, minute: int) -> None:
        if self.current is None or minute > self.current:
            self.current = minute

    def add(self, sub: Submission) -> None:
        """Record one submission (``process_message``)."""
        minute = self._minute(sub.at)
        if self.next_tick is None:
            self.next_tick = minute + 1
        self._advance_to(minute)
        assert self.current is not None
        if minute < self.current - ROWS + 1:
            return  # older than the circular buffers: the monitor drops it too
        col = self.columns[normalize_channel(sub.channel)]
        if sub.kind == "valid":
            if minute not in col.volume:
                col.add(col.present, minute, 1)
            col.add(col.volume, minute, 1)
            col.add(col.size, minute, int(sub.size))
            created = sub.at if sub.created is None else sub.created
            hour = self.minute * MINS_IN_HOUR
            delta = max(0.0, sub.at - created)
            if delta >= hour * LATENCY_HOURS:
                delta = hour * (LATENCY_HOURS - 1)
            col.latency[int(delta // hour)] += 1
        elif sub.kind == "error":
            col.add(col.errors, minute, 1)
            diag = col.diagnostics.setdefault(sub.error or "<none>", {})
            diag[minute] = diag.get(minute, 0) + 1
        elif sub.kind == "duplicate":
            col.add(col.duplicates, minute, 1)

    def advance(self, now: float, *, idle: bool = True) -> list[Alert]:
        """Run every timer event due up to ``now``; return the alerts they send.

        With ``idle=False`` only one timer event runs however many minutes passed: the clock
        of a replay that sees time only through its messages (as the monitor's own
        integration test does), where a gap in the data is not a gap in time.
        """
        alerts: list[Alert] = []
        if self.next_tick is None:
            self.next_tick = self._minute(now) + 1
            return alerts
        if not idle:
            if self.next_tick * self.minute <= now:
                alerts.extend(self.tick(self._minute(now)))
                self.next_tick = self._minute(now) + 1
            return alerts
        while self.next_tick * self.minute <= now:
            alerts.extend(self.tick(self.next_tick))
            self.next_tick += 1
        return alerts

    def tick(self, minute: int) -> list[Alert]:
        """One timer event at the start of ``minute`` (``timer_event``)."""
        self._advance_to(minute)
        c = self.current
        assert c is not None
        now = minute * self.minute
        self.ticks += 1
        alerts: list[Alert] = []
        for channel in CHANNELS:
            ccfg = self.thresholds.get(channel)
            if ccfg is None:
                continue
            col = self.columns[channel]
            col.move(c)
            for alert_type, cfg in ccfg.items():
                alert = getattr(self, f"_check_{alert_type}")(now, c, channel, col, cfg)
                if alert is not None:
                    alerts.append(alert)
        if self.ticks % MINS_IN_DAY == 0:
            for col in self.columns.values():
                col.prune(c)
        if self.latency_checks >= MINS_IN_HOUR:
            self.latency_checks = 0
            for col in self.columns.values():
                col.latency = [0] * LATENCY_HOURS
        return alerts

    # alert.throttled / alert.send (heka/modules/heka/alert.lua), keyed by channel.
    def _throttled(self, now: float, channel: str, minutes: float | None = None) -> bool:
        limit = (self.monitor.throttle if minutes is None else minutes) * self.minute
        at = self.alert_times.get(channel)
        return not (at is None or limit == 0 or now - at > limit)

    def _send(
        self,
        now: float,
        channel: str,
        *,
        alert_type: str,
        summary: str,
        detail: str,
        annotation: str,
        throttle: float | None = None,
    ) -> Alert | None:
        if self.monitor.disabled or self._throttled(now, channel, throttle):
            return None
        self.alert_times[channel] = now
        return Alert(now, channel, alert_type, summary, detail, annotation)

    def _check_volume(
        self, now: float, c: int, channel: str, col: _Column, cfg: Mapping[str, float]
    ) -> Alert | None:
        if col.hour_present.total == 0 or self._throttled(now, channel, 90):
            return None
        iato = cfg["inactivity_timeout"]
        if MINS_IN_HOUR - col.hour_present.total > iato:
            first = math.floor(c - iato)
            if not any(m in col.volume for m in range(first, c + 1)):
                alert = self._send(
                    now,
                    channel,
                    alert_type="volume",
                    summary="inactivitiy timeout",
                    detail="No new valid data has been seen in %d minutes\n\ngraph: %s\n"
                    % (int(iato), self.dashboard("volume")),
                    annotation="inactivitiy timeout",
                    throttle=90,
                )
                if alert is not None:
                    return alert
        if cfg.get("percent_delta") is None:
            return None
        if c - MINS_IN_DAY - MINS_IN_WEEK not in col.volume:
            return None  # no historical data yet
        historical, current = col.hday_volume.total, col.day_volume.total
        delta = (current - historical) / historical * 100
        if abs(delta) > cfg["percent_delta"]:
            return self._send(
                now,
                channel,
                alert_type="volume",
                summary="volume",
                detail="historical: %d current: %d  delta: %g%%\n\ngraph: %s\n"
                % (historical, current, delta, self.dashboard("volume")),
                annotation="volume %.4g%%" % delta,
            )
        return None

    def _check_size(
        self, now: float, c: int, channel: str, col: _Column, cfg: Mapping[str, float]
    ) -> Alert | None:
        count = col.day_volume.total
        if count < 24000 or self._throttled(now, channel):
            return None
        avg = col.day_size.total / count
        delta = (avg - cfg["average"]) / cfg["average"] * 100
        if abs(delta) > cfg["percent_delta"]:
            return self._send(
                now,
                channel,
                alert_type="size",
                summary="size",
                detail=_SIZE_TEMPLATE % (delta, int(avg), self.dashboard("size")),
                annotation="%.4g%%" % delta,
            )
        return None

    def _check_ingestion_error(
        self, now: float, c: int, channel: str, col: _Column, cfg: Mapping[str, float]
    ) -> Alert | None:
        if self._throttled(now, channel, 90):
            return None
        valid, err = col.hour_volume.total, col.hour_errors.total
        if valid < 1000 and err < 1000:
            return None
        pe = err / (valid + err) * 100
        if pe > cfg["percent"]:
            counts = [
                (sum(v for m, v in series.items() if c - MINS_IN_HOUR <= m <= c), text)
                for text, series in col.diagnostics.items()
            ]
            counts.sort(key=lambda item: (-item[0], item[1]))
            dump = "\n".join(f"{n}\t{text}" for n, text in counts if n)
            return self._send(
                now,
                channel,
                alert_type="ingestion_error",
                summary="ingestion error",
                detail=_INGESTION_ERROR_TEMPLATE
                % (valid, err, pe, cfg["percent"], self.dashboard("ingestion_error"), dump),
                annotation="%.4g%%" % pe,
                throttle=90,
            )
        return None

    def _check_duplicate(
        self, now: float, c: int, channel: str, col: _Column, cfg: Mapping[str, float]
    ) -> Alert | None:
        if self._throttled(now, channel):
            return None
        valid, dupes = col.day_volume.total, col.day_duplicates.total
        if valid < 24000 and dupes < 24000:
            return None
        de = dupes / (valid + dupes) * 100
        if de > cfg["percent"]:
            return self._send(
                now,
                channel,
                alert_type="duplicate",
                summary="duplicate",
                detail=_DUPLICATE_TEMPLATE
                % (valid, dupes, de, cfg["percent"], self.dashboard("duplicate")),
                annotation="%.4g%%" % de,
            )
        return None

    def _check_shape(
        self, now: float, c: int, channel: str, col: _Column, cfg: Mapping[str, float]
    ) -> Alert | None:
        if self._throttled(now, channel):
            return None
        day_start = c - MINS_IN_DAY
        if day_start - MINS_IN_WEEK not in col.volume:
            return None  # no historical data yet
        current = sax_word(col.values(day_start, c - 1))
        historical = sax_word(col.values(day_start - MINS_IN_WEEK, c - 1 - MINS_IN_WEEK))
        mindist = sax_mindist(historical, current, MINS_IN_DAY)
        historical_text = sax_text(historical)
        if mindist > cfg["mindist"] and not historical_text.startswith("#"):
            return self._send(
                now,
                channel,
                alert_type="shape",
                summary="shape",
                detail=_SHAPE_TEMPLATE
                % (
                    _date(day_start * self.minute),
                    _date((c - 1) * self.minute),
                    sax_text(current),
                    historical_text,
                    mindist,
                    cfg["mindist"],
                    self.dashboard("volume"),
                ),
                annotation="shape %.4g" % mindist,
            )
        return None

    def _check_latency(
        self, now: float, c: int, channel: str, col: _Column, cfg: Mapping[str, float]
    ) -> Alert | None:
        self.latency_checks += 1
        if self._throttled(now, channel):
            return None
        total = sum(col.latency)
        if total < 1000:
            return None
        on_time = sum(col.latency[: int(cfg["hours"])])
        percent = 100 - (on_time / total * 100)
        if percent > cfg["percent"]:
            return self._send(
                now,
                channel,
                alert_type="latency",
                summary="latency",
                detail=_LATENCY_TEMPLATE
                % (percent, int(cfg["hours"]), cfg["percent"], self.dashboard("latency")),
                annotation="%.4g%% after %d hours" % (percent, int(cfg["hours"])),
            )
        return None


def _date(seconds: float) -> str:
    # os.date("%Y%m%d %H%M%S") in the server's local time; pipeline hosts run in UTC.
    when = datetime.datetime.fromtimestamp(math.floor(seconds), tz=datetime.timezone.utc)
    return when.strftime("%Y%m%d %H%M%S")


def replay(
    monitor: DocTypeMonitor,
    submissions: Iterable[Submission],
    *,
    until: float | None = None,
    minute: float = 60.0,
    dashboard: Callable[[str], str] | None = None,
    start: float | None = None,
    engine: DocTypeAlerts | None = None,
    idle: bool = True,
) -> list[Alert]:
    """Run the monitor over recorded submissions and return every alert it sends.

    The first timer event is the minute after ``start`` (default: the first submission);
    timer events continue through ``until`` (default: the last submission). ``engine`` runs an
    existing monitor instead of a new one; ``idle`` is :meth:`DocTypeAlerts.advance`'s.
    """
    if engine is None:
        engine = DocTypeAlerts(monitor, minute=minute, dashboard=dashboard, start=start)
    alerts: list[Alert] = []
    last: float | None = None
    for sub in sorted(submissions, key=lambda s: s.at):
        alerts += engine.advance(sub.at, idle=idle)
        engine.add(sub)
        last = sub.at
    end = until if until is not None else last
    if end is not None:
        alerts += engine.advance(end, idle=idle)
    return alerts


_WINDOW = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<unit>ms|s|m|h|d)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_window(text: str) -> float:
    """Seconds per monitor minute for a scaled 24-hour window (``"60s"``, ``"24h"``, ``"2m"``).

    The text is how long the monitor's day lasts; a plain number is seconds. ``"24h"`` is
    production (60 s per minute); ``"60s"`` makes a monitor minute last 1/24 s.
    """
    match = _WINDOW.fullmatch(text.strip())
    if match is None or float(match["n"]) <= 0:
        raise ValueError(
            f"monitor window {text!r}: expected a positive duration such as 60s, 10m, 24h"
        )
    return float(match["n"]) * _UNITS[match["unit"] or "s"] / MINS_IN_DAY


class RecordLike(Protocol):
    """What :func:`submission_from_record` reads of a ``pingsdk.edge.ReceivedPing``."""

    @property
    def received_at(self) -> float: ...
    @property
    def status(self) -> int: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...
    @property
    def valid(self) -> bool | None: ...
    @property
    def duplicate(self) -> bool: ...
    @property
    def decode_error(self) -> str | None: ...
    @property
    def errors(self) -> Sequence[Any]: ...
    @property
    def decoded_size(self) -> int | None: ...
    @property
    def wire_size(self) -> int: ...
    @property
    def legacy(self) -> tuple[str, ...] | None: ...


def _at_path(payload: Mapping[str, Any] | None, path: str | None) -> Any:
    value: Any = payload
    if path is None:
        return None
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None  # the monitor falls back to the receipt time (latency 0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def submission_from_record(record: RecordLike, monitor: DocTypeMonitor) -> Submission | None:
    """How the monitor would see one edge record, or ``None`` if it would not see it.

    Accepted records that validated (or were not validated: the edge has no schemas) are
    ``telemetry`` messages; invalid, undecodable or unknown-doctype ones are ``telemetry.error``
    with the decode error or the first schema error's path and keyword as the diagnostic;
    duplicates are ``telemetry.duplicate``. Requests refused before decoding (a bad URL, a too
    large body) never reach the monitor. The channel comes from ``monitor.channel_field`` (for
    a legacy ping without one, the URL's appUpdateChannel); the creation time from
    ``monitor.creation_field``.
    """
    payload = record.payload
    channel = _at_path(payload, monitor.channel_field)
    if channel is None and monitor.channel_field is None and record.legacy:
        channel = record.legacy[2]
    channel = channel if isinstance(channel, str) else None
    if record.duplicate:
        return Submission(record.received_at, "duplicate", channel)
    unknown = getattr(record, "verdict", None) == "unknown doctype"
    if record.decode_error is not None or record.valid is False or unknown:
        error: str | None
        if record.decode_error is not None:
            error = record.decode_error
        elif record.errors:
            # Path and keyword, not the message: messages quote payload values.
            first = record.errors[0]
            error = f"schema: {getattr(first, 'path', '')}: {getattr(first, 'keyword', '')}"
        else:
            error = "unknown doctype" if unknown else None
        return Submission(record.received_at, "error", channel, error=error)
    if not 200 <= record.status < 300:
        return None
    size = record.decoded_size if record.decoded_size is not None else record.wire_size
    created = _timestamp(_at_path(payload, monitor.creation_field))
    return Submission(record.received_at, "valid", channel, size, created)


@dataclasses.dataclass
class ChannelStats:
    """What suggestions need to know of one channel's submissions (real seconds, not scaled).

    Attributes:
        valid, errors, duplicates: counts by kind.
        size_sum, size_squares, size_min, size_max: sizes of valid submissions.
        first, last: receipt times of the first and last valid submission.
        max_gap: the longest time between two consecutive valid submissions (seconds).
        latency_hours: valid submissions with a creation time, by whole hours from creation to
            receipt (0 to 191; later ones in the last bucket, as the monitor counts them).
    """

    valid: int = 0
    errors: int = 0
    duplicates: int = 0
    size_sum: int = 0
    size_squares: int = 0
    size_min: int | None = None
    size_max: int | None = None
    first: float | None = None
    last: float | None = None
    max_gap: float = 0.0
    latency_hours: list[int] = dataclasses.field(default_factory=lambda: [0] * LATENCY_HOURS)

    def add(self, sub: Submission) -> None:
        """Count one submission (in receipt-time order for ``max_gap``)."""
        if sub.kind == "error":
            self.errors += 1
            return
        if sub.kind == "duplicate":
            self.duplicates += 1
            return
        self.valid += 1
        self.size_sum += sub.size
        self.size_squares += sub.size * sub.size
        self.size_min = sub.size if self.size_min is None else min(self.size_min, sub.size)
        self.size_max = sub.size if self.size_max is None else max(self.size_max, sub.size)
        if self.last is not None:
            self.max_gap = max(self.max_gap, sub.at - self.last)
        self.first = sub.at if self.first is None else self.first
        self.last = sub.at
        if sub.created is not None:
            hours = int(max(0.0, sub.at - sub.created) // 3600)
            self.latency_hours[min(hours, LATENCY_HOURS - 1)] += 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``/__monitor__``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChannelStats:
        """The inverse of :meth:`to_dict` (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class AlertBoard:
    """The docType monitors of several pings, fed with edge records (thread-safe).

    Args:
        pings: Ping classes; those declared with ``monitor=`` are monitored.
        minute: seconds per monitor minute.
        start: when the monitors start (their first timer event is the next minute).
        dashboard: the ``graph:`` link for ``(namespace, doctype, buffer)``.
    """

    def __init__(
        self,
        pings: Iterable[type[Ping]],
        *,
        minute: float = 60.0,
        start: float,
        dashboard: Callable[[str, str, str], str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._monitors: dict[tuple[str, str], tuple[DocTypeMonitor, DocTypeAlerts]] = {}
        self._raised: list[tuple[str, str, Alert]] = []
        self._stats: dict[tuple[str, str], dict[str, ChannelStats]] = {}
        for cls in pings:
            info = cls.ping_info()
            if info.monitor is None:
                continue
            key = (lookup_name(info.namespace), lookup_name(info.doctype))
            known = self._monitors.get(key)
            if known is not None and known[1].version >= info.version:
                continue  # one monitor per docType: the newest version's thresholds
            # The deployed monitor may be disabled; locally every alert is shown.
            monitor = dataclasses.replace(info.monitor, disabled=False)
            link = None
            if dashboard is not None:
                link = functools.partial(dashboard, info.namespace, info.doctype)
            engine = DocTypeAlerts(monitor, minute=minute, dashboard=link, start=start)
            engine.namespace, engine.doctype, engine.version = (
                info.namespace,
                info.doctype,
                info.version,
            )
            self._monitors[key] = (monitor, engine)

    def __bool__(self) -> bool:
        return bool(self._monitors)

    def observe(self, namespace: str | None, doctype: str | None, record: RecordLike) -> None:
        """Feed one stored record (ignored unless its docType is monitored)."""
        found = self._monitors.get((lookup_name(namespace or ""), lookup_name(doctype or "")))
        if found is None:
            return
        monitor, engine = found
        sub = submission_from_record(record, monitor)
        if sub is None:
            return
        with self._lock:
            engine.add(sub)
            by_channel = self._stats.setdefault((engine.namespace, engine.doctype), {})
            by_channel.setdefault(normalize_channel(sub.channel), ChannelStats()).add(sub)

    def engine(self, namespace: str, doctype: str) -> DocTypeAlerts | None:
        """The monitor of one docType, or ``None``."""
        found = self._monitors.get((lookup_name(namespace), lookup_name(doctype)))
        return found[1] if found is not None else None

    def advance(self, now: float, *, idle: bool = True) -> list[tuple[str, str, Alert]]:
        """Run the timer events due up to ``now``; return ``(namespace, doctype, alert)``.

        ``idle`` is :meth:`DocTypeAlerts.advance`'s.
        """
        out = []
        with self._lock:
            for _, engine in self._monitors.values():
                for alert in engine.advance(now, idle=idle):
                    out.append((engine.namespace, engine.doctype, alert))
            self._raised += out
        return out

    def report(self) -> list[dict[str, Any]]:
        """Every alert raised so far, per docType and channel (JSON-ready)."""
        with self._lock:
            raised = list(self._raised)
            engines = [engine for _, engine in self._monitors.values()]
            stats = {
                key: {c: st.to_dict() for c, st in channels.items()}
                for key, channels in self._stats.items()
            }
        out = []
        for engine in sorted(engines, key=lambda e: (e.namespace, e.doctype)):
            channels: dict[str, list[dict[str, Any]]] = {}
            for ns, dt, alert in raised:
                if (ns, dt) == (engine.namespace, engine.doctype):
                    channels.setdefault(alert.channel, []).append(alert.to_dict())
            out.append(
                {
                    "namespace": engine.namespace,
                    "doctype": engine.doctype,
                    "thresholds": engine.thresholds,
                    "alerts": channels,
                    "channels": stats.get((engine.namespace, engine.doctype), {}),
                }
            )
        return out


def format_alert(namespace: str, doctype: str, alert: Alert) -> str:
    """One alert as the edge prints it: a header line, then the monitor's text."""
    when = datetime.datetime.fromtimestamp(alert.at, tz=datetime.timezone.utc)
    header = (
        f"pingsdk monitor alert {when:%Y-%m-%dT%H:%M:%SZ} {namespace}/{doctype} "
        f"[{alert.channel}] {alert.summary}"
    )
    return header + "\n" + alert.detail.rstrip("\n") + "\n"
