"""AsyncPingClient: the same engine on the caller's loop; same wire, outcomes and deadlines."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

import pingsdk
from pingsdk.edge import EdgeServer
from tests.delivery.pings import DeletionRequest, Expired, SearchCounts

pytestmark = pytest.mark.anyio


async def test_async_client_delivers_to_real_edge(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    sent: list[pingsdk.DeliveryReport] = []
    async with pingsdk.AsyncPingClient(
        delivery_edge.url, queue_path=queue_path, debug_id="async-1", on_sent=sent.append
    ) as client:
        ids = [await client.submit(SearchCounts(engine="a", count=i)) for i in range(10)]
        assert await client.flush(timeout=10.0)
        stats = client.stats()
    assert stats.sent == 10 and stats.pending == 0 and len(sent) == 10
    got = {p.doc_id: p for p in delivery_edge.accepted()}
    assert set(got) == set(ids)
    for doc_id in ids:
        assert got[doc_id].path == f"/submit/delivery-test/search-counts/1/{doc_id}"
        assert got[doc_id].headers["X-Debug-ID"] == "async-1" and got[doc_id].valid


async def test_async_retries_identical_and_drops_4xx() -> None:
    seen: list[httpx.Request] = []
    answers = [503, 500, 200, 400]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0))

    dropped: list[pingsdk.DeliveryReport] = []
    async with pingsdk.AsyncPingClient(
        "https://e.example.com",
        queue_path=":memory:",
        transport=httpx.MockTransport(handler),
        retry=pingsdk.RetryPolicy.no_wait(max_attempts=None),
        max_in_flight=1,
        on_dropped=dropped.append,
    ) as client:
        first = await client.submit(SearchCounts(engine="a", count=1))
        assert await client.flush(5.0)
        second = await client.submit(SearchCounts(engine="b", count=2))
        assert await client.flush(5.0)
        stats = client.stats()
    assert [r.url.path.rsplit("/", 1)[1] for r in seen] == [first] * 3 + [second]
    assert len({r.content for r in seen[:3]}) == 1
    assert stats.retried == 2 and stats.sent == 1 and dict(stats.dropped) == {"http_400": 1}
    assert dropped[0].doc_id == second


async def test_async_deadlines_against_server_that_never_answers(
    black_hole: str, queue_path: Path
) -> None:
    client = pingsdk.AsyncPingClient(black_hole, queue_path=queue_path, timeout=60.0)
    for i in range(5):
        await client.submit(SearchCounts(engine="x", count=i))
    start = time.monotonic()
    assert await client.flush(timeout=0.5) is False
    await client.close(timeout=0.5)
    assert time.monotonic() - start < 1.0 + 0.75
    # Released, not lost: the next (sync) client on the file still has them.
    with pingsdk.PingClient(black_hole, queue_path=queue_path) as again:
        assert again.stats().pending == 5
        again.close(0.1)


async def test_async_refusals_and_upload_switch(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    async with pingsdk.AsyncPingClient(delivery_edge.url, queue_path=queue_path) as client:
        with pytest.raises(pingsdk.PingExpiredError):
            await client.submit(Expired(n=1))
        await client.submit(SearchCounts(engine="a", count=1))
        await client.set_upload_enabled(False, deletion_request=DeletionRequest(client_id="c1"))
        assert client.upload_enabled is False
        with pytest.raises(pingsdk.UploadDisabledError):
            await client.submit(SearchCounts(engine="a", count=2))
        assert await client.flush(5.0)
    doctypes = [p.doctype for p in delivery_edge.accepted()]
    assert doctypes[-1] == "deletion-request" and doctypes.count("search-counts") <= 1


def test_async_client_survives_a_new_event_loop(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    import asyncio

    client = pingsdk.AsyncPingClient(delivery_edge.url, queue_path=queue_path)

    async def one(n: int) -> bool:
        await client.submit(SearchCounts(engine="loop", count=n))
        return await client.flush(5.0)

    assert asyncio.run(one(1))
    assert asyncio.run(one(2))  # a second loop: the engine restarts on it
    asyncio.run(client.close())
    assert len(delivery_edge.accepted()) == 2
