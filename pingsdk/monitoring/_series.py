"""The monitor's per-minute series: its buffers per channel, sliding sums, and SAX words.

The monitor keeps per-minute circular buffers (8 days + 1 row) per normalized channel; the hour,
day and the same day a week earlier are sums over them, kept running here instead of recounted
at every timer event. Shape alerts compare two days as SAX words with symtseries' algorithm and
tables, reproduced exactly, not approximated.
"""

from __future__ import annotations

import math

__all__ = [
    "LATENCY_HOURS",
    "MINS_IN_DAY",
    "MINS_IN_HOUR",
    "MINS_IN_WEEK",
    "ROWS",
    "SAX_CARDINALITY",
    "SAX_WORD",
    "Column",
    "Sliding",
    "sax_mindist",
    "sax_text",
    "sax_word",
]

MINS_IN_HOUR = 60
"""Monitor minutes in the hour window (ingestion errors, inactivity)."""
MINS_IN_DAY = 1440
"""Monitor minutes in the day window (size, duplicates, volume, shape)."""
MINS_IN_WEEK = 7 * MINS_IN_DAY
"""How far back the historical day (``hday``) lies."""
ROWS = MINS_IN_DAY * 8 + 1
"""Rows of the monitor's circular buffers: 8 days and the current minute."""
LATENCY_HOURS = 192
"""Hour buckets of the latency histogram (later submissions count in the last)."""
SAX_CARDINALITY = 6
"""Letters of the monitor's SAX alphabet."""
SAX_WORD = 24
"""Letters in a day's SAX word (one per hour)."""
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


class Sliding:
    """A running sum of a per-minute series over ``[c - back_start, c - back_end]``."""

    def __init__(self, series: dict[int, int], back_start: int, back_end: int) -> None:
        self.series = series
        self.back_start = back_start
        self.back_end = back_end
        self.lo = 0
        self.hi = -1
        self.total = 0

    def move(self, c: int) -> None:
        """Slide the window to current minute ``c``."""
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
        """Count ``value`` just added to the series at ``minute``."""
        if self.lo <= minute <= self.hi:
            self.total += value


class Column:
    """One channel's buffers (the monitor's columns of volume, size, errors, duplicates)."""

    def __init__(self) -> None:
        self.volume: dict[int, int] = {}
        self.present: dict[int, int] = {}  # 1 where the volume cell is a number, not NaN
        self.size: dict[int, int] = {}
        self.errors: dict[int, int] = {}
        self.duplicates: dict[int, int] = {}
        self.diagnostics: dict[str, dict[int, int]] = {}
        self.latency: list[int] = [0] * LATENCY_HOURS
        self.hour_volume = Sliding(self.volume, 60, 1)
        self.hour_present = Sliding(self.present, 60, 1)
        self.hour_errors = Sliding(self.errors, 60, 1)
        self.day_volume = Sliding(self.volume, MINS_IN_DAY, 1)
        self.day_size = Sliding(self.size, MINS_IN_DAY, 1)
        self.day_duplicates = Sliding(self.duplicates, MINS_IN_DAY, 1)
        self.hday_volume = Sliding(self.volume, MINS_IN_DAY + MINS_IN_WEEK, 1 + MINS_IN_WEEK)
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
        """Add ``value`` to one of this column's series, and to the windows over it."""
        series[minute] = series.get(minute, 0) + value
        for window, of in self._windows:
            if of is series:
                window.added(minute, value)

    def move(self, c: int) -> None:
        """Slide every window to current minute ``c``."""
        for window, _ in self._windows:
            window.move(c)

    def prune(self, c: int) -> None:
        """Drop the minutes the circular buffers no longer hold at current minute ``c``."""
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
