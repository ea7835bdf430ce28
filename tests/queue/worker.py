"""A child process for the queue tests (run as a script, never collected by pytest).

Modes:
  put PATH                      put pings forever; print each doc_id once put() returned
  putn PATH COUNT THREADS       THREADS threads put COUNT pings each; print the ids at the end
  claim PATH THREADS STOPFILE   THREADS threads claim (and ack every other) until STOPFILE
                                exists and nothing is left; print "<doc_id> <acked>" per claim
  hold PATH LEASE               claim everything with LEASE seconds; print "held N T"; sleep
  fill PATH FSIZE               under RLIMIT_FSIZE=FSIZE (SIGXFSZ ignored) put until the queue is
                                full; print stored ids, then "FULL", then "READ <pending> <stored>"
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable

from pingsdk import QueueFullError
from pingsdk._queue import PingQueue, QueuedPing


def _ping(size: int = 200) -> QueuedPing:
    doc_id = str(uuid.uuid4())
    return QueuedPing(
        doc_id=doc_id,
        path=f"/submit/my-app/search-counts/1/{doc_id}",
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=os.urandom(size),
        created_at=time.time(),
    )


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _in_threads(run: Callable[[], None], threads: int) -> None:
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def put(path: str) -> None:
    q = PingQueue(path, max_count=10_000_000)  # no eviction: every stored id must stay
    _print("ready")
    while True:
        p = _ping()
        q.put(p)
        _print(p.doc_id)


def putn(path: str, count: int, threads: int) -> None:
    q = PingQueue(path, max_count=10_000_000)
    out_lock = threading.Lock()
    ids: list[str] = []

    def run() -> None:
        for _ in range(count):
            p = _ping()
            q.put(p)
            with out_lock:
                ids.append(p.doc_id)

    _in_threads(run, threads)
    q.close()
    _print("\n".join(ids))


def claim(path: str, threads: int, stopfile: str) -> None:
    q = PingQueue(path, lease_seconds=120)
    out_lock = threading.Lock()
    lines: list[str] = []

    def run() -> None:
        empty_after_stop = 0
        n = 0
        while empty_after_stop < 3:
            got = q.claim(3)
            for p in got:
                n += 1
                acked = n % 2 == 0 and q.ack(p.doc_id)
                with out_lock:
                    lines.append(f"{p.doc_id} {int(acked)}")
            if not got:
                if os.path.exists(stopfile):
                    empty_after_stop += 1
                time.sleep(0.002)

    _in_threads(run, threads)
    q.close()
    _print("\n".join(lines))


def hold(path: str, lease: float) -> None:
    q = PingQueue(path, lease_seconds=lease)
    t = time.time()
    got = q.claim(10_000, now=t)
    _print(f"held {len(got)} {t!r}")
    time.sleep(3600)


def fill(path: str, fsize: int) -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    q = PingQueue(path)
    q.stats()  # create the file before the limit applies
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.RLIM_INFINITY))
    stored = 0
    while True:
        p = _ping(2000)
        try:
            q.put(p)
        except QueueFullError:
            break
        stored += 1
        _print(p.doc_id)
    _print("FULL")
    for _ in range(3):
        try:
            q.put(_ping(2000))
        except QueueFullError:
            continue
        _print("UNEXPECTED put succeeded while full")
    # Reads still work; writes (even claims: a lease is a write) wait for free space.
    _print(f"READ {q.stats().pending} {stored}")
    q.close()


def main(argv: list[str]) -> None:
    mode, path, *rest = argv
    if mode == "put":
        put(path)
    elif mode == "putn":
        putn(path, int(rest[0]), int(rest[1]))
    elif mode == "claim":
        claim(path, int(rest[0]), rest[1])
    elif mode == "hold":
        hold(path, float(rest[0]))
    elif mode == "fill":
        fill(path, int(rest[0]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
