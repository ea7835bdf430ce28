"""Storing in the application, sending from another process: uploader=False + pingsdk relay."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pingsdk
from pingsdk.edge import EdgeServer
from tests.delivery.pings import SearchCounts

PINGSDK = Path(sys.executable).with_name("pingsdk")


def test_store_only_client_and_relay_process(delivery_edge: EdgeServer, queue_path: Path) -> None:
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader=False) as app:
        ids = [app.submit(SearchCounts(engine="e", count=i)) for i in range(20)]
        assert app.flush(timeout=0.3) is False  # nobody sends them yet
        assert app.stats().pending == 20
        assert delivery_edge.received() == []
        relay = subprocess.Popen(
            [str(PINGSDK), "relay", "--queue", str(queue_path), "--endpoint", delivery_edge.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert relay.stdout is not None
            assert relay.stdout.readline().startswith("pingsdk relay: sending from")
            assert app.flush(timeout=20.0)  # waits for the relay to send them
            assert delivery_edge.wait_for(20, timeout=5.0)
            # A ping stored while the relay runs is noticed by its poll (every 2 s).
            late = app.submit(SearchCounts(engine="late", count=1))
            assert delivery_edge.wait_for(21, timeout=10.0)
        finally:
            relay.send_signal(signal.SIGTERM)
            out, err = relay.communicate(timeout=15)
        assert relay.returncode == 0, err
        assert "pingsdk relay: sent 21, dropped 0" in out
        assert app.stats().sent == 0  # the app itself sent nothing
    assert sorted(p.doc_id for p in delivery_edge.accepted()) == sorted([*ids, late])
    assert all(p.valid for p in delivery_edge.accepted())


def test_async_store_only_client_starts_no_uploader(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    async def main() -> None:
        async with pingsdk.AsyncPingClient(
            delivery_edge.url, queue_path=queue_path, uploader=False
        ) as c:
            await c.submit(SearchCounts(engine="a", count=1))
            assert await c.flush(timeout=0.2) is False
            assert c._runner.task is None
            assert c.stats().pending == 1

    asyncio.run(main())
    assert delivery_edge.received() == []
    # A normal client on the same file sends what was stored.
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as sender:
        assert sender.flush(timeout=10.0)
    assert len(delivery_edge.accepted()) == 1
