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
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pingsdk.monitoring._series import (
    LATENCY_HOURS,
    MINS_IN_DAY,
    MINS_IN_HOUR,
    MINS_IN_WEEK,
    ROWS,
    Column,
    sax_mindist,
    sax_text,
    sax_word,
)
from pingsdk.monitoring._thresholds import CHANNELS, DocTypeMonitor, normalize_channel

__all__ = [
    "Alert",
    "DocTypeAlerts",
    "Submission",
    "dashboard_uri",
    "parse_window",
    "replay",
]

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
        self.columns = {name: Column() for name in CHANNELS}
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
        self, now: float, c: int, channel: str, col: Column, cfg: Mapping[str, float]
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
        self, now: float, c: int, channel: str, col: Column, cfg: Mapping[str, float]
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
        self, now: float, c: int, channel: str, col: Column, cfg: Mapping[str, float]
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
        self, now: float, c: int, channel: str, col: Column, cfg: Mapping[str, float]
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
        self, now: float, c: int, channel: str, col: Column, cfg: Mapping[str, float]
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
        self, now: float, c: int, channel: str, col: Column, cfg: Mapping[str, float]
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
