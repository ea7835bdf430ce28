"""The edge's docType monitors: every stored record feeds them, a timer thread runs their checks
once per monitor minute and hands each alert, with the monitor's own text, to a callback.

The evaluation itself is ``pingsdk.monitoring._alerts`` (pure), fed through its
``_board``; this adapts the edge's stored record to what the monitor reads and owns the timer
thread.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pingsdk.monitoring._alerts import Alert
from pingsdk.monitoring._board import AlertBoard, format_alert
from pingsdk.schema._validation import ValidationIssue

if TYPE_CHECKING:
    from pingsdk._model._ping import Ping

__all__ = ["EdgeAlerts"]

logger = logging.getLogger("pingsdk.edge")


@dataclasses.dataclass(frozen=True, slots=True)
class _View:
    """A stored record as :func:`pingsdk.monitoring._board.submission_from_record` reads it."""

    received_at: float
    status: int
    payload: dict[str, Any] | None
    valid: bool | None
    duplicate: bool
    decode_error: str | None
    errors: Sequence[ValidationIssue]
    decoded_size: int | None
    wire_size: int
    legacy: tuple[str, ...] | None
    verdict: str | None
    reason: str | None


def _view(record: dict[str, Any], duplicate: bool) -> _View:
    payload: Any = None
    if record.get("payload") is not None:
        try:
            payload = json.loads(record["payload"])
        except ValueError:
            payload = None
    valid = record.get("valid")
    return _View(
        received_at=float(record["received_at"]),
        status=int(record["status"]),
        payload=payload if isinstance(payload, dict) else None,
        valid=None if valid is None else bool(valid),
        duplicate=duplicate,
        decode_error=record.get("decode_error"),
        errors=tuple(ValidationIssue(**e) for e in json.loads(record.get("errors") or "[]")),
        decoded_size=record.get("decoded_size"),
        wire_size=int(record.get("wire_size") or 0),
        legacy=tuple(json.loads(record["legacy"])) if record.get("legacy") else None,
        verdict=record.get("verdict"),
        reason=record.get("reason"),
    )


class EdgeAlerts:
    """The docType monitors of the Ping classes given to the edge.

    Args:
        pings: Ping classes; those declared with ``monitor=`` are monitored.
        minute: seconds per monitor minute (60 in production; see ``--monitor-window``).
        on_alert: called with each alert's text (a header line, then the monitor's text).
    """

    def __init__(
        self,
        pings: Iterable[type[Ping]],
        *,
        minute: float = 60.0,
        on_alert: Callable[[str], None] | None = None,
    ) -> None:
        self.pings = list(pings)
        self.minute = minute
        self.on_alert = on_alert
        self.board: AlertBoard | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, base_url: str) -> None:
        """Start the monitors now; their graph links point at ``base_url``'s monitor page."""
        self.board = AlertBoard(
            self.pings,
            minute=self.minute,
            start=time.time(),
            dashboard=lambda ns, dt, buf: f"{base_url}/__monitor__#{ns}/{dt}/{buf}",
        )
        if not self.board:
            return
        self._thread = threading.Thread(target=self._run, name="pingsdk-edge-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer thread (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def observe(self, record: dict[str, Any], duplicate: bool) -> None:
        """Feed one stored record (a no-op for docTypes without thresholds)."""
        board = self.board
        namespace, doctype = record.get("namespace"), record.get("doctype")
        if board is None or board.engine(namespace or "", doctype or "") is None:
            return  # parse nothing for docTypes nobody monitors
        board.observe(namespace, doctype, _view(record, duplicate))

    def report(self) -> list[dict[str, Any]]:
        """Alerts raised so far and channel statistics, per monitored docType."""
        return self.board.report() if self.board is not None else []

    def alerted(self) -> list[tuple[str, str, Alert]]:
        """``(namespace, doctype, alert)`` for every alert raised so far."""
        out = []
        for doc in self.report():
            for alerts in doc["alerts"].values():
                out += [(doc["namespace"], doc["doctype"], Alert(**a)) for a in alerts]
        return out

    def _run(self) -> None:
        board = self.board
        assert board is not None
        while True:
            now = time.time()
            # Wake at the next monitor-minute boundary, when the monitor's timer fires.
            next_tick = (math.floor(now / self.minute) + 1) * self.minute
            if self._stop.wait(max(0.0, next_tick - now)):
                return
            try:
                for namespace, doctype, alert in board.advance(time.time()):
                    text = format_alert(namespace, doctype, alert)
                    logger.info(
                        "edge: monitor alert %s/%s [%s] %s",
                        namespace,
                        doctype,
                        alert.channel,
                        alert.summary,
                    )
                    if self.on_alert is not None:
                        self.on_alert(text)
            except Exception:  # the timer must outlive a bad callback
                logger.exception("edge: the docType monitor's timer failed")
