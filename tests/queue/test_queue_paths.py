"""What a queue_path may name, and every wait bounded by the caller's deadline (issue #8)."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pingsdk import ConfigurationError, QueueBusyError, QueueCorruptError, QueueError
from pingsdk._queue import PingQueue, QueuedPing
from tests.queue.helpers import make_ping

Factory = Callable[..., QueuedPing]


def _untouched(path: Path) -> Iterator[None]:
    before = sorted(p.name for p in path.parent.iterdir())
    yield
    assert sorted(p.name for p in path.parent.iterdir()) == before


@pytest.mark.parametrize("kind", ["directory", "fifo", "dot"])
def test_paths_that_are_not_files_are_refused_untouched(tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        path = tmp_path / "adir"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)  # opening it for reading used to block forever
    else:
        path = Path(".")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(QueueError, match="not a regular file"):
        PingQueue(path).stats()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not Path("..lock").exists() and not Path("..corrupt").exists()


def test_a_device_node_is_refused_untouched() -> None:
    """As root, /dev/full used to be renamed and replaced by an SQLite file."""
    before = os.stat("/dev/null")
    with pytest.raises(QueueError, match="not a regular file"):
        PingQueue("/dev/null").put(_ping())
    after = os.stat("/dev/null")
    assert (before.st_ino, before.st_rdev) == (after.st_ino, after.st_rdev)
    assert not Path("/dev/null.lock").exists()


def _ping() -> QueuedPing:
    return make_ping()


@pytest.mark.parametrize(
    "content",
    [b"my notes, not a database\n" * 40, b"SQLite f", b""],
    ids=["text", "truncated-sqlite", "empty"],
)
def test_a_foreign_file_is_never_moved(tmp_path: Path, ping: Factory, content: bytes) -> None:
    path = tmp_path / "pings.db"
    path.write_bytes(content)
    if content == b"":
        # An empty file with no sign of pingsdk is simply a new queue.
        with PingQueue(path) as q:
            q.put(ping())
            assert q.stats().pending == 1
        return
    with pytest.raises(QueueError, match="not a pingsdk queue") as raised:
        PingQueue(path).stats()
    assert not isinstance(raised.value, QueueCorruptError)
    assert path.read_bytes() == content
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_another_applications_sqlite_file_is_never_moved(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.execute("INSERT INTO users VALUES ('ada')")
    conn.commit()
    conn.close()
    data = path.read_bytes()
    with pytest.raises(QueueError, match="another application"):
        PingQueue(path).stats()
    assert path.read_bytes() == data
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_empty_path_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="empty string"):
        PingQueue("")


def test_schema_1_file_migrates_and_keeps_its_pings(tmp_path: Path, ping: Factory) -> None:
    """A queue written by pingsdk 0.1 is upgraded in place; its rows go to any endpoint."""
    path = tmp_path / "old.db"
    from pingsdk._queue import _sql

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    v1 = [s for s in _sql.SCHEMA if s not in _sql.V2_MIGRATION]
    for statement in v1:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    p = ping()
    conn.execute(
        "INSERT INTO pings (doc_id, path, headers, size, created_at, body, seq_count, seq_bytes)"
        " VALUES (?, ?, '{}', 10, ?, ?, 1, 10)",
        (p.doc_id, p.path, time.time(), p.body),
    )
    conn.commit()
    conn.close()
    with PingQueue(path) as q:
        (row,) = q.claim(5, endpoint="https://any.example")
        assert row.doc_id == p.doc_id and row.body == p.body and row.endpoint == ""
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    conn.close()


def test_claim_only_takes_this_endpoints_pings(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    with PingQueue(path) as q:
        a = [dataclasses.replace(ping(), endpoint="https://a.example") for _ in range(3)]
        b = [dataclasses.replace(ping(), endpoint="https://b.example") for _ in range(2)]
        for p in a + b:
            q.put(p)
        assert q.stats(endpoint="https://b.example").pending == 2
        got = q.claim(10, endpoint="https://b.example")
        assert sorted(r.doc_id for r in got) == sorted(p.doc_id for p in b)
        assert q.next_due(endpoint="https://b.example") is not None  # leased: lease end
        got = q.claim(10, endpoint="https://a.example")
        assert sorted(r.doc_id for r in got) == sorted(p.doc_id for p in a)


def test_schedule_and_server_hold(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        p = ping()
        h = ping()
        q.put(p)
        q.put(h)
        q.claim(2)
        now = time.time()
        q.defer(p.doc_id, next_attempt_at=now + 100, attempts=1)
        q.defer(h.doc_id, next_attempt_at=now + 1, attempts=1, hold_until=now + 50, last_status=429)
        assert q.claim(5) == []
        # A flush ignores the client's backoff but never a hold the server asked for.
        assert [r.doc_id for r in q.claim(5, ignore_schedule=True)] == [p.doc_id]
        assert q.next_due(ignore_schedule=True) == pytest.approx(now + 50, abs=0.01)
        (group,) = q.groups()
        assert (group.count, group.last_status, group.max_attempts) == (2, 429, 1)


def test_purge_keeps_the_deletion_request(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        keep = dataclasses.replace(ping(), survives_purge=True)
        for p in (ping(), keep, ping()):
            q.put(p)
        assert q.purge() == 2
        assert [r.doc_id for r in q.claim(5)] == [keep.doc_id]


def test_open_existing_only(tmp_path: Path) -> None:
    with pytest.raises(QueueError, match="no queue file"):
        PingQueue(tmp_path / "missing.db", create=False).stats()
    assert not (tmp_path / "missing.db").exists()


def _hold_lock(path: Path, what: str, seconds: float) -> subprocess.Popen[str]:
    """A child process that holds the open lock or SQLite's write lock on ``path``."""
    code = textwrap.dedent(
        f"""
        import fcntl, os, sqlite3, sys, time
        path = {str(path)!r}
        if {what!r} == "open":
            fd = os.open(path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
        print("held", flush=True)
        time.sleep({seconds})
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


@pytest.mark.parametrize("what", ["open", "write"])
def test_lock_waits_honour_the_deadline(tmp_path: Path, ping: Factory, what: str) -> None:
    """The open lock had no timeout; SQLite's lock waits took 20 s where 10 s were documented."""
    path = tmp_path / "q.db"
    PingQueue(path).close() if what == "open" else PingQueue(path).stats()
    child = _hold_lock(path, what, 30)
    try:
        q = PingQueue(path, busy_timeout=5.0)
        started = time.monotonic()
        with pytest.raises(QueueBusyError, match="stayed locked"):
            q.put(ping(), timeout=0.3)
        assert time.monotonic() - started < 1.5
        started = time.monotonic()
        with pytest.raises(QueueBusyError):
            q.put(ping())  # the queue's own busy_timeout
        assert 4.5 < time.monotonic() - started < 7.0
    finally:
        child.kill()
        child.wait()
    with PingQueue(path) as q:
        q.put(ping())
        assert q.stats().pending == 1


@pytest.mark.parametrize("what", ["file", "directory"])
def test_read_only_queue_says_what_and_where(tmp_path: Path, ping: Factory, what: str) -> None:
    """An immutable file (or directory) is read-only even for root, who ignores file modes."""
    path = tmp_path / "ro" / "pings.db"
    with PingQueue(path) as q:
        q.put(ping())
    target = path if what == "file" else path.parent
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        before = sorted(os.listdir(path.parent))
        with pytest.raises(QueueError, match="read-only") as raised:
            PingQueue(path).put(ping())
        assert str(path) in str(raised.value)
        assert sorted(os.listdir(path.parent)) == before  # no -wal/-shm left behind
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    with PingQueue(path) as q:
        assert q.stats().pending == 1
