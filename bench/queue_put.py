"""PingQueue.put() latency: process vs power durability, against a bare SQLite insert.

Run: ``.venv/bin/python bench/queue_put.py [--count N] [--rounds R]``. Not a test.

Every scenario runs in the same process, interleaved over several rounds; the table shows the
median over rounds of each round's p50 and p99, and the p50 ratio to the bare insert:

- ``bare insert``: one autocommit ``INSERT (id, body)`` into a WAL table (synchronous=NORMAL),
  the same body: the least a durable put can cost.
- ``put process``: ``PingQueue.put()`` (one BEGIN IMMEDIATE transaction: insert, bound check).
- ``put process + sender``: the same while a sender thread claims 8 and acks them in a loop,
  as the uploader does.
- ``put power``: ``durability="power"`` (an fsync per commit); fewer calls, it is slow.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingsdk._queue import PingQueue, QueuedPing

BODY = os.urandom(320)  # a typical small gzipped ping
HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Encoding": "gzip",
    "X-Telemetry-Agent": "pingsdk/0.1.0 (Python 3.11 on linux)",
}


def _pings(count: int) -> list[QueuedPing]:
    now = time.time()
    out = []
    for _ in range(count):
        doc_id = str(uuid.uuid4())
        out.append(
            QueuedPing(
                doc_id=doc_id,
                path=f"/submit/my-app/search-counts/1/{doc_id}",
                headers=HEADERS,
                body=BODY,
                created_at=now,
                namespace="my-app",
                doctype="search-counts",
                version=1,
            )
        )
    return out


def _timed(call: Callable[[int], object], count: int) -> list[float]:
    clock = time.perf_counter
    out = [0.0] * count
    for i in range(count):
        start = clock()
        call(i)
        out[i] = clock() - start
    return out


def bare_insert(directory: Path, count: int) -> list[float]:
    path = directory / "bare.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
        ids = [str(uuid.uuid4()) for _ in range(count)]
        return _timed(lambda i: conn.execute("INSERT INTO t VALUES (?, ?)", (ids[i], BODY)), count)
    finally:
        conn.close()


def queue_put(directory: Path, count: int, durability: str, sender: bool) -> list[float]:
    q = PingQueue(directory / f"{durability}-{sender}.db", durability=durability)  # type: ignore[arg-type]
    pings = _pings(count)
    q.put(_pings(1)[0])  # open the file outside the timing
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            claimed = q.claim(8)
            if claimed:
                time.sleep(0.0005)  # the request
                q.ack_many([p.doc_id for p in claimed])
            else:
                time.sleep(0.001)

    thread = threading.Thread(target=send)
    if sender:
        thread.start()
    try:
        return _timed(lambda i: q.put(pings[i]), count)
    finally:
        stop.set()
        if sender:
            thread.join()
        q.close()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--power-count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scenarios: dict[str, Callable[[Path], list[float]]] = {
        "bare insert": lambda d: bare_insert(d, args.count),
        "put process": lambda d: queue_put(d, args.count, "process", False),
        "put process + sender": lambda d: queue_put(d, args.count, "process", True),
        "bare insert (power)": lambda d: _power_bare(d, args.power_count),
        "put power": lambda d: queue_put(d, args.power_count, "power", False),
    }
    p50s: dict[str, list[float]] = {name: [] for name in scenarios}
    p99s: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(args.rounds):
        for name, run in scenarios.items():
            with tempfile.TemporaryDirectory() as tmp:
                lat = run(Path(tmp))
            p50s[name].append(_quantile(lat, 0.5))
            p99s[name].append(_quantile(lat, 0.99))
    base = statistics.median(p50s["bare insert"])
    print(f"{'scenario':<24} {'p50 us':>9} {'p99 us':>9} {'p50 / bare':>11}")
    for name in scenarios:
        p50 = statistics.median(p50s[name])
        p99 = statistics.median(p99s[name])
        print(f"{name:<24} {p50 * 1e6:>9.1f} {p99 * 1e6:>9.1f} {p50 / base:>10.2f}x")


def _power_bare(directory: Path, count: int) -> list[float]:
    """The bare insert with synchronous=FULL: the fsync floor of this disk."""
    path = directory / "bare-power.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
        ids = [str(uuid.uuid4()) for _ in range(count)]
        return _timed(lambda i: conn.execute("INSERT INTO t VALUES (?, ?)", (ids[i], BODY)), count)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
