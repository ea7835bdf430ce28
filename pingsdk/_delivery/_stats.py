"""Delivery counters (ClientStats) and the report handed to on_sent / on_dropped callbacks."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ClientStats", "Counters", "DeliveryReport"]


@dataclasses.dataclass(frozen=True, slots=True)
class ClientStats:
    """A snapshot of one client's delivery counters (since the client was created).

    Attributes:
        submitted: pings accepted by ``submit()`` (stored in the queue).
        sent: pings the edge accepted (2xx).
        retried: failed attempts that were scheduled for a retry.
        dropped: pings given up on, by reason: ``"http_400"`` (any 4xx but 408/429), ``"max_age"``,
            ``"max_attempts"``, ``"upload_disabled"`` (purged), ...
        evicted: pings pushed out of a full queue (oldest first) to make room.
        pending: pings in the queue file now (every process sharing it), due or not.
        in_flight: requests of this client currently on the wire.

    Added in 0.1.
    """

    submitted: int
    sent: int
    retried: int
    dropped: Mapping[str, int]
    evicted: int
    pending: int
    in_flight: int

    @property
    def dropped_total(self) -> int:
        """All dropped pings, whatever the reason."""
        return sum(self.dropped.values())


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What happened to one ping; passed to the ``on_sent`` and ``on_dropped`` callbacks.

    Callbacks run on the uploader (its thread for :class:`PingClient`); they must be quick and
    must not block. An exception in a callback is logged and otherwise ignored.

    Attributes:
        doc_id: the ping's document id.
        path: the URL path and query it was (or would have been) sent to.
        namespace, doctype, version: the ping's identity.
        status: the last HTTP status, or ``None`` (network error, or never sent).
        reason: ``"ok"`` when sent, else why it was dropped (``"http_400"``, ``"max_age"``, ...).
        attempts: how many requests were made for it, this one included.
        detail: the start of the edge's last answer body (at most 1 KiB, decoded as UTF-8,
            control characters replaced by spaces), e.g. a strict edge's schema errors;
            ``None`` when the answer had no body or no answer arrived.

    Added in 0.1; ``detail`` since the release after 0.1.0.
    """

    doc_id: str
    path: str
    namespace: str
    doctype: str
    version: int
    status: int | None
    reason: str
    attempts: int
    detail: str | None = None


class Counters:
    """Thread-safe mutable counters behind :class:`ClientStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.submitted = 0
        self.sent = 0
        self.retried = 0
        self.evicted = 0
        self.dropped: dict[str, int] = {}

    def add(self, name: str, n: int = 1) -> None:
        """Increment ``submitted``, ``sent``, ``retried`` or ``evicted``."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` dropped pings under ``reason``."""
        with self._lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + n

    def totals(self) -> tuple[int, int, dict[str, int]]:
        """``sent``, ``retried`` and a copy of ``dropped``, read together."""
        with self._lock:
            return self.sent, self.retried, dict(self.dropped)

    def after_fork(self) -> None:
        """In a fork child: a fresh lock (another parent thread may have held the old one)."""
        self._lock = threading.Lock()

    def snapshot(self, *, pending: int, in_flight: int) -> ClientStats:
        """Freeze the counters together with the queue's pending count."""
        with self._lock:
            return ClientStats(
                submitted=self.submitted,
                sent=self.sent,
                retried=self.retried,
                dropped=MappingProxyType(dict(self.dropped)),
                evicted=self.evicted,
                pending=pending,
                in_flight=in_flight,
            )
