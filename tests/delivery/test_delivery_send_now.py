"""``send_now()`` / ``send_document_now()``: one ping sent at once, stored first, against a real
EdgeServer and small scripted servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

import pingsdk
from pingsdk._queue import PingQueue
from pingsdk.edge import EdgeServer
from tests.delivery.pings import Blob, SearchCounts
from tests.delivery.servers import Answer, doc_id_of, free_port, scripted_server

OK: Answer = (200, {}, b"")


def _pending(queue_path: Path) -> int:
    with PingQueue(queue_path, create=False) as queue:
        return queue.stats().pending


def test_send_now_returns_the_report_of_the_accepted_ping(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    sent: list[pingsdk.DeliveryReport] = []
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, on_sent=sent.append
    ) as client:
        report = client.send_now(SearchCounts(engine="ddg", count=3), timeout=5.0)
        assert client.stats().sent == 1
    [got] = delivery_edge.received()
    assert (got.status, got.valid, got.payload) == (200, True, {"engine": "ddg", "count": 3})
    assert got.headers["Content-Encoding"] == "gzip"
    assert (report.doc_id, report.status, report.reason, report.attempts) == (
        got.doc_id,
        200,
        "ok",
        1,
    )
    assert report.path == f"/submit/delivery-test/search-counts/1/{got.doc_id}"
    assert sent == [report]
    assert _pending(queue_path) == 0


def test_a_large_ping_is_leased_and_acked_by_its_row(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    # Over 2 KiB uncompressed, the body is stored in its own table: the lease and the ack
    # must still find the row.
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, compress=False) as client:
        report = client.send_now(Blob(text="x" * 10_000), timeout=5.0)
        assert client.stats().pending == 0
    [got] = delivery_edge.received()
    assert (got.doc_id, got.status, report.status) == (report.doc_id, 200, 200)
    assert _pending(queue_path) == 0


def test_send_document_now_sends_the_bytes_as_given(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    document = b'{"count": 2,  "engine": "x"}'
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as client:
        report = client.send_document_now(
            document, namespace="delivery-test", doctype="search-counts", version=1
        )
    [got] = delivery_edge.received()
    assert (got.doc_id, got.status, got.valid) == (report.doc_id, 200, True)
    assert got.payload == {"count": 2, "engine": "x"}


def test_a_4xx_raises_ping_rejected_and_drops_the_ping(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    dropped: list[pingsdk.DeliveryReport] = []
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, on_dropped=dropped.append
    ) as client:
        with pytest.raises(pingsdk.PingRejectedError) as caught:
            client.send_document_now(
                b'{"engine": "x", "count": "many"}',
                namespace="delivery-test",
                doctype="search-counts",
                version=1,
            )
        assert client.stats().dropped == {"http_400": 1}
    error = caught.value
    assert isinstance(error, pingsdk.SubmitError)
    [got] = delivery_edge.received()
    assert (error.status_code, error.doc_id, error.attempts) == (400, got.doc_id, 1)
    assert error.url == f"{delivery_edge.url}/submit/delivery-test/search-counts/1/{got.doc_id}"
    assert error.detail and "count" in error.detail  # the strict edge names the bad field
    assert [r.reason for r in dropped] == ["http_400"]
    assert _pending(queue_path) == 0


def test_5xx_then_success_is_retried_within_the_timeout(
    queue_path: Path, fast_retry: pingsdk.RetryPolicy
) -> None:
    answers = iter([(500, {}, b"boom"), (503, {}, b""), OK])
    with (
        scripted_server(lambda path: next(answers)) as (url, seen),
        pingsdk.PingClient(url, queue_path=queue_path, retry=fast_retry) as client,
    ):
        report = client.send_now(SearchCounts(engine="a", count=1), timeout=10.0)
    assert (report.status, report.attempts) == (200, 3)
    # Every attempt is the same request: one docId, one URL.
    assert {doc_id_of(p) for p in seen.paths()} == {report.doc_id}
    assert len(seen.paths()) == 3
    assert _pending(queue_path) == 0


def test_edge_down_raises_and_leaves_the_ping_queued_for_the_uploader(
    queue_path: Path, delivery_schema_tree: Path, fast_retry: pingsdk.RetryPolicy
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with pingsdk.PingClient(url, queue_path=queue_path, retry=fast_retry) as client:
        with pytest.raises(pingsdk.EdgeUnavailableError) as caught:
            client.send_now(SearchCounts(engine="late", count=1), timeout=0.5)
        error = caught.value
        assert error.queued and error.status_code is None
        assert error.reason == "connect_error" and error.attempts >= 1
        assert isinstance(error.__cause__, httpx.ConnectError)
        assert _pending(queue_path) == 1
        with PingQueue(queue_path, create=False) as queue:
            [group] = queue.groups()
        assert group.total_attempts == error.attempts  # the schedule is kept for the uploader
        with EdgeServer(schemas=delivery_schema_tree, strict=True, port=port) as edge:
            assert client.flush(timeout=10.0)
            [got] = edge.received()
    assert (got.doc_id, got.status) == (error.doc_id, 200)
    assert _pending(queue_path) == 0


def test_max_attempts_used_up_drops_the_ping(queue_path: Path) -> None:
    with scripted_server(lambda path: (503, {}, b"")) as (url, seen):
        retry = pingsdk.RetryPolicy.no_wait(max_attempts=2)
        with pingsdk.PingClient(url, queue_path=queue_path, retry=retry) as client:
            with pytest.raises(pingsdk.EdgeUnavailableError) as caught:
                client.send_now(SearchCounts(engine="a", count=1), timeout=5.0)
            assert client.stats().dropped == {"max_attempts": 1}
    assert (caught.value.queued, caught.value.reason, caught.value.status_code) == (
        False,
        "max_attempts",
        503,
    )
    assert len(seen.paths()) == 2
    assert _pending(queue_path) == 0


def test_never_two_requests_for_one_doc_id_while_the_uploader_runs(
    queue_path: Path, fast_retry: pingsdk.RetryPolicy
) -> None:
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def answer(path: str) -> Answer:
        doc = doc_id_of(path)
        with lock:
            counts[doc] = counts.get(doc, 0) + 1
            first_two = counts[doc] <= 2
        return (500, {}, b"") if first_two else OK

    with (
        scripted_server(answer, delay=0.1) as (url, seen),
        pingsdk.PingClient(url, queue_path=queue_path, retry=fast_retry) as client,
    ):
        for i in range(5):
            client.submit(SearchCounts(engine="bg", count=i))
        # Flushes sweep the whole queue, ignoring the schedule, while send_now() holds its
        # ping: the uploader must not claim it.
        flusher = threading.Thread(target=client.flush, kwargs={"timeout": 10.0})
        flusher.start()
        reports = [
            client.send_now(SearchCounts(engine="now", count=i), timeout=10.0) for i in range(3)
        ]
        flusher.join()
        assert client.flush(timeout=10.0)
    assert seen.max_in_flight_per_doc == 1
    for report in reports:
        assert report.attempts == 3
        assert counts[report.doc_id] == 3  # its own three attempts, none by the uploader
    assert len(counts) == 8 and set(counts.values()) == {3}


def test_timeout_must_be_positive_and_nothing_is_stored(queue_path: Path) -> None:
    with pingsdk.PingClient("http://127.0.0.1:1", queue_path=queue_path) as client:
        for bad in (0, -1.0, float("nan")):
            with pytest.raises(pingsdk.ConfigurationError, match="positive number of seconds"):
                client.send_now(SearchCounts(engine="a", count=1), timeout=bad)
        with pytest.raises(pingsdk.ConfigurationError, match="must be a JSON object"):
            client.send_document_now(b"[1]", namespace="a", doctype="b", version=1)
    assert _pending(queue_path) == 0


def test_sync_send_now_refuses_to_block_an_event_loop(queue_path: Path) -> None:
    async def call() -> None:
        with pingsdk.PingClient("http://127.0.0.1:1", queue_path=queue_path) as client:
            client.send_now(SearchCounts(engine="a", count=1))

    with pytest.raises(RuntimeError, match=r"AsyncPingClient\.send_now"):
        asyncio.run(call())


@pytest.mark.anyio
async def test_async_send_now(delivery_edge: EdgeServer, queue_path: Path) -> None:
    async with pingsdk.AsyncPingClient(delivery_edge.url, queue_path=queue_path) as client:
        report = await client.send_now(SearchCounts(engine="aio", count=1), timeout=5.0)
        with pytest.raises(pingsdk.PingRejectedError) as caught:
            await client.send_document_now(
                b'{"engine": 1}', namespace="delivery-test", doctype="search-counts", version=1
            )
        assert client.stats().sent == 1
    accepted, refused = delivery_edge.received()
    assert (accepted.doc_id, accepted.status, report.status) == (report.doc_id, 200, 200)
    assert (refused.doc_id, refused.status) == (caught.value.doc_id, 400)
    assert _pending(queue_path) == 0


@pytest.mark.anyio
async def test_async_send_now_retries_then_leaves_the_ping_queued(queue_path: Path) -> None:
    retry = pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.02)
    with scripted_server(lambda path: (503, {}, b"busy")) as (url, seen):
        async with pingsdk.AsyncPingClient(url, queue_path=queue_path, retry=retry) as client:
            with pytest.raises(pingsdk.EdgeUnavailableError) as caught:
                await client.send_now(SearchCounts(engine="aio", count=1), timeout=0.5)
            assert (caught.value.status_code, caught.value.queued) == (503, True)
            assert caught.value.attempts >= 2 and caught.value.detail == "busy"
            assert _pending(queue_path) == 1
            await client.close(timeout=0.0)
    assert len(seen.paths()) >= caught.value.attempts


@pytest.mark.anyio
async def test_cancelling_async_send_now_gives_the_ping_back(queue_path: Path) -> None:
    with scripted_server(lambda path: OK, delay=2.0) as (url, seen):
        async with pingsdk.AsyncPingClient(url, queue_path=queue_path) as client:
            task = asyncio.ensure_future(client.send_now(SearchCounts(engine="c", count=1)))
            while not seen.paths():  # the request is on its way
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with PingQueue(queue_path, create=False) as queue:
                stats = queue.stats()
            # Stored, and no longer leased: the uploader may send it at once.
            assert (stats.pending, stats.leased) == (1, 0)
            await client.close(timeout=0.0)


def test_the_edge_answer_is_returned_even_if_the_queue_cannot_record_it(
    delivery_edge: EdgeServer,
    queue_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def locked(*args: object, **kwargs: object) -> bool:
        raise pingsdk.QueueBusyError("the file is locked")

    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as client:
        monkeypatch.setattr(client._engine.queue, "ack", locked)
        report = client.send_now(SearchCounts(engine="x", count=1), timeout=5.0)
        monkeypatch.undo()
        assert report.status == 200 and client.stats().sent == 1
        client.close(timeout=0.0)
    assert f"could not remove ping {report.doc_id} in the queue" in caplog.text
    # Still stored and leased: after its lease it is resent with the same docId.
    assert _pending(queue_path) == 1


class _ClosableTransport(httpx.MockTransport):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


def test_a_transport_given_to_the_client_is_left_open_for_the_uploader() -> None:
    transport = _ClosableTransport(lambda request: httpx.Response(200))
    with pingsdk.PingClient(
        "https://incoming.example.com", queue_path=":memory:", transport=transport
    ) as client:
        assert client.send_now(SearchCounts(engine="x", count=1)).status == 200
        assert not transport.closed
        client.submit(SearchCounts(engine="y", count=2))
        assert client.flush(timeout=5.0)
    assert transport.closed  # the uploader closes it when the client closes
