"""Round trips, leases, bounds and files of PingQueue, on real files."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pingsdk import ConfigurationError, PayloadTooLargeError, QueueError
from pingsdk._queue import PingQueue, QueuedPing, QueueStats, default_queue_path

Factory = Callable[..., QueuedPing]


def test_round_trip_is_byte_identical_after_reopen(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    original = QueuedPing(
        doc_id="01900000-0000-7000-8000-000000000001",
        path="/submit/telemetry/01900000-0000-7000-8000-000000000001/main/Firefox/1/a/b?v=4",
        headers={"Content-Type": "application/json; charset=utf-8", "X-Debug-ID": "me"},
        body=bytes(range(256)) * 3,
        created_at=1_700_000_000.25,
        attempts=2,
        next_attempt_at=5.5,
        namespace="telemetry",
        doctype="main",
        version=4,
    )
    with PingQueue(path) as q:
        assert q.put(original) == []
    with PingQueue(path) as q:
        (got,) = q.claim(10)
    assert got == original
    assert list(got.headers) == list(original.headers)  # order kept too
    assert type(got.body) is bytes


@pytest.mark.parametrize("size", [0, 2048, 2049, 300_000])
def test_body_sizes_round_trip_and_go_away(tmp_path: Path, ping: Factory, size: int) -> None:
    path = tmp_path / "q.db"
    body = os.urandom(size)
    with PingQueue(path) as q:
        p = ping(body=body)
        q.put(p)
        q.put(ping())
    with PingQueue(path) as q:
        (got, other) = q.claim(5)
        assert got.body == body
        assert q.defer(got.doc_id, next_attempt_at=1.0, attempts=1)
        (again,) = q.claim(5)
        assert again.body == body
        assert q.ack(got.doc_id)
        assert q.ack(other.doc_id)
        assert q.stats() == QueueStats(0, 0, 0)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM bodies").fetchone() == (0,)
    conn.close()


def test_claim_ack(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        pings = [ping(i) for i in range(5)]
        for p in pings:
            q.put(p)
        claimed = q.claim(3)
        assert [p.doc_id for p in claimed] == [p.doc_id for p in pings[:3]]  # oldest first
        assert q.stats() == QueueStats(pending=5, bytes=q.stats().bytes, leased=3)
        assert q.claim(10) == pings[3:]  # leased rows are not claimed twice
        assert q.claim(10) == []
        assert all(q.ack(p.doc_id) for p in pings)
        assert not q.ack(pings[0].doc_id)  # already gone
        assert q.stats() == QueueStats(0, 0, 0)


def test_defer_persists_schedule(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    now = time.time()
    with PingQueue(path) as q:
        p = ping()
        q.put(p)
        q.claim(1)
        assert q.defer(p.doc_id, next_attempt_at=now + 100, attempts=3)
        assert q.claim(10) == []
        assert q.next_due() == pytest.approx(now + 100)
    with PingQueue(path) as q:
        assert q.claim(10, now=now + 99) == []
        (again,) = q.claim(10, now=now + 100)
        assert again.attempts == 3
        assert again.next_attempt_at == pytest.approx(now + 100)
        assert again.body == p.body


def test_claim_order_due_first(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        a, b, c = ping(), ping(), ping()
        for p in (a, b, c):
            q.put(p)
        q.claim(1)  # a
        q.defer(a.doc_id, next_attempt_at=1.0, attempts=1)  # due long ago: first
        assert [p.doc_id for p in q.claim(3)] == [b.doc_id, c.doc_id, a.doc_id]


def test_release_lets_another_owner_claim(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    with PingQueue(path) as q1, PingQueue(path) as q2:
        assert q1.owner != q2.owner
        p = ping()
        q1.put(p)
        assert [x.doc_id for x in q1.claim(5)] == [p.doc_id]
        assert q2.claim(5) == []
        assert q2.release([p.doc_id]) == 0  # not its lease
        assert q1.release([p.doc_id]) == 1
        assert [x.doc_id for x in q2.claim(5)] == [p.doc_id]


def test_expired_lease_is_reclaimed_and_old_owner_cannot_touch_it(
    tmp_path: Path, ping: Factory
) -> None:
    path = tmp_path / "q.db"
    with PingQueue(path, lease_seconds=30) as q1, PingQueue(path, lease_seconds=30) as q2:
        p = ping()
        q1.put(p)
        t0 = time.time()
        q1.claim(1, now=t0)
        assert q2.claim(1, now=t0 + 29) == []  # not before expiry
        assert [x.doc_id for x in q2.claim(1, now=t0 + 31)] == [p.doc_id]
        # q1's lease was taken over: its ack/defer/release/extend change nothing.
        assert q1.ack(p.doc_id) is False
        assert q1.defer(p.doc_id, next_attempt_at=t0 + 999, attempts=9) is False
        assert q1.release([p.doc_id]) == 0
        assert q1.extend([p.doc_id]) == 0
        assert q2.stats().pending == 1
        assert q2.ack(p.doc_id) is True


def test_ack_after_own_expired_lease_not_reclaimed(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db", lease_seconds=1) as q:
        p = ping()
        q.put(p)
        q.claim(1, now=time.time() - 10)  # lease long expired
        assert q.ack(p.doc_id) is True


def test_extend_renews_lease(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "q.db"
    with PingQueue(path, lease_seconds=30) as q1, PingQueue(path) as q2:
        p = ping()
        q1.put(p)
        t0 = time.time()
        q1.claim(1, now=t0)
        assert q1.extend([p.doc_id], now=t0 + 20) == 1
        assert q2.claim(1, now=t0 + 40) == []
        assert len(q2.claim(1, now=t0 + 51)) == 1


def test_ack_many_and_drop(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        ps = [ping() for _ in range(4)]
        for p in ps:
            q.put(p)
        q.claim(4)
        assert q.ack_many([p.doc_id for p in ps[:3]]) == 3
        assert q.drop(ps[3].doc_id) is True
        assert q.stats().pending == 0


def test_eviction_by_count_oldest_first(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db", max_count=3) as q:
        ps = [ping(i) for i in range(6)]
        evicted = [q.put(p) for p in ps]
        assert evicted[:3] == [[], [], []]
        assert evicted[3:] == [[ps[0].doc_id], [ps[1].doc_id], [ps[2].doc_id]]
        assert q.stats().pending == 3
        assert [p.doc_id for p in q.claim(10)] == [p.doc_id for p in ps[3:]]


def _size(p: QueuedPing) -> int:
    import json

    headers = json.dumps(dict(p.headers), ensure_ascii=False, separators=(",", ":"))
    return len(p.body) + len(p.path.encode()) + len(headers.encode())


def test_eviction_by_bytes_oldest_first(tmp_path: Path, ping: Factory) -> None:
    ps = [ping(body=b"x" * 1000) for _ in range(5)]
    one = _size(ps[0])
    with PingQueue(tmp_path / "q.db", max_bytes=3 * one + 10) as q:
        for p in ps[:3]:
            assert q.put(p) == []
        assert q.stats().bytes == 3 * one
        big = ping(body=b"y" * (2 * 1000))  # needs two old ones gone
        assert q.put(big) == [ps[0].doc_id, ps[1].doc_id]
        assert q.stats().pending == 2
        assert q.stats().bytes == one + _size(big)


def test_new_ping_with_old_created_at_is_never_its_own_victim(
    tmp_path: Path, ping: Factory
) -> None:
    with PingQueue(tmp_path / "q.db", max_count=1) as q:
        first = ping()
        q.put(first)
        late = ping(created_at=1.0)
        assert q.put(late) == [first.doc_id]
        assert [p.doc_id for p in q.claim(5)] == [late.doc_id]


def test_oversized_single_ping_is_refused_without_evicting(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db", max_bytes=4000) as q:
        small = ping(body=b"s" * 100)
        q.put(small)
        with pytest.raises(PayloadTooLargeError) as info:
            q.put(ping(body=b"x" * 4000))
        assert info.value.kind == "queue"
        assert info.value.limit == 4000
        assert info.value.size > 4000
        assert [p.doc_id for p in q.claim(5)] == [small.doc_id]


def test_next_due(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db", lease_seconds=50) as q:
        assert q.next_due() is None
        p = ping()
        q.put(p)
        assert q.next_due() == 0.0  # due at once
        t0 = time.time()
        q.claim(1, now=t0)
        assert q.next_due() == pytest.approx(t0 + 50)  # only leased: when the lease ends
        q.defer(p.doc_id, next_attempt_at=t0 + 7, attempts=1)
        assert q.next_due() == pytest.approx(t0 + 7)


def test_purge(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        for _ in range(4):
            q.put(ping())
        q.claim(2)
        assert q.purge() == 4
        assert q.stats() == QueueStats(0, 0, 0)
        assert q.next_due() is None
        assert q.purge() == 0


def test_duplicate_doc_id_and_date_header_refused(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        p = ping()
        q.put(p)
        with pytest.raises(QueueError, match="already queued"):
            q.put(p)
        dated = QueuedPing(doc_id="d", path="/", headers={"date": "x"}, body=b"", created_at=0)
        with pytest.raises(ConfigurationError, match="Date"):
            q.put(dated)
        assert q.stats().pending == 1


def test_memory_queue(ping: Factory) -> None:
    q = PingQueue(":memory:", max_count=2)
    assert q.path is None
    ps = [ping() for _ in range(3)]
    for p in ps:
        q.put(p)
    assert [p.doc_id for p in q.claim(5)] == [p.doc_id for p in ps[1:]]
    q.close()
    q.close()
    with pytest.raises(QueueError, match="closed"):
        q.stats()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_count": 0},
        {"max_bytes": -1},
        {"max_count": True},
        {"durability": "disk"},
        {"lease_seconds": 0},
    ],
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        PingQueue(":memory:", **kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permissions_owner_only(tmp_path: Path, ping: Factory) -> None:
    path = tmp_path / "new" / "deeper" / "q.db"
    with PingQueue(path) as q:
        q.put(ping())
        q.stats()
        for name in ("q.db", "q.db-wal", "q.db-shm"):
            mode = stat.S_IMODE(os.stat(path.parent / name).st_mode)
            assert mode == 0o600, (name, oct(mode))
    for directory in (tmp_path / "new", tmp_path / "new" / "deeper"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_power_durability_works(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db", durability="power") as q:
        p = ping()
        q.put(p)
        assert q.claim(1)[0].body == p.body


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        assert default_queue_path() == tmp_path / "state" / "pingsdk" / "pings.db"
        monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
        monkeypatch.setenv("HOME", str(tmp_path))
        assert default_queue_path() == tmp_path / ".local" / "state" / "pingsdk" / "pings.db"
        q = PingQueue()
        assert q.path == default_queue_path()
        q.close()
    assert default_queue_path().name == "pings.db"


def test_counts_stay_exact_through_any_mix_of_operations(tmp_path: Path, ping: Factory) -> None:
    import random

    rng = random.Random(7)
    path = tmp_path / "q.db"
    with PingQueue(path, max_count=40, max_bytes=60_000) as q, PingQueue(path) as other:
        for _ in range(600):
            op = rng.random()
            if op < 0.5:
                q.put(ping(body=os.urandom(rng.choice([10, 500, 3000]))))
            elif op < 0.6:
                other.put(ping(body=os.urandom(100)))  # another writer, its own bounds
            elif op < 0.8:
                for p in q.claim(rng.randint(1, 5)):
                    if rng.random() < 0.5:
                        q.ack(p.doc_id)
                    else:
                        q.defer(p.doc_id, next_attempt_at=0.0, attempts=1)
            elif op < 0.99:
                newest = q.claim(1000)
                if newest:
                    q.ack(newest[-1].doc_id)  # delete the most recent row
                    q.release([p.doc_id for p in newest])
            else:
                q.purge()
            conn = sqlite3.connect(path)
            count, size = conn.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM pings"
            ).fetchone()
            conn.close()
            stats = q.stats()
            assert (stats.pending, stats.bytes) == (count, size)
            assert other.stats().pending == count


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("database or disk is full", 13),
        ("disk I/O error", 10),
        ("database disk image is malformed", 11),
        ("file is not a database", 26),
        ("database is locked", 5),
        ("no such table: x", None),
    ],
)
def test_error_codes_without_sqlite_errorcode(message: str, code: int | None) -> None:
    from pingsdk._queue._sql import error_code as _error_code

    # Python 3.10 has no sqlite_errorcode attribute: SQLite's messages decide.
    assert _error_code(sqlite3.OperationalError(message)) == code


def test_put_and_claim_wait_for_another_writer(tmp_path: Path, ping: Factory) -> None:
    import threading

    path = tmp_path / "q.db"
    with PingQueue(path) as q:
        q.put(ping())
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process's long write transaction
        timer = threading.Timer(0.4, lambda: other.execute("COMMIT"))
        timer.start()
        started = time.monotonic()
        q.put(ping())  # waits in SQLite's busy handler, then succeeds
        waited = time.monotonic() - started
        timer.join()
        other.close()
        assert waited >= 0.3
        assert len(q.claim(10)) == 2
