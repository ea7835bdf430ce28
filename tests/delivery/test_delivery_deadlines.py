"""flush, close and the exit hook keep their deadlines against a server that never answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import pingsdk
from pingsdk.edge import EdgeServer
from tests.delivery.pings import SearchCounts
from tests.support import child_env

MARGIN = 0.75  # deadlines, not speed: generous for a loaded 2-core CI box


def test_flush_returns_false_at_its_deadline(black_hole: str, queue_path: Path) -> None:
    client = pingsdk.PingClient(black_hole, queue_path=queue_path, timeout=60.0)
    try:
        for i in range(20):
            client.submit(SearchCounts(engine="x", count=i))
        start = time.monotonic()
        assert client.flush(timeout=1.0) is False
        assert time.monotonic() - start < 1.0 + MARGIN
        assert client.stats().in_flight > 0
    finally:
        start = time.monotonic()
        client.close(timeout=1.0)
        assert time.monotonic() - start < 1.0 + MARGIN


def test_close_cancels_hung_requests_and_keeps_pings_for_next_start(
    queue_path: Path, delivery_edge: EdgeServer
) -> None:
    delivery_edge.set_faults(pingsdk.edge.FaultPlan(rate=1.0, kinds=("timeout",), hold=30.0))
    client = pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, timeout=60.0, max_in_flight=4
    )
    ids = [client.submit(SearchCounts(engine="x", count=i)) for i in range(10)]
    time.sleep(0.2)  # some requests are on the wire, hanging
    start = time.monotonic()
    assert client.close(timeout=0.5) is False  # pings are left
    assert time.monotonic() - start < 0.5 + MARGIN
    delivery_edge.set_faults(None)
    # The leases of the cancelled requests were released: a new client sends everything now
    # (not after lease_seconds), each ping under its original URL.
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as again:
        assert again.flush(timeout=5.0)
    got = {p.doc_id: p.path for p in delivery_edge.accepted()}
    assert set(got) == set(ids)
    assert all(path.endswith(doc_id) for doc_id, path in got.items())


def test_close_with_timeout_fault_edge(delivery_edge: EdgeServer, queue_path: Path) -> None:
    delivery_edge.set_faults(pingsdk.edge.FaultPlan(rate=1.0, kinds=("timeout",), hold=30.0))
    client = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, timeout=30.0)
    client.submit(SearchCounts(engine="x", count=1))
    start = time.monotonic()
    assert client.flush(timeout=0.5) is False
    client.close(timeout=0.5)
    assert time.monotonic() - start < 1.0 + MARGIN
    delivery_edge.set_faults(None)


def test_context_manager_exit_is_bounded(black_hole: str, queue_path: Path) -> None:
    start = time.monotonic()
    with pingsdk.PingClient(black_hole, queue_path=queue_path, timeout=60.0) as client:
        client.submit(SearchCounts(engine="x", count=1))
    assert time.monotonic() - start < 2.0 + MARGIN  # close()'s default timeout is 2 s


@pytest.mark.parametrize("answer", ["never", "ok"])
def test_atexit_hook_flushes_within_atexit_timeout(
    answer: str, black_hole: str, delivery_edge: EdgeServer, queue_path: Path
) -> None:
    endpoint = black_hole if answer == "never" else delivery_edge.url
    script = textwrap.dedent(
        f"""
        import sys, time
        import pingsdk
        from tests.delivery.pings import SearchCounts
        client = pingsdk.PingClient({endpoint!r}, queue_path={str(queue_path)!r},
                                    timeout=60.0, atexit_timeout=1.0)
        for i in range(5):
            client.submit(SearchCounts(engine="x", count=i))
        print("exiting", flush=True)
        """
    )
    env = child_env()
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "exiting"
    start = time.monotonic()
    assert proc.wait(timeout=10) == 0
    proc.stdout.close()
    assert time.monotonic() - start < 1.0 + MARGIN + 0.5  # + interpreter teardown
    if answer == "ok":
        # The exit hook delivered what the program submitted just before exiting.
        assert delivery_edge.wait_for(5, timeout=2.0)
