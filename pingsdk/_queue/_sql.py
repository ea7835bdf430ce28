"""The queue file's SQL: its schema, the migration from version 1, every statement, SQLite codes.

Statements are constant strings: ``sqlite3`` prepares each once per connection and caches it.
Nothing here decides what to do about an error; :mod:`pingsdk._queue._store` does.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from typing import Literal

from pingsdk._exceptions import QueueError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x50494E47  # "PING": marks the file as ours in its header
QUARANTINE_KEEP = 200
"""Quarantined rows kept for inspection (the newest); older ones are deleted."""
MEMORY = ":memory:"

# The schema. ``doc_id`` is the unique key every operation uses. ``id`` is the order rows were
# stored in: the eviction order ("oldest first") and the tie-break of the claim order.
# ``size`` = len(body) + len(path) + len(headers JSON), the unit of ``max_bytes``.
# Bodies over INLINE_BODY bytes live in ``bodies``: SQLite rewrites a whole row (overflow pages
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
V2_MIGRATION = (*_V2_COLUMNS, _QUARANTINE_TABLE, f"PRAGMA user_version = {SCHEMA_VERSION}")
SCHEMA = (
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
    f"PRAGMA application_id = {APPLICATION_ID}",
    *V2_MIGRATION,
)
INLINE_BODY = 2048
TABLES = {"pings", "bodies", "meta"}
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
COLUMNS = (
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
TOTALS = f"SELECT c - dc, b - db FROM ({_RUNNING})"

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
INSERT = (
    "INSERT INTO pings (doc_id, path, headers, size, created_at, attempts, next_attempt_at, "
    "namespace, doctype, version, body, endpoint, checksum, keep, seq_count, seq_bytes) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    f"{_LAST_COUNT} + 1, {_LAST_BYTES} + ?4)"
)
INSERT_BODY = "INSERT INTO bodies (id, body) VALUES (?, ?)"
OLDEST = "SELECT id, doc_id, size FROM pings ORDER BY id LIMIT ?"
BOUND_MESSAGE = "pingsdk: queue bound reached"
# Per connection (TEMP), so each PingQueue enforces its own bounds.
BOUND_TRIGGER = (
    "CREATE TEMP TRIGGER pingsdk_bound BEFORE INSERT ON main.pings "
    "WHEN (SELECT new.seq_count - del_count > {max_count} "
    "OR new.seq_bytes - del_bytes > {max_bytes} FROM main.meta WHERE id = 0) "
    f"BEGIN SELECT RAISE(ABORT, '{BOUND_MESSAGE}'); END"
)
DELETE = "DELETE FROM pings WHERE id = ?"
# Text columns are read as BLOBs: a damaged row with bytes that are not UTF-8 must reach
# _decode_row (and the quarantine), not fail the whole fetch inside sqlite3.
ROW = (
    "p.id, CAST(p.doc_id AS BLOB), CAST(p.path AS BLOB), CAST(p.headers AS BLOB), "
    "coalesce(p.body, b.body), p.created_at, p.attempts, p.next_attempt_at, "
    "CAST(p.namespace AS BLOB), CAST(p.doctype AS BLOB), p.version, CAST(p.endpoint AS BLOB), "
    "p.checksum, p.hold_until, p.keep"
)
_DUE_WHERE = (
    "p.next_attempt_at <= ?1 AND p.hold_until <= ?2 "
    "AND (p.lease_owner IS NULL OR p.lease_until <= ?2)"
)
DUE = (
    f"SELECT {ROW} FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
    f"WHERE {_DUE_WHERE} ORDER BY p.next_attempt_at, p.id LIMIT ?3"
)
DUE_FOR = (
    f"SELECT {ROW} FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
    f"WHERE {_DUE_WHERE} AND p.endpoint IN (?4, '') ORDER BY p.next_attempt_at, p.id LIMIT ?3"
)
# Rows whose scheduling columns lost their type can never be due (in SQLite text sorts after
# every number): found by a periodic scan, they go to the quarantine like undecodable rows.
MISTYPED = (
    "SELECT id FROM pings WHERE typeof(next_attempt_at) NOT IN ('integer', 'real') "
    "OR typeof(hold_until) NOT IN ('integer', 'real') "
    "OR typeof(lease_until) NOT IN ('integer', 'real', 'null') "
    "OR typeof(endpoint) != 'text' OR typeof(created_at) NOT IN ('integer', 'real') "
    "OR typeof(size) != 'integer' OR size < 0"
)
# The running totals (see _RUNNING) against a count: a damaged seq_* or meta value would make
# the bound trigger refuse or evict wrongly, so a mismatch renumbers them from the rows.
ACTUAL = "SELECT count(*), coalesce(sum(size), 0) FROM pings"
# Running totals must grow with the row id; one damaged upwards would be taken into meta.hi_*
# when its row is deleted, and the count would be wrong from then on.
DISORDERED = (
    "SELECT count(*) FROM (SELECT seq_count, seq_bytes, "
    "lag(seq_count) OVER (ORDER BY id) AS pc, lag(seq_bytes) OVER (ORDER BY id) AS pb "
    "FROM pings) WHERE typeof(seq_count) != 'integer' OR typeof(seq_bytes) != 'integer' "
    "OR seq_count <= pc OR seq_bytes < pb"
)
RENUMBER = (
    "UPDATE pings SET seq_count = r.c, seq_bytes = r.b FROM (SELECT id, "
    "row_number() OVER (ORDER BY id) AS c, sum(size) OVER (ORDER BY id) AS b FROM pings) AS r "
    "WHERE pings.id = r.id"
)
RESET_META = "UPDATE meta SET del_count = 0, del_bytes = 0, hi_count = 0, hi_bytes = 0"
QUARANTINE = (
    "INSERT INTO quarantine (reason, quarantined_at, doc_id, path, headers, body, created_at, "
    "attempts, namespace, doctype, version, endpoint) SELECT ?, ?, p.doc_id, p.path, p.headers, "
    "coalesce(p.body, b.body), p.created_at, p.attempts, p.namespace, p.doctype, p.version, "
    "p.endpoint FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id WHERE p.id = ?"
)
QUARANTINE_TRIM = (
    f"DELETE FROM quarantine WHERE qid <= (SELECT max(qid) FROM quarantine) - {QUARANTINE_KEEP}"
)
LEASE = "UPDATE pings SET lease_owner = ?, lease_until = ? WHERE id = ?"
# Rows a sender leased are found by the row id claim() saw (the table's own b-tree), checked
# against the doc_id, and only else through the doc_id index: a damaged doc_id index must not
# make an ack delete nothing, again and again, and the ping be sent every lease period.
_ROW_OF = (
    "coalesce((SELECT id FROM pings WHERE id = ?{rid} AND +doc_id = ?{doc}), "
    "(SELECT id FROM pings WHERE doc_id = ?{doc}))"
)
ACK = f"DELETE FROM pings WHERE id = {_ROW_OF.format(doc=1, rid=2)} AND lease_owner = ?3"
DEFER = (
    "UPDATE pings SET next_attempt_at = ?1, attempts = ?2, hold_until = ?3, last_status = ?4, "
    "last_attempt_at = ?5, lease_owner = NULL, lease_until = NULL "
    f"WHERE id = {_ROW_OF.format(doc=6, rid=7)} AND lease_owner = ?8"
)
RELEASE = (
    "UPDATE pings SET lease_owner = NULL, lease_until = NULL "
    f"WHERE id = {_ROW_OF.format(doc=1, rid=2)} AND lease_owner = ?3"
)
EXTEND = (
    f"UPDATE pings SET lease_until = ?1 WHERE id = {_ROW_OF.format(doc=2, rid=3)} "
    "AND lease_owner = ?4"
)
_FREE = "(lease_owner IS NULL OR lease_until <= ?1)"
NEXT_FREE = (
    f"SELECT max(next_attempt_at, hold_until) FROM pings WHERE {_FREE} "
    "ORDER BY next_attempt_at LIMIT 1"
)
NEXT_FREE_FOR = (
    f"SELECT max(next_attempt_at, hold_until) FROM pings WHERE {_FREE} "
    "AND endpoint IN (?2, '') ORDER BY next_attempt_at LIMIT 1"
)
# A flush ignores the client's own schedule, never the server's hold.
NEXT_HOLD = f"SELECT min(hold_until) FROM pings WHERE {_FREE}"
NEXT_HOLD_FOR = f"SELECT min(hold_until) FROM pings WHERE {_FREE} AND endpoint IN (?2, '')"
NEXT_LEASE_END = "SELECT min(lease_until) FROM pings WHERE lease_owner IS NOT NULL"
NEXT_LEASE_END_FOR = (
    "SELECT min(lease_until) FROM pings WHERE lease_owner IS NOT NULL AND endpoint IN (?, '')"
)
LEASED = "SELECT count(*) FROM pings WHERE lease_owner IS NOT NULL AND lease_until > ?"
COUNT_FOR = (
    "SELECT count(*), coalesce(sum(size), 0), "
    "coalesce(sum(lease_owner IS NOT NULL AND lease_until > ?2), 0) "
    "FROM pings WHERE endpoint IN (?1, '')"
)
QUARANTINED = "SELECT count(*) FROM quarantine"
# Whether anything is stored / leased for an endpoint: the first match ends each (the lease
# test through the pings_leased index), where counting scans every row of the table.
ANY_FOR = "SELECT EXISTS (SELECT 1 FROM pings WHERE endpoint IN (?1, ''))"
ANY_LEASED_FOR = (
    "SELECT EXISTS (SELECT 1 FROM pings WHERE lease_owner IS NOT NULL AND lease_until > ?2 "
    "AND endpoint IN (?1, ''))"
)
GROUPS = (
    "SELECT endpoint, namespace, doctype, version, count(*), sum(size), min(created_at), "
    "max(attempts), sum(attempts), min(max(next_attempt_at, hold_until)), "
    "sum(lease_owner IS NOT NULL AND lease_until > ?) "
    "FROM pings GROUP BY endpoint, namespace, doctype, version "
    "ORDER BY endpoint, namespace, doctype, version"
)

# SQLite primary result codes (the low byte of extended codes).
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_NOTADB = 26
SQLITE_READONLY = 8
SQLITE_CANTOPEN = 14
SQLITE_PERM = 3
# Python 3.10 has no ``sqlite_errorcode``: fall back on SQLite's fixed English messages.
_MESSAGE_CODES = (
    ("readonly database", SQLITE_READONLY),
    ("unable to open database", SQLITE_CANTOPEN),
    ("database is locked", SQLITE_BUSY),
    ("database table is locked", SQLITE_LOCKED),
    ("database or disk is full", SQLITE_FULL),
    ("disk i/o error", SQLITE_IOERR),
    ("malformed", SQLITE_CORRUPT),
    ("file is not a database", SQLITE_NOTADB),
)

# Inline statements of the rarer paths, named here so that every SQL string lives in this module.
LAST_ROWID = "SELECT last_insert_rowid()"
DOC_ID_OF = "SELECT CAST(doc_id AS BLOB) FROM pings WHERE id = ?"
ENDPOINTS = "SELECT id, CAST(endpoint AS BLOB) FROM pings"
LATEST_STATUS = (
    "SELECT endpoint, namespace, doctype, version, last_status, last_attempt_at "
    "FROM pings WHERE last_attempt_at IS NOT NULL ORDER BY last_attempt_at"
)
PURGE = "DELETE FROM pings WHERE keep = 0"
# A page of a damaged file's rows by rowid, from either end (see _file.salvage).
SALVAGE_PAGE = (
    f"SELECT {ROW} FROM pings AS p LEFT JOIN bodies AS b ON b.id = p.id "
    "WHERE p.id {op} ? ORDER BY p.id {order} LIMIT 64"
)


def error_code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of ``exc`` (from its message on Python 3.10)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc).lower()
    for fragment, value in _MESSAGE_CODES:
        if fragment in text:
            return value
    return None


SchemaVerdict = Literal["ready", "foreign", "newer", "mismatch"]
"""What :func:`prepare_schema` found: usable now, another program's file, written by a newer
pingsdk, or a pingsdk file whose tables are not what they should be (damaged)."""


def prepare_schema(conn: sqlite3.Connection) -> tuple[SchemaVerdict, int]:
    """Create the schema in an empty file, migrate a version 1 one, or check it is ours.

    Runs inside the caller's write transaction (so two processes never both create or migrate);
    returns the verdict and the file's ``user_version``.
    """
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    tables = {
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    if version == 0 and app_id == 0 and not tables:
        for statement in SCHEMA:
            conn.execute(statement)
        return "ready", SCHEMA_VERSION
    if app_id != APPLICATION_ID:
        return "foreign", version
    if version > SCHEMA_VERSION:
        return "newer", version
    columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(pings)"))
    if version == 1 and tables >= TABLES and columns == _COLUMNS_V1:
        for statement in V2_MIGRATION:
            conn.execute(statement)
        return "ready", SCHEMA_VERSION
    if not tables >= TABLES | {"quarantine"} or columns != COLUMNS:
        return "mismatch", version
    return "ready", version


def connect(target: str, durability: Literal["process", "power"]) -> sqlite3.Connection:
    """A connection to the queue file ``target`` (or ``":memory:"``) with the queue's settings.

    SQLite's own busy handler is off (``timeout=0``): the queue waits itself, within the
    caller's deadline. Transactions are begun and committed explicitly.
    """
    conn = sqlite3.connect(
        target,
        timeout=0,
        isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
        check_same_thread=False,  # guarded by the queue's lock
        cached_statements=64,
    )
    try:
        if target != MEMORY:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise QueueError(f"queue file {target}: cannot use WAL mode (got {mode})")
        sync = "FULL" if durability == "power" else "NORMAL"
        conn.execute(f"PRAGMA synchronous={sync}")
        if durability == "power" and sys.platform == "darwin":
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


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any; never raises."""
    if conn.in_transaction:
        # A failed write can leave SQLite having rolled back already; nothing to undo.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
