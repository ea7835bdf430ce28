"""Owner-only files for user data, shared by the queue and the local edge, and where the queue
file lives by default (here, not in :mod:`pingsdk._queue`, so that ``import pingsdk`` can name
it without loading sqlite3)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["create_private_file", "default_queue_path"]


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600, unless it already exists (then it is left alone).

    Meant for SQLite databases: SQLite gives the ``-wal`` and ``-shm`` files it creates beside
    one the database file's mode, so pings never land in a file other users can read.

    Raises:
        OSError: the file cannot be created (missing directory, no permission...); callers
            turn it into their own typed error.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


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
