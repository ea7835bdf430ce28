"""Damage found inside a usable queue file, repaired in place so the other pings keep going out.

A row that cannot be sent as stored goes to the ``quarantine`` table (:func:`quarantine`); the
periodic :func:`sweep` finds rows that could never be claimed and running totals that disagree
with the rows; :func:`check_integrity` rebuilds a damaged index; :func:`restore` stores the rows
salvaged from a file that had to be moved aside (see :mod:`pingsdk._queue._file`). A file
damaged beyond this raises :class:`~pingsdk._queue._file.UnusableError`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from pingsdk._exceptions import ConfigurationError, PayloadTooLargeError, QueueError
from pingsdk._queue._file import UnusableError
from pingsdk._queue._rows import BadRowError, QueuedPing, decode_row, text
from pingsdk._queue._sql import (
    ACTUAL,
    DELETE,
    DISORDERED,
    DOC_ID_OF,
    ENDPOINTS,
    MISTYPED,
    QUARANTINE,
    QUARANTINE_TRIM,
    RENUMBER,
    RESET_META,
    TOTALS,
    rollback,
)

logger = logging.getLogger("pingsdk")


def quarantine(
    conn: sqlite3.Connection, row_id: object, reason: str, doc: object, where: str
) -> None:
    """Move one damaged row out of ``pings`` (inside the caller's write transaction)."""
    conn.execute(QUARANTINE, (reason, time.time(), row_id))
    conn.execute(DELETE, (row_id,))
    conn.execute(QUARANTINE_TRIM)
    shown = doc.decode("utf-8", "replace")[:40] if isinstance(doc, bytes) else repr(doc)[:40]
    logger.error(
        "pingsdk queue %s: ping %r cannot be sent as stored (%s); moved to the quarantine "
        "table (not sent)",
        where,
        shown,
        reason,
    )


def sweep(conn: sqlite3.Connection, where: str) -> int:
    """Find damage that a claim alone would not meet (inside a write transaction).

    Rows that could never be claimed (scheduling columns of the wrong type, an endpoint that
    is not text) go to the quarantine; running totals that disagree with the rows are
    rebuilt. A full scan: the caller runs it at most every 30 s. Returns the rows quarantined.
    """
    bad = [(row_id, "scheduling columns are damaged") for (row_id,) in conn.execute(MISTYPED)]
    for row_id, endpoint in conn.execute(ENDPOINTS):
        try:
            text(endpoint, "endpoint")
        except BadRowError as problem:
            bad.append((row_id, str(problem)))
    moved = 0
    for row_id, reason in bad:
        doc = conn.execute(DOC_ID_OF, (row_id,)).fetchone()
        if doc is not None:
            quarantine(conn, row_id, reason, doc[0], where)
            moved += 1
    totals = tuple(conn.execute(TOTALS).fetchone())
    if totals != tuple(conn.execute(ACTUAL).fetchone()) or conn.execute(DISORDERED).fetchone()[0]:
        conn.execute(RENUMBER)
        conn.execute(RESET_META)
        logger.error(
            "pingsdk queue %s: its running totals were damaged; rebuilt them from the rows",
            where,
        )
    return moved


def check_integrity(conn: sqlite3.Connection, strikes: int, where: str) -> None:
    """quick_check; a damaged index alone is rebuilt (REINDEX) rather than the file lost.

    ``strikes``: corruption reports since the last transaction that worked. Raises
    UnusableError when the file must be moved aside.
    """
    if strikes >= 2:
        # SQLite reported corruption again although the last check passed: some damage
        # (a page of a table the checks do not reach) is beyond repair in place.
        raise UnusableError("corruption persists after a check")
    # After corruption was reported, the full check: quick_check skips index contents.
    check = "integrity_check(1)" if strikes else "quick_check(1)"
    (result,) = conn.execute(f"PRAGMA {check}").fetchone()
    if result == "ok":
        return
    try:
        conn.execute("REINDEX")
        (result,) = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.Error:
        result = "failed"
    if result != "ok":
        raise UnusableError("integrity check failed")
    logger.error("pingsdk queue %s had a damaged index; rebuilt it (no ping lost)", where)


def restore(
    conn: sqlite3.Connection,
    rows: list[tuple[object, ...]],
    store: Callable[[sqlite3.Connection, QueuedPing], object],
    where: str,
) -> None:
    """Store rows salvaged from a damaged file in the fresh one (damaged rows skipped).

    Each row is decoded and handed to ``store`` (which inserts it within the queue's bounds) in
    a transaction of its own, so one that fails costs that row only.
    """
    restored = 0
    for row in rows:
        try:
            ping = decode_row(row)
            conn.execute("BEGIN IMMEDIATE")
            try:
                store(conn, ping)
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
            restored += 1
        except (
            BadRowError,
            QueueError,
            PayloadTooLargeError,
            ConfigurationError,
            sqlite3.Error,
        ):
            continue
    if rows:
        logger.error(
            "pingsdk queue %s: restored %d of %d salvaged ping(s)",
            where,
            restored,
            len(rows),
        )
