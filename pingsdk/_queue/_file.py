"""File care: where the queue file lives, who may read it, and what happens when it is damaged.

The path (:func:`default_queue_path`, defined in :mod:`pingsdk._files`), owner-only creation
(directories 0700, file 0600), the ``<name>.lock`` that serialises opening between processes,
the checks that leave a foreign path untouched (a directory, a FIFO, another program's SQLite
file), and the move-aside of a damaged pingsdk file (with its ``-wal`` and ``-shm``) together
with the salvage of the rows that can still be read. SQL text comes from
:mod:`pingsdk._queue._sql`; nothing here holds a connection open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pingsdk._exceptions import QueueBusyError, QueueCorruptError, QueueError
from pingsdk._files import create_private_file, default_queue_path
from pingsdk._queue._sql import APPLICATION_ID, SALVAGE_PAGE

__all__ = ["default_queue_path"]

logger = logging.getLogger("pingsdk")

SQLITE_MAGIC = b"SQLite format 3\x00"
_APPLICATION_ID_OFFSET = 68  # where SQLite keeps PRAGMA application_id in the file header


class UnusableError(Exception):
    """The file is not a usable queue (a damaged pingsdk file: the caller moves it aside)."""


def path_kind(path: Path) -> Literal["missing", "file", "other"]:
    """What ``path`` is, checked with stat() before anything opens it (a FIFO would block)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise QueueError(f"cannot use the queue path {path}: {exc}") from exc
    return "file" if stat.S_ISREG(st.st_mode) else "other"


def check_path(path: Path, create: bool) -> None:
    """Refuse (QueueError) a path that is missing (unless ``create``), not a file, or read-only.

    Checked with stat() before anything opens it: a FIFO would block an open().
    """
    kind = path_kind(path)
    if kind == "missing" and not create:
        raise QueueError(f"no queue file at {path}")
    if kind == "other":
        raise QueueError(
            f"queue_path {path} exists and is not a regular file (a directory, device, FIFO "
            "or socket); pingsdk left it untouched: name a file, e.g. "
            f"{path / 'pings.db' if path.is_dir() else path.with_name('pings.db')}"
        )
    if kind == "file" and not writable(path):
        raise QueueError(read_only_message(path, "no write permission"))


def writable(path: Path) -> bool:
    """This process may write the file and create its ``-wal`` and ``-shm`` beside it."""
    return os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def read_only_message(path: Path | None, why: str) -> str:
    """The QueueError text for a queue file this process cannot write."""
    return (
        f"queue file {path} is read-only for this process ({why}): pingsdk must write the file "
        "and create its -wal and -shm beside it in the same directory; fix the permissions of "
        "the file and its directory, or choose another queue_path"
    )


def foreign_message(path: Path | None, why: str) -> str:
    """The QueueError text for a path that holds something other than a pingsdk queue."""
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
        and head.startswith(SQLITE_MAGIC)
        and int.from_bytes(head[_APPLICATION_ID_OFFSET:end], "big") == APPLICATION_ID
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
            if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
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
    for op, order, start in ((">", "ASC", -1), ("<", "DESC", 2**62)):
        cursor = start
        while True:
            try:
                sql = SALVAGE_PAGE.format(op=op, order=order)
                page = conn.execute(sql, (cursor,)).fetchall()
            except sqlite3.Error:
                break
            if not page:
                break
            for row in page:
                rows.setdefault(row[0], row)
            cursor = page[-1][0]


def make_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents owner-only (0700)."""
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


def create_file(path: Path) -> None:
    """Create the database file owner-only; QueueError if it cannot be created."""
    try:
        create_private_file(path)
    except OSError as exc:
        raise QueueError(f"cannot create the queue file {path}: {exc}") from exc


def file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, to notice a file replaced under an open connection."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@contextlib.contextmanager
def open_lock(
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


def disk_full(path: Path | None) -> bool:
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


def check_header(path: Path, was_used: bool) -> bool:
    """Whether ``path`` (an existing file) is known to be pingsdk's, read before SQLite opens it.

    A foreign file is refused (QueueError) and left as it is; a damaged pingsdk file raises
    UnusableError, so that it is moved aside with its ``-wal``. ``was_used``: pingsdk's lock
    file beside it shows a queue was kept there.
    """
    head = _read_head(path)
    ours = was_used or _header_is_ours(head)
    if head and not (head.startswith(SQLITE_MAGIC) or SQLITE_MAGIC.startswith(head)):
        if not ours:
            raise QueueError(foreign_message(path, "it is not an SQLite file"))
        raise UnusableError("not an SQLite file")
    if head and len(head) < len(SQLITE_MAGIC):
        if not ours:
            raise QueueError(foreign_message(path, "it is a truncated SQLite file"))
        raise UnusableError("truncated SQLite header")
    if not ours and head and _foreign_database(path, head):
        # Checked before our connection sets WAL mode, which would rewrite its header.
        raise QueueError(foreign_message(path, "it belongs to another application"))
    return ours


def looks_truncated(path: Path) -> bool:
    """The file is 0 bytes with an empty (or no) ``-wal``: emptied, if a queue was kept there.

    A fresh WAL database may legitimately be 0 bytes with everything in its ``-wal``.
    """
    try:
        size = os.stat(path).st_size
    except OSError:
        return False
    wal = path.with_name(path.name + "-wal")
    try:
        wal_size = os.stat(wal).st_size
    except OSError:
        wal_size = 0
    return size == 0 and wal_size == 0


def move_aside(path: Path, problem: str) -> list[tuple[object, ...]]:
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
