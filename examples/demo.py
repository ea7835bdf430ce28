"""`make demo`: the whole path of a ping, on this machine, in a few seconds.

1. Export the example pings' schemas into a temporary schema-repository tree and validate their
   examples the way the repository's CI does.
2. Submit a ping while no edge is listening: it waits in the durable queue.
3. Start the bundled local edge (``pingsdk serve``) on 127.0.0.1 with those schemas.
4. Run the example application (``examples/app.py``), which submits more pings through
   ``PingClient`` on the same queue: the one queued while the edge was down goes out too.
5. Send invalid pings on purpose: no new valid session summaries arrive, and the edge's docType
   monitor (the thresholds ``examples/pings.py`` declares, with the monitor's day scaled to a
   minute) prints the pipeline monitor's inactivity alert.
6. Print the edge's monitor table (every app ping valid, no duplicates, sizes, the alerts), then
   stop the edge.

Nothing is left running and the temporary files are removed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pings import SearchCounts, realistic_session

import pingsdk

PINGSDK = [sys.executable, "-m", "pingsdk"]
APP_PINGS = 5  # what examples/app.py submits
INVALID_PINGS = 3  # what step 5 sends on purpose


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(args: list[str]) -> None:
    print("$ pingsdk " + " ".join(args[len(PINGSDK) :]), flush=True)
    subprocess.run(args, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pingsdk-demo-") as tmp:
        repo, queue, edge_db = Path(tmp, "schema-repo"), Path(tmp, "pings.db"), Path(tmp, "edge.db")

        step("1. Export the example pings into a schema-repository tree, then validate it")
        run([*PINGSDK, "schema", "export", str(HERE / "pings.py"), "--out", str(repo)])
        run([*PINGSDK, "validate", "--repo", str(repo)])

        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        step(f"2. Submit a ping while nothing listens on {endpoint}")
        retry = pingsdk.RetryPolicy(initial_delay=0.2, max_delay=1.0)
        with pingsdk.PingClient(endpoint, queue_path=queue, retry=retry, timeout=1.0) as client:
            offline_id = client.submit(SearchCounts(engine="offline-engine", count=1))
            client.flush(timeout=0.5)
            stats = client.stats()
        print(f"submitted {offline_id}; edge down, so it waits: {stats.pending} pending on disk")
        assert stats.pending == 1, stats

        step("3. Start the local edge with the exported schemas and the pings' monitor")
        serve = [*PINGSDK, "serve", "--schemas", str(repo), "--port", str(port)]
        monitor = ["--monitor", str(HERE / "pings.py"), "--monitor-window", "60s"]
        server = subprocess.Popen(
            [*serve, "--db", str(edge_db), *monitor], stdout=subprocess.PIPE, text=True
        )
        alerts: list[str] = []
        try:
            assert server.stdout is not None
            print(server.stdout.readline().strip(), flush=True)
            threading.Thread(target=collect, args=(server.stdout, alerts), daemon=True).start()

            step("4. Run the example application against it (same queue file)")
            app = [sys.executable, str(HERE / "app.py"), "--endpoint", endpoint]
            subprocess.run([*app, "--queue", str(queue)], check=True)

            step("5. Send invalid session summaries on purpose: the docType monitor alerts")
            invalid = {**realistic_session().to_payload(), "duration_seconds": -1}
            for _ in range(INVALID_PINGS):
                path = pingsdk.wire.submit_path(
                    "pingsdk-demo", "session-summary", 1, str(uuid.uuid4())
                )
                httpx.post(f"{endpoint}{path}", json=invalid, timeout=5).raise_for_status()
            print(f"sent {INVALID_PINGS} pings with a negative duration_seconds", flush=True)
            deadline = time.monotonic() + 30
            wanted = "pingsdk-demo/session-summary [release] inactivitiy timeout"
            while not any(wanted in a for a in alerts) and time.monotonic() < deadline:
                time.sleep(0.1)
            alerted = [a for a in alerts if wanted in a]
            print(alerted[0] if alerted else "no alert within 30 s", end="", flush=True)

            step("6. What arrived (pingsdk monitor)")
            run([*PINGSDK, "monitor", "--url", endpoint])
            report = httpx.get(f"{endpoint}/__monitor__", timeout=5).json()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)

    expected = APP_PINGS + 1
    received = sum(row["received"] for row in report["doctypes"]) - INVALID_PINGS
    valid = sum(row["valid"] for row in report["doctypes"])
    duplicates = sum(row["duplicates"] for row in report["doctypes"])
    print(f"\nreceived {received} of {expected} pings, {valid} valid, {duplicates} duplicates")
    print(f"and {INVALID_PINGS} invalid ones on purpose; docType monitor alerts: {len(alerted)}")
    ok = received == valid == expected and duplicates == 0 and bool(alerted)
    print(
        "demo OK: every ping arrived once and valid, and the monitor alerted"
        if ok
        else "demo FAILED",
        flush=True,
    )
    return 0 if ok else 1


def collect(stream: Iterable[str], alerts: list[str]) -> None:
    """Keep the edge's docType monitor alerts (a header line and the monitor's text)."""
    inside = False
    for line in stream:
        if line.startswith("pingsdk monitor alert "):
            alerts.append(line)
            inside = True
        elif line.startswith("pingsdk "):
            inside = False
        elif inside:
            alerts[-1] += line


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
