"""The connection to one queue file: opening, transactions, errors, bounds, fork safety.

:class:`QueueStore` is the base of :class:`pingsdk._queue.PingQueue`; it holds no operation of
its own beyond storing a row within the bounds. It opens the file lazily (checking it with
:mod:`pingsdk._queue._file` and creating or migrating the schema with :mod:`pingsdk._queue._sql`),
runs every operation as one transaction under one deadline, translates SQLite errors into the
:class:`pingsdk.QueueError` family, repairs what can be repaired in place
(:mod:`pingsdk._queue._repair`), and closes the connection around ``fork()``.

Design decisions (measured, see ``bench/queue_put.py`` and ``docs/queue.md``):

- One connection per queue instance per process, guarded by a ``threading.Lock``. Within a
  process, threads wait on that lock (a futex hand-off, microseconds) instead of SQLite's busy
  handler (which sleeps 1 ms, 2 ms, 5 ms...); between processes SQLite's own locking decides,
  within the operation's deadline. Measured with a sender thread claiming and acking meanwhile,
  per-thread connections gave the same ``put()`` p50 and about twice the p99.
- The connection is never used across ``fork()``: it is closed before the fork (so the child
  inherits no SQLite lock bookkeeping) and reopened lazily on both sides; the child gets a new
  owner id. The PID is also checked whenever a connection is opened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from pingsdk._exceptions import (
    ConfigurationError,
    QueueBusyError,
    QueueCorruptError,
    QueueError,
    QueueFullError,
)
from pingsdk._queue import _file, _repair, _sql
from pingsdk._queue._file import UnusableError
from pingsdk._queue._fork import ABANDONED, LIVE, new_owner, open_elsewhere
from pingsdk._queue._rows import QueuedPing, encode_row
from pingsdk._queue._sql import (
    BOUND_MESSAGE,
    BOUND_TRIGGER,
    DELETE,
    INSERT,
    INSERT_BODY,
    MEMORY,
    OLDEST,
    SCHEMA_VERSION,
    TOTALS,
    connect,
    error_code,
    prepare_schema,
    rollback,
)

logger = logging.getLogger("pingsdk")

DEFAULT_MAX_COUNT = 10_000
"""Default bound on the number of stored pings (Glean keeps a similar order of magnitude)."""
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Default bound on stored bytes (body + path + headers JSON of every row): 50 MiB."""
DEFAULT_LEASE_SECONDS = 60.0
"""Default lease: a claimed ping is reserved to its sender for this long."""
DEFAULT_BUSY_TIMEOUT = 10.0
"""Default longest wait for a lock held by another process or thread."""

_T = TypeVar("_T")


def _check_settings(
    *,
    path: str | os.PathLike[str] | None,
    max_count: int,
    max_bytes: int,
    durability: str,
    lease_seconds: float,
    busy_timeout: float,
) -> None:
    if path is not None and os.fspath(path) == "":
        raise ConfigurationError(
            "queue_path is an empty string; pass a file path, None for the per-user default "
            "queue, or ':memory:'"
        )
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, (int, float))
        or not (math.isfinite(busy_timeout) and busy_timeout >= 0)
    ):
        raise ConfigurationError(f"busy_timeout must be seconds >= 0, got {busy_timeout!r}")
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
        raise ConfigurationError(f"max_count must be a positive int, got {max_count!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ConfigurationError(f"max_bytes must be a positive int, got {max_bytes!r}")
    if durability not in ("process", "power"):
        raise ConfigurationError(f"durability must be 'process' or 'power', got {durability!r}")
    if not lease_seconds > 0:
        raise ConfigurationError(f"lease_seconds must be positive, got {lease_seconds!r}")


class QueueStore:
    """The connection to one queue file and what keeps it usable (see the module docstring).

    The arguments are :class:`pingsdk._queue.PingQueue`'s, documented there.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_count: int = DEFAULT_MAX_COUNT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        durability: Literal["process", "power"] = "process",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        create: bool = True,
    ) -> None:
        _check_settings(
            path=path,
            max_count=max_count,
            max_bytes=max_bytes,
            durability=durability,
            lease_seconds=lease_seconds,
            busy_timeout=busy_timeout,
        )
        self._memory = path is not None and os.fspath(path) == MEMORY
        self._path: Path | None = (
            None
            if self._memory
            else Path(os.fspath(path) if path is not None else _file.default_queue_path())
        )
        self._max_count = max_count
        self._max_bytes = max_bytes
        self.durability = durability
        self.lease_seconds = float(lease_seconds)
        self.busy_timeout = float(busy_timeout)
        self._create = bool(create)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._quarantined = 0  # rows moved to the quarantine since take_quarantined()
        self._last_sweep = -math.inf
        self._empty_logged = False
        self._strikes = 0  # corruption reports since the last transaction that worked
        # doc_id -> row id of the rows this instance leased (see _sql._ROW_OF).
        self._rowids: dict[str, int] = {}
        self._pid = os.getpid()
        self._owner = new_owner()
        self._closed = False
        self._file_id: tuple[int, int] | None = None
        self._checkpoint_lock = threading.Lock()
        self._last_checkpoint = 0.0
        # Full check (quick_check) at the first open and after corruption was seen.
        self._verify = True
        LIVE.add(self)

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

    # -- transactions for extensions -------------------------------------------------------------

    def write(self, fn: Callable[[sqlite3.Connection], _T], *, timeout: float | None = None) -> _T:
        """Run ``fn`` in a write transaction (``BEGIN IMMEDIATE``) of this queue's connection.

        For pingsdk's own extensions (``pingsdk.glean``), which keep tables in the same file so
        that their writes and the queue's commit together. Errors are translated like any queue
        operation's; ``fn`` must not commit or roll back.
        """
        return self._write(fn, timeout)

    def read(self, fn: Callable[[sqlite3.Connection], _T], *, timeout: float | None = None) -> _T:
        """Run ``fn`` in a read transaction of this queue's connection (see :meth:`write`)."""
        return self._read(fn, timeout)

    def close(self) -> None:
        """Close this process's connection. Leases are kept until they expire or are released.

        Further operations raise QueueError. Calling close() twice is harmless. Never raises
        and never waits for another thread's operation for more than a moment.
        """
        got = self._lock.acquire(timeout=1.0)
        try:
            self._closed = True
            if got:
                self._drop_connection()
        finally:
            if got:
                self._lock.release()

    def _where(self) -> str:
        return MEMORY if self._path is None else str(self._path)

    # -- storing within the bounds ---------------------------------------------------------------

    def _insert_evicting(
        self, conn: sqlite3.Connection, ping: QueuedPing, params: tuple[object, ...]
    ) -> list[str]:
        """Insert the row (its body too), evicting the oldest rows first when it does not fit."""
        size = params[3]
        assert isinstance(size, int)
        evicted: list[str] = []
        for _ in range(2):
            try:
                row_id = conn.execute(INSERT, params).lastrowid
            except sqlite3.IntegrityError as exc:
                if BOUND_MESSAGE not in str(exc):
                    raise QueueError(f"doc_id {ping.doc_id} is already queued") from None
                evicted += self._evict(conn, size)
                continue
            if params[10] is None:
                conn.execute(INSERT_BODY, (row_id, bytes(ping.body)))
            return evicted
        raise QueueError("the queue bound could not be met")  # room was made: unreachable

    def _evict(self, conn: sqlite3.Connection, incoming: int) -> list[str]:
        """Delete the oldest rows until one more row of ``incoming`` bytes fits."""
        count, total = conn.execute(TOTALS).fetchone()
        evicted: list[str] = []
        while count + 1 > self._max_count or total + incoming > self._max_bytes:
            # Enough rows for the count bound in one go; the bytes bound may need more rounds.
            want = max(count + 1 - self._max_count, 1) + 16
            rows = conn.execute(OLDEST, (want,)).fetchall()
            if not rows:  # unreachable: the new row alone fits, checked before
                break
            for row_id, victim, victim_size in rows:
                if count + 1 <= self._max_count and total + incoming <= self._max_bytes:
                    break
                conn.execute(DELETE, (row_id,))
                evicted.append(str(victim))
                count -= 1
                total -= victim_size if isinstance(victim_size, int) else 0
        if evicted:
            # The caller counts and reports evictions (rate-limited); one line per put would flood.
            logger.debug(
                "pingsdk queue full (max_count=%d, max_bytes=%d): evicted %d oldest ping(s)",
                self._max_count,
                self._max_bytes,
                len(evicted),
            )
        return evicted

    def _restored(self, conn: sqlite3.Connection, ping: QueuedPing) -> None:
        """Store one ping salvaged from a damaged file, due at once."""
        params = encode_row(dataclasses.replace(ping, next_attempt_at=0.0), self._max_bytes)
        self._insert_evicting(conn, ping, params)

    # -- repair in place -------------------------------------------------------------------------

    def _quarantine(
        self, conn: sqlite3.Connection, row_id: object, reason: str, doc: object
    ) -> None:
        """Move one damaged row out of ``pings`` (inside the caller's write transaction)."""
        _repair.quarantine(conn, row_id, reason, doc, self._where())
        self._quarantined += 1

    def _sweep(self, conn: sqlite3.Connection) -> None:
        """Find damage that a claim alone would not meet (see ``_repair.sweep``).

        Also logs a file emptied under us. A full scan, so at most every 30 s.
        """
        self._last_sweep = time.monotonic()
        self._quarantined += _repair.sweep(conn, self._where())
        self._notice_empty_file()

    def _notice_empty_file(self, was_used: bool = True) -> None:
        """Log (once) a queue file found emptied: its pings are gone and nobody else says so."""
        path = self._path
        if path is None or self._empty_logged or not was_used:
            return
        if _file.looks_truncated(path):
            self._empty_logged = True
            logger.error(
                "pingsdk queue file %s is empty (0 bytes) although a queue was used there: the "
                "pings it held were lost (truncated by something outside pingsdk); a new queue "
                "is started in it",
                path,
            )

    # -- transactions ----------------------------------------------------------------------------

    def _write(self, fn: Callable[[sqlite3.Connection], _T], timeout: float | None = None) -> _T:
        return self._transact(fn, "BEGIN IMMEDIATE", timeout)

    def _read(self, fn: Callable[[sqlite3.Connection], _T], timeout: float | None = None) -> _T:
        return self._transact(fn, "BEGIN", timeout)

    def _transact(
        self,
        fn: Callable[[sqlite3.Connection], _T],
        begin: str | None,
        timeout: float | None = None,
        *,
        reopen_if_replaced: bool = False,
    ) -> _T:
        # One deadline for everything this call may wait on: this object's lock (other
        # threads), the open lock (other processes opening), SQLite's locks (other writers).
        # SQLite's own busy handler is off (timeout=0 at connect): this loop is the only wait.
        wait = self.busy_timeout if timeout is None else max(0.0, min(timeout, self.busy_timeout))
        deadline = time.monotonic() + wait
        # Another process's write transaction (a sender's claim or ack) lasts well under a
        # millisecond: the first waits are short, so a submit() that meets one is not held up
        # for a whole millisecond; they double up to 50 ms for a long holder.
        delay = 0.00005
        if not self._lock.acquire(timeout=wait):
            raise self._busy(wait, "another thread of this process is using it")
        try:
            if (
                reopen_if_replaced
                and self._conn is not None
                and self._path is not None
                and _file.file_id(self._path) != self._file_id
            ):
                # Moved aside (corrupt) or deleted by someone else: follow the path.
                logger.warning("pingsdk queue file %s was replaced; reopening", self._path)
                self._drop_connection()
            while True:
                try:
                    conn = self._connection(deadline)  # opening may meet a busy file too
                    if begin is None:  # one statement in autocommit mode
                        return fn(conn)
                    conn.execute(begin)
                    try:
                        result = fn(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        rollback(conn)
                        raise
                    self._strikes = 0
                    return result
                except sqlite3.Error as exc:
                    code = error_code(exc)
                    if code in (_sql.SQLITE_BUSY, _sql.SQLITE_LOCKED):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise self._busy(wait, str(exc)) from exc
                        time.sleep(min(delay, left))
                        delay = min(delay * 2, 0.05)
                        continue
                    raise self._translate(exc, code) from exc
        finally:
            self._lock.release()

    def _busy(self, waited: float, why: str) -> QueueBusyError:
        return QueueBusyError(
            f"queue file {self._where()} stayed locked for {waited:.3g} s ({why}); nothing was "
            "changed: try again later, or find the process holding it"
        )

    def _translate(self, exc: sqlite3.Error, code: int | None) -> QueueError:
        where = self._where()
        if code in (_sql.SQLITE_CORRUPT, _sql.SQLITE_NOTADB):
            # Checked (repaired or moved aside) at the next operation, which opens afresh.
            self._drop_connection()
            self._verify = True
            self._strikes += 1
            logger.error("pingsdk queue %s is corrupt (%s); it will be checked", where, exc)
            return QueueCorruptError(
                f"queue file {where} is corrupt ({exc}); it is repaired or moved aside at the "
                "next operation"
            )
        if code == _sql.SQLITE_FULL or (code == _sql.SQLITE_IOERR and _file.disk_full(self._path)):
            return QueueFullError(
                f"no space left for the queue file {where} ({exc}); free disk space or lower "
                "max_bytes; what was stored is intact"
            )
        if code in (_sql.SQLITE_READONLY, _sql.SQLITE_PERM, _sql.SQLITE_CANTOPEN):
            self._drop_connection()
            return QueueError(_file.read_only_message(self._path, str(exc)))
        if code == _sql.SQLITE_IOERR:
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
                ABANDONED.append(self._conn)
                self._conn = None
            self._pid = os.getpid()
            self._owner = new_owner()

    def _connection(self, deadline: float) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None:
            # os.fork() closed it beforehand (at-fork hook), so a cached connection is this
            # process's; the PID is checked whenever one is opened (getpid() is a syscall).
            return conn
        if self._closed:
            raise QueueError("the queue is closed")
        self._check_pid()
        conn = self._open(deadline)
        try:
            if self._verify:
                # Before the first put: damaged totals would make the bound trigger evict.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._sweep(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    rollback(conn)
                    raise
            conn.execute(BOUND_TRIGGER.format(max_count=self._max_count, max_bytes=self._max_bytes))
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

    def _open(self, deadline: float) -> sqlite3.Connection:
        if self._path is None:
            conn = connect(MEMORY, self.durability)
            self._check_schema(conn)
            return conn
        path = self._path
        _file.check_path(path, self._create)
        if self._create:
            _file.make_dirs(path.parent)
        # A lock file left by an earlier open is the evidence that this path held a pingsdk
        # queue: only then may a file that is not recognisably ours be treated as damaged.
        was_used = path.with_name(path.name + ".lock").exists()
        # One process at a time checks, creates or moves the file aside: two processes finding
        # the same corrupt file must not move each other's fresh queue aside.
        # Tools opening an existing queue (create=False) never create, move or replace a file,
        # so they need no open lock, and leave no lock file beside a file named by mistake.
        locked = (
            _file.open_lock(path, deadline, self._busy)
            if self._create
            else contextlib.nullcontext()
        )
        with locked:
            conn = self._open_or_replace(path, was_used)
        self._file_id = _file.file_id(path)
        return conn

    def _open_or_replace(self, path: Path, was_used: bool) -> sqlite3.Connection:
        """Open the file (under the open lock); a damaged one is moved aside and replaced."""
        if self._create:
            _file.create_file(path)
        self._notice_empty_file(was_used)
        try:
            conn = self._open_file(path, was_used)
        except UnusableError as problem:
            if not self._create:
                raise QueueCorruptError(f"queue file {path} is damaged ({problem})") from None
            salvaged = _file.move_aside(path, str(problem))
            _file.create_file(path)
            try:
                conn = self._open_file(path, was_used)
            except UnusableError as again:
                raise QueueCorruptError(
                    f"queue file {path} is still unusable after moving the old one aside ({again})"
                ) from None
            _repair.restore(conn, salvaged, self._restored, str(path))
        return conn

    def _open_file(self, path: Path, was_used: bool) -> sqlite3.Connection:
        # Check the header before SQLite touches the file, so a foreign file is left as it is
        # and a damaged one is moved aside with its -wal. But closing any descriptor of a file
        # drops every POSIX lock this process holds on it, SQLite's included: skip the raw read
        # when another queue of this process has the file open.
        ours = True if open_elsewhere(self, path) else _file.check_header(path, was_used)
        try:
            conn = connect(str(path), self.durability)
        except sqlite3.Error as exc:
            self._open_failed(exc, path, ours)
            raise
        try:
            self._check_schema(conn, ours)
            if self._verify:
                _repair.check_integrity(conn, self._strikes, str(self._path))
        except sqlite3.Error as exc:
            conn.close()
            self._open_failed(exc, path, ours)
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_failed(self, exc: sqlite3.Error, path: Path, ours: bool) -> None:
        """Raise what an SQLite error while opening ``path`` means; return when it is busy.

        Busy or locked: the caller re-raises ``exc`` as it is, and ``_transact`` waits and
        tries again.
        """
        code = error_code(exc)
        if code in (_sql.SQLITE_CORRUPT, _sql.SQLITE_NOTADB):
            if not ours:
                raise QueueError(_file.foreign_message(path, str(exc))) from None
            raise UnusableError(str(exc)) from None
        if code in (_sql.SQLITE_BUSY, _sql.SQLITE_LOCKED):
            return
        raise self._translate(exc, code) from exc

    def _check_schema(self, conn: sqlite3.Connection, ours: bool = True) -> None:
        """Create the schema in an empty file, migrate an older one, or check it is ours."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            verdict, version = prepare_schema(conn)
            if verdict == "foreign":
                if not ours:
                    raise QueueError(
                        _file.foreign_message(self._path, "it belongs to another application")
                    )
                raise UnusableError("not a pingsdk queue (foreign application id or tables)")
            if verdict == "newer":
                raise QueueError(
                    f"queue file {self._path} was written by a newer pingsdk (schema "
                    f"{version} > {SCHEMA_VERSION}); upgrade pingsdk or use another queue_path"
                )
            if verdict == "mismatch":
                raise UnusableError("the queue tables do not have the expected columns")
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
