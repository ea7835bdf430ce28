"""Baselines for submit() latency: a plain queue.Queue.put and the "durable floor".

The durable floor is the least any durable submit can do for one ping: a fresh uuid7, the
payload's JSON, and one committed SQLite WAL insert of it (its own transaction, as a submit
that is durable when it returns must be).
"""

from __future__ import annotations

import queue
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import uuid6
from pydantic import BaseModel

__all__ = ["durable_floor", "queue_put", "time_calls"]


def time_calls(call: Callable[[int], object], count: int) -> list[float]:
    """Seconds taken by each of ``count`` calls of ``call(i)``, measured one by one."""
    clock = time.perf_counter
    out = [0.0] * count
    for i in range(count):
        start = clock()
        call(i)
        out[i] = clock() - start
    return out


def queue_put(model: BaseModel, count: int) -> list[float]:
    """Latencies of ``queue.Queue.put`` of the same (already built) payload object."""
    q: queue.Queue[BaseModel] = queue.Queue()
    return time_calls(lambda _i: q.put(model), count)


def durable_floor(model: BaseModel, count: int, directory: Path) -> list[float]:
    """Latencies of uuid7() + model_dump_json() + one committed WAL insert."""
    path = directory / "floor.db"
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, body BLOB NOT NULL)")

        def one(_i: int) -> None:
            doc_id = str(uuid6.uuid7())
            body = model.model_dump_json().encode()
            conn.execute("INSERT INTO t VALUES (?, ?)", (doc_id, body))

        return time_calls(one, count)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
