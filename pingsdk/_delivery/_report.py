"""What a client tells about its pings: counters, log lines and the delivery callbacks.

The submit path, the engine and ``send_now()`` all report through one :class:`Reporter`, so a
ping counts and logs the same whichever of them stored, sent or dropped it.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._stats import Counters, DeliveryReport
from pingsdk._log import RateLimitedLog, logger
from pingsdk._queue import QueuedPing

__all__ = ["Reporter", "delivery_report"]


def delivery_report(
    row: QueuedPing, status: int | None, reason: str, attempts: int, detail: str | None = None
) -> DeliveryReport:
    """The :class:`DeliveryReport` of ``row``'s last attempt."""
    return DeliveryReport(
        doc_id=row.doc_id,
        path=row.path,
        namespace=row.namespace,
        doctype=row.doctype,
        version=row.version,
        status=status,
        reason=reason,
        attempts=attempts,
        detail=detail,
    )


class Reporter:
    """The counters, the rate-limited log and the ``on_sent`` / ``on_dropped`` callbacks of
    one client (any thread)."""

    def __init__(self, config: ClientConfig, counters: Counters) -> None:
        self._config = config
        self.counters = counters
        self.warn = RateLimitedLog()
        """Rate-limited: an outage repeats the same line for every ping."""

    def after_fork(self) -> None:
        """In a fork child: fresh locks (another parent thread may have held the old ones)."""
        self.warn = RateLimitedLog()
        self.counters.after_fork()

    def stored(self, doc_id: str, path: str, payload: Callable[[], str]) -> None:
        """A ping was stored or buffered: count it, log its payload if ``log_pings``."""
        self.counters.add("submitted")
        if self._config.log_pings and logger.isEnabledFor(logging.DEBUG):
            logger.debug("ping %s %s: %s", doc_id, path, payload())

    def evicted(self, count: int) -> None:
        """``count`` oldest pings made room for new ones."""
        self.counters.add("evicted", count)
        # Data loss, so ERROR; rate-limited because an outage evicts on every submit.
        self.warn.log(
            logging.ERROR,
            "evicted",
            "queue full: evicted %d oldest ping(s) to store new ones (max_queue_count=%d, "
            "max_queue_bytes=%d)",
            count,
            self._config.max_queue_count,
            self._config.max_queue_bytes,
        )

    def sent(self, report: DeliveryReport) -> None:
        """The edge accepted a ping."""
        self.counters.add("sent")
        self.call_back(self._config.on_sent, report)

    def retried(
        self, row: QueuedPing, reason: str, attempt: int, delay: float, detail: str | None
    ) -> None:
        """A ping failed and waits ``delay`` seconds for its next try."""
        self.counters.add("retried")
        self.warn.log(
            logging.WARNING,
            "retry",
            "upload of ping %s failed (%s), attempt %d; retrying in %.1f s%s",
            row.doc_id,
            reason,
            attempt,
            delay,
            detail_suffix(detail),
        )

    def dropped(
        self,
        row: QueuedPing,
        reason: str,
        *,
        status: int | None,
        attempts: int,
        detail: str | None,
    ) -> None:
        """A ping was given up on (refused, too old, too many attempts...)."""
        self.counters.drop(reason)
        self.warn.log(
            logging.WARNING,
            "drop:" + reason,
            "dropped ping %s (%s/%s/%d) after %d attempt(s): %s%s",
            row.doc_id,
            row.namespace,
            row.doctype,
            row.version,
            attempts,
            reason,
            detail_suffix(detail),
        )
        self.call_back(
            self._config.on_dropped, delivery_report(row, status, reason, attempts, detail)
        )

    @staticmethod
    def call_back(
        callback: Callable[[DeliveryReport], None] | None, report: DeliveryReport
    ) -> None:
        """Run ``callback(report)``; an exception it raises is logged and ignored."""
        if callback is None:
            return
        try:
            callback(report)
        except Exception:
            logger.exception("a delivery callback raised for ping %s; ignored", report.doc_id)


def detail_suffix(detail: str | None) -> str:
    """What the edge said, for the end of a log line."""
    return "" if detail is None else f"; the edge said: {detail}"


def payload_text(row: QueuedPing) -> str:
    """A stored row's payload as text (``log_pings``)."""
    body = row.body
    if row.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")
