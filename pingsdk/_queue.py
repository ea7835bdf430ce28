"""The durable offline queue: SQLite (WAL), leases, eviction. Knows nothing about HTTP.

INTERFACE STUB written by the lead; the queue helper owns and completes this module.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Literal

__all__ = ["PingQueue", "QueueStats", "QueuedPing"]


@dataclasses.dataclass(frozen=True, slots=True)
class QueuedPing:
    """One ping as stored: everything needed to resend it byte-identically.

    Attributes:
        doc_id: canonical lowercase UUID, the primary key.
        path: the URL path and query, e.g. ``/submit/my-app/search-counts/1/<doc_id>``.
        headers: the fixed headers (everything but ``Date``, which is set at send time).
        body: the exact request body (gzipped unless the client disabled compression).
        created_at: Unix time of submit().
        attempts: how many sends have been tried and failed retryably.
        next_attempt_at: Unix time before which it is not sent.
        namespace, doctype, version: for stats, logs and callbacks.
    """

    doc_id: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    namespace: str = ""
    doctype: str = ""
    version: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class QueueStats:
    """Counts read from the queue file itself (shared by every process using it)."""

    pending: int
    bytes: int
    leased: int


class PingQueue:
    """A durable, multi-process, multi-thread queue of pings in one SQLite file."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_count: int = 10_000,
        max_bytes: int = 50 * 1024 * 1024,
        durability: Literal["process", "power"] = "process",
        lease_seconds: float = 60.0,
    ) -> None:
        raise NotImplementedError

    def put(self, ping: QueuedPing) -> list[str]:
        """Store ``ping`` durably; returns the doc_ids evicted (oldest first) to make room."""
        raise NotImplementedError

    def claim(self, limit: int, *, now: float | None = None) -> list[QueuedPing]:
        """Lease up to ``limit`` due pings (oldest first) to this owner for lease_seconds."""
        raise NotImplementedError

    def ack(self, doc_id: str) -> None:
        """Delete a sent (or dropped) ping. Only the lease owner's ack counts."""
        raise NotImplementedError

    def defer(self, doc_id: str, *, next_attempt_at: float, attempts: int) -> None:
        """Release the lease and record the retry schedule (persisted across restarts)."""
        raise NotImplementedError

    def release(self, doc_ids: Sequence[str]) -> None:
        """Give leases back unchanged (on close), so another sender may take them at once."""
        raise NotImplementedError

    def next_due(self) -> float | None:
        """Unix time the earliest unleased ping becomes due, or None when empty."""
        raise NotImplementedError

    def stats(self) -> QueueStats:
        """Pending count and bytes."""
        raise NotImplementedError

    def purge(self) -> int:
        """Delete every ping; returns how many."""
        raise NotImplementedError

    def close(self) -> None:
        """Close this process's connections."""
        raise NotImplementedError
