"""The queue's operations: :class:`PingQueue` (put, claim, ack, defer, release, purge...).

Every operation is one transaction of :class:`~pingsdk._queue._store.QueueStore`, the base that
owns the connection. Two choices keep ``put()`` (what ``submit()`` costs its caller) cheap,
measured with ``bench/queue_put.py``:

- ``put()`` of a ping that fits is one INSERT in autocommit mode (it takes the write lock at once);
  every other write, eviction included, is one ``BEGIN IMMEDIATE`` transaction, so a read never
  has to be upgraded to a write (which SQLite cannot wait for).
- Count and bytes come from running totals stored in each row and a delete counter, so the bound
  check of ``put()`` (a TEMP trigger, in C, in the INSERT itself) writes no extra page and
  reads two rows instead of scanning 10,000.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence

from pingsdk._exceptions import QueueError
from pingsdk._queue._inspect import (
    QueueGroup,
    QueueSnapshot,
    QueueStats,
    read_groups,
    read_holds,
    read_next_due,
    read_snapshot,
    read_stats,
)
from pingsdk._queue._rows import BadRowError, QueuedPing, decode_row, encode_row
from pingsdk._queue._sql import (
    ACK,
    BOUND_MESSAGE,
    DEFER,
    DUE,
    DUE_FOR,
    EXTEND,
    INSERT,
    LAST_ROWID,
    LEASE,
    PURGE,
    RELEASE,
)
from pingsdk._queue._store import QueueStore

__all__ = ["PingQueue"]

logger = logging.getLogger("pingsdk")

_CHECKPOINT_INTERVAL = 0.2
_SWEEP_INTERVAL = 30.0
_ROWIDS_KEPT = 100_000


class PingQueue(QueueStore):
    """A durable, multi-process, multi-thread queue of pings in one SQLite file.

    Args:
        path: the queue file; ``None`` for :func:`default_queue_path`; ``":memory:"`` for a
            private in-memory queue (tests, single process, nothing survives).
        max_count: at most this many pings are stored (default 10,000).
        max_bytes: at most this many bytes are stored (default 50 MiB), counting body, path and
            headers JSON of each row. When either bound would be exceeded, :meth:`put` evicts the
            oldest pings in the same transaction and returns their ids.
        durability: ``"process"`` (default): a ping survives a crash or kill of the process once
            :meth:`put` returns (WAL, ``synchronous=NORMAL``; the last commits may be lost on power
            loss or an OS crash). ``"power"``: also survives power loss (``synchronous=FULL``: an
            fsync of the WAL per commit; ``fullfsync`` on macOS). Cost measured with
            ``bench/queue_put.py`` (2-core VM, ext4 on a virtual disk, other work running):
            ``"process"`` p50 about 60 us, 1.6-1.7x a bare one-row SQLite insert in the same run;
            ``"power"`` p50 0.6-6 ms, like a bare insert with ``synchronous=FULL``: it is the
            disk's flush latency, 10-100x the cost of ``"process"``.
        lease_seconds: how long a claimed ping stays reserved to its sender. It must exceed the
            longest send (timeout included); a sender still busy after that may see the ping
            claimed by another and sent twice (the pipeline deduplicates by docId).
        busy_timeout: the longest any operation waits for a lock held by another process (or
            thread) before raising :class:`QueueBusyError` (default 10 s); each operation's
            ``timeout`` argument can shorten it.
        create: ``False`` opens an existing queue only (tools such as the CLI): a missing file
            raises QueueError and a damaged one QueueCorruptError, and nothing is moved aside.

    Raises:
        ConfigurationError: a bound or the lease is not positive, an unknown durability, or an
            empty path.
        QueueError: the file cannot be opened or created (permissions, read-only, a newer
            schema version), or the path names something that is not a pingsdk queue (a
            directory, a device, a FIFO, another program's file): such paths are never touched.
        QueueCorruptError: the file is a damaged pingsdk queue and could not be moved aside.

    The file is opened lazily, at the first operation. A damaged pingsdk queue (its header says
    so, or pingsdk's ``<name>.lock`` beside it shows it was one) is moved aside to
    ``<name>.corrupt-<UTC timestamp>`` (with its ``-wal`` and ``-shm``) with an ERROR log on
    logger ``"pingsdk"``, and a fresh queue is created. Single damaged rows are moved to the
    ``quarantine`` table instead (see :meth:`claim`): the other pings keep going out.

    Example::

        q = PingQueue(":memory:")
        q.put(QueuedPing(doc_id="0190...", path="/submit/...", headers={}, body=b"...",
                         created_at=time.time()))
        for ping in q.claim(10):
            ...  # send it
            q.ack(ping.doc_id)
    """

    # -- operations ----------------------------------------------------------------------------

    def put(self, ping: QueuedPing, *, timeout: float | None = None) -> list[str]:
        """Store ``ping`` durably; returns the doc_ids evicted (oldest first) to make room.

        When this returns, the ping survives a crash of the process (``durability="process"``)
        or a power loss (``"power"``). It is one transaction: the insert and any eviction.
        Eviction takes the oldest stored pings, in flight or not (an in-flight one's sender then
        finds its ack refused). While another process holds the write lock, this waits for it,
        up to ``timeout`` (default: ``busy_timeout``).

        Raises:
            PayloadTooLargeError: the ping alone is larger than ``max_bytes`` (``kind="queue"``);
                nothing was stored or evicted.
            ConfigurationError: ``headers`` holds ``Date`` (set at send time) or a non-string.
            QueueFullError: the disk (or the file size limit) is full; nothing was stored and
                what is stored is intact.
            QueueBusyError: the file stayed locked past the deadline; nothing was stored.
            QueueCorruptError: the file turned out corrupt; it is moved aside at the next
                operation.
            QueueError: the doc_id is already queued, or another storage failure.
        """
        return self._put(ping, None, timeout)

    def put_many(self, pings: Sequence[QueuedPing], *, timeout: float | None = None) -> list[str]:
        """Store ``pings`` in one transaction (all or none); returns the doc_ids evicted.

        A client with ``durability="buffered"`` commits its buffer this way: one commit for
        every ping of the window rather than one per ping. Raises what :meth:`put` raises;
        nothing is stored then.
        """
        params = [encode_row(ping, self._max_bytes) for ping in pings]

        def run(conn: sqlite3.Connection) -> list[str]:
            evicted: list[str] = []
            for ping, row in zip(pings, params, strict=True):
                evicted += self._insert_evicting(conn, ping, row)
            return evicted

        return self._write(run, timeout) if pings else []

    def put_with(
        self,
        build: Callable[[sqlite3.Connection], QueuedPing | None],
        *,
        timeout: float | None = None,
    ) -> tuple[QueuedPing | None, list[str]]:
        """Run ``build`` and store the ping it returns, in one write transaction.

        For callers that keep their own tables in the queue file (``pingsdk.glean`` keeps its
        metrics there): what ``build`` writes through the connection and the ping it returns
        are committed together, or not at all. ``build`` may return ``None`` to store nothing
        (its writes are still committed). It must not commit or roll back itself.

        Returns:
            The stored ping (or ``None``) and the doc_ids evicted to make room for it.

        Raises:
            What :meth:`put` raises, and whatever ``build`` raises (then nothing is written).
        """
        built: list[QueuedPing | None] = [None]

        def run(conn: sqlite3.Connection) -> list[str]:
            ping = built[0] = build(conn)
            if ping is None:
                return []
            return self._insert_evicting(conn, ping, encode_row(ping, self._max_bytes))

        evicted = self._write(run, timeout)
        return built[0], evicted

    def put_leased(self, ping: QueuedPing, *, timeout: float | None = None) -> list[str]:
        """Store ``ping`` already leased to this owner for ``lease_seconds``, in one transaction.

        For a caller that sends the ping at once (``send_now()``): no other sender can claim it
        between the store and the send, and once stored it is as durable as after :meth:`put`.
        The caller then acks, defers, releases or extends it like a claimed ping; if the caller
        dies, the lease expires and any sender sends it. Raises what :meth:`put` raises.
        """
        params = encode_row(ping, self._max_bytes)
        until = time.time() + self.lease_seconds

        def run(conn: sqlite3.Connection) -> list[str]:
            evicted = self._insert_evicting(conn, ping, params)
            # The row's id (a large body's row in ``bodies`` shares it), kept as claim() keeps
            # the ids of the rows it leases.
            (row_id,) = conn.execute(LAST_ROWID).fetchone()
            conn.execute(LEASE, (self._owner, until, row_id))
            self._rowids[ping.doc_id] = int(row_id)
            return evicted

        return self._write(run, timeout)

    def _put(
        self, ping: QueuedPing, params: tuple[object, ...] | None, timeout: float | None
    ) -> list[str]:
        params = encode_row(ping, self._max_bytes) if params is None else params
        if params[10] is not None:
            # The common case: one statement in autocommit mode, its own transaction (an INSERT
            # takes the write lock at once, like BEGIN IMMEDIATE); the bound is checked by this
            # connection's BEFORE INSERT trigger, in C. Written out (no closures, no retry
            # loop) because put() latency is what submit() costs its caller.
            with self._lock:
                conn = self._conn
                if conn is not None:
                    try:
                        conn.execute(INSERT, params)
                    except sqlite3.IntegrityError as exc:
                        if BOUND_MESSAGE not in str(exc):
                            raise QueueError(f"doc_id {ping.doc_id} is already queued") from None
                    except sqlite3.Error:
                        pass  # busy, disk full, corrupt...: the general path below decides
                    else:
                        return []
        return self._write(lambda conn: self._insert_evicting(conn, ping, params), timeout)

    def claim(
        self,
        limit: int,
        *,
        now: float | None = None,
        endpoint: str | None = None,
        ignore_schedule: bool = False,
        timeout: float | None = None,
    ) -> list[QueuedPing]:
        """Lease up to ``limit`` due pings to this owner for ``lease_seconds``.

        Due means ``next_attempt_at <= now`` (any time with ``ignore_schedule``), past the
        server's ``hold_until`` (always), and not leased, or leased with an expired lease (its
        holder crashed or is too slow). Order: earliest due first, then oldest stored. Atomic
        across threads and processes (``BEGIN IMMEDIATE``): no row is leased to two owners.

        A row that cannot be sent as stored (undecodable text or JSON, a missing body, a
        checksum that does not match, scheduling columns of the wrong type) is moved to the
        ``quarantine`` table in the same transaction, logged at ERROR once, and counted for
        :meth:`take_quarantined`; it never stops the other rows from being claimed.

        Args:
            limit: the most pings to return (``<= 0`` returns ``[]``).
            now: the Unix time to judge "due" and to start the lease at (tests); default now.
            endpoint: claim only pings submitted for this endpoint (and pings stored by pingsdk
                0.1, which recorded none); ``None`` claims pings of every endpoint.
            ignore_schedule: claim pings waiting for their retry too (a flush).
            timeout: the longest wait for the file's lock (default ``busy_timeout``).
        """
        if limit <= 0:
            return []
        at = time.time() if now is None else now
        until = at + self.lease_seconds
        due_by = math.inf if ignore_schedule else at

        def claim(conn: sqlite3.Connection) -> list[QueuedPing]:
            if time.monotonic() - self._last_sweep >= _SWEEP_INTERVAL:
                self._sweep(conn)
            while True:
                if endpoint is None:
                    rows = conn.execute(DUE, (due_by, at, limit)).fetchall()
                else:
                    rows = conn.execute(DUE_FOR, (due_by, at, limit, endpoint)).fetchall()
                claimed: list[QueuedPing] = []
                leases: list[tuple[str, float, object]] = []
                owner = self._owner
                for row in rows:
                    try:
                        claimed.append(decode_row(row))
                    except BadRowError as problem:
                        self._quarantine(conn, row[0], str(problem), row[1])
                    else:
                        leases.append((owner, until, row[0]))
                        self._rowids[claimed[-1].doc_id] = row[0]
                if len(self._rowids) > _ROWIDS_KEPT:
                    self._rowids.clear()  # leases lost to other senders; doc_id lookups remain
                if not claimed and len(rows) == limit:
                    continue  # a page of damaged rows: look past them in the same transaction
                conn.executemany(LEASE, leases)
                return claimed

        # The sender's path (not put()'s) also notices a file replaced by another process and
        # keeps the WAL short.
        claimed = self._transact(claim, "BEGIN IMMEDIATE", timeout, reopen_if_replaced=True)
        self._maybe_checkpoint()
        return claimed

    def take_quarantined(self) -> int:
        """How many rows this instance moved to the quarantine since the last call."""
        with self._lock:
            count, self._quarantined = self._quarantined, 0
        return count

    def ack(self, doc_id: str, *, timeout: float | None = None) -> bool:
        """Delete a sent (or dropped) ping. Only the lease owner's ack counts.

        Returns ``True`` when the row was deleted. ``False`` when this owner no longer leases it:
        it was already acked, evicted or purged, or its lease expired and another sender claimed
        it. In that last case the row is left to that sender, which will send it again; the
        duplicate carries the same docId and URL, and the pipeline deduplicates by docId.
        An expired lease that nobody re-claimed still belongs to this owner and is acked.
        """
        return self.ack_many((doc_id,), timeout=timeout) == 1

    def ack_many(self, doc_ids: Iterable[str], *, timeout: float | None = None) -> int:
        """:meth:`ack` several pings in one transaction; returns how many were deleted."""
        return self._owned_update(ACK, [(doc_id,) for doc_id in doc_ids], timeout)

    def drop(self, doc_id: str, *, timeout: float | None = None) -> bool:
        """Delete a ping that will never be sent (4xx, too old): the same as :meth:`ack`."""
        return self.ack(doc_id, timeout=timeout)

    def defer(
        self,
        doc_id: str,
        *,
        next_attempt_at: float,
        attempts: int,
        hold_until: float | None = None,
        last_status: int | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Release the lease and record the retry schedule (persisted across restarts).

        Args:
            next_attempt_at: Unix time of the next regular attempt (the client's backoff).
            attempts: failed attempts so far.
            hold_until: Unix time before which nothing may send it, a flush included: a pause
                the server asked for (``Retry-After``). ``next_attempt_at`` is raised to it.
            last_status: the HTTP status of this failed attempt (``None``: no answer).

        Returns ``False`` (and changes nothing) when this owner no longer leases the ping.
        """
        hold = 0.0 if hold_until is None else float(hold_until)
        row = (
            max(float(next_attempt_at), hold),
            int(attempts),
            hold,
            last_status,
            time.time(),
            doc_id,
        )
        return self._owned_update(DEFER, [row], timeout) == 1

    def release(self, doc_ids: Sequence[str], *, timeout: float | None = None) -> int:
        """Give leases back unchanged (on close), so another sender may take them at once.

        Returns how many leases this owner still held and gave back.
        """
        return self._owned_update(RELEASE, [(doc_id,) for doc_id in doc_ids], timeout)

    def extend(
        self, doc_ids: Sequence[str], *, now: float | None = None, timeout: float | None = None
    ) -> int:
        """Renew this owner's leases for another ``lease_seconds`` (a slow send in progress).

        Returns how many leases were renewed (rows this owner still leases).
        """
        until = (time.time() if now is None else now) + self.lease_seconds
        return self._owned_update(EXTEND, [(until, doc_id) for doc_id in doc_ids], timeout)

    def _owned_update(
        self, sql: str, rows: Sequence[tuple[object, ...]], timeout: float | None
    ) -> int:
        if not rows:
            return 0

        def update(conn: sqlite3.Connection) -> int:
            owner = self._owner
            rowids = self._rowids
            # rowcount is the statement's own changes, without the triggers' updates of meta.
            # Each row ends with its doc_id; the row id claim() saw follows it (-1: unknown).
            changed = sum(
                conn.execute(sql, (*row, rowids.get(str(row[-1]), -1), owner)).rowcount
                for row in rows
            )
            if sql is not EXTEND:  # the lease is over: this instance holds the row no more
                for row in rows:
                    rowids.pop(str(row[-1]), None)
            return changed

        return self._write(update, timeout)

    def checkpoint(self) -> bool:
        """Copy committed pings from the WAL into the database file (a passive checkpoint).

        It runs on a separate, short-lived connection without the queue's lock, so puts go on
        meanwhile; a claim calls it at most every 0.2 s, which keeps SQLite's automatic
        checkpoint (and its fsyncs) out of ``put()``. Returns False when it could not run
        (the queue is in memory or closed, or the file is busy); it never raises.
        """
        if self._path is None or self._closed:
            return False
        with self._checkpoint_lock:
            try:
                conn = sqlite3.connect(self._path, timeout=0.5, isolation_level=None)
            except sqlite3.Error:
                return False
            try:
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                logger.debug("pingsdk queue checkpoint failed: %s", exc)
                return False
            finally:
                conn.close()
            return not busy

    def _maybe_checkpoint(self) -> None:
        now = time.monotonic()
        if self._path is None or now - self._last_checkpoint < _CHECKPOINT_INTERVAL:
            return
        self._last_checkpoint = now
        self.checkpoint()

    # -- inspection ----------------------------------------------------------------------------

    def next_due(
        self,
        *,
        endpoint: str | None = None,
        ignore_schedule: bool = False,
        timeout: float | None = None,
    ) -> float | None:
        """Unix time at which :meth:`claim` can next return something, or None when empty.

        That is the earliest ``next_attempt_at`` of the unleased pings (in the past when some are
        due now; with ``ignore_schedule``, the earliest server hold), or the earliest lease
        expiry when every ping is leased. ``endpoint`` limits it to that endpoint's pings (and
        pings stored by pingsdk 0.1).
        """
        now = time.time()
        return self._read(lambda c: read_next_due(c, endpoint, ignore_schedule, now), timeout)

    def holds(self, endpoint: str, *, timeout: float | None = None) -> tuple[bool, bool]:
        """Whether any ping for ``endpoint`` is stored, and whether any is leased right now.

        What a flush polls after every request: the first matching row answers, where
        :meth:`stats` with an ``endpoint`` counts every row (milliseconds for a full queue).
        Pings stored by pingsdk 0.1 (no endpoint) count for every endpoint.
        """
        now = time.time()
        return self._read(lambda conn: read_holds(conn, endpoint, now), timeout)

    def stats(self, *, endpoint: str | None = None, timeout: float | None = None) -> QueueStats:
        """Pending count and bytes, how many are leased now, and how many rows are quarantined.

        Counts every process's pings in the file; ``endpoint`` limits them to that endpoint's
        pings (and pings stored by pingsdk 0.1, which recorded none).
        """
        now = time.time()
        return self._read(lambda conn: read_stats(conn, endpoint, now), timeout)

    def groups(self, *, timeout: float | None = None) -> list[QueueGroup]:
        """What the file holds, per endpoint and ping identity (for ``pingsdk queue list``)."""
        now = time.time()
        return self._read(lambda conn: read_groups(conn, now), timeout)

    def inspect(self, *, timeout: float | None = None) -> QueueSnapshot:
        """:meth:`stats`, :meth:`next_due` and :meth:`groups` of the whole file, read at once.

        One read transaction, so the three agree with each other (``pingsdk queue status``).
        Payloads are not read.
        """
        now = time.time()
        return self._read(lambda conn: read_snapshot(conn, now), timeout)

    def purge(self, *, timeout: float | None = None) -> int:
        """Delete every ping, leased or not, but those stored with ``survives_purge``.

        Returns how many were deleted (upload disabled). The kept ones are the deletion-request
        pings, which must still be sent after the user opted out.
        """

        def purge(conn: sqlite3.Connection) -> int:
            return int(conn.execute(PURGE).rowcount)

        return self._write(purge, timeout)

    def __enter__(self) -> PingQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"PingQueue({self._where()!r}, max_count={self._max_count}, "
            f"max_bytes={self._max_bytes}, durability={self.durability!r}, "
            f"lease_seconds={self.lease_seconds})"
        )
