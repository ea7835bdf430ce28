"""Edge records fed to the docType monitors of several pings, and what suggestions count.

An edge record becomes a :class:`~pingsdk.monitoring._alerts.Submission` the way the pipeline
turns a request into a ``telemetry``, ``telemetry.error`` or ``telemetry.duplicate`` message;
an :class:`AlertBoard` runs one :class:`~pingsdk.monitoring._alerts.DocTypeAlerts` per
monitored docType and keeps per-channel :class:`ChannelStats` for ``pingsdk monitor --suggest``.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pingsdk._naming import lookup_name
from pingsdk.monitoring._alerts import Alert, DocTypeAlerts, Submission
from pingsdk.monitoring._series import LATENCY_HOURS
from pingsdk.monitoring._thresholds import DocTypeMonitor, normalize_channel

if TYPE_CHECKING:
    from pingsdk._model._ping import Ping

__all__ = [
    "AlertBoard",
    "ChannelStats",
    "RecordLike",
    "format_alert",
    "submission_from_record",
]


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
