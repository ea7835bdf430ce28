"""Several processes and threads on one queue file; SIGKILL crashes; fork."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pingsdk._queue import PingQueue, QueuedPing
from tests.queue.helpers import worker_cmd, worker_env

Factory = Callable[..., QueuedPing]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and fork")


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_two_processes_and_threads_claim_each_row_once(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    stop = tmp_path / "stop"
    q = PingQueue(path)
    ids = []
    for _ in range(300):
        p = ping()
        q.put(p)
        ids.append(p.doc_id)
    procs = [
        subprocess.Popen(
            worker_cmd("claim", str(path), "3", str(stop)),
            env=worker_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    # Keep producing while they claim (the parent is a third writer).
    for _ in range(300):
        p = ping()
        q.put(p)
        ids.append(p.doc_id)
    stop.touch()
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    claims = [line.split() for out in outputs for line in out.splitlines() if line.strip()]
    counts = Counter(doc_id for doc_id, _ in claims)
    assert sorted(counts) == sorted(ids), "every row claimed"
    assert max(counts.values()) == 1, "no row leased to two owners"
    acked = {doc_id for doc_id, flag in claims if flag == "1"}
    stats = q.stats()
    assert stats.pending == len(ids) - len(acked)
    assert stats.leased == stats.pending  # the rest is still leased (120 s)
    q.close()
    assert _integrity(path) == "ok"


def _put_from_processes(path: Path, *, processes: int, threads: int, each: int) -> list[str]:
    """Start the writers together; the ids whose put() returned, from all of them."""
    procs = [
        subprocess.Popen(
            worker_cmd("putn", str(path), str(each), str(threads)),
            env=worker_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    ids = [line for proc in procs for line in proc.communicate(timeout=60)[0].split()]
    assert [proc.returncode for proc in procs] == [0] * processes
    return ids


def test_processes_and_threads_put_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    PingQueue(path).close()  # created once, so the writers race on inserts, not on creation
    ids = _put_from_processes(path, processes=3, threads=3, each=150)
    assert len(ids) == len(set(ids)) == 3 * 3 * 150
    with PingQueue(path) as q:
        assert q.stats().pending == len(ids)
        assert {p.doc_id for p in q.claim(10_000)} == set(ids)
    assert _integrity(path) == "ok"


def test_processes_race_to_create_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "q.db"
    ids = _put_from_processes(path, processes=3, threads=2, each=20)
    assert list(path.parent.glob("*.corrupt-*")) == []
    with PingQueue(path) as q:
        assert q.stats().pending == len(ids) == 120


def test_killed_lease_holder_rows_claimable_after_expiry_only(
    tmp_path: Path, ping: Factory
) -> None:
    path = tmp_path / "q.db"
    lease = 2.0
    with PingQueue(path) as q:
        ids = set()
        for _ in range(20):
            p = ping()
            q.put(p)
            ids.add(p.doc_id)
        proc = subprocess.Popen(
            worker_cmd("hold", str(path), str(lease)),
            env=worker_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        _, n, t = proc.stdout.readline().split()
        assert int(n) == 20
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        expiry = float(t) + lease
        got = q.claim(100)
        if time.time() < expiry - 0.2:  # still within the dead holder's lease
            assert got == []
        assert q.claim(100, now=expiry - 0.01) == []
        time.sleep(max(0.0, expiry - time.time()) + 0.05)
        assert {p.doc_id for p in q.claim(100)} == ids


@pytest.mark.slow
def test_sigkill_during_put_loses_no_reported_ping(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    rng = random.Random(1234)
    reported: list[str] = []
    for _ in range(10):
        proc = subprocess.Popen(
            worker_cmd("put", str(path)), env=worker_env(), stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.02, 0.3))
        proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()
        proc.wait(timeout=10)
        proc.stdout.close()
        # Only complete lines: the child printed them after put() returned.
        lines = out.split(b"\n")[:-1]
        reported += [line.decode() for line in lines]
    assert len(reported) > 100
    assert _integrity(path) == "ok"
    with PingQueue(path) as q:
        pending = q.stats().pending
        assert len(q.claim(100)) == min(100, pending)  # usable
    conn = sqlite3.connect(path)
    stored = {doc_id for (doc_id,) in conn.execute("SELECT doc_id FROM pings")}
    conn.close()
    assert pending == len(stored)
    missing = set(reported) - stored
    assert not missing, f"{len(missing)} acknowledged pings lost"


def _fork() -> int:
    with warnings.catch_warnings():
        # Python >= 3.12 warns about fork() with threads; this test forks on purpose.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def test_fork_child_reopens_with_new_owner(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    q = PingQueue(path)
    parent_ping = ping()
    q.put(parent_ping)
    q.claim(1)  # the parent holds a lease
    parent_owner = q.owner
    stop = threading.Event()

    def busy() -> None:  # another parent thread writing through the fork
        while not stop.is_set():
            q.put(ping())

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        read_fd, write_fd = os.pipe()
        pid = _fork()
        if pid == 0:  # child
            code = 1
            try:
                os.close(read_fd)
                child_ping = ping()
                q.put(child_ping)
                claimed = q.claim(1_000_000)
                ok = (
                    q.owner != parent_owner
                    and parent_ping.doc_id not in {p.doc_id for p in claimed}
                    and child_ping.doc_id in {p.doc_id for p in claimed}
                )
                os.write(write_fd, f"{q.owner} {child_ping.doc_id} {int(ok)}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            child_owner, child_doc, ok = pipe.read().decode().split()
        _, status = os.waitpid(pid, 0)
    finally:
        stop.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
    assert ok == "1"
    assert child_owner != parent_owner
    assert q.owner == parent_owner  # the parent keeps its owner and its lease
    assert q.ack(parent_ping.doc_id)
    assert q.ack(child_doc) is False  # leased by the child's owner id
    q.put(ping())
    assert q.stats().pending > 0
    q.close()
    assert _integrity(path) == "ok"


def test_pid_change_without_hooks_abandons_connection(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        q.put(ping())
        owner = q.owner
        # As if forked by something that skipped os.register_at_fork: the PID is checked when
        # a connection is (re)opened.
        q._pid = -1
        q._drop_connection()
        assert q.stats().pending == 1
        assert q.owner != owner


def test_fork_memory_queue_child_gets_a_copy(ping: Factory) -> None:
    q = PingQueue(":memory:")
    p = ping()
    q.put(p)
    read_fd, write_fd = os.pipe()
    pid = _fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            q.put(ping())
            os.write(write_fd, str(q.stats().pending).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        assert pipe.read() == b"2"
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [x.doc_id for x in q.claim(5)] == [p.doc_id]  # the parent's queue is unchanged
    q.close()


def test_a_write_lock_held_briefly_elsewhere_costs_a_put_well_under_a_millisecond_of_sleep(
    tmp_path: Path, ping: Callable[..., QueuedPing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's claim or ack holds the write lock for a fraction of a millisecond:
    the first waits of a put() that meets it are that short too (they were 1 ms, then 2...)."""
    path = tmp_path / "q.db"
    queue = PingQueue(path)
    queue.put(ping())
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.003, lambda: other.execute("COMMIT"))
    waits: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    release.start()
    try:
        queue.put(ping())
    finally:
        release.join()
        other.close()
    assert waits, "the put never met the lock"
    assert waits[0] <= 0.0001, waits
    assert queue.stats().pending == 2
    queue.close()
