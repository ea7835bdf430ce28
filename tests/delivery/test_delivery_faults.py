"""Chaos: a flaky edge still gets every ping once; a dead edge sees a bounded request rate."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

import pingsdk
from pingsdk.edge import EdgeServer, FaultPlan
from tests.delivery.pings import SearchCounts


@pytest.mark.slow
def test_thirty_percent_mixed_faults_lose_nothing(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(
        FaultPlan(
            rate=0.3,
            kinds=("500", "503", "429", "reset", "timeout"),
            retry_after=0,
            hold=5.0,
            seed=7,
        )
    )
    policy = pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.05, max_retry_after=0.05)
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, retry=policy, timeout=0.5, max_in_flight=8
    ) as client:
        ids = {client.submit(SearchCounts(engine="x", count=i)) for i in range(300)}
        assert client.flush(timeout=45.0)
        stats = client.stats()
    accepted = [p.doc_id for p in delivery_edge.accepted()]
    assert set(accepted) == ids  # 100 % delivered
    # A "timeout" fault may still be answered after the client gave up: the pipeline dedups
    # those by docId; any other duplicate would be a bug.
    faults = delivery_edge.monitor()
    assert stats.sent == 300 and stats.retried > 30 and stats.dropped == {}
    assert len(accepted) - len(ids) <= stats.retried, faults


@pytest.mark.parametrize("down", ["refused", "503"])
def test_request_rate_bounded_while_server_down(down: str, queue_path: Path) -> None:
    """100 queued pings, server down for 2 s: requests stay far below one per ping per retry."""
    calls: list[float] = []
    if down == "refused":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nothing listens there: connection refused

        class Counting(httpx.AsyncHTTPTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                calls.append(time.monotonic())
                return await super().handle_async_request(request)

        transport: httpx.AsyncBaseTransport = Counting()
        endpoint = f"http://127.0.0.1:{port}"
    else:

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(time.monotonic())
            return httpx.Response(503)

        transport = httpx.MockTransport(handler)
        endpoint = "https://e.example.com"
    # Backoff 0.05 s doubling to 0.4 s: a per-ping schedule alone would allow ~100 pings x
    # (2 s / 0.2 s average) = 1000 requests; the global pause keeps it to a trickle.
    policy = pingsdk.RetryPolicy(initial_delay=0.05, max_delay=0.4)
    with pingsdk.PingClient(
        endpoint, queue_path=queue_path, retry=policy, transport=transport, max_in_flight=8
    ) as client:
        for i in range(100):
            client.submit(SearchCounts(engine="x", count=i))
        time.sleep(2.0)
        total = len(calls)
        assert client.stats().pending == 100
        client.close(0.2)
    # At most max_in_flight per pause window; pauses average >= 0.1 s after a few failures.
    assert total <= 8 * (2.0 / 0.05) / 2, total
    assert total >= 2  # it did keep trying
