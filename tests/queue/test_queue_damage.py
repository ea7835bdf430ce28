"""Damaged pingsdk queue files are moved aside (foreign files are left alone: see
test_queue_paths.py); a full disk raises QueueFullError."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pingsdk import QueueCorruptError, QueueError, QueueFullError
from pingsdk._queue import PingQueue, QueuedPing
from tests.queue.helpers import worker_cmd, worker_env

Factory = Callable[..., QueuedPing]


def _fill(path: Path, ping: Factory, n: int = 300) -> list[str]:
    with PingQueue(path) as q:
        ids = []
        for _ in range(n):
            p = ping(body=os.urandom(1000))
            q.put(p)
            ids.append(p.doc_id)
    return ids


def _was_a_queue(path: Path) -> None:
    """Leave what pingsdk leaves beside a queue it used: its open lock file."""
    path.with_name(path.name + ".lock").touch()


def _assert_moved_aside(path: Path, caplog: pytest.LogCaptureFixture, ping: Factory) -> Path:
    with PingQueue(path) as q:
        p = ping()
        q.put(p)
        assert [x.doc_id for x in q.claim(10)] == [p.doc_id]  # a fresh, working queue
    (aside,) = path.parent.glob(path.name + ".corrupt-*[0-9]Z")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "pingsdk"]
    assert any("moved aside" in r.getMessage() for r in errors)
    return aside


def test_garbage_file(tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "q.db"
    _was_a_queue(path)
    garbage = os.urandom(10_000)
    path.write_bytes(garbage)
    aside = _assert_moved_aside(path, caplog, ping)
    assert aside.read_bytes() == garbage  # kept for inspection, untouched


def test_truncated_file(tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "q.db"
    _fill(path, ping)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 3)
    _assert_moved_aside(path, caplog, ping)


def test_truncated_header(tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "q.db"
    _was_a_queue(path)
    path.write_bytes(b"SQLite for")
    _assert_moved_aside(path, caplog, ping)


def test_foreign_tables(tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "q.db"
    _was_a_queue(path)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    _assert_moved_aside(path, caplog, ping)


def test_wrong_columns(tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "q.db"
    _fill(path, ping, 1)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE pings RENAME COLUMN body TO payload")
    conn.commit()
    conn.close()
    _assert_moved_aside(path, caplog, ping)


def test_wal_and_shm_move_with_the_file(
    tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "q.db"
    _was_a_queue(path)
    path.write_bytes(os.urandom(5000))
    (tmp_path / "q.db-wal").write_bytes(b"old wal")
    (tmp_path / "q.db-shm").write_bytes(b"old shm")
    aside = _assert_moved_aside(path, caplog, ping)
    assert Path(f"{aside}-wal").read_bytes() == b"old wal"
    assert Path(f"{aside}-shm").read_bytes() == b"old shm"


def test_newer_schema_is_not_moved_aside(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    _fill(path, ping, 1)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(QueueError, match="newer pingsdk"):
        PingQueue(path).stats()
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_move_aside_failure_raises_corrupt(
    tmp_path: Path, ping: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "q.db"
    _was_a_queue(path)
    path.write_bytes(os.urandom(5000))

    def refuse(self: Path, target: Path) -> Path:
        raise PermissionError("read-only directory")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(QueueCorruptError, match="could not be moved aside"):
        PingQueue(path).stats()


def test_corruption_found_during_operation(
    tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "q.db"
    _fill(path, ping)
    q = PingQueue(path)
    assert q.stats().pending == 300
    with path.open("r+b") as fh:  # damage pages under the open queue
        fh.seek(4096 * 3)
        fh.write(os.urandom(4096 * 60))
    other = sqlite3.connect(path)  # a commit elsewhere makes q re-read its pages
    other.execute("PRAGMA user_version = 1")
    other.close()
    with pytest.raises(QueueCorruptError):
        q.claim(1000)
    # The next operation opens afresh: the damaged file is moved aside.
    assert q.stats().pending == 0
    assert len(list(tmp_path.glob("q.db.corrupt-*"))) == 1
    p = ping()
    q.put(p)
    assert [x.doc_id for x in q.claim(5)] == [p.doc_id]
    q.close()


def _check_after_full(path: Path, stored: list[str], ping: Factory) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        present = {doc_id for (doc_id,) in conn.execute("SELECT doc_id FROM pings")}
    finally:
        conn.close()
    assert set(stored) <= present
    with PingQueue(path) as q:
        bodies = {p.doc_id: p.body for p in q.claim(100_000)}
        assert set(stored) <= set(bodies)
        assert all(len(b) == 2000 for b in bodies.values())
        q.put(ping())  # room again: works


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_disk_full_rlimit_fsize(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    out = subprocess.run(
        worker_cmd("fill", str(path), str(300_000)),
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    full = out.index("FULL")
    stored = out[:full]
    assert len(stored) > 10
    assert out[full + 1 :] == [f"READ {len(stored)} {len(stored)}"]  # no UNEXPECTED line
    _check_after_full(path, stored, ping)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs Linux and root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_disk_full_tmpfs(tiny_fs: Path, tmp_path: Path, ping: Factory) -> None:
    path = tiny_fs / "q.db"
    stored = []
    with PingQueue(path) as q:
        for _ in range(1000):
            p = ping(body=os.urandom(2000))
            try:
                q.put(p)
            except QueueFullError:
                break
            stored.append(p.doc_id)
        else:
            pytest.fail("a 400 KiB filesystem took 2 MB")
        with pytest.raises(QueueFullError):
            q.put(ping(body=os.urandom(2000)))
        assert q.stats().pending == len(stored)
    # Copy out (the filesystem is still full) and check the copy is whole.
    copy = tmp_path / "copy.db"
    with (
        contextlib.closing(sqlite3.connect(path)) as src,
        contextlib.closing(sqlite3.connect(copy)) as dst,
    ):
        src.backup(dst)
    _check_after_full(copy, stored, ping)


def test_sender_follows_a_file_moved_aside_elsewhere(
    tmp_path: Path, ping: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "q.db"
    sender = PingQueue(path)
    sender.put(ping())
    # Another process moved the file aside (say it found it corrupt) and started afresh.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").replace(f"{path}.corrupt-x{suffix}")
    fresh = PingQueue(path)
    p = ping()
    fresh.put(p)
    assert [x.doc_id for x in sender.claim(10)] == [p.doc_id]
    assert any("was replaced" in r.getMessage() for r in caplog.records)
    sender.close()
    fresh.close()


def test_checkpoint_moves_wal_into_database(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    with PingQueue(path) as q:
        for _ in range(50):
            q.put(ping(body=os.urandom(3000)))
        before = path.stat().st_size
        assert q.checkpoint() is True
        assert path.stat().st_size > before + 50 * 3000 // 2
    assert PingQueue(":memory:").checkpoint() is False
