"""Memory probes for ``make bench``, each run in a fresh process so its RSS is its own.

``python bench/_memory.py burst URL COUNT QUEUE``: a ``PingClient`` submits COUNT pings as fast
as it can and delivers them to URL; prints the process's peak RSS (``VmHWM``).

``python bench/_memory.py pending COUNT QUEUE``: a ``PingClient`` whose edge refuses connections
(nothing leaves) stores COUNT pings; prints the RSS added between the first 1,000 and the last.

Each prints one JSON line on stdout.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _payload import PING

import pingsdk

WARM = 1_000


def status_kib(field: str) -> int:
    """A ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def burst(url: str, count: int, queue: Path) -> dict[str, float]:
    rss_before = status_kib("VmRSS")
    start = time.monotonic()
    with pingsdk.PingClient(url, queue_path=queue, atexit_timeout=0) as client:
        for _ in range(count):
            client.submit(PING)
        submitted = time.monotonic() - start
        deadline = start + 120
        while client.stats().sent < count and time.monotonic() < deadline:
            client.flush(timeout=1.0)
        sent = client.stats().sent
    return {
        "peak_mib": status_kib("VmHWM") / 1024,
        "rss_before_mib": rss_before / 1024,
        "sent": sent,
        "submit_s": submitted,
        "total_s": time.monotonic() - start,
    }


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pending(count: int, queue: Path) -> dict[str, float]:
    client = pingsdk.PingClient(
        f"http://127.0.0.1:{closed_port()}",
        queue_path=queue,
        max_queue_count=count,
        max_queue_bytes=1 << 30,
        atexit_timeout=0,
    )
    try:
        for _ in range(WARM):
            client.submit(PING)
        time.sleep(0.5)  # the uploader has tried, failed and backed off
        before = status_kib("VmRSS")
        for _ in range(count - WARM):
            client.submit(PING)
        time.sleep(0.5)
        after = status_kib("VmRSS")
        stats = client.stats()
    finally:
        client.close(timeout=0.5)
    return {
        "added_mib": (after - before) / 1024,
        "rss_mib": after / 1024,
        "pending": stats.pending,
        "sent": stats.sent,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["burst"] and len(argv) == 4:
        result = burst(argv[1], int(argv[2]), Path(argv[3]))
    elif argv[:1] == ["pending"] and len(argv) == 3:
        result = pending(int(argv[1]), Path(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
