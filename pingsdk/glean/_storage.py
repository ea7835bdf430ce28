"""Where metric values live: ping lifetime in memory, application and user lifetime in SQLite.

Ping-lifetime values (and events) live in memory under one lock, as Glean keeps them (Glean's
``delay_ping_lifetime_io``): recording one costs a dict update, not a disk write, and they are
lost if the process dies before the ping that carries them is stored. Application- and
user-lifetime values live in the queue's own SQLite file, in ``glean_*`` tables written through
the queue's transaction seam (``PingQueue.write``), so a ping's snapshot, the clearing of its
ping-lifetime values, its ``seq`` and the stored ping commit in one transaction
(``PingQueue.put_with``; see :mod:`pingsdk.glean._submit`).

Every stored value is JSON-able and self-describing (a histogram carries its bucketing), so the
payload is built from storage alone. Keys are the metric identifier, ``category.name``, or
``category.name/label`` for a labeled metric's label, per ping ("store"), as in glean-core.

Lock order: :attr:`Storage.lock` (memory) before the queue's lock. A write to SQLite never takes
:attr:`Storage.lock` while inside the queue's transaction; errors found there are recorded after
it commits.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from pingsdk import _lifecycle as lifecycle
from pingsdk._exceptions import QueueError
from pingsdk._log import RateLimitedLog
from pingsdk._queue import PingQueue
from pingsdk.glean._common import CommonMetricData, ErrorType, Lifetime

__all__ = ["OTHER_LABEL", "RecordError", "Storage", "check_label"]

OTHER_LABEL = "__other__"
MAX_LABELS = 16
"""Distinct dynamic labels kept per metric; later ones are recorded under ``__other__``."""
MAX_LABEL_LENGTH = 111
"""Longest label, in bytes (glean-core's ``MAX_LABEL_LENGTH``)."""

_TABLES = (
    # One row per (application, ping, metric key): only application and user lifetimes.
    """CREATE TABLE IF NOT EXISTS glean_metrics (
        app TEXT NOT NULL, store TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
        lifetime TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (app, store, id)
    ) WITHOUT ROWID""",
    # Per (application, ping): the next seq and the end of the last ping (its next start_time).
    """CREATE TABLE IF NOT EXISTS glean_pings (
        app TEXT NOT NULL, ping TEXT NOT NULL, seq INTEGER NOT NULL, start_time TEXT,
        PRIMARY KEY (app, ping)
    ) WITHOUT ROWID""",
    # client_id, first_run_date.
    """CREATE TABLE IF NOT EXISTS glean_client (
        app TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (app, key)
    ) WITHOUT ROWID""",
)


class RecordError(Exception):
    """Raised by an update function to refuse a value; recorded as a Glean error, not raised."""

    def __init__(self, error: ErrorType, count: int = 1) -> None:
        super().__init__(error.value)
        self.error = error
        self.count = count


Update = Callable[[Any], Any]
"""Takes the stored value (``None`` when unset) and returns the new one, or raises RecordError."""


def check_label(label: str) -> bool:
    """Whether a dynamic label is acceptable to glean-core: printable ASCII, <= 111 bytes."""
    return (
        isinstance(label, str)
        and 0 < len(label) <= MAX_LABEL_LENGTH
        and label.isascii()
        and label.isprintable()
    )


def _metric_key(
    meta: CommonMetricData,
    label: str | None,
    dynamic: bool,
    recorded: Callable[[str], set[str]],
) -> str:
    """The key a value is stored under: the identifier, or ``<identifier>/<label>``.

    A dynamic label not yet recorded becomes ``__other__`` once the metric has 16 labels;
    ``recorded(prefix)`` gives the keys starting with ``prefix`` that the store already has.
    """
    base = meta.identifier
    if label is None:
        return base
    key = f"{base}/{label}"
    if not dynamic:
        return key
    labels = recorded(base + "/")
    return key if key in labels or len(labels) < MAX_LABELS else f"{base}/{OTHER_LABEL}"


def ensure_tables(conn: sqlite3.Connection) -> None:
    """Create the ``glean_*`` tables if this queue file has none yet (inside a transaction)."""
    for statement in _TABLES:
        conn.execute(statement)


class Storage:
    """The metric store of one application (``app_id``) on one queue file.

    Thread-safe. Memory holds ``{store: {key: (type, value)}}`` and ``{store: [event]}``.
    """

    def __init__(self, queue: PingQueue, app_id: str) -> None:
        self.queue = queue
        self.app_id = app_id
        self.lock = threading.RLock()
        self._memory: dict[str, dict[str, tuple[str, Any]]] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._warn = RateLimitedLog()
        self.queue.write(ensure_tables)
        _LIVE.add(self)

    def _after_fork_in_child(self) -> None:
        # A thread of the parent may have held the lock at fork(): it never lets go here.
        self.lock = threading.RLock()

    # -- recording ---------------------------------------------------------------------------

    def record(
        self,
        meta: CommonMetricData,
        ptype: str,
        update: Update,
        *,
        label: str | None = None,
        dynamic: bool = False,
    ) -> None:
        """Apply ``update`` to the metric's value in every ping it is sent in.

        ``label`` makes it a labeled metric's label; a ``dynamic`` label counts against the 16
        distinct labels allowed (later ones become ``__other__``). A RecordError raised by
        ``update`` is recorded as a Glean error on the metric and nothing changes. A queue file
        that cannot be written (busy past its ``busy_timeout``, full disk) loses the value
        with an ERROR log (rate-limited) instead of raising, as glean-core does.
        """
        error: RecordError | None = None
        if meta.lifetime is Lifetime.PING:
            with self.lock:
                key = self._key_in_memory(meta, label, dynamic)
                try:
                    updated = [
                        (store, update(self._memory.get(store, {}).get(key, (None, None))[1]))
                        for store in meta.send_in_pings
                    ]
                except RecordError as exc:
                    error = exc
                else:
                    for store, value in updated:
                        self._memory.setdefault(store, {})[key] = (ptype, value)
        else:

            def write(conn: sqlite3.Connection) -> RecordError | None:
                key = self._key_in_sqlite(conn, meta, label, dynamic)
                rows = []
                try:
                    for store in meta.send_in_pings:
                        row = conn.execute(_SELECT_ONE, (self.app_id, store, key)).fetchone()
                        old = None if row is None else json.loads(row[0])
                        rows.append((store, json.dumps(update(old), separators=(",", ":"))))
                except RecordError as exc:
                    return exc
                conn.executemany(
                    "INSERT OR REPLACE INTO glean_metrics (app, store, id, type, lifetime, value) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(self.app_id, s, key, ptype, meta.lifetime.value, v) for s, v in rows],
                )
                return None

            try:
                error = self.queue.write(write)
            except QueueError as exc:
                self._warn.log(
                    logging.ERROR,
                    "persist",
                    "Glean metric %s not recorded: %s",
                    meta.identifier,
                    exc,
                )
                return
        if error is not None:
            self.record_error(meta, error.error, error.count)

    def record_error(self, meta: CommonMetricData, error: ErrorType, count: int = 1) -> None:
        """Count ``error`` for ``meta`` in ``glean.error.<error>``, labeled by its identifier.

        As glean-core: a ping-lifetime labeled counter sent in the metric's pings and in
        ``metrics``.
        """
        stores = list(meta.send_in_pings)
        if "metrics" not in stores:
            stores.append("metrics")
        key = f"glean.error.{error.value}/{meta.identifier}"
        with self.lock:
            for store in stores:
                entries = self._memory.setdefault(store, {})
                old = entries.get(key, (None, 0))[1]
                entries[key] = ("labeled_counter", min(old + count, _I32_MAX))

    def record_event(self, meta: CommonMetricData, event: dict[str, Any]) -> int:
        """Append an event to each of its pings; returns how many the ``events`` ping holds."""
        with self.lock:
            for store in meta.send_in_pings:
                self._events.setdefault(store, []).append(event)
            return len(self._events.get("events", ()))

    def _key_in_memory(self, meta: CommonMetricData, label: str | None, dynamic: bool) -> str:
        def recorded(prefix: str) -> set[str]:
            return {
                key
                for store in meta.send_in_pings
                for key in self._memory.get(store, {})
                if key.startswith(prefix)
            }

        return _metric_key(meta, label, dynamic, recorded)

    def _key_in_sqlite(
        self, conn: sqlite3.Connection, meta: CommonMetricData, label: str | None, dynamic: bool
    ) -> str:
        def recorded(prefix: str) -> set[str]:
            marks = ",".join("?" * len(meta.send_in_pings))
            rows = conn.execute(
                f"SELECT DISTINCT id FROM glean_metrics WHERE app = ? AND store IN ({marks}) "
                "AND substr(id, 1, ?) = ?",
                (self.app_id, *meta.send_in_pings, len(prefix), prefix),
            ).fetchall()
            return {r[0] for r in rows}

        return _metric_key(meta, label, dynamic, recorded)

    def get(self, meta: CommonMetricData, store: str, key: str | None = None) -> Any:
        """The stored value of ``key`` (default: the metric's identifier) in ``store``."""
        key = meta.identifier if key is None else key
        if meta.lifetime is Lifetime.PING:
            with self.lock:
                return self._memory.get(store, {}).get(key, (None, None))[1]

        def read(conn: sqlite3.Connection) -> Any:
            row = conn.execute(
                "SELECT value FROM glean_metrics WHERE app = ? AND store = ? AND id = ?",
                (self.app_id, store, key),
            ).fetchone()
            return None if row is None else json.loads(row[0])

        return self.queue.read(read)

    def get_labels(self, meta: CommonMetricData, store: str) -> dict[str, Any]:
        """Every label's value of a labeled metric in ``store``."""
        prefix = meta.identifier + "/"
        if meta.lifetime is Lifetime.PING:
            with self.lock:
                entries = self._memory.get(store, {})
                return {
                    k[len(prefix) :]: v for k, (_, v) in entries.items() if k.startswith(prefix)
                }

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            rows = conn.execute(
                "SELECT id, value FROM glean_metrics WHERE app = ? AND store = ? "
                "AND substr(id, 1, ?) = ?",
                (self.app_id, store, len(prefix), prefix),
            ).fetchall()
            return {k[len(prefix) :]: json.loads(v) for k, v in rows}

        return self.queue.read(read)

    def get_error_count(self, meta: CommonMetricData, error: ErrorType, store: str) -> int:
        """How many ``error`` were recorded for ``meta`` in ``store`` (not yet sent)."""
        with self.lock:
            key = f"glean.error.{error.value}/{meta.identifier}"
            return int(self._memory.get(store, {}).get(key, (None, 0))[1])

    def get_events(self, store: str) -> list[dict[str, Any]]:
        """A copy of the events waiting in ``store``, in recording order."""
        with self.lock:
            return [dict(e) for e in self._events.get(store, [])]

    # -- snapshots (the caller holds ``lock`` and runs inside the queue's transaction) ---------

    def snapshot_memory(
        self, store: str
    ) -> tuple[list[tuple[str, str, Any]], list[dict[str, Any]]]:
        """Ping-lifetime ``(key, type, value)`` and events of ``store``; caller holds ``lock``."""
        entries = self._memory.get(store, {})
        return [(k, t, v) for k, (t, v) in entries.items()], list(self._events.get(store, []))

    def snapshot_sqlite(self, conn: sqlite3.Connection, store: str) -> list[tuple[str, str, Any]]:
        """Application- and user-lifetime ``(key, type, value)`` of ``store``."""
        rows = conn.execute(
            "SELECT id, type, value FROM glean_metrics WHERE app = ? AND store = ? ORDER BY id",
            (self.app_id, store),
        ).fetchall()
        return [(k, t, json.loads(v)) for k, t, v in rows]

    def clear_memory(self, store: str) -> None:
        """Drop ``store``'s ping-lifetime values and events (its ping was stored)."""
        with self.lock:
            self._memory.pop(store, None)
            self._events.pop(store, None)

    def clear_all_memory(self) -> None:
        """Drop every ping-lifetime value and event (upload switched off)."""
        with self.lock:
            self._memory.clear()
            self._events.clear()

    def clear_lifetime(self, conn: sqlite3.Connection, lifetimes: Iterable[Lifetime]) -> None:
        """Delete the stored values of these lifetimes (inside a write transaction)."""
        for lifetime in lifetimes:
            conn.execute(
                "DELETE FROM glean_metrics WHERE app = ? AND lifetime = ?",
                (self.app_id, lifetime.value),
            )


_I32_MAX = (1 << 31) - 1
_SELECT_ONE = "SELECT value FROM glean_metrics WHERE app = ? AND store = ? AND id = ?"


_LIVE: weakref.WeakSet[Storage] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for storage in list(_LIVE):
        storage._after_fork_in_child()


lifecycle.on_fork(after_in_child=_after_fork_in_child)
