"""What a flush polls after every request is cheap: no count of the whole table (review of #8)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import Field

import pingsdk
from pingsdk._queue import PingQueue, QueuedPing, QueueStats
from pingsdk.edge import EdgeServer

Factory = Callable[..., QueuedPing]


def _steps(queue: PingQueue, call: Callable[[], object]) -> int:
    """SQLite virtual-machine steps ``call`` costs on ``queue``'s connection (deterministic)."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    conn = queue._conn
    assert isinstance(conn, sqlite3.Connection)
    conn.set_progress_handler(tick, 100)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0] * 100


def test_holds_answers_from_the_first_matching_row(tmp_path: Path, ping: Factory) -> None:
    with PingQueue(tmp_path / "q.db", max_count=20_000) as q:
        for _ in range(5_000):
            q.put(dataclasses.replace(ping(), endpoint="https://a.example"))
        assert q.holds("https://a.example") == (True, False)
        assert q.holds("https://b.example") == (False, False)
        q.claim(1, endpoint="https://a.example")
        assert q.holds("https://a.example") == (True, True)
        counted = _steps(q, lambda: q.stats(endpoint="https://a.example"))
        held = _steps(q, lambda: q.holds("https://a.example"))
        assert held * 50 < counted, (held, counted)


class Small(
    pingsdk.Ping,
    namespace="holds-test",
    doctype="small",
    version=1,
    registry=pingsdk.PingRegistry(),
):
    """A small ping."""

    n: int = Field(description="A number.")


def test_flush_polls_the_cheap_check_not_a_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[str | None] = []
    real = PingQueue.stats

    def spy(
        self: PingQueue, *, endpoint: str | None = None, timeout: float | None = None
    ) -> QueueStats:
        counted.append(endpoint)
        return real(self, endpoint=endpoint, timeout=timeout)

    with (
        EdgeServer() as edge,
        pingsdk.PingClient(edge.url, queue_path=tmp_path / "q.db") as client,
    ):
        for n in range(200):
            client.submit(Small(n=n))
        monkeypatch.setattr(PingQueue, "stats", spy)
        assert client.flush(timeout=10.0)
        monkeypatch.undo()
    assert [e for e in counted if e is not None] == []
