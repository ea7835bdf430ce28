"""Owner-only files for user data, shared by the queue and the local edge."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["create_private_file"]


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
