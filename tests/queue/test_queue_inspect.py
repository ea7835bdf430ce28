"""The queue's inspection API: one consistent, payload-free read of a whole file (#9)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from pingsdk._queue import PingQueue, QueuedPing, QueueSnapshot, QueueStats

Factory = Callable[..., QueuedPing]


def _statements(queue: PingQueue, call: Callable[[], object]) -> list[str]:
    """The SQL statements ``call`` runs on ``queue``'s connection."""
    seen: list[str] = []
    conn = queue._conn
    assert conn is not None
    conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    return seen


def test_an_empty_file(tmp_path: Path) -> None:
    with PingQueue(tmp_path / "q.db") as q:
        snapshot = q.inspect()
    assert snapshot == QueueSnapshot(stats=QueueStats(0, 0, 0), next_due=None, groups=())
    assert snapshot.oldest is None


def test_inspect_reads_what_stats_next_due_and_groups_read(tmp_path: Path, ping: Factory) -> None:
    now = time.time()
    with PingQueue(tmp_path / "q.db") as q:
        for n, endpoint in enumerate(
            ["https://a.example", "https://a.example", "https://b.example"]
        ):
            q.put(dataclasses.replace(ping(created_at=now - 100 + n), endpoint=endpoint))
        (first,) = q.claim(1, endpoint="https://a.example")
        q.defer(first.doc_id, next_attempt_at=now + 600, attempts=1, last_status=503)
        q.claim(1, endpoint="https://b.example")
        snapshot = q.inspect()
        assert snapshot.stats == q.stats() == QueueStats(pending=3, bytes=q.stats().bytes, leased=1)
        assert snapshot.next_due == q.next_due()
        assert snapshot.groups == tuple(q.groups())
        assert [(g.endpoint, g.count, g.leased) for g in snapshot.groups] == [
            ("https://a.example", 2, 0),
            ("https://b.example", 1, 1),
        ]
        assert snapshot.groups[0].last_status == 503
        assert snapshot.oldest == now - 100


def test_inspect_is_one_read_transaction_without_payloads(tmp_path: Path, ping: Factory) -> None:
    """One BEGIN, so the counts, the groups and the next due time agree with each other."""
    with PingQueue(tmp_path / "q.db") as q:
        q.put(ping(body=b"x" * 10_000))  # a large body lives in the bodies table
        q.put(ping())
        statements = _statements(q, q.inspect)
        separate = _statements(q, lambda: (q.stats(), q.next_due(), q.groups()))
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN"]
    assert [s for s in separate if s.startswith("BEGIN")] == ["BEGIN"] * 3
    assert not [s for s in statements if "body" in s or "bodies" in s]
