"""Issue 8, signals that lie: flush() and close() say True only when nothing is pending, the
endpoint is checked and never leaks a secret, refusals are explained, deletion requests
survive a purge, and each ping only goes to the endpoint it was submitted for."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

import pingsdk
from pingsdk.edge import EdgeServer, FaultPlan
from tests.delivery.pings import DeletionRequest, SearchCounts
from tests.delivery.servers import scripted_server

SLOW = pingsdk.RetryPolicy(initial_delay=60, max_delay=60)


def test_flush_is_false_while_the_edge_is_down(tmp_path: Path) -> None:
    # It returned True in 3 ms with the ping still queued ("not due yet").
    refused = "http://127.0.0.1:9"  # nothing listens on the discard port
    client = pingsdk.PingClient(refused, queue_path=tmp_path / "q.db", retry=SLOW)
    try:
        client.submit(SearchCounts(engine="x", count=1))
        assert client.flush(1.0) is False
        assert client.stats().pending == 1
    finally:
        assert client.close(0.5) is False


def test_flush_overrides_the_backoff_and_close_reports_the_truth(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
    client = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, retry=SLOW)
    try:
        doc_id = client.submit(SearchCounts(engine="x", count=1))
        deadline = time.monotonic() + 5
        while client.stats().retried < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        delivery_edge.set_faults(None)
        # The retry is a minute away; a flush tries it now and only then says True.
        assert client.flush(5.0)
        assert client.stats().pending == 0
        assert [p.doc_id for p in delivery_edge.accepted()] == [doc_id]
    finally:
        assert client.close(1.0) is True


def test_flush_honours_a_pause_the_server_asked_for(tmp_path: Path) -> None:
    answer = (503, {"Retry-After": "30"}, b"")
    with scripted_server(lambda path: answer) as (url, seen):
        client = pingsdk.PingClient(url, queue_path=tmp_path / "q.db", retry=SLOW)
        try:
            client.submit(SearchCounts(engine="x", count=1))
            deadline = time.monotonic() + 5
            while client.stats().retried < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert client.flush(2.0) is False  # held by the server for 30 s: not sent again
            assert len(seen.paths()) == 1
        finally:
            client.close(0.5)


@pytest.mark.anyio
async def test_async_flush_and_close_tell_the_truth(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
    client = pingsdk.AsyncPingClient(delivery_edge.url, queue_path=queue_path, retry=SLOW)
    await client.submit(SearchCounts(engine="x", count=1))
    assert await client.flush(0.5) is False
    delivery_edge.set_faults(None)
    assert await client.flush(5.0)
    await client.submit(SearchCounts(engine="y", count=2))
    assert await client.close(5.0) is True
    assert len(delivery_edge.accepted()) == 2


def test_store_only_flush_waits_until_nothing_is_pending(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    app = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader=False)
    try:
        app.submit(SearchCounts(engine="x", count=1))
        assert app.flush(0.3) is False
        with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as sender:
            assert sender.flush(5.0)
        assert app.flush(1.0) is True
    finally:
        assert app.close(0.5) is True


@pytest.mark.parametrize(
    ("endpoint", "right"),
    [
        ("https://incoming.example.com/submit", "'https://incoming.example.com'"),
        ("https://incoming.example.com/submit/", "'https://incoming.example.com'"),
        ("https://example.com/edge/submit/telemetry", "'https://example.com/edge'"),
        ("https://example.com/SUBMIT", "'https://example.com'"),
    ],
)
def test_an_endpoint_with_a_submit_segment_is_refused(endpoint: str, right: str) -> None:
    # Accepted before, and every ping then 404ed at /submit/submit/... and was dropped.
    with pytest.raises(pingsdk.ConfigurationError, match="must not contain the /submit path") as e:
        pingsdk.PingClient(endpoint, queue_path=":memory:")
    assert right in str(e.value)


def test_an_endpoint_error_never_repeats_a_query_secret() -> None:
    for endpoint in ("https://e.example.com/p?token=s3cret", "https://[bad/p?token=s3cret"):
        with pytest.raises(pingsdk.ConfigurationError) as e:
            pingsdk.PingClient(endpoint, queue_path=":memory:")
        assert "s3cret" not in str(e.value)


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_queue_path_is_a_configuration_error(empty: str) -> None:
    # It raised a bare ValueError from deep inside the queue.
    with pytest.raises(pingsdk.ConfigurationError, match="queue_path is empty"):
        pingsdk.PingClient("https://e.example.com", queue_path=empty)


def test_a_pending_deletion_request_survives_the_next_runs_purge_and_is_sent(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
    first = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, retry=SLOW)
    first.submit(SearchCounts(engine="x", count=1))
    first.set_upload_enabled(False, deletion_request=DeletionRequest(client_id="abc"))
    deadline = time.monotonic() + 5
    while first.stats().retried < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.close(0.0)  # the deletion request is still queued
    delivery_edge.set_faults(None)
    # The next run starts with upload off: the purge keeps the deletion request, which goes out.
    second = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, upload_enabled=False)
    try:
        assert second.flush(5.0)
        assert [p.doctype for p in delivery_edge.accepted()] == ["deletion-request"]
        assert "upload_disabled" not in second.stats().dropped
    finally:
        second.close(1.0)


def test_a_refusal_is_explained_in_the_report_and_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"error": "field count: -1 is less than 0"}\r\nInjected: \x1b[2J' + b"x" * 3000
    dropped: list[pingsdk.DeliveryReport] = []
    with (
        scripted_server(lambda path: (400, {}, body)) as (url, _),
        pingsdk.PingClient(url, queue_path=":memory:", on_dropped=dropped.append) as client,
    ):
        client.submit(SearchCounts(engine="x", count=1))
        assert client.flush(5.0)
    [report] = dropped
    assert report.status == 400 and report.detail is not None
    assert report.detail.startswith('{"error": "field count: -1 is less than 0"} Injected:')
    assert "\x1b" not in report.detail and "\n" not in report.detail
    assert len(report.detail.encode()) <= 1024
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "field count: -1 is less than 0" in line and "\n" not in line


def test_two_applications_on_one_queue_each_reach_only_their_own_edge(
    delivery_schema_tree: Path, queue_path: Path
) -> None:
    with (
        EdgeServer(schemas=delivery_schema_tree) as edge_a,
        EdgeServer(schemas=delivery_schema_tree) as edge_b,
    ):
        app_a = pingsdk.PingClient(edge_a.url, queue_path=queue_path, uploader=False)
        ids_a = {app_a.submit(SearchCounts(engine="a", count=i)) for i in range(5)}
        app_a.close(0.0)
        with pingsdk.PingClient(edge_b.url, queue_path=queue_path) as app_b:
            ids_b = {app_b.submit(SearchCounts(engine="b", count=i)) for i in range(5)}
            assert app_b.flush(5.0)
        assert {p.doc_id for p in edge_b.accepted()} == ids_b
        assert edge_a.accepted() == []
        with pingsdk.PingClient(edge_a.url, queue_path=queue_path) as again_a:
            assert again_a.flush(5.0)
        assert {p.doc_id for p in edge_a.accepted()} == ids_a


@pytest.mark.anyio
async def test_async_close_sends_a_deletion_request_left_by_an_earlier_run(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
    first = pingsdk.AsyncPingClient(delivery_edge.url, queue_path=queue_path, retry=SLOW)
    await first.set_upload_enabled(False, deletion_request=DeletionRequest(client_id="abc"))
    assert await first.flush(0.5) is False  # refused with 500: still queued
    assert await first.close(0.0) is False
    delivery_edge.set_faults(None)
    second = pingsdk.AsyncPingClient(delivery_edge.url, queue_path=queue_path, upload_enabled=False)
    assert await second.close(5.0) is True  # never submitted nor flushed: close sends it
    assert [p.doctype for p in delivery_edge.accepted()] == ["deletion-request"]
