"""Crash test: a child process submitting pings is SIGKILLed at random points, again and again.

Every ping whose submit() returned (its doc id was printed after the call) must reach the edge,
under its original URL, and nothing may arrive twice except a ping whose request was on the wire
when the process died (same URL and body: the pipeline deduplicates it).
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import pingsdk
from pingsdk.edge import EdgeServer, FaultPlan
from tests.support import child_env

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "12"))

CHILD = """
import sys, time
import pingsdk
from tests.delivery.pings import SearchCounts
client = pingsdk.PingClient(
    {endpoint!r}, queue_path={queue!r}, timeout=1.0,
    retry=pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.1, max_retry_after=0.1),
)
print("ready", flush=True)
i = 0
while True:
    doc_id = client.submit(SearchCounts(engine="crash-{round}", count=i))
    print(doc_id, flush=True)
    i += 1
    time.sleep(0.002)
"""


def _read_ids(proc: subprocess.Popen[str], out: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line.strip())


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_sigkill_at_random_points_loses_nothing(delivery_edge: EdgeServer, tmp_path: Path) -> None:
    queue = str(tmp_path / "pings.db")
    delivery_edge.set_faults(
        FaultPlan(rate=0.2, kinds=("500", "503", "reset"), retry_after=0, seed=3)
    )
    rng = random.Random(42)
    printed: list[str] = []
    env = child_env()
    for rnd in range(ROUNDS):
        script = textwrap.dedent(CHILD).format(endpoint=delivery_edge.url, queue=queue, round=rnd)
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
        )
        lines: list[str] = []
        reader = threading.Thread(target=_read_ids, args=(proc, lines))
        reader.start()
        deadline = time.monotonic() + 15
        while not lines and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lines and lines[0] == "ready", "child did not start"
        time.sleep(rng.uniform(0.02, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
        ids = lines[1:]
        # The last line may be cut by the kill: only whole ids count as "submit() returned".
        printed.extend(i for i in ids if len(i) == 36)
    assert len(printed) > ROUNDS * 5, "the children barely submitted anything"
    delivery_edge.set_faults(None)
    # A new client on the same queue delivers the rest (after the dead children's leases expire).
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue, timeout=1.0) as client:
        ok = client.flush(timeout=30.0)
        assert ok, (client.stats(), len(printed), len(delivery_edge.accepted()), time.time())
        assert client.stats().pending == 0
    accepted = delivery_edge.accepted()
    by_id = collections.defaultdict(list)
    for ping in accepted:
        by_id[ping.doc_id].append(ping)
    missing = set(printed) - set(by_id)
    assert not missing, f"{len(missing)} of {len(printed)} acknowledged pings lost"
    for doc_id in printed:
        paths = {p.path for p in by_id[doc_id]}
        assert paths == {f"/submit/delivery-test/search-counts/1/{doc_id}"}
        assert len({str(p.payload) for p in by_id[doc_id]}) == 1
    duplicates = sum(len(v) - 1 for v in by_id.values())
    # Only requests on the wire at a kill can repeat: at most max_in_flight (8) per kill.
    assert duplicates <= ROUNDS * 8, duplicates
    assert all(p.valid for p in accepted)
