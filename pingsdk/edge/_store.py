"""What the edge received, kept in SQLite (a file, or memory), safe across handler threads."""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pingsdk._exceptions import ConfigurationError
from pingsdk._files import create_private_file
from pingsdk._naming import lookup_name
from pingsdk.edge._monitor import ROW_COLUMNS, Aggregates
from pingsdk.schema._validation import ValidationIssue

__all__ = ["ReceivedPing", "Store", "open_readonly"]

_COLUMNS = (
    "id",
    "received_at",
    "method",
    "path",
    "query",
    "namespace",
    "doctype",
    "version",
    "doc_id",
    "legacy",
    "headers",
    "wire_size",
    "decoded_size",
    "payload",
    "status",
    "valid",
    "errors",
    "decode_error",
    "duplicate",
    "client_date",
    "clock_skew",
    "verdict",
    "reason",
    "excerpt",
)
# Added after the first release: older edge databases get them on open (NULL for old rows).
_ADDED = {"verdict": "TEXT", "reason": "TEXT", "excerpt": "BLOB"}

DEFAULT_MEMORY_RECORDS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    namespace TEXT,
    doctype TEXT,
    version INTEGER,
    doc_id TEXT,
    legacy TEXT,
    headers TEXT NOT NULL,
    wire_size INTEGER NOT NULL,
    decoded_size INTEGER,
    payload TEXT,
    status INTEGER NOT NULL,
    valid INTEGER,
    errors TEXT NOT NULL,
    decode_error TEXT,
    duplicate INTEGER NOT NULL,
    client_date TEXT,
    clock_skew REAL,
    verdict TEXT,
    reason TEXT,
    excerpt BLOB
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL
);
"""


@dataclasses.dataclass(frozen=True, slots=True)
class ReceivedPing:
    """One request the edge stored (accepted or rejected; faulted requests are not stored).

    Attributes:
        id: storage order, from 1.
        received_at: server time (seconds since the epoch).
        method, path, query: the request line (query without ``?``).
        namespace, doctype, version, doc_id: URL parts (``None`` when the path did not parse;
            for legacy telemetry URLs ``version`` comes from the payload).
        legacy: ``(appName, appVersion, appUpdateChannel, appBuildID)`` for legacy URLs.
        headers: the kept headers (contract set plus Content-Type and Content-Encoding).
        wire_size: body bytes as sent; decoded_size: after decompression (``None`` if unread).
        payload: the decoded JSON object, or ``None``.
        status: the HTTP status answered.
        valid: schema outcome, ``None`` when nothing was validated.
        errors: every schema error (JSON path, message, keyword), sorted by path.
        decode_error: why the body or docId could not be decoded, or ``None``.
        duplicate: this docId had already been accepted (2xx) before.
        client_date: the ``Date`` header; clock_skew: server time minus that date (seconds).
        verdict: one word or phrase for the outcome: ``"valid"``, ``"invalid"``,
            ``"valid (generic glean.1)"`` (validated against the generic Glean schema),
            ``"unknown doctype"``, ``"decode error"``, ``"not validated"`` or ``"refused"``
            (``None`` for records stored by an older version).
        reason: why the request was refused, was not validated or is invalid, else ``None``.
        excerpt: the first bytes of a body that is not kept as :attr:`payload` (refused,
            undecodable or large bodies), else ``None``.
    """

    id: int
    received_at: float
    method: str
    path: str
    query: str
    namespace: str | None
    doctype: str | None
    version: int | None
    doc_id: str | None
    legacy: tuple[str, ...] | None
    headers: dict[str, str]
    wire_size: int
    decoded_size: int | None
    payload: dict[str, Any] | None
    status: int
    valid: bool | None
    errors: tuple[ValidationIssue, ...]
    decode_error: str | None
    duplicate: bool
    client_date: str | None
    clock_skew: float | None
    verdict: str | None = None
    reason: str | None = None
    excerpt: bytes | None = None

    @property
    def accepted(self) -> bool:
        """True when the edge answered 2xx."""
        return 200 <= self.status < 300

    @property
    def debug_id(self) -> str | None:
        """The ``X-Debug-ID`` header, if sent."""
        return self.headers.get("X-Debug-ID")


def _row_to_ping(row: tuple[Any, ...]) -> ReceivedPing:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["legacy"] = tuple(json.loads(values["legacy"])) if values["legacy"] else None
    values["headers"] = json.loads(values["headers"])
    values["payload"] = json.loads(values["payload"]) if values["payload"] is not None else None
    values["valid"] = None if values["valid"] is None else bool(values["valid"])
    values["errors"] = tuple(ValidationIssue(**e) for e in json.loads(values["errors"]))
    values["duplicate"] = bool(values["duplicate"])
    if values["excerpt"] is not None:
        values["excerpt"] = bytes(values["excerpt"])
    return ReceivedPing(**values)


def _create_private(path: Path) -> None:
    """Create the database file owner-only; ConfigurationError if it cannot be created."""
    try:
        create_private_file(path)
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot create the edge database ({exc})") from None


class Store:
    """One SQLite connection behind a lock; ``path=None`` keeps everything in memory.

    Args:
        path: the database file (created owner-only, 0600), or ``None`` for memory.
        readonly: open an existing file for reporting only.
        max_records: keep only the newest this many requests (``None``: keep all). The
            monitor's numbers, duplicate detection and :meth:`wait_accepted` still count
            every request.

    Raises:
        ConfigurationError: ``max_records`` is not a positive integer; the file cannot be
            created.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        readonly: bool = False,
        max_records: int | None = None,
    ) -> None:
        if max_records is not None and (
            isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1
        ):
            raise ConfigurationError(f"max_records must be a positive integer, got {max_records!r}")
        self.max_records: int | None = max_records
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        if readonly:
            uri = Path(path or "").resolve().as_uri() + "?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            if path is not None:
                _create_private(Path(path))
            target = ":memory:" if path is None else str(path)
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._aggregates = Aggregates()
        self._faults: collections.Counter[str] = collections.Counter()
        with self._lock:
            if path is not None and not readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            if not readonly:
                self._db.executescript(_SCHEMA)
            present = {row[1] for row in self._db.execute("PRAGMA table_info(requests)")}
            if not readonly:
                for name, kind in _ADDED.items():
                    if name not in present:
                        self._db.execute(f"ALTER TABLE requests ADD COLUMN {name} {kind}")
                        present.add(name)
            # Old files opened read-only lack the added columns: read them as NULL.
            self._select = ", ".join(c if c in present else f"NULL AS {c}" for c in _COLUMNS)
            self._summary = ", ".join(c if c in present else f"NULL AS {c}" for c in ROW_COLUMNS)
            self._accepted_ids: set[str] = {
                r[0]
                for r in self._db.execute(
                    "SELECT doc_id FROM requests WHERE status BETWEEN 200 AND 299"
                    " AND doc_id IS NOT NULL"
                )
            }
            self._accepted = self._db.execute(
                "SELECT COUNT(*) FROM requests WHERE status BETWEEN 200 AND 299"
            ).fetchone()[0]
            # One scan when an existing file is opened; from then on the numbers are kept
            # up to date per record.
            for row in self._db.execute(f"SELECT {self._summary} FROM requests ORDER BY id"):
                self._aggregates.add(row)
            for kind, n in self._db.execute("SELECT kind, COUNT(*) FROM faults GROUP BY kind"):
                self._faults[str(kind)] = int(n)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._db.close()

    def add(self, record: dict[str, Any]) -> bool:
        """Store one request; returns whether its docId had been accepted before."""
        accepted = 200 <= int(record["status"]) < 300
        doc_id = record.get("doc_id")
        with self._lock:
            duplicate = doc_id is not None and doc_id in self._accepted_ids
            row = dict(record, duplicate=int(duplicate))
            row.setdefault("errors", "[]")
            names = [c for c in _COLUMNS if c != "id"]
            cursor = self._db.execute(
                f"INSERT INTO requests ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [row.get(name) for name in names],
            )
            if self.max_records is not None and cursor.lastrowid is not None:
                # Ids only grow, so everything at or below this one is older than the newest N.
                self._db.execute(
                    "DELETE FROM requests WHERE id <= ?", (cursor.lastrowid - self.max_records,)
                )
            self._aggregates.add([row.get(name) for name in ROW_COLUMNS])
            if accepted:
                if doc_id is not None:
                    self._accepted_ids.add(doc_id)
                self._accepted += 1
                self._changed.notify_all()
        return duplicate

    def add_fault(self, received_at: float, kind: str, path: str) -> None:
        """Count one faulted request (kept apart from received pings)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO faults (received_at, kind, path) VALUES (?, ?, ?)",
                (received_at, kind, path),
            )
            if self.max_records is not None and cursor.lastrowid is not None:
                self._db.execute(
                    "DELETE FROM faults WHERE id <= ?", (cursor.lastrowid - self.max_records,)
                )
            self._faults[kind] += 1

    def wait_accepted(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests were accepted, or ``timeout`` passes."""
        with self._changed:
            return bool(self._changed.wait_for(lambda: self._accepted >= count, timeout))

    def pings(
        self,
        limit: int | None = None,
        newest_first: bool = False,
        *,
        doctype: str = "",
        debug_id: str = "",
        namespace: str = "",
    ) -> list[ReceivedPing]:
        """Stored requests, oldest first (or the newest ``limit`` ones, newest first).

        ``doctype`` and ``namespace`` compare with ``-`` and ``_`` alike; ``debug_id``
        matches ``X-Debug-ID``.
        """
        where, args = [], []
        if namespace:
            where.append("REPLACE(namespace, '-', '_') = ?")
            args.append(lookup_name(namespace))
        if doctype:
            where.append("REPLACE(doctype, '-', '_') = ?")
            args.append(lookup_name(doctype))
        if debug_id:
            where.append("json_extract(headers, '$.\"X-Debug-ID\"') = ?")
            args.append(debug_id)
        sql = f"SELECT {self._select} FROM requests"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_row_to_ping(r) for r in rows]

    def namespaces(self) -> list[str]:
        """The namespaces (applications) of the stored requests, sorted."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT namespace FROM requests WHERE namespace IS NOT NULL"
            ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def count(self) -> int:
        """How many requests are stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def summary_rows(self) -> list[tuple[Any, ...]]:
        """The monitor's columns (:data:`ROW_COLUMNS`) of every stored request, oldest first."""
        with self._lock:
            return self._db.execute(f"SELECT {self._summary} FROM requests ORDER BY id").fetchall()

    def fault_counts(self) -> dict[str, int]:
        """Faulted requests by kind (every one since the store was opened or cleared)."""
        with self._lock:
            return dict(sorted(self._faults.items()))

    def report(self) -> dict[str, Any]:
        """The monitor document from the running numbers (no scan of the records)."""
        with self._lock:
            return self._aggregates.report(self._faults)

    def clear(self) -> None:
        """Forget every stored request and fault."""
        with self._lock:
            self._db.execute("DELETE FROM requests")
            self._db.execute("DELETE FROM faults")
            self._accepted_ids.clear()
            self._accepted = 0
            self._aggregates = Aggregates()
            self._faults.clear()


def open_readonly(path: str | Path) -> Store:
    """A read-only :class:`Store` on an existing edge database, for reporting.

    Raises:
        ConfigurationError: the file is missing or is not an edge database.
    """
    if not Path(path).is_file():
        raise ConfigurationError(f"{path}: no such edge database (written by pingsdk serve --db)")
    try:
        return Store(path, readonly=True)
    except sqlite3.DatabaseError as exc:
        raise ConfigurationError(
            f"{path}: not an edge database written by pingsdk serve --db ({exc})"
        ) from None
