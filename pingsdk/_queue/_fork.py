"""The queue across ``fork()``: no SQLite connection, lock or lease owner is inherited.

Before a fork every live queue closes its file connection, holding its locks through the fork
so no thread reopens one in between; both sides reopen lazily at their next operation, and the
child takes a new lease owner id. The hooks are registered through :mod:`pingsdk._lifecycle`.
A fork that bypassed them is caught by the PID check of ``QueueStore._check_pid``.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from pingsdk import _lifecycle as lifecycle
from pingsdk._queue import _file

if TYPE_CHECKING:
    from pingsdk._queue._store import QueueStore


def new_owner() -> str:
    """A lease owner id, unique per queue instance and per process."""
    # uuid4 reads os.urandom, so it differs in a forked child too; the pid helps humans.
    return f"{os.getpid()}-{uuid.uuid4().hex}"


LIVE: weakref.WeakSet[QueueStore] = weakref.WeakSet()
# Connections inherited across a fork that bypassed our hooks: never closed, never finalised.
ABANDONED: list[sqlite3.Connection] = []
_FORK_HELD: list[QueueStore] = []


def open_elsewhere(me: QueueStore, path: Path) -> bool:
    """Another live queue of this process has ``path`` open (reading it raw would drop locks)."""
    here = _file.file_id(path)
    return here is not None and any(
        q is not me and q._conn is not None and q._file_id == here for q in list(LIVE)
    )


def _before_fork() -> None:
    # No transaction may be in flight, and no SQLite connection may be inherited (the child would
    # inherit SQLite's per-process lock bookkeeping and skip real file locks): close them, holding
    # each queue's lock through the fork so no thread reopens one in between. Both sides reopen
    # lazily at their next operation.
    for queue in list(LIVE):
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
        queue._owner = new_owner()
        queue._checkpoint_lock.release()
        queue._lock.release()


lifecycle.on_fork(
    before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child
)
