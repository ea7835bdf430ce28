"""The inspection API: what a queue file holds, read without changing it.

Counts (:class:`QueueStats`), per endpoint and ping identity (:class:`QueueGroup`), when
something is next due, whether an endpoint has pings stored or in flight, and one consistent
:class:`QueueSnapshot` of all of it (``pingsdk queue status`` and ``queue list``). Payloads are
never read. Each ``read_*`` function runs inside a read transaction of
:class:`pingsdk._queue.PingQueue`, whose methods of the same names are the public way in.
"""

from __future__ import annotations

import dataclasses
import sqlite3

from pingsdk._queue._rows import as_time
from pingsdk._queue._sql import (
    ANY_FOR,
    ANY_LEASED_FOR,
    COUNT_FOR,
    GROUPS,
    LATEST_STATUS,
    LEASED,
    NEXT_FREE,
    NEXT_FREE_FOR,
    NEXT_HOLD,
    NEXT_HOLD_FOR,
    NEXT_LEASE_END,
    NEXT_LEASE_END_FOR,
    QUARANTINED,
    TOTALS,
)

__all__ = ["QueueGroup", "QueueSnapshot", "QueueStats"]


@dataclasses.dataclass(frozen=True, slots=True)
class QueueStats:
    """Counts read from the queue file itself (shared by every process using it).

    Attributes:
        pending: pings stored, leased or not.
        bytes: their stored size (body + path + headers JSON), the unit of ``max_bytes``.
        leased: of those, how many are leased to a sender right now (in flight somewhere).
        quarantined: damaged rows kept in the file's ``quarantine`` table (never sent).
    """

    pending: int
    bytes: int
    leased: int
    quarantined: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class QueueGroup:
    """What a queue file holds for one endpoint and ping identity (``pingsdk queue list``).

    Attributes:
        endpoint: where these pings go (``""``: stored by pingsdk 0.1, sent by any sender).
        namespace, doctype, version: the ping identity.
        count, bytes: how many are stored and their stored size.
        oldest: Unix time the oldest of them was submitted.
        max_attempts, total_attempts: failed attempts (the most for one ping, and in all).
        next_attempt: Unix time the next of them may be sent (in the past: due now).
        leased: how many are being sent right now (by any process).
        last_status: HTTP status of the latest failed attempt (``None``: no answer, or none yet).
        last_attempt: Unix time of the latest failed attempt, or ``None``.
    """

    endpoint: str
    namespace: str
    doctype: str
    version: int
    count: int
    bytes: int
    oldest: float
    max_attempts: int
    total_attempts: int
    next_attempt: float
    leased: int
    last_status: int | None
    last_attempt: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """A whole queue file at one moment (one read transaction): ``pingsdk queue status|list``.

    Attributes:
        stats: counts over every endpoint's pings.
        next_due: Unix time at which a sender could next claim something (see
            :meth:`pingsdk._queue.PingQueue.next_due`), or ``None`` when the file is empty.
        groups: per endpoint and ping identity, ordered by endpoint, namespace, doctype, version.
    """

    stats: QueueStats
    next_due: float | None
    groups: tuple[QueueGroup, ...]

    @property
    def oldest(self) -> float | None:
        """Unix time the oldest stored ping was submitted, or ``None`` when there is none."""
        return min((g.oldest for g in self.groups), default=None)


def read_stats(conn: sqlite3.Connection, endpoint: str | None, now: float) -> QueueStats:
    """Counts of every ping (or of ``endpoint``'s and pingsdk 0.1's), leased as of ``now``."""
    if endpoint is None:
        count, total = conn.execute(TOTALS).fetchone()
        (leased,) = conn.execute(LEASED, (now,)).fetchone()
    else:
        count, total, leased = conn.execute(COUNT_FOR, (endpoint, now)).fetchone()
    (quarantined,) = conn.execute(QUARANTINED).fetchone()
    return QueueStats(
        pending=int(count),
        bytes=int(total),
        leased=int(leased),
        quarantined=int(quarantined),
    )


def read_next_due(
    conn: sqlite3.Connection, endpoint: str | None, ignore_schedule: bool, now: float
) -> float | None:
    """When a claim can next return something (see ``PingQueue.next_due``), or ``None``."""
    if ignore_schedule:
        sql = NEXT_HOLD if endpoint is None else NEXT_HOLD_FOR
    else:
        sql = NEXT_FREE if endpoint is None else NEXT_FREE_FOR
    row = conn.execute(sql, (now,) if endpoint is None else (now, endpoint)).fetchone()
    free = None if row is None or row[0] is None else as_time(row[0])
    if endpoint is None:
        (lease_end,) = conn.execute(NEXT_LEASE_END).fetchone()
    else:
        (lease_end,) = conn.execute(NEXT_LEASE_END_FOR, (endpoint,)).fetchone()
    if lease_end is None:
        return free
    end = as_time(lease_end)
    return end if free is None else min(free, end)


def read_holds(conn: sqlite3.Connection, endpoint: str, now: float) -> tuple[bool, bool]:
    """Whether any ping for ``endpoint`` is stored, and whether any is leased as of ``now``."""
    (stored,) = conn.execute(ANY_FOR, (endpoint,)).fetchone()
    if not stored:
        return False, False
    (leased,) = conn.execute(ANY_LEASED_FOR, (endpoint, now)).fetchone()
    return True, bool(leased)


def read_groups(conn: sqlite3.Connection, now: float) -> list[QueueGroup]:
    """Every endpoint and ping identity the file holds, with counts and the latest status."""
    rows = conn.execute(GROUPS, (now,)).fetchall()
    # The status of each group's latest failed attempt (one extra scan, tools only).
    latest: dict[tuple[object, ...], tuple[int | None, float]] = {}
    for key0, key1, key2, key3, status, at in conn.execute(LATEST_STATUS):
        latest[(key0, key1, key2, key3)] = (status, at)
    result = []
    for endpoint, ns, dt, version, count, size, oldest, most, total, nxt, leased in rows:
        status, at = latest.get((endpoint, ns, dt, version), (None, None))
        result.append(
            QueueGroup(
                endpoint=str(endpoint),
                namespace=str(ns),
                doctype=str(dt),
                version=int(version),
                count=int(count),
                bytes=int(size),
                oldest=as_time(oldest),
                max_attempts=int(most),
                total_attempts=int(total),
                next_attempt=as_time(nxt),
                leased=int(leased),
                last_status=status if isinstance(status, int) else None,
                last_attempt=None if at is None else as_time(at),
            )
        )
    return result


def read_snapshot(conn: sqlite3.Connection, now: float) -> QueueSnapshot:
    """Stats, next due time and groups of the whole file, in the caller's one transaction."""
    return QueueSnapshot(
        stats=read_stats(conn, None, now),
        next_due=read_next_due(conn, None, False, now),
        groups=tuple(read_groups(conn, now)),
    )
