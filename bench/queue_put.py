"""PingQueue.put() latency: process vs power durability, against a bare SQLite insert.

Run: ``.venv/bin/python bench/queue_put.py [--count N] [--power-count N]``. Not a test.

Scenarios run interleaved call by call (one call of each in turn), so a busy machine slows all of
them alike and the ratios stay meaningful. Each line: p50 and p99 of the calls, and the p50 ratio
to the bare insert of the same group:

- ``bare insert``: one autocommit ``INSERT (id, body)`` into a WAL table, the same body: the
  least a durable put can cost (synchronous=NORMAL, or FULL in the power group).
- ``put``: ``PingQueue.put()`` (one autocommit INSERT; the bound checked in the same statement).
- ``put + sender``: the same while a sender thread claims 8 and acks them in a loop, as the
  uploader does (its own group, with its own bare insert measured under the same load).
- ``put power``: ``durability="power"`` (an fsync per commit); fewer calls, it is slow.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
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


def _bare(
    path: Path, synchronous: str, count: int
) -> tuple[Callable[[int], object], Callable[[], None]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
    ids = [str(uuid.uuid4()) for _ in range(count)]  # made beforehand, as for put()

    def call(i: int) -> object:
        return conn.execute("INSERT INTO t VALUES (?, ?)", (ids[i], BODY))

    return call, conn.close


def _put(
    path: Path, durability: str, count: int, sender: bool
) -> tuple[Callable[[int], object], Callable[[], None]]:
    q = PingQueue(path, durability=durability)  # type: ignore[arg-type]
    q.put(_pings(1)[0])  # open the file outside the timing
    pings = _pings(count)
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

    def done() -> None:
        stop.set()
        if sender:
            thread.join()
        q.close()

    return (lambda i: q.put(pings[i])), done


def _group(
    count: int, scenarios: dict[str, tuple[Callable[[int], object], Callable[[], None]]]
) -> None:
    clock = time.perf_counter
    lat: dict[str, list[float]] = {name: [] for name in scenarios}
    try:
        for i in range(count):
            for name, (call, _) in scenarios.items():
                start = clock()
                call(i)
                lat[name].append(clock() - start)
    finally:
        for _, done in scenarios.values():
            done()
    base = _quantile(lat[next(iter(lat))], 0.5)
    for name, values in lat.items():
        p50 = _quantile(values, 0.5)
        p99 = _quantile(values, 0.99)
        print(f"{name:<22} {p50 * 1e6:>9.1f} {p99 * 1e6:>9.1f} {p50 / base:>10.2f}x")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--power-count", type=int, default=300)
    args = parser.parse_args()
    print(f"{'scenario':<22} {'p50 us':>9} {'p99 us':>9} {'p50 / bare':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _group(
            args.count,
            {
                "bare insert": _bare(d / "bare.db", "NORMAL", args.count),
                "put": _put(d / "put.db", "process", args.count, sender=False),
            },
        )
        _group(
            args.count,
            {
                "bare insert": _bare(d / "bare2.db", "NORMAL", args.count),
                "put + sender": _put(d / "sender.db", "process", args.count, sender=True),
            },
        )
        _group(
            args.power_count,
            {
                "bare insert (FULL)": _bare(d / "bare3.db", "FULL", args.power_count),
                "put power": _put(d / "power.db", "power", args.power_count, sender=False),
            },
        )


if __name__ == "__main__":
    main()
