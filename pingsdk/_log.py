"""The "pingsdk" logger, rate-limited warnings, and what may appear in a log line.

Levels: DEBUG one line per request (and payloads, only with ``log_pings=True``); INFO settings
taken from the environment (once) and the end of an outage; WARNING a scheduled retry or a
dropped ping, at most one line per event kind per interval, with the count of lines held back
and the edge's answer (its text, sanitised); ERROR data loss (evicted or discarded pings, a
corrupt queue). Header values and request bodies never appear above DEBUG.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimitedLog", "logger"]

logger = logging.getLogger("pingsdk")


class RateLimitedLog:
    """Emit at most one record per ``key`` every ``interval`` seconds; count the rest.

    The next record of that key says how many were held back, so nothing is hidden, only
    condensed: a dead server with 10,000 queued pings logs one warning per interval, not 10,000.
    """

    def __init__(
        self,
        interval: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        log: logging.Logger = logger,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` at ``level`` unless ``key`` was logged within the interval.

        Returns whether the record was emitted.
        """
        if not self._log.isEnabledFor(level):
            return False
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            self._log.log(
                level, msg + " (%d similar messages held back)", *args, held, extra={"event": key}
            )
        else:
            self._log.log(level, msg, *args, extra={"event": key})
        return True
