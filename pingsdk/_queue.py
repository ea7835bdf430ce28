"""The durable offline queue: SQLite (WAL), leases, eviction. Knows nothing about HTTP.

One SQLite file holds every ping that was accepted and not yet sent. Any number of threads and
processes (gunicorn workers) may use the same file: a sender *claims* due rows, which leases them to
its owner id for ``lease_seconds``; it then *acks* (sent or dropped), *defers* (retry later) or
*releases* them. A lease held by a process that died simply expires.

Design decisions (measured, see ``bench/queue_put.py`` and ``docs/queue.md``):

- One connection per :class:`PingQueue` per process, guarded by a ``threading.Lock``. Within a
  process, threads wait on that lock (a futex hand-off, microseconds) instead of SQLite's busy
  handler (which sleeps 1 ms, 2 ms, 5 ms...); between processes SQLite's own locking decides, with
  ``busy_timeout``. Measured with a sender thread claiming and acking meanwhile, per-thread
  connections gave the same ``put()`` p50 and about twice the p99 (1.6-3.4 ms against 1.0-1.6 ms
  on a loaded machine). With many submitting threads any single-writer store convoys: put() p50
  stayed flat up to 4 threads and rose 1.5x at 8 and 4x at 16 (GIL and lock hand-offs).
- ``put()`` of a ping that fits is one INSERT in autocommit mode (it takes the write lock at once);
  every other write, eviction included, is one ``BEGIN IMMEDIATE`` transaction, so a read never
  has to be upgraded to a write (which SQLite cannot wait for).
- Count and bytes come from running totals stored in each row and a delete counter, so the bound
  check of ``put()`` (a TEMP trigger, in C, in the INSERT itself) writes no extra page and
  reads two rows instead of scanning 10,000.
- The connection is never used across ``fork()``: it is closed before the fork (so the child
  inherits no SQLite lock bookkeeping) and reopened lazily on both sides; the child gets a new owner
  id. The PID is also checked whenever a connection is opened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, TypeVar

from ._exceptions import (
    ConfigurationError,
    PayloadTooLargeError,
    QueueCorruptError,
    QueueError,
    QueueFullError,
)

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_COUNT",
    "PingQueue",
    "QueueStats",
    "QueuedPing",
    "default_queue_path",
]

logger = logging.getLogger("pingsdk")

DEFAULT_MAX_COUNT = 10_000
"""Default bound on the number of stored pings (Glean keeps a similar order of magnitude)."""
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Default bound on stored bytes (body + path + headers JSON of every row): 50 MiB."""
DEFAULT_LEASE_SECONDS = 60.0
"""Default lease: a claimed ping is reserved to its sender for this long."""

_SCHEMA_VERSION = 1
_APPLICATION_ID = 0x50494E47  # "PING": marks the file as ours in its header
_BUSY_TIMEOUT = 10.0
_CHECKPOINT_INTERVAL = 0.2
_MEMORY = ":memory:"
_SQLITE_MAGIC = b"SQLite format 3\x00"

_T = TypeVar("_T")

# The schema. ``doc_id`` is the unique key every operation uses. ``id`` is the order rows were
# stored in: the eviction order ("oldest first") and the tie-break of the claim order.
# ``size`` = len(body) + len(path) + len(headers JSON), the unit of ``max_bytes``.
# Bodies over _INLINE_BODY bytes live in ``bodies``: SQLite rewrites a whole row (overflow pages
# included) on UPDATE, and a lease or retry update must not rewrite a 1 MB body under the write
# lock. Small bodies stay inline, so the common put() writes one table row.
_SCHEMA = (
    """CREATE TABLE pings (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        headers TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        namespace TEXT NOT NULL DEFAULT '',
        doctype TEXT NOT NULL DEFAULT '',
        version INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL,
        body BLOB,
        seq_count INTEGER NOT NULL,
        seq_bytes INTEGER NOT NULL
    )""",
    "CREATE INDEX pings_due ON pings (next_attempt_at)",
    "CREATE INDEX pings_leased ON pings (lease_until) WHERE lease_owner IS NOT NULL",
    "CREATE TABLE bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
    """CREATE TABLE meta (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        del_count INTEGER NOT NULL,
        del_bytes INTEGER NOT NULL,
        hi_count INTEGER NOT NULL,
        hi_bytes INTEGER NOT NULL
    )""",
    "INSERT INTO meta (id, del_count, del_bytes, hi_count, hi_bytes) VALUES (0, 0, 0, 0, 0)",
    """CREATE TRIGGER pings_delete AFTER DELETE ON pings BEGIN
        UPDATE meta SET del_count = del_count + 1, del_bytes = del_bytes + old.size,
            hi_count = max(hi_count, old.seq_count), hi_bytes = max(hi_bytes, old.seq_bytes)
            WHERE id = 0;
        DELETE FROM bodies WHERE id = old.id;
    END""",
    f"PRAGMA application_id = {_APPLICATION_ID}",
    f"PRAGMA user_version = {_SCHEMA_VERSION}",
)
_INLINE_BODY = 2048
_TABLES = {"pings", "bodies", "meta"}
_COLUMNS = (
    "id",
    "doc_id",
    "path",
    "headers",
    "size",
    "created_at",
    "attempts",
    "next_attempt_at",
    "namespace",
    "doctype",
    "version",
    "lease_owner",
    "lease_until",
    "body",
    "seq_count",
    "seq_bytes",
)

# Count and bytes without a counter row written by every put (one WAL page less per put():
# measured about 8 us of 45 here). Each row carries the running totals of everything ever
# inserted (seq_count, seq_bytes); deletes, on the sender's side, add to meta.del_*. So the
# totals now are: the latest running totals (of the last row, or of the highest deleted one,
# meta.hi_*) minus the deleted ones.
_RUNNING = (
    "SELECT max(m.hi_count, coalesce(l.seq_count, 0)) AS c, "
    "max(m.hi_bytes, coalesce(l.seq_bytes, 0)) AS b, m.del_count AS dc, m.del_bytes AS db "
    "FROM main.meta AS m LEFT JOIN "
    "(SELECT seq_count, seq_bytes FROM main.pings ORDER BY id DESC LIMIT 1) AS l WHERE m.id = 0"
)
_TOTALS = f"SELECT c - dc, b - db FROM ({_RUNNING})"

# Statements are constant strings: sqlite3 prepares each once per connection and caches it.
# Scalar subqueries measured cheaper than a joined SELECT (about as cheap as plain VALUES).
_LAST_COUNT = (
    "max((SELECT hi_count FROM main.meta WHERE id = 0), "
    "coalesce((SELECT seq_count FROM main.pings ORDER BY id DESC LIMIT 1), 0))"
)
_LAST_BYTES = (
    "max((SELECT hi_bytes FROM main.meta WHERE id = 0), "
    "coalesce((SELECT seq_bytes FROM main.pings ORDER BY id DESC LIMIT 1), 0))"
)
_INSERT = (
    "INSERT INTO pings (doc_id, path, headers, size, created_at, attempts, next_attempt_at, "
    "namespace, doctype, version, body, seq_count, seq_bytes) VALUES "
    f"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, {_LAST_COUNT} + 1, {_LAST_BYTES} + ?4)"
)
_INSERT_BODY = "INSERT INTO bodies (id, body) VALUES (?, ?)"
_OLDEST = "SELECT id, doc_id, size FROM pings ORDER BY id LIMIT ?"
_BOUND_MESSAGE = "pingsdk: queue bound reached"
# Per connection (TEMP), so each PingQueue enforces its own bounds.
_BOUND_TRIGGER = (
    "CREATE TEMP TRIGGER pingsdk_bound BEFORE INSERT ON main.pings "
    "WHEN (SELECT new.seq_count - del_count > {max_count} "
    "OR new.seq_bytes - del_bytes > {max_bytes} FROM main.meta WHERE id = 0) "
    f"BEGIN SELECT RAISE(ABORT, '{_BOUND_MESSAGE}'); END"
)
_DELETE = "DELETE FROM pings WHERE id = ?"
_DUE = (
    "SELECT p.id, p.doc_id, p.path, p.headers, coalesce(p.body, b.body), p.created_at, "
    "p.attempts, p.next_attempt_at, p.namespace, p.doctype, p.version "
    "FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
    "WHERE p.next_attempt_at <= ? AND (p.lease_owner IS NULL OR p.lease_until <= ?) "
    "ORDER BY p.next_attempt_at, p.id LIMIT ?"
)
_LEASE = "UPDATE pings SET lease_owner = ?, lease_until = ? WHERE id = ?"
_ACK = "DELETE FROM pings WHERE doc_id = ? AND lease_owner = ?"
_DEFER = (
    "UPDATE pings SET next_attempt_at = ?, attempts = ?, lease_owner = NULL, lease_until = NULL "
    "WHERE doc_id = ? AND lease_owner = ?"
)
_RELEASE = (
    "UPDATE pings SET lease_owner = NULL, lease_until = NULL WHERE doc_id = ? AND lease_owner = ?"
)
_EXTEND = "UPDATE pings SET lease_until = ? WHERE doc_id = ? AND lease_owner = ?"
_NEXT_FREE = (
    "SELECT next_attempt_at FROM pings WHERE lease_owner IS NULL OR lease_until <= ? "
    "ORDER BY next_attempt_at LIMIT 1"
)
_NEXT_LEASE_END = "SELECT min(lease_until) FROM pings WHERE lease_owner IS NOT NULL"
_LEASED = "SELECT count(*) FROM pings WHERE lease_owner IS NOT NULL AND lease_until > ?"

# SQLite primary result codes (the low byte of extended codes).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26
# Python 3.10 has no ``sqlite_errorcode``: fall back on SQLite's fixed English messages.
_MESSAGE_CODES = (
    ("database is locked", _SQLITE_BUSY),
    ("database table is locked", _SQLITE_LOCKED),
    ("database or disk is full", _SQLITE_FULL),
    ("disk i/o error", _SQLITE_IOERR),
    ("malformed", _SQLITE_CORRUPT),
    ("file is not a database", _SQLITE_NOTADB),
)


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
    """Counts read from the queue file itself (shared by every process using it).

    Attributes:
        pending: pings stored, leased or not.
        bytes: their stored size (body + path + headers JSON), the unit of ``max_bytes``.
        leased: of those, how many are leased to a sender right now (in flight somewhere).
    """

    pending: int
    bytes: int
    leased: int


def default_queue_path() -> Path:
    """The per-user queue file used when ``queue_path`` is omitted.

    - Linux and other POSIX: ``$XDG_STATE_HOME/pingsdk/pings.db``, or
      ``~/.local/state/pingsdk/pings.db`` when ``XDG_STATE_HOME`` is unset or not absolute
      (the XDG Base Directory rules).
    - macOS: ``~/Library/Application Support/pingsdk/pings.db``.
    - Windows: ``%LOCALAPPDATA%\\pingsdk\\pings.db``.

    Nothing is created here; :class:`PingQueue` creates the directory (0700) and file (0600).
    """
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        state = os.environ.get("XDG_STATE_HOME", "")
        base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "pingsdk" / "pings.db"


def _new_owner() -> str:
    # uuid4 reads os.urandom, so it differs in a forked child too; the pid helps humans.
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc).lower()
    for fragment, value in _MESSAGE_CODES:
        if fragment in text:
            return value
    return None


def _row_to_ping(row: tuple[object, ...]) -> QueuedPing:
    _, doc_id, path, headers, body, created, attempts, due, namespace, doctype, version = row
    return QueuedPing(
        doc_id=str(doc_id),
        path=str(path),
        headers=json.loads(str(headers)),
        body=bytes(body),  # type: ignore[call-overload]
        created_at=float(created),  # type: ignore[arg-type]
        attempts=int(attempts),  # type: ignore[call-overload]
        next_attempt_at=float(due),  # type: ignore[arg-type]
        namespace=str(namespace),
        doctype=str(doctype),
        version=int(version),  # type: ignore[call-overload]
    )


class _UnusableError(Exception):
    """Internal: the file is not a usable queue (moved aside by the caller)."""


class PingQueue:
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

    Raises:
        ConfigurationError: a bound or the lease is not positive, or an unknown durability.
        QueueError: the file cannot be opened or created (permissions, a newer schema version).
        QueueCorruptError: the file is not a usable queue and could not be moved aside.

    The file is opened lazily, at the first operation. Corrupt or foreign files are moved aside
    to ``<name>.corrupt-<UTC timestamp>`` (with their ``-wal`` and ``-shm``) with an ERROR log on
    logger ``"pingsdk"``, and a fresh queue is created.

    Example::

        q = PingQueue(":memory:")
        q.put(QueuedPing(doc_id="0190...", path="/submit/...", headers={}, body=b"...",
                         created_at=time.time()))
        for ping in q.claim(10):
            ...  # send it
            q.ack(ping.doc_id)
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_count: int = DEFAULT_MAX_COUNT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        durability: Literal["process", "power"] = "process",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
            raise ConfigurationError(f"max_count must be a positive int, got {max_count!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigurationError(f"max_bytes must be a positive int, got {max_bytes!r}")
        if durability not in ("process", "power"):
            raise ConfigurationError(f"durability must be 'process' or 'power', got {durability!r}")
        if not lease_seconds > 0:
            raise ConfigurationError(f"lease_seconds must be positive, got {lease_seconds!r}")
        self._memory = path is not None and os.fspath(path) == _MEMORY
        self._path: Path | None = (
            None
            if self._memory
            else Path(os.fspath(path) if path is not None else default_queue_path())
        )
        self._max_count = max_count
        self._max_bytes = max_bytes
        self.durability = durability
        self.lease_seconds = float(lease_seconds)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._owner = _new_owner()
        self._closed = False
        self._file_id: tuple[int, int] | None = None
        self._checkpoint_lock = threading.Lock()
        self._last_checkpoint = 0.0
        # Full check (quick_check) at the first open and after corruption was seen.
        self._verify = True
        _LIVE.add(self)

    # -- public properties ---------------------------------------------------------------------

    @property
    def max_count(self) -> int:
        """The bound on the number of stored pings."""
        return self._max_count

    @property
    def max_bytes(self) -> int:
        """The bound on stored bytes (body + path + headers JSON of every row)."""
        return self._max_bytes

    @property
    def path(self) -> Path | None:
        """The queue file, or ``None`` for ``":memory:"``."""
        return self._path

    @property
    def owner(self) -> str:
        """This queue instance's lease owner id (unique per instance and per process)."""
        self._check_pid()
        return self._owner

    # -- operations ----------------------------------------------------------------------------

    def put(self, ping: QueuedPing) -> list[str]:
        """Store ``ping`` durably; returns the doc_ids evicted (oldest first) to make room.

        When this returns, the ping survives a crash of the process (``durability="process"``)
        or a power loss (``"power"``). It is one transaction: the insert and any eviction.
        Eviction takes the oldest stored pings, in flight or not (an in-flight one's sender then
        finds its ack refused). While another process holds the write lock, this waits for it,
        up to 10 s.

        Raises:
            PayloadTooLargeError: the ping alone is larger than ``max_bytes`` (``kind="queue"``);
                nothing was stored or evicted.
            ConfigurationError: ``headers`` holds ``Date`` (set at send time) or a non-string.
            QueueFullError: the disk (or the file size limit) is full; nothing was stored and
                what is stored is intact.
            QueueCorruptError: the file turned out corrupt; it is moved aside at the next
                operation.
            QueueError: the doc_id is already queued, or another storage failure.
        """
        headers_json = _headers_json(tuple(ping.headers.items()))
        body = bytes(ping.body)
        size = len(body) + len(ping.path.encode()) + len(headers_json.encode())
        if size > self._max_bytes:
            raise PayloadTooLargeError(
                f"a ping of {size} bytes cannot fit in a queue bounded to max_bytes="
                f"{self._max_bytes}; raise max_bytes or send smaller pings",
                size=size,
                limit=self._max_bytes,
                kind="queue",
            )
        inline = len(body) <= _INLINE_BODY
        params = (
            ping.doc_id,
            ping.path,
            headers_json,
            size,
            float(ping.created_at),
            int(ping.attempts),
            float(ping.next_attempt_at),
            ping.namespace,
            ping.doctype,
            int(ping.version),
            body if inline else None,
        )
        doc_id = ping.doc_id

        def insert(conn: sqlite3.Connection) -> int | None:
            # The row id, or None when the bound trigger refused the row (the queue is full).
            try:
                return conn.execute(_INSERT, params).lastrowid
            except sqlite3.IntegrityError as exc:
                if _BOUND_MESSAGE in str(exc):
                    return None
                raise QueueError(f"doc_id {doc_id} is already queued") from None

        if inline:
            # The common case: one statement in autocommit mode, its own transaction (an INSERT
            # takes the write lock at once, like BEGIN IMMEDIATE); the bound is checked by this
            # connection's BEFORE INSERT trigger, in C. Written out (no closures, no retry
            # loop) because put() latency is what submit() costs its caller.
            full = False
            with self._lock:
                conn = self._conn
                if conn is not None:
                    try:
                        conn.execute(_INSERT, params)
                    except sqlite3.IntegrityError as exc:
                        if _BOUND_MESSAGE not in str(exc):
                            raise QueueError(f"doc_id {doc_id} is already queued") from None
                        full = True
                    except sqlite3.Error:
                        pass  # busy, disk full, corrupt...: the general path below decides
                    else:
                        return []
            if not full and self._transact(insert, None) is not None:
                return []

        def evict_and_insert(conn: sqlite3.Connection) -> list[str]:
            evicted = self._evict(conn, size)
            row_id = insert(conn)
            if row_id is None:  # unreachable: room was made in this very transaction
                raise QueueError("the queue bound could not be met")
            if not inline:
                conn.execute(_INSERT_BODY, (row_id, body))
            return evicted

        return self._write(evict_and_insert)

    def _evict(self, conn: sqlite3.Connection, incoming: int) -> list[str]:
        """Delete the oldest rows until one more row of ``incoming`` bytes fits."""
        count, total = conn.execute(_TOTALS).fetchone()
        evicted: list[str] = []
        while count + 1 > self._max_count or total + incoming > self._max_bytes:
            # Enough rows for the count bound in one go; the bytes bound may need more rounds.
            want = max(count + 1 - self._max_count, 1) + 16
            rows = conn.execute(_OLDEST, (want,)).fetchall()
            if not rows:  # unreachable: the new row alone fits, checked before
                break
            for row_id, victim, victim_size in rows:
                if count + 1 <= self._max_count and total + incoming <= self._max_bytes:
                    break
                conn.execute(_DELETE, (row_id,))
                evicted.append(victim)
                count -= 1
                total -= victim_size
        if evicted:
            # The caller counts and reports evictions (rate-limited); one line per put would flood.
            logger.debug(
                "pingsdk queue full (max_count=%d, max_bytes=%d): evicted %d oldest ping(s)",
                self._max_count,
                self._max_bytes,
                len(evicted),
            )
        return evicted

    def claim(self, limit: int, *, now: float | None = None) -> list[QueuedPing]:
        """Lease up to ``limit`` due pings to this owner for ``lease_seconds``.

        Due means ``next_attempt_at <= now`` and not leased, or leased with an expired lease
        (its holder crashed or is too slow). Order: earliest due first, then oldest stored.
        Atomic across threads and processes (``BEGIN IMMEDIATE``): no row is leased to two
        owners at once.

        Args:
            limit: the most pings to return (``<= 0`` returns ``[]``).
            now: the Unix time to judge "due" and to start the lease at (tests); default now.
        """
        if limit <= 0:
            return []
        at = time.time() if now is None else now
        until = at + self.lease_seconds

        def claim(conn: sqlite3.Connection) -> list[QueuedPing]:
            rows = conn.execute(_DUE, (at, at, limit)).fetchall()
            owner = self._owner
            conn.executemany(_LEASE, [(owner, until, row[0]) for row in rows])
            return [_row_to_ping(row) for row in rows]

        # The sender's path (not put()'s) also notices a file replaced by another process and
        # keeps the WAL short.
        claimed = self._transact(claim, "BEGIN IMMEDIATE", reopen_if_replaced=True)
        self._maybe_checkpoint()
        return claimed

    def ack(self, doc_id: str) -> bool:
        """Delete a sent (or dropped) ping. Only the lease owner's ack counts.

        Returns ``True`` when the row was deleted. ``False`` when this owner no longer leases it:
        it was already acked, evicted or purged, or its lease expired and another sender claimed
        it. In that last case the row is left to that sender, which will send it again; the
        duplicate carries the same docId and URL, and the pipeline deduplicates by docId.
        An expired lease that nobody re-claimed still belongs to this owner and is acked.
        """
        return self.ack_many((doc_id,)) == 1

    def ack_many(self, doc_ids: Iterable[str]) -> int:
        """:meth:`ack` several pings in one transaction; returns how many were deleted."""
        return self._owned_update(_ACK, [(doc_id,) for doc_id in doc_ids])

    def drop(self, doc_id: str) -> bool:
        """Delete a ping that will never be sent (4xx, too old): the same as :meth:`ack`."""
        return self.ack(doc_id)

    def defer(self, doc_id: str, *, next_attempt_at: float, attempts: int) -> bool:
        """Release the lease and record the retry schedule (persisted across restarts).

        Returns ``False`` (and changes nothing) when this owner no longer leases the ping.
        """
        return self._owned_update(_DEFER, [(float(next_attempt_at), int(attempts), doc_id)]) == 1

    def release(self, doc_ids: Sequence[str]) -> int:
        """Give leases back unchanged (on close), so another sender may take them at once.

        Returns how many leases this owner still held and gave back.
        """
        return self._owned_update(_RELEASE, [(doc_id,) for doc_id in doc_ids])

    def extend(self, doc_ids: Sequence[str], *, now: float | None = None) -> int:
        """Renew this owner's leases for another ``lease_seconds`` (a slow send in progress).

        Returns how many leases were renewed (rows this owner still leases).
        """
        until = (time.time() if now is None else now) + self.lease_seconds
        return self._owned_update(_EXTEND, [(until, doc_id) for doc_id in doc_ids])

    def _owned_update(self, sql: str, rows: Sequence[tuple[object, ...]]) -> int:
        if not rows:
            return 0

        def update(conn: sqlite3.Connection) -> int:
            owner = self._owner
            # rowcount is the statement's own changes, without the triggers' updates of meta.
            return sum(conn.execute(sql, (*row, owner)).rowcount for row in rows)

        return self._write(update)

    def checkpoint(self) -> bool:
        """Copy committed pings from the WAL into the database file (a passive checkpoint).

        It runs on a separate, short-lived connection without the queue's lock, so puts go on
        meanwhile; :meth:`claim` calls it at most every 0.2 s, which keeps SQLite's automatic
        checkpoint (and its fsyncs) out of :meth:`put`. Returns False when it could not run
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

    def next_due(self) -> float | None:
        """Unix time at which :meth:`claim` can next return something, or None when empty.

        That is the earliest ``next_attempt_at`` of the unleased pings (in the past when some are
        due now), or the earliest lease expiry when every ping is leased.
        """
        now = time.time()

        def next_due(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(_NEXT_FREE, (now,)).fetchone()
            free: float | None = None if row is None else float(row[0])
            (lease_end,) = conn.execute(_NEXT_LEASE_END).fetchone()
            if lease_end is None:
                return free
            return float(lease_end) if free is None else min(free, float(lease_end))

        return self._read(next_due)

    def stats(self) -> QueueStats:
        """Pending count and bytes, and how many are leased now (for every process on the file)."""
        now = time.time()

        def stats(conn: sqlite3.Connection) -> QueueStats:
            count, total = conn.execute(_TOTALS).fetchone()
            (leased,) = conn.execute(_LEASED, (now,)).fetchone()
            return QueueStats(pending=int(count), bytes=int(total), leased=int(leased))

        return self._read(stats)

    def purge(self) -> int:
        """Delete every ping, leased or not; returns how many (upload disabled)."""

        def purge(conn: sqlite3.Connection) -> int:
            count, _ = conn.execute(_TOTALS).fetchone()
            conn.execute("DELETE FROM pings")
            return int(count)

        return self._write(purge)

    def close(self) -> None:
        """Close this process's connection. Leases are kept until they expire or are released.

        Further operations raise QueueError. Calling close() twice is harmless.
        """
        with self._lock:
            self._closed = True
            self._drop_connection()

    def __enter__(self) -> PingQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = _MEMORY if self._path is None else str(self._path)
        return (
            f"PingQueue({where!r}, max_count={self._max_count}, max_bytes={self._max_bytes}, "
            f"durability={self.durability!r}, lease_seconds={self.lease_seconds})"
        )

    # -- transactions ----------------------------------------------------------------------------

    def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        return self._transact(fn, "BEGIN IMMEDIATE")

    def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        return self._transact(fn, "BEGIN")

    def _transact(
        self,
        fn: Callable[[sqlite3.Connection], _T],
        begin: str | None,
        *,
        reopen_if_replaced: bool = False,
    ) -> _T:
        deadline = time.monotonic() + _BUSY_TIMEOUT
        delay = 0.001
        with self._lock:
            if (
                reopen_if_replaced
                and self._conn is not None
                and self._path is not None
                and _file_id(self._path) != self._file_id
            ):
                # Moved aside (corrupt) or deleted by someone else: follow the path.
                logger.warning("pingsdk queue file %s was replaced; reopening", self._path)
                self._drop_connection()
            while True:
                conn = self._connection()
                try:
                    if begin is None:  # one statement in autocommit mode
                        return fn(conn)
                    conn.execute(begin)
                    try:
                        result = fn(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        self._rollback(conn)
                        raise
                    return result
                except sqlite3.Error as exc:
                    code = _error_code(exc)
                    # SQLite's busy handler already waited (busy_timeout) for a lock held by
                    # another process; a BUSY that skips the handler (another process recovering
                    # the WAL) is retried here, within the same overall deadline.
                    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) and time.monotonic() < deadline:
                        time.sleep(delay)
                        delay = min(delay * 2, 0.05)
                        continue
                    raise self._translate(exc, code) from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            # A failed write can leave SQLite having rolled back already; nothing to undo.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _translate(self, exc: sqlite3.Error, code: int | None) -> QueueError:
        where = _MEMORY if self._path is None else str(self._path)
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            # Checked (and moved aside) at the next operation, which opens afresh.
            self._drop_connection()
            self._verify = True
            logger.error("pingsdk queue %s is corrupt (%s); it will be moved aside", where, exc)
            return QueueCorruptError(
                f"queue file {where} is corrupt ({exc}); it is moved aside at the next operation"
            )
        if code == _SQLITE_FULL or (code == _SQLITE_IOERR and _disk_full(self._path)):
            return QueueFullError(
                f"no space left for the queue file {where} ({exc}); free disk space or lower "
                "max_bytes; what was stored is intact"
            )
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return QueueError(
                f"queue file {where} stayed locked by another process for over "
                f"{_BUSY_TIMEOUT:.0f} s ({exc}); is a process stuck holding it?"
            )
        if code == _SQLITE_IOERR:
            # The connection may be in an unknown state after an I/O error: start afresh.
            self._drop_connection()
        return QueueError(f"queue file {where}: {exc}")

    # -- connection lifecycle ----------------------------------------------------------------------

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            # Forked without our at-fork hooks running: the inherited connection belongs to the
            # parent. Never close it here (closing may checkpoint or unlink the parent's WAL);
            # keep it referenced so it is not finalised either.
            if self._conn is not None:
                _ABANDONED.append(self._conn)
                self._conn = None
            self._pid = os.getpid()
            self._owner = _new_owner()

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None:
            # os.fork() closed it beforehand (at-fork hook), so a cached connection is this
            # process's; the PID is checked whenever one is opened (getpid() is a syscall).
            return conn
        if self._closed:
            raise QueueError("the queue is closed")
        self._check_pid()
        conn = self._open()
        try:
            conn.execute(
                _BOUND_TRIGGER.format(max_count=self._max_count, max_bytes=self._max_bytes)
            )
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._verify = False
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _open(self) -> sqlite3.Connection:
        if self._path is None:
            conn = self._connect(_MEMORY)
            self._check_schema(conn)
            return conn
        path = self._path
        _make_dirs(path.parent)
        # One process at a time checks, creates or moves the file aside: two processes finding
        # the same corrupt file must not move each other's fresh queue aside.
        with _open_lock(path):
            _create_file(path)
            try:
                conn = self._open_file(path)
            except _UnusableError as problem:
                self._move_aside(path, str(problem))
                _create_file(path)
                try:
                    conn = self._open_file(path)
                except _UnusableError as again:
                    raise QueueCorruptError(
                        f"queue file {path} is still unusable after moving the old one aside "
                        f"({again})"
                    ) from None
        self._file_id = _file_id(path)
        return conn

    def _connect(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            target,
            timeout=_BUSY_TIMEOUT,
            isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            check_same_thread=False,  # guarded by self._lock
            cached_statements=64,
        )
        try:
            if target != _MEMORY:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise QueueError(f"queue file {target}: cannot use WAL mode (got {mode})")
            sync = "FULL" if self.durability == "power" else "NORMAL"
            conn.execute(f"PRAGMA synchronous={sync}")
            if self.durability == "power" and sys.platform == "darwin":
                # fsync() on macOS does not reach the platter; F_FULLFSYNC does.
                conn.execute("PRAGMA fullfsync=ON")
                conn.execute("PRAGMA checkpoint_fullfsync=ON")
            conn.execute("PRAGMA temp_store=MEMORY")  # our TEMP trigger, never a temp file
            # Keep the WAL file from staying large after a burst.
            conn.execute("PRAGMA journal_size_limit=4194304")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_file(self, path: Path) -> sqlite3.Connection:
        # Check the header before SQLite touches the file, so a foreign file and its -wal are
        # moved aside as they were. But closing any descriptor of a file drops every POSIX lock
        # this process holds on it, SQLite's included: skip the raw read when another queue of
        # this process has the file open (SQLite then reports SQLITE_NOTADB itself).
        if not _open_elsewhere(self, path):
            try:
                with path.open("rb") as fh:
                    head = fh.read(len(_SQLITE_MAGIC))
            except OSError as exc:
                raise QueueError(f"cannot read the queue file {path}: {exc}") from exc
            if head and not (head == _SQLITE_MAGIC or _SQLITE_MAGIC.startswith(head)):
                raise _UnusableError("not an SQLite file")
            if head and len(head) < len(_SQLITE_MAGIC):
                raise _UnusableError("truncated SQLite header")
        try:
            conn = self._connect(str(path))
        except sqlite3.Error as exc:
            code = _error_code(exc)
            if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise _UnusableError(str(exc)) from None
            raise self._translate(exc, code) from exc
        try:
            self._check_schema(conn)
            if self._verify:
                (result,) = conn.execute("PRAGMA quick_check(1)").fetchone()
                if result != "ok":
                    raise _UnusableError("integrity check failed")
        except sqlite3.Error as exc:
            conn.close()
            code = _error_code(exc)
            if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise _UnusableError(str(exc)) from None
            raise self._translate(exc, code) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """Create the schema in an empty file, or check the file holds our schema."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            tables = {
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            }
            if version == 0 and app_id == 0 and not tables:
                for statement in _SCHEMA:
                    conn.execute(statement)
            elif app_id != _APPLICATION_ID:
                raise _UnusableError("not a pingsdk queue (foreign application id or tables)")
            elif version > _SCHEMA_VERSION:
                raise QueueError(
                    f"queue file {self._path} was written by a newer pingsdk (schema "
                    f"{version} > {_SCHEMA_VERSION}); upgrade pingsdk or use another queue_path"
                )
            else:
                columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(pings)"))
                if not tables >= _TABLES or columns != _COLUMNS:
                    raise _UnusableError("the queue tables do not have the expected columns")
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise

    def _move_aside(self, path: Path, problem: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        try:
            # The -wal and -shm first: a fresh database must not pick up the old WAL.
            for suffix in ("-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    side.replace(target.with_name(target.name + suffix))
            path.replace(target)
        except OSError as exc:
            raise QueueCorruptError(
                f"queue file {path} is unusable ({problem}) and could not be moved aside: {exc}; "
                "move or delete it by hand"
            ) from exc
        logger.error(
            "pingsdk queue file %s is unusable (%s): moved aside to %s; starting a fresh queue "
            "(pings stored in it are not sent)",
            path,
            problem,
            target,
        )


def _make_dirs(directory: Path) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise QueueError(f"cannot create the queue directory {new}: {exc}") from exc


def _create_file(path: Path) -> None:
    """Create the database file owner-only; SQLite gives -wal and -shm the same mode."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise QueueError(f"cannot create the queue file {path}: {exc}") from exc
    os.close(fd)


def _open_elsewhere(me: PingQueue, path: Path) -> bool:
    here = _file_id(path)
    return here is not None and any(
        q is not me and q._conn is not None and q._file_id == here for q in list(_LIVE)
    )


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@contextlib.contextmanager
def _open_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<path>.lock`` between processes (POSIX; nothing on Windows)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; opening there is not raced by forked workers
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise QueueError(f"cannot create the queue lock file {lock_path}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


_encode_headers = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A client sends the same few header sets over and over: check and encode each once.
_HEADERS_CACHE: dict[tuple[tuple[str, str], ...], str] = {}
_HEADERS_CACHE_SIZE = 256


def _headers_json(items: tuple[tuple[str, str], ...]) -> str:
    cached = _HEADERS_CACHE.get(items)
    if cached is not None:
        return cached
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError("queued header names and values must be str")
        if name.lower() == "date":
            raise ConfigurationError("queued headers must not contain Date: it is set at send time")
    encoded = _encode_headers(dict(items))
    if len(_HEADERS_CACHE) >= _HEADERS_CACHE_SIZE:
        _HEADERS_CACHE.clear()
    _HEADERS_CACHE[items] = encoded
    return encoded


def _disk_full(path: Path | None) -> bool:
    """After an I/O error: is the queue's filesystem, or the file size limit, out of room?

    SQLite reports ENOSPC as SQLITE_FULL only for short writes; a write refused outright
    (ENOSPC, or EFBIG past RLIMIT_FSIZE) comes back as a generic I/O error.
    """
    if path is None:
        return False
    margin = 1024 * 1024
    try:
        fs = os.statvfs(path.parent)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    if fs.f_bavail * fs.f_frsize < margin:
        return True
    try:
        import resource
    except ImportError:
        return False
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == resource.RLIM_INFINITY:
        return False
    for suffix in ("", "-wal", "-shm"):
        try:
            size = os.stat(path.with_name(path.name + suffix)).st_size
        except OSError:
            continue
        if size + margin >= soft:
            return True
    return False


# -- fork safety ---------------------------------------------------------------------------------

_LIVE: weakref.WeakSet[PingQueue] = weakref.WeakSet()
# Connections inherited across a fork that bypassed our hooks: never closed, never finalised.
_ABANDONED: list[sqlite3.Connection] = []


_FORK_HELD: list[PingQueue] = []


def _before_fork() -> None:
    # No transaction may be in flight, and no SQLite connection may be inherited (the child would
    # inherit SQLite's per-process lock bookkeeping and skip real file locks): close them, holding
    # each queue's lock through the fork so no thread reopens one in between. Both sides reopen
    # lazily at their next operation.
    for queue in list(_LIVE):
        queue._lock.acquire()
        queue._checkpoint_lock.acquire()
        _FORK_HELD.append(queue)
        if queue._path is not None:
            queue._drop_connection()
        # ":memory:" has no file and no file locks: the child keeps a private copy of it.


def _after_fork_parent() -> None:
    while _FORK_HELD:
        queue = _FORK_HELD.pop()
        queue._checkpoint_lock.release()
        queue._lock.release()


def _after_fork_child() -> None:
    while _FORK_HELD:
        queue = _FORK_HELD.pop()
        queue._pid = os.getpid()
        queue._owner = _new_owner()
        queue._checkpoint_lock.release()
        queue._lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child
    )
