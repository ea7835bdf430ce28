"""Event metrics: timestamped occurrences with string extras, sent in the ``events`` array.

As glean-core: an extra key that is not declared is ``invalid_value`` and the event is not
recorded; extra values are strings (booleans become ``"true"``/``"false"``, integers their
decimal text) cut at 500 bytes with ``invalid_overflow``. Events have ping lifetime. In the
payload, timestamps are milliseconds since the ping's first event, and each event carries the
``glean_timestamp`` extra (Unix milliseconds), as glean-core adds it by default
(``enable_event_timestamps``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pingsdk.glean._common import CommonMetricData, ErrorType, truncate_utf8
from pingsdk.glean._metric_base import Metric

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = ["EventMetric", "RecordedEvent"]

MAX_EXTRA_VALUE = 500
GLEAN_TIMESTAMP = "glean_timestamp"

RecordedEvent = dict[str, Any]
"""``{"timestamp": ms, "category": ..., "name": ..., "extra": {...}}`` (extra optional)."""


class EventMetric(Metric):
    """An event with optional extras from ``allowed_extra_keys``."""

    ptype = "event"

    def __init__(
        self, app: GleanApp, meta: CommonMetricData, allowed_extra_keys: Sequence[str] = ()
    ) -> None:
        super().__init__(app, meta)
        self.allowed_extra_keys = frozenset(allowed_extra_keys)

    def record(self, extra: Mapping[str, str | bool | int] | None = None) -> None:
        """Record one occurrence now."""
        if not self._should_record():
            return
        timestamp = time.time_ns() // 1_000_000
        extras: dict[str, str] = {}
        for key, value in (extra or {}).items():
            if key not in self.allowed_extra_keys or not isinstance(value, (str, bool, int)):
                self._error(ErrorType.INVALID_VALUE)
                return
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            text, cut = truncate_utf8(text, MAX_EXTRA_VALUE)
            if cut:
                self._error(ErrorType.INVALID_OVERFLOW)
            extras[key] = text
        extras[GLEAN_TIMESTAMP] = str(timestamp)
        event: RecordedEvent = {
            "timestamp": timestamp,
            "category": self._meta.category,
            "name": self._meta.name,
            "extra": extras,
        }
        held = self._app.storage.record_event(self._meta, event)
        self._app.events_recorded(held)

    def test_get_value(self, ping_name: str | None = None) -> list[RecordedEvent] | None:
        """This metric's waiting events, or ``None``.

        Timestamps are Unix milliseconds; ``extra`` is left out when the event has none but
        ``glean_timestamp`` (which is not shown here).
        """
        events = []
        for event in self._app.storage.get_events(self._store(ping_name)):
            if event["category"] != self._meta.category or event["name"] != self._meta.name:
                continue
            extra = {k: v for k, v in event["extra"].items() if k != GLEAN_TIMESTAMP}
            shown = {k: v for k, v in event.items() if k != "extra"}
            events.append({**shown, "extra": extra} if extra else shown)
        return events or None
