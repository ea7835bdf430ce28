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
import math
import os
import re
import shutil
import sqlite3
import stat
import sys
import tempfile
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, TypeVar

from pingsdk import _lifecycle as lifecycle
from pingsdk._exceptions import (
    ConfigurationError,
    PayloadTooLargeError,
    QueueBusyError,
    QueueCorruptError,
    QueueError,
    QueueFullError,
)
from pingsdk._files import create_private_file
from pingsdk._naming import is_doc_id

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_COUNT",
    "PingQueue",
    "QueueGroup",
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

_SCHEMA_VERSION = 2
_APPLICATION_ID = 0x50494E47  # "PING": marks the file as ours in its header
_APPLICATION_ID_OFFSET = 68  # where SQLite keeps PRAGMA application_id in the file header
_BUSY_TIMEOUT = 10.0
_CHECKPOINT_INTERVAL = 0.2
_SWEEP_INTERVAL = 30.0
_MEMORY = ":memory:"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ROWIDS_KEPT = 100_000
_QUARANTINE_KEEP = 200
"""Quarantined rows kept for inspection (the newest); older ones are deleted."""

_T = TypeVar("_T")

# The schema. ``doc_id`` is the unique key every operation uses. ``id`` is the order rows were
# stored in: the eviction order ("oldest first") and the tie-break of the claim order.
# ``size`` = len(body) + len(path) + len(headers JSON), the unit of ``max_bytes``.
# Bodies over _INLINE_BODY bytes live in ``bodies``: SQLite rewrites a whole row (overflow pages
# included) on UPDATE, and a lease or retry update must not rewrite a 1 MB body under the write
# lock. Small bodies stay inline, so the common put() writes one table row.
# Schema 2 appended (so that version 1 files migrate with ALTER TABLE ... ADD COLUMN):
# ``endpoint`` (where the ping may be sent; '' = written by schema 1, any endpoint),
# ``checksum`` (CRC-32 of what is sent, checked at claim; NULL for schema 1 rows),
# ``hold_until`` (a pause the server asked for; even a flush waits for it), ``keep`` (survives a
# purge: the deletion-request ping), and ``last_status``/``last_attempt_at`` for inspection.
_PINGS_V1 = """CREATE TABLE pings (
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
    )"""
_V2_COLUMNS = (
    "ALTER TABLE pings ADD COLUMN endpoint TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE pings ADD COLUMN checksum INTEGER",
    "ALTER TABLE pings ADD COLUMN hold_until REAL NOT NULL DEFAULT 0",
    "ALTER TABLE pings ADD COLUMN keep INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pings ADD COLUMN last_status INTEGER",
    "ALTER TABLE pings ADD COLUMN last_attempt_at REAL",
)
# Columns without a declared type keep whatever a damaged row held, byte for byte.
_QUARANTINE_TABLE = """CREATE TABLE quarantine (
        qid INTEGER PRIMARY KEY,
        reason TEXT NOT NULL,
        quarantined_at REAL NOT NULL,
        doc_id, path, headers, body, created_at, attempts, namespace, doctype, version, endpoint
    )"""
_V2_MIGRATION = (*_V2_COLUMNS, _QUARANTINE_TABLE, f"PRAGMA user_version = {_SCHEMA_VERSION}")
_SCHEMA = (
    _PINGS_V1,
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
    *_V2_MIGRATION,
)
_INLINE_BODY = 2048
_TABLES = {"pings", "bodies", "meta"}
_COLUMNS_V1 = (
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
_COLUMNS = (
    *_COLUMNS_V1,
    "endpoint",
    "checksum",
    "hold_until",
    "keep",
    "last_status",
    "last_attempt_at",
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
    "namespace, doctype, version, body, endpoint, checksum, keep, seq_count, seq_bytes) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    f"{_LAST_COUNT} + 1, {_LAST_BYTES} + ?4)"
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
# Text columns are read as BLOBs: a damaged row with bytes that are not UTF-8 must reach
# _decode_row (and the quarantine), not fail the whole fetch inside sqlite3.
_ROW = (
    "p.id, CAST(p.doc_id AS BLOB), CAST(p.path AS BLOB), CAST(p.headers AS BLOB), "
    "coalesce(p.body, b.body), p.created_at, p.attempts, p.next_attempt_at, "
    "CAST(p.namespace AS BLOB), CAST(p.doctype AS BLOB), p.version, CAST(p.endpoint AS BLOB), "
    "p.checksum, p.hold_until, p.keep"
)
_DUE_WHERE = (
    "p.next_attempt_at <= ?1 AND p.hold_until <= ?2 "
    "AND (p.lease_owner IS NULL OR p.lease_until <= ?2)"
)
_DUE = (
    f"SELECT {_ROW} FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
    f"WHERE {_DUE_WHERE} ORDER BY p.next_attempt_at, p.id LIMIT ?3"
)
_DUE_FOR = (
    f"SELECT {_ROW} FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
    f"WHERE {_DUE_WHERE} AND p.endpoint IN (?4, '') ORDER BY p.next_attempt_at, p.id LIMIT ?3"
)
# Rows whose scheduling columns lost their type can never be due (in SQLite text sorts after
# every number): found by a periodic scan, they go to the quarantine like undecodable rows.
_MISTYPED = (
    "SELECT id FROM pings WHERE typeof(next_attempt_at) NOT IN ('integer', 'real') "
    "OR typeof(hold_until) NOT IN ('integer', 'real') "
    "OR typeof(lease_until) NOT IN ('integer', 'real', 'null') "
    "OR typeof(endpoint) != 'text' OR typeof(created_at) NOT IN ('integer', 'real') "
    "OR typeof(size) != 'integer' OR size < 0"
)
# The running totals (see _RUNNING) against a count: a damaged seq_* or meta value would make
# the bound trigger refuse or evict wrongly, so a mismatch renumbers them from the rows.
_ACTUAL = "SELECT count(*), coalesce(sum(size), 0) FROM pings"
# Running totals must grow with the row id; one damaged upwards would be taken into meta.hi_*
# when its row is deleted, and the count would be wrong from then on.
_DISORDERED = (
    "SELECT count(*) FROM (SELECT seq_count, seq_bytes, "
    "lag(seq_count) OVER (ORDER BY id) AS pc, lag(seq_bytes) OVER (ORDER BY id) AS pb "
    "FROM pings) WHERE typeof(seq_count) != 'integer' OR typeof(seq_bytes) != 'integer' "
    "OR seq_count <= pc OR seq_bytes < pb"
)
_RENUMBER = (
    "UPDATE pings SET seq_count = r.c, seq_bytes = r.b FROM (SELECT id, "
    "row_number() OVER (ORDER BY id) AS c, sum(size) OVER (ORDER BY id) AS b FROM pings) AS r "
    "WHERE pings.id = r.id"
)
_RESET_META = "UPDATE meta SET del_count = 0, del_bytes = 0, hi_count = 0, hi_bytes = 0"
_QUARANTINE = (
    "INSERT INTO quarantine (reason, quarantined_at, doc_id, path, headers, body, created_at, "
    "attempts, namespace, doctype, version, endpoint) SELECT ?, ?, p.doc_id, p.path, p.headers, "
    "coalesce(p.body, b.body), p.created_at, p.attempts, p.namespace, p.doctype, p.version, "
    "p.endpoint FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id WHERE p.id = ?"
)
_QUARANTINE_TRIM = (
    f"DELETE FROM quarantine WHERE qid <= (SELECT max(qid) FROM quarantine) - {_QUARANTINE_KEEP}"
)
_LEASE = "UPDATE pings SET lease_owner = ?, lease_until = ? WHERE id = ?"
# Rows a sender leased are found by the row id claim() saw (the table's own b-tree), checked
# against the doc_id, and only else through the doc_id index: a damaged doc_id index must not
# make an ack delete nothing, again and again, and the ping be sent every lease period.
_ROW_OF = (
    "coalesce((SELECT id FROM pings WHERE id = ?{rid} AND +doc_id = ?{doc}), "
    "(SELECT id FROM pings WHERE doc_id = ?{doc}))"
)
_ACK = f"DELETE FROM pings WHERE id = {_ROW_OF.format(doc=1, rid=2)} AND lease_owner = ?3"
_DEFER = (
    "UPDATE pings SET next_attempt_at = ?1, attempts = ?2, hold_until = ?3, last_status = ?4, "
    "last_attempt_at = ?5, lease_owner = NULL, lease_until = NULL "
    f"WHERE id = {_ROW_OF.format(doc=6, rid=7)} AND lease_owner = ?8"
)
_RELEASE = (
    "UPDATE pings SET lease_owner = NULL, lease_until = NULL "
    f"WHERE id = {_ROW_OF.format(doc=1, rid=2)} AND lease_owner = ?3"
)
_EXTEND = (
    f"UPDATE pings SET lease_until = ?1 WHERE id = {_ROW_OF.format(doc=2, rid=3)} "
    "AND lease_owner = ?4"
)
_FREE = "(lease_owner IS NULL OR lease_until <= ?1)"
_NEXT_FREE = (
    f"SELECT max(next_attempt_at, hold_until) FROM pings WHERE {_FREE} "
    "ORDER BY next_attempt_at LIMIT 1"
)
_NEXT_FREE_FOR = (
    f"SELECT max(next_attempt_at, hold_until) FROM pings WHERE {_FREE} "
    "AND endpoint IN (?2, '') ORDER BY next_attempt_at LIMIT 1"
)
# A flush ignores the client's own schedule, never the server's hold.
_NEXT_HOLD = f"SELECT min(hold_until) FROM pings WHERE {_FREE}"
_NEXT_HOLD_FOR = f"SELECT min(hold_until) FROM pings WHERE {_FREE} AND endpoint IN (?2, '')"
_NEXT_LEASE_END = "SELECT min(lease_until) FROM pings WHERE lease_owner IS NOT NULL"
_NEXT_LEASE_END_FOR = (
    "SELECT min(lease_until) FROM pings WHERE lease_owner IS NOT NULL AND endpoint IN (?, '')"
)
_LEASED = "SELECT count(*) FROM pings WHERE lease_owner IS NOT NULL AND lease_until > ?"
_COUNT_FOR = (
    "SELECT count(*), coalesce(sum(size), 0), "
    "coalesce(sum(lease_owner IS NOT NULL AND lease_until > ?2), 0) "
    "FROM pings WHERE endpoint IN (?1, '')"
)
_QUARANTINED = "SELECT count(*) FROM quarantine"
# Whether anything is stored / leased for an endpoint: the first match ends each (the lease
# test through the pings_leased index), where counting scans every row of the table.
_ANY_FOR = "SELECT EXISTS (SELECT 1 FROM pings WHERE endpoint IN (?1, ''))"
_ANY_LEASED_FOR = (
    "SELECT EXISTS (SELECT 1 FROM pings WHERE lease_owner IS NOT NULL AND lease_until > ?2 "
    "AND endpoint IN (?1, ''))"
)
_GROUPS = (
    "SELECT endpoint, namespace, doctype, version, count(*), sum(size), min(created_at), "
    "max(attempts), sum(attempts), min(max(next_attempt_at, hold_until)), "
    "sum(lease_owner IS NOT NULL AND lease_until > ?) "
    "FROM pings GROUP BY endpoint, namespace, doctype, version "
    "ORDER BY endpoint, namespace, doctype, version"
)

# SQLite primary result codes (the low byte of extended codes).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14
_SQLITE_PERM = 3
# Python 3.10 has no ``sqlite_errorcode``: fall back on SQLite's fixed English messages.
_MESSAGE_CODES = (
    ("readonly database", _SQLITE_READONLY),
    ("unable to open database", _SQLITE_CANTOPEN),
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
        endpoint: the normalised endpoint it was submitted for; it is only ever sent there
            (``""`` on rows stored by pingsdk 0.1, which any sender may send).
        survives_purge: kept when the queue is purged because upload was switched off (the
            deletion-request ping, which must still be sent).
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
    endpoint: str = ""
    survives_purge: bool = False


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


class _BadRowError(Exception):
    """Internal: a stored row that cannot be sent as it is (reason in ``args[0]``)."""


_HEADER_BAD = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: object, what: str) -> str:
    if not isinstance(value, bytes):
        raise _BadRowError(f"{what} is {type(value).__name__}, not text")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadRowError(f"{what} is not UTF-8") from None


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _BadRowError(f"{what} is not a number")
    return float(value)


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _BadRowError(f"{what} is not a non-negative integer")
    return value


def _as_time(value: object) -> float:
    """A time read from an aggregate; a damaged (non-numeric) value counts as "now-ish" 0."""
    return float(value) if isinstance(value, (int, float)) else 0.0


def _checksum(doc_id: str, path: str, headers_json: str, endpoint: str, body: bytes) -> int:
    """CRC-32 over everything a send uses, so a damaged row is never sent as if intact."""
    text = f"{doc_id}\n{path}\n{headers_json}\n{endpoint}\n".encode()
    return zlib.crc32(body, zlib.crc32(text))


def _decode_row(row: tuple[object, ...]) -> QueuedPing:
    """The ping a claimed row holds; raises _BadRowError when any part of it is damaged."""
    (_, doc_id_b, path_b, headers_b, body, created, attempts, due, ns_b, dt_b, version,
     endpoint_b, checksum, _hold, keep) = row  # fmt: skip
    doc_id = _text(doc_id_b, "doc_id")
    if not is_doc_id(doc_id):
        raise _BadRowError("doc_id is not a canonical UUID")
    path = _text(path_b, "path")
    if not path.startswith("/submit/") or _HEADER_BAD.search(path) or " " in path:
        raise _BadRowError("path is not a submit path")
    headers_json = _text(headers_b, "headers")
    endpoint = _text(endpoint_b, "endpoint")
    if not isinstance(body, bytes):
        raise _BadRowError("body is missing" if body is None else "body is not bytes")
    if checksum is not None and checksum != _checksum(doc_id, path, headers_json, endpoint, body):
        raise _BadRowError("checksum mismatch")
    try:
        headers = json.loads(headers_json)
    except ValueError:
        raise _BadRowError("headers are not JSON") from None
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and not _HEADER_BAD.search(k + v)
        for k, v in headers.items()
    ):
        raise _BadRowError("headers are not a map of clean strings")
    return QueuedPing(
        doc_id=doc_id,
        path=path,
        headers=headers,
        body=body,
        created_at=_number(created, "created_at"),
        attempts=_integer(attempts, "attempts"),
        next_attempt_at=_number(due, "next_attempt_at"),
        namespace=_text(ns_b, "namespace"),
        doctype=_text(dt_b, "doctype"),
        version=_integer(version, "version"),
        endpoint=endpoint,
        survives_purge=bool(keep),
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

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_count: int = DEFAULT_MAX_COUNT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        durability: Literal["process", "power"] = "process",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        busy_timeout: float = _BUSY_TIMEOUT,
        create: bool = True,
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
        self.busy_timeout = float(busy_timeout)
        self._create = bool(create)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._quarantined = 0  # rows moved to the quarantine since take_quarantined()
        self._last_sweep = -math.inf
        self._empty_logged = False
        self._strikes = 0  # corruption reports since the last transaction that worked
        # doc_id -> row id of the rows this instance leased (see _ROW_OF).
        self._rowids: dict[str, int] = {}
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
        params = [self._row_params(ping) for ping in pings]

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
            return self._insert_evicting(conn, ping, self._row_params(ping))

        evicted = self._write(run, timeout)
        return built[0], evicted

    def put_leased(self, ping: QueuedPing, *, timeout: float | None = None) -> list[str]:
        """Store ``ping`` already leased to this owner for ``lease_seconds``, in one transaction.

        For a caller that sends the ping at once (``send_now()``): no other sender can claim it
        between the store and the send, and once stored it is as durable as after :meth:`put`.
        The caller then acks, defers, releases or extends it like a claimed ping; if the caller
        dies, the lease expires and any sender sends it. Raises what :meth:`put` raises.
        """
        params = self._row_params(ping)
        until = time.time() + self.lease_seconds

        def run(conn: sqlite3.Connection) -> list[str]:
            evicted = self._insert_evicting(conn, ping, params)
            # The row's id (a large body's row in ``bodies`` shares it), kept as claim() keeps
            # the ids of the rows it leases.
            (row_id,) = conn.execute("SELECT last_insert_rowid()").fetchone()
            conn.execute(_LEASE, (self._owner, until, row_id))
            self._rowids[ping.doc_id] = int(row_id)
            return evicted

        return self._write(run, timeout)

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

    def _row_params(self, ping: QueuedPing) -> tuple[object, ...]:
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
        return (
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
            body if len(body) <= _INLINE_BODY else None,
            ping.endpoint,
            _checksum(ping.doc_id, ping.path, headers_json, ping.endpoint, body),
            1 if ping.survives_purge else 0,
        )

    def _put(
        self, ping: QueuedPing, params: tuple[object, ...] | None, timeout: float | None
    ) -> list[str]:
        params = self._row_params(ping) if params is None else params
        if params[10] is not None:
            # The common case: one statement in autocommit mode, its own transaction (an INSERT
            # takes the write lock at once, like BEGIN IMMEDIATE); the bound is checked by this
            # connection's BEFORE INSERT trigger, in C. Written out (no closures, no retry
            # loop) because put() latency is what submit() costs its caller.
            with self._lock:
                conn = self._conn
                if conn is not None:
                    try:
                        conn.execute(_INSERT, params)
                    except sqlite3.IntegrityError as exc:
                        if _BOUND_MESSAGE not in str(exc):
                            raise QueueError(f"doc_id {ping.doc_id} is already queued") from None
                    except sqlite3.Error:
                        pass  # busy, disk full, corrupt...: the general path below decides
                    else:
                        return []
        return self._write(lambda conn: self._insert_evicting(conn, ping, params), timeout)

    def _insert_evicting(
        self, conn: sqlite3.Connection, ping: QueuedPing, params: tuple[object, ...]
    ) -> list[str]:
        """Insert the row (its body too), evicting the oldest rows first when it does not fit."""
        size = params[3]
        assert isinstance(size, int)
        evicted: list[str] = []
        for _ in range(2):
            try:
                row_id = conn.execute(_INSERT, params).lastrowid
            except sqlite3.IntegrityError as exc:
                if _BOUND_MESSAGE not in str(exc):
                    raise QueueError(f"doc_id {ping.doc_id} is already queued") from None
                evicted += self._evict(conn, size)
                continue
            if params[10] is None:
                conn.execute(_INSERT_BODY, (row_id, bytes(ping.body)))
            return evicted
        raise QueueError("the queue bound could not be met")  # room was made: unreachable

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
                    rows = conn.execute(_DUE, (due_by, at, limit)).fetchall()
                else:
                    rows = conn.execute(_DUE_FOR, (due_by, at, limit, endpoint)).fetchall()
                claimed: list[QueuedPing] = []
                leases: list[tuple[str, float, object]] = []
                owner = self._owner
                for row in rows:
                    try:
                        claimed.append(_decode_row(row))
                    except _BadRowError as problem:
                        self._quarantine(conn, row[0], str(problem), row[1])
                    else:
                        leases.append((owner, until, row[0]))
                        self._rowids[claimed[-1].doc_id] = row[0]
                if len(self._rowids) > _ROWIDS_KEPT:
                    self._rowids.clear()  # leases lost to other senders; doc_id lookups remain
                if not claimed and len(rows) == limit:
                    continue  # a page of damaged rows: look past them in the same transaction
                conn.executemany(_LEASE, leases)
                return claimed

        # The sender's path (not put()'s) also notices a file replaced by another process and
        # keeps the WAL short.
        claimed = self._transact(claim, "BEGIN IMMEDIATE", timeout, reopen_if_replaced=True)
        self._maybe_checkpoint()
        return claimed

    def _quarantine(
        self, conn: sqlite3.Connection, row_id: object, reason: str, doc: object
    ) -> None:
        """Move one damaged row out of ``pings`` (inside the caller's write transaction)."""
        conn.execute(_QUARANTINE, (reason, time.time(), row_id))
        conn.execute(_DELETE, (row_id,))
        conn.execute(_QUARANTINE_TRIM)
        self._quarantined += 1
        shown = doc.decode("utf-8", "replace")[:40] if isinstance(doc, bytes) else repr(doc)[:40]
        logger.error(
            "pingsdk queue %s: ping %r cannot be sent as stored (%s); moved to the quarantine "
            "table (not sent)",
            self._where(),
            shown,
            reason,
        )

    def _sweep(self, conn: sqlite3.Connection) -> None:
        """Find damage that claim() alone would not meet (inside a write transaction).

        Rows that could never be claimed (scheduling columns of the wrong type, an endpoint that
        is not text) go to the quarantine; running totals that disagree with the rows are
        rebuilt; a file emptied under us is logged. A full scan, so at most every 30 s.
        """
        self._last_sweep = time.monotonic()
        bad = [(row_id, "scheduling columns are damaged") for (row_id,) in conn.execute(_MISTYPED)]
        for row_id, endpoint in conn.execute("SELECT id, CAST(endpoint AS BLOB) FROM pings"):
            try:
                _text(endpoint, "endpoint")
            except _BadRowError as problem:
                bad.append((row_id, str(problem)))
        for row_id, reason in bad:
            doc = conn.execute(
                "SELECT CAST(doc_id AS BLOB) FROM pings WHERE id = ?", (row_id,)
            ).fetchone()
            if doc is not None:
                self._quarantine(conn, row_id, reason, doc[0])
        totals = tuple(conn.execute(_TOTALS).fetchone())
        if (
            totals != tuple(conn.execute(_ACTUAL).fetchone())
            or conn.execute(_DISORDERED).fetchone()[0]
        ):
            conn.execute(_RENUMBER)
            conn.execute(_RESET_META)
            logger.error(
                "pingsdk queue %s: its running totals were damaged; rebuilt them from the rows",
                self._where(),
            )
        self._notice_empty_file()

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
        return self._owned_update(_ACK, [(doc_id,) for doc_id in doc_ids], timeout)

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
        return self._owned_update(_DEFER, [row], timeout) == 1

    def release(self, doc_ids: Sequence[str], *, timeout: float | None = None) -> int:
        """Give leases back unchanged (on close), so another sender may take them at once.

        Returns how many leases this owner still held and gave back.
        """
        return self._owned_update(_RELEASE, [(doc_id,) for doc_id in doc_ids], timeout)

    def extend(
        self, doc_ids: Sequence[str], *, now: float | None = None, timeout: float | None = None
    ) -> int:
        """Renew this owner's leases for another ``lease_seconds`` (a slow send in progress).

        Returns how many leases were renewed (rows this owner still leases).
        """
        until = (time.time() if now is None else now) + self.lease_seconds
        return self._owned_update(_EXTEND, [(until, doc_id) for doc_id in doc_ids], timeout)

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
            if sql is not _EXTEND:  # the lease is over: this instance holds the row no more
                for row in rows:
                    rowids.pop(str(row[-1]), None)
            return changed

        return self._write(update, timeout)

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

        def next_due(conn: sqlite3.Connection) -> float | None:
            if ignore_schedule:
                sql = _NEXT_HOLD if endpoint is None else _NEXT_HOLD_FOR
            else:
                sql = _NEXT_FREE if endpoint is None else _NEXT_FREE_FOR
            row = conn.execute(sql, (now,) if endpoint is None else (now, endpoint)).fetchone()
            free = None if row is None or row[0] is None else _as_time(row[0])
            if endpoint is None:
                (lease_end,) = conn.execute(_NEXT_LEASE_END).fetchone()
            else:
                (lease_end,) = conn.execute(_NEXT_LEASE_END_FOR, (endpoint,)).fetchone()
            if lease_end is None:
                return free
            end = _as_time(lease_end)
            return end if free is None else min(free, end)

        return self._read(next_due, timeout)

    def holds(self, endpoint: str, *, timeout: float | None = None) -> tuple[bool, bool]:
        """Whether any ping for ``endpoint`` is stored, and whether any is leased right now.

        What a flush polls after every request: the first matching row answers, where
        :meth:`stats` with an ``endpoint`` counts every row (milliseconds for a full queue).
        Pings stored by pingsdk 0.1 (no endpoint) count for every endpoint.
        """
        now = time.time()

        def holds(conn: sqlite3.Connection) -> tuple[bool, bool]:
            (stored,) = conn.execute(_ANY_FOR, (endpoint,)).fetchone()
            if not stored:
                return False, False
            (leased,) = conn.execute(_ANY_LEASED_FOR, (endpoint, now)).fetchone()
            return True, bool(leased)

        return self._read(holds, timeout)

    def stats(self, *, endpoint: str | None = None, timeout: float | None = None) -> QueueStats:
        """Pending count and bytes, how many are leased now, and how many rows are quarantined.

        Counts every process's pings in the file; ``endpoint`` limits them to that endpoint's
        pings (and pings stored by pingsdk 0.1, which recorded none).
        """
        now = time.time()

        def stats(conn: sqlite3.Connection) -> QueueStats:
            if endpoint is None:
                count, total = conn.execute(_TOTALS).fetchone()
                (leased,) = conn.execute(_LEASED, (now,)).fetchone()
            else:
                count, total, leased = conn.execute(_COUNT_FOR, (endpoint, now)).fetchone()
            (quarantined,) = conn.execute(_QUARANTINED).fetchone()
            return QueueStats(
                pending=int(count),
                bytes=int(total),
                leased=int(leased),
                quarantined=int(quarantined),
            )

        return self._read(stats, timeout)

    def groups(self, *, timeout: float | None = None) -> list[QueueGroup]:
        """What the file holds, per endpoint and ping identity (for ``pingsdk queue list``)."""
        now = time.time()

        def groups(conn: sqlite3.Connection) -> list[QueueGroup]:
            rows = conn.execute(_GROUPS, (now,)).fetchall()
            # The status of each group's latest failed attempt (one extra scan, tools only).
            latest: dict[tuple[object, ...], tuple[int | None, float]] = {}
            for key0, key1, key2, key3, status, at in conn.execute(
                "SELECT endpoint, namespace, doctype, version, last_status, last_attempt_at "
                "FROM pings WHERE last_attempt_at IS NOT NULL ORDER BY last_attempt_at"
            ):
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
                        oldest=_as_time(oldest),
                        max_attempts=int(most),
                        total_attempts=int(total),
                        next_attempt=_as_time(nxt),
                        leased=int(leased),
                        last_status=status if isinstance(status, int) else None,
                        last_attempt=None if at is None else _as_time(at),
                    )
                )
            return result

        return self._read(groups, timeout)

    def purge(self, *, timeout: float | None = None) -> int:
        """Delete every ping, leased or not, but those stored with ``survives_purge``.

        Returns how many were deleted (upload disabled). The kept ones are the deletion-request
        pings, which must still be sent after the user opted out.
        """

        def purge(conn: sqlite3.Connection) -> int:
            return int(conn.execute("DELETE FROM pings WHERE keep = 0").rowcount)

        return self._write(purge, timeout)

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

    def _where(self) -> str:
        return _MEMORY if self._path is None else str(self._path)

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
        delay = 0.001
        if not self._lock.acquire(timeout=wait):
            raise self._busy(wait, "another thread of this process is using it")
        try:
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
                try:
                    conn = self._connection(deadline)  # opening may meet a busy file too
                    if begin is None:  # one statement in autocommit mode
                        return fn(conn)
                    conn.execute(begin)
                    try:
                        result = fn(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        self._rollback(conn)
                        raise
                    self._strikes = 0
                    return result
                except sqlite3.Error as exc:
                    code = _error_code(exc)
                    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
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

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            # A failed write can leave SQLite having rolled back already; nothing to undo.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _translate(self, exc: sqlite3.Error, code: int | None) -> QueueError:
        where = self._where()
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            # Checked (repaired or moved aside) at the next operation, which opens afresh.
            self._drop_connection()
            self._verify = True
            self._strikes += 1
            logger.error("pingsdk queue %s is corrupt (%s); it will be checked", where, exc)
            return QueueCorruptError(
                f"queue file {where} is corrupt ({exc}); it is repaired or moved aside at the "
                "next operation"
            )
        if code == _SQLITE_FULL or (code == _SQLITE_IOERR and _disk_full(self._path)):
            return QueueFullError(
                f"no space left for the queue file {where} ({exc}); free disk space or lower "
                "max_bytes; what was stored is intact"
            )
        if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN):
            self._drop_connection()
            return QueueError(_read_only_message(self._path, str(exc)))
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
                    self._rollback(conn)
                    raise
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

    def _open(self, deadline: float) -> sqlite3.Connection:
        if self._path is None:
            conn = self._connect(_MEMORY)
            self._check_schema(conn)
            return conn
        path = self._path
        kind = _path_kind(path)  # before anything opens it: a FIFO would block an open()
        if kind == "missing" and not self._create:
            raise QueueError(f"no queue file at {path}")
        if kind == "other":
            raise QueueError(
                f"queue_path {path} exists and is not a regular file (a directory, device, FIFO "
                "or socket); pingsdk left it untouched: name a file, e.g. "
                f"{path / 'pings.db' if path.is_dir() else path.with_name('pings.db')}"
            )
        if kind == "file" and not _writable(path):
            raise QueueError(_read_only_message(path, "no write permission"))
        if self._create:
            _make_dirs(path.parent)
        # A lock file left by an earlier open is the evidence that this path held a pingsdk
        # queue: only then may a file that is not recognisably ours be treated as damaged.
        was_used = path.with_name(path.name + ".lock").exists()
        # One process at a time checks, creates or moves the file aside: two processes finding
        # the same corrupt file must not move each other's fresh queue aside.
        # Tools opening an existing queue (create=False) never create, move or replace a file,
        # so they need no open lock, and leave no lock file beside a file named by mistake.
        locked = (
            _open_lock(path, deadline, self._busy) if self._create else contextlib.nullcontext()
        )
        with locked:
            if self._create:
                _create_file(path)
            self._notice_empty_file(was_used)
            try:
                conn = self._open_file(path, was_used)
            except _UnusableError as problem:
                if not self._create:
                    raise QueueCorruptError(f"queue file {path} is damaged ({problem})") from None
                salvaged = self._move_aside(path, str(problem))
                _create_file(path)
                try:
                    conn = self._open_file(path, was_used)
                except _UnusableError as again:
                    raise QueueCorruptError(
                        f"queue file {path} is still unusable after moving the old one aside "
                        f"({again})"
                    ) from None
                self._restore(conn, salvaged)
        self._file_id = _file_id(path)
        return conn

    def _notice_empty_file(self, was_used: bool = True) -> None:
        """Log (once) a queue file found emptied: its pings are gone and nobody else says so.

        A fresh WAL database may legitimately be 0 bytes with everything in its ``-wal``; an
        empty file with an empty (or no) ``-wal`` where a queue was used is a truncation.
        """
        path = self._path
        if path is None or self._empty_logged or not was_used:
            return
        try:
            size = os.stat(path).st_size
        except OSError:
            return
        wal = path.with_name(path.name + "-wal")
        try:
            wal_size = os.stat(wal).st_size
        except OSError:
            wal_size = 0
        if size == 0 and wal_size == 0:
            self._empty_logged = True
            logger.error(
                "pingsdk queue file %s is empty (0 bytes) although a queue was used there: the "
                "pings it held were lost (truncated by something outside pingsdk); a new queue "
                "is started in it",
                path,
            )

    def _connect(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            target,
            # SQLite's own busy handler is off: _transact waits, within the caller's deadline.
            timeout=0,
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

    def _open_file(self, path: Path, was_used: bool) -> sqlite3.Connection:
        # Check the header before SQLite touches the file, so a foreign file is left as it is
        # and a damaged one is moved aside with its -wal. But closing any descriptor of a file
        # drops every POSIX lock this process holds on it, SQLite's included: skip the raw read
        # when another queue of this process has the file open.
        if not _open_elsewhere(self, path):
            head = _read_head(path)
            ours = was_used or _header_is_ours(head)
            if head and not (head.startswith(_SQLITE_MAGIC) or _SQLITE_MAGIC.startswith(head)):
                if not ours:
                    raise QueueError(_foreign_message(path, "it is not an SQLite file"))
                raise _UnusableError("not an SQLite file")
            if head and len(head) < len(_SQLITE_MAGIC):
                if not ours:
                    raise QueueError(_foreign_message(path, "it is a truncated SQLite file"))
                raise _UnusableError("truncated SQLite header")
            if not ours and head and _foreign_database(path, head):
                # Checked before our connection sets WAL mode, which would rewrite its header.
                raise QueueError(_foreign_message(path, "it belongs to another application"))
        else:
            ours = True
        try:
            conn = self._connect(str(path))
        except sqlite3.Error as exc:
            code = _error_code(exc)
            if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                if not ours:
                    raise QueueError(_foreign_message(path, str(exc))) from None
                raise _UnusableError(str(exc)) from None
            if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
                raise  # _transact waits and tries again
            raise self._translate(exc, code) from exc
        try:
            self._check_schema(conn, ours)
            if self._verify:
                self._check_integrity(conn)
        except sqlite3.Error as exc:
            conn.close()
            code = _error_code(exc)
            if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                if not ours:
                    raise QueueError(_foreign_message(path, str(exc))) from None
                raise _UnusableError(str(exc)) from None
            if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
                raise
            raise self._translate(exc, code) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        """quick_check; a damaged index alone is rebuilt (REINDEX) rather than the file lost."""
        if self._strikes >= 2:
            # SQLite reported corruption again although the last check passed: some damage
            # (a page of a table the checks do not reach) is beyond repair in place.
            raise _UnusableError("corruption persists after a check")
        # After corruption was reported, the full check: quick_check skips index contents.
        check = "integrity_check(1)" if self._strikes else "quick_check(1)"
        (result,) = conn.execute(f"PRAGMA {check}").fetchone()
        if result == "ok":
            return
        try:
            conn.execute("REINDEX")
            (result,) = conn.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.Error:
            result = "failed"
        if result != "ok":
            raise _UnusableError("integrity check failed")
        logger.error("pingsdk queue %s had a damaged index; rebuilt it (no ping lost)", self._path)

    def _check_schema(self, conn: sqlite3.Connection, ours: bool = True) -> None:
        """Create the schema in an empty file, migrate an older one, or check it is ours."""
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
                if not ours:
                    raise QueueError(
                        _foreign_message(self._path, "it belongs to another application")
                    )
                raise _UnusableError("not a pingsdk queue (foreign application id or tables)")
            elif version > _SCHEMA_VERSION:
                raise QueueError(
                    f"queue file {self._path} was written by a newer pingsdk (schema "
                    f"{version} > {_SCHEMA_VERSION}); upgrade pingsdk or use another queue_path"
                )
            else:
                columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(pings)"))
                if version == 1 and tables >= _TABLES and columns == _COLUMNS_V1:
                    for statement in _V2_MIGRATION:
                        conn.execute(statement)
                elif not tables >= _TABLES | {"quarantine"} or columns != _COLUMNS:
                    raise _UnusableError("the queue tables do not have the expected columns")
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise

    def _move_aside(self, path: Path, problem: str) -> list[tuple[object, ...]]:
        """Rename a damaged queue file away; returns the rows that could still be read."""
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
        salvaged = _salvage(target)
        logger.error(
            "pingsdk queue file %s is unusable (%s): moved aside to %s; starting a fresh queue "
            "with the %d ping(s) that could still be read",
            path,
            problem,
            target,
            len(salvaged),
        )
        return salvaged

    def _restore(self, conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
        """Store rows salvaged from a damaged file in the fresh one (damaged rows skipped)."""
        restored = 0
        for row in rows:
            try:
                ping = _decode_row(row)
                params = self._row_params(dataclasses.replace(ping, next_attempt_at=0.0))
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._insert_evicting(conn, ping, params)
                    conn.execute("COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
                restored += 1
            except (
                _BadRowError,
                QueueError,
                PayloadTooLargeError,
                ConfigurationError,
                sqlite3.Error,
            ):
                continue
        if rows:
            logger.error(
                "pingsdk queue %s: restored %d of %d salvaged ping(s)",
                self._path,
                restored,
                len(rows),
            )


def _path_kind(path: Path) -> Literal["missing", "file", "other"]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise QueueError(f"cannot use the queue path {path}: {exc}") from exc
    return "file" if stat.S_ISREG(st.st_mode) else "other"


def _writable(path: Path) -> bool:
    return os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _read_only_message(path: Path | None, why: str) -> str:
    return (
        f"queue file {path} is read-only for this process ({why}): pingsdk must write the file "
        "and create its -wal and -shm beside it in the same directory; fix the permissions of "
        "the file and its directory, or choose another queue_path"
    )


def _foreign_message(path: Path | None, why: str) -> str:
    return (
        f"{path} is not a pingsdk queue file ({why}); pingsdk left it untouched: choose "
        "another queue_path"
    )


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(100)
    except OSError as exc:
        raise QueueError(f"cannot read the queue file {path}: {exc}") from exc


def _header_is_ours(head: bytes) -> bool:
    """The file header names pingsdk's application id (SQLite keeps it at offset 68)."""
    end = _APPLICATION_ID_OFFSET + 4
    return (
        len(head) >= end
        and head.startswith(_SQLITE_MAGIC)
        and int.from_bytes(head[_APPLICATION_ID_OFFSET:end], "big") == _APPLICATION_ID
    )


def _foreign_database(path: Path, head: bytes) -> bool:
    """An SQLite file of another program: a foreign application id, or tables but no id."""
    end = _APPLICATION_ID_OFFSET + 4
    if len(head) >= end and head[_APPLICATION_ID_OFFSET:end] != b"\0\0\0\0":
        return not _header_is_ours(head)
    try:
        # immutable: no lock, no -shm, nothing written; good enough to see whether it is empty.
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return False
    try:
        (tables,) = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return bool(tables)


def _salvage(path: Path) -> list[tuple[object, ...]]:
    """Best effort: read whatever rows of a damaged queue file SQLite can still read.

    Rows are read by rowid ranges from both ends, so damage in the middle of the table loses
    the rows on the damaged pages, not everything after them. Never raises.
    """
    rows: dict[object, tuple[object, ...]] = {}
    try:
        with path.open("rb") as fh:
            if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return []
    except OSError:
        return []
    # Read a copy: SQLite would rewrite the -shm (and may replay the -wal) of the file it opens,
    # and what was moved aside is kept exactly as found, for inspection.
    with tempfile.TemporaryDirectory(prefix="pingsdk-salvage-") as scratch:
        copy = Path(scratch) / "q.db"
        try:
            shutil.copyfile(path, copy)
            wal = path.with_name(path.name + "-wal")
            if wal.exists():
                shutil.copyfile(wal, copy.with_name("q.db-wal"))
            conn = sqlite3.connect(copy, timeout=0)
        except (OSError, sqlite3.Error):
            return []
        try:
            _read_rows(conn, rows)
        finally:
            conn.close()
    return [rows[key] for key in sorted(rows, key=lambda k: k if isinstance(k, int) else 0)]


def _read_rows(conn: sqlite3.Connection, rows: dict[object, tuple[object, ...]]) -> None:
    """Rows of ``pings`` by rowid ranges from both ends, past whatever page fails to read."""
    select = (
        f"SELECT {_ROW} FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
        "WHERE p.id {op} ? ORDER BY p.id {order} LIMIT 64"
    )
    for op, order, start in ((">", "ASC", -1), ("<", "DESC", 2**62)):
        cursor = start
        while True:
            try:
                sql = select.format(op=op, order=order)
                page = conn.execute(sql, (cursor,)).fetchall()
            except sqlite3.Error:
                break
            if not page:
                break
            for row in page:
                rows.setdefault(row[0], row)
            cursor = page[-1][0]


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
    """Create the database file owner-only; QueueError if it cannot be created."""
    try:
        create_private_file(path)
    except OSError as exc:
        raise QueueError(f"cannot create the queue file {path}: {exc}") from exc


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
def _open_lock(
    path: Path, deadline: float, busy: Callable[[float, str], QueueBusyError]
) -> Iterator[None]:
    """An exclusive lock on ``<path>.lock`` between processes (POSIX; nothing on Windows).

    Waits until ``deadline`` (``time.monotonic()``) at most, then raises ``busy(...)``.
    """
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
        started = time.monotonic()
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise busy(
                        time.monotonic() - started, f"another process holds {lock_path.name}"
                    ) from None
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.05)
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


lifecycle.on_fork(
    before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child
)
