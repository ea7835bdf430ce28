"""The durable offline queue: SQLite (WAL), leases, eviction. Knows nothing about HTTP.

One SQLite file holds every ping that was accepted and not yet sent. Any number of threads and
processes (gunicorn workers) may use the same file: a sender *claims* due rows, which leases them to
its owner id for ``lease_seconds``; it then *acks* (sent or dropped), *defers* (retry later) or
*releases* them. A lease held by a process that died simply expires.

The package, one concern per module (each imports only modules listed above it; ``_fork``
names ``QueueStore`` in type hints only):

- ``_sql``: the schema, the migration from version 1, every SQL statement, SQLite's result codes
  and the connection settings (WAL, ``synchronous``). Text and one-step helpers; no policy.
- ``_rows``: :class:`QueuedPing` (the row type) and how a ping becomes a row and back: the
  CRC-32 checksum, header encoding, and the checks that refuse a damaged row.
- ``_file``: file care: :func:`default_queue_path`, owner-only creation, the ``.lock`` that
  serialises opening, the checks that leave a foreign path untouched, the move-aside and
  salvage of a damaged file, "disk full?".
- ``_repair``: damage inside a usable file, repaired in place: the quarantine of a damaged row,
  the periodic sweep, a rebuilt index, the restore of salvaged rows.
- ``_fork``: no connection or lease owner crosses ``fork()`` (hooks via ``pingsdk._lifecycle``).
- ``_store``: ``QueueStore``, the connection to one file: lazy opening, one deadline per
  transaction, SQLite errors translated to the :class:`pingsdk.QueueError` family, the bounds.
- ``_inspect``: the inspection API, read-only and without payloads: :class:`QueueStats`,
  :class:`QueueGroup`, :class:`QueueSnapshot` (what ``pingsdk queue status|list|flush`` print).
- ``_ping_queue``: :class:`PingQueue`, the operations (put, put_many, put_leased, claim, ack,
  defer, release, extend, holds, stats, groups, inspect, purge).

The split follows what changes together: a schema change touches ``_sql`` (and ``_rows`` if a
sent column is added); a new way a file goes bad touches ``_file`` or ``_repair``; a new
operation touches ``_ping_queue`` alone.
"""

from __future__ import annotations

from pingsdk._queue._file import default_queue_path
from pingsdk._queue._inspect import QueueGroup, QueueSnapshot, QueueStats
from pingsdk._queue._ping_queue import PingQueue
from pingsdk._queue._rows import QueuedPing

__all__ = [
    "PingQueue",
    "QueueGroup",
    "QueueSnapshot",
    "QueueStats",
    "QueuedPing",
    "default_queue_path",
]
