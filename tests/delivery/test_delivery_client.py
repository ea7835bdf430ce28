"""Client behaviour: refused input, the upload switch, eviction, rate limit, logging, settings."""

from __future__ import annotations

import base64
import logging
import os
import time
from pathlib import Path

import httpx
import pytest

import pingsdk
from pingsdk._queue import PingQueue
from pingsdk.edge import EdgeServer
from tests.delivery.pings import APP, Blob, DeletionRequest, Expired, LegacyCrash, SearchCounts


def recorder() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    return httpx.MockTransport(handler), seen


def pending(path: Path) -> int:
    queue = PingQueue(path)
    try:
        return queue.stats().pending
    finally:
        queue.close()


def test_expired_ping_refused_nothing_stored(queue_path: Path) -> None:
    transport, seen = recorder()
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=queue_path, transport=transport
    ) as c:
        with pytest.raises(pingsdk.PingExpiredError, match="2020-01-01"):
            c.submit(Expired(n=1))
        assert c.stats().submitted == 0
    assert pending(queue_path) == 0 and seen == []


def test_size_limits_refused_before_queueing(queue_path: Path) -> None:
    transport, seen = recorder()
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=queue_path, transport=transport
    ) as c:
        # Random-ish text does not compress: over 1 MB on the wire.
        noisy = base64.b64encode(os.urandom(2_000_000)).decode()
        with pytest.raises(pingsdk.PayloadTooLargeError) as info:
            c.submit(Blob(text=noisy))
        assert info.value.kind == "compressed" and info.value.limit == 1_048_576
        assert noisy[:32] not in str(info.value)  # never payload contents in messages
        with pytest.raises(pingsdk.PayloadTooLargeError) as info:
            c.submit(Blob(text="a" * (8 * 1024 * 1024)))
        assert info.value.kind == "json"
        c.submit(Blob(text="a" * 2_000_000))  # compresses well below 1 MB: accepted
        assert c.flush(5.0)
        assert c.stats().submitted == 1
    assert len(seen) == 1


def test_not_a_ping_and_legacy_without_app() -> None:
    with pingsdk.PingClient("https://e.example.com", queue_path=":memory:") as c:
        with pytest.raises(pingsdk.ConfigurationError, match="Ping instance"):
            c.submit({"engine": "x"})  # type: ignore[arg-type]
        with pytest.raises(pingsdk.ConfigurationError, match="app="):
            c.submit(LegacyCrash(reason="x"))


def test_upload_disabled_purges_refuses_and_sends_only_deletion_request(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(pingsdk.edge.FaultPlan(rate=1.0, kinds=("503",), retry_after=0))
    client = pingsdk.PingClient(
        delivery_edge.url,
        queue_path=queue_path,
        retry=pingsdk.RetryPolicy(initial_delay=0.5, max_delay=0.5),
    )
    try:
        for i in range(5):
            client.submit(SearchCounts(engine="x", count=i))
        delivery_edge.set_faults(None)
        client.set_upload_enabled(False, deletion_request=DeletionRequest(client_id="abc"))
        assert client.upload_enabled is False
        with pytest.raises(pingsdk.UploadDisabledError):
            client.submit(SearchCounts(engine="late", count=1))
        assert client.flush(5.0)
        stats = client.stats()
        assert stats.dropped["upload_disabled"] >= 1 and stats.pending == 0
        assert [p.doctype for p in delivery_edge.accepted()] == ["deletion-request"]
        client.upload_enabled = True
        client.submit(SearchCounts(engine="again", count=1))
        assert client.flush(5.0)
        assert [p.payload for p in delivery_edge.accepted()][-1] == {"engine": "again", "count": 1}
    finally:
        client.close()


def test_constructed_disabled_purges_what_an_earlier_run_left(queue_path: Path) -> None:
    transport, seen = recorder()
    queue = PingQueue(queue_path)
    from pingsdk._delivery._config import build_config
    from pingsdk._delivery._prepare import prepare_ping

    queue.put(
        prepare_ping(
            SearchCounts(engine="x", count=1),
            build_config("https://e.example.com"),
            upload_enabled=True,
        )
    )
    queue.close()
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=queue_path, transport=transport, upload_enabled=False
    ) as c:
        assert c.stats().pending == 0 and c.stats().dropped == {"upload_disabled": 1}
        assert c.flush(1.0)
    assert seen == []


def test_full_queue_evicts_oldest_counted_and_logged(
    caplog: pytest.LogCaptureFixture, queue_path: Path
) -> None:
    transport, seen = recorder()
    black = httpx.MockTransport(lambda r: httpx.Response(503))
    with pingsdk.PingClient(
        "https://e.example.com",
        queue_path=queue_path,
        transport=black,
        max_queue_count=3,
        retry=pingsdk.RetryPolicy(initial_delay=60, max_delay=60),
    ) as c:
        ids = [c.submit(SearchCounts(engine="x", count=i)) for i in range(5)]
        stats = c.stats()
    assert stats.evicted == 2 and stats.pending == 3
    assert any(r.levelno == logging.ERROR and "evicted" in r.getMessage() for r in caplog.records)
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=queue_path, transport=transport
    ) as c:
        # Pings deferred by the 503 are not due yet; nothing else to send.
        assert c.stats().pending == 3
    del ids, seen


def test_rate_limit_spaces_requests() -> None:
    transport, seen = recorder()
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=":memory:", transport=transport, rate_limit=(5, 0.5)
    ) as c:
        for i in range(15):
            c.submit(SearchCounts(engine="x", count=i))
        start = time.monotonic()
        assert c.flush(5.0)
        elapsed = time.monotonic() - start
    assert len(seen) == 15
    # 5 at once, then 10 more at 10/s: about 1 s.
    assert 0.8 <= elapsed < 3.0


def test_logging_levels_and_payload_privacy(caplog: pytest.LogCaptureFixture) -> None:
    transport, _ = recorder()
    caplog.set_level(logging.DEBUG, logger="pingsdk")
    secret = "engine-secret-value"
    with pingsdk.PingClient(
        "https://e.example.com",
        queue_path=":memory:",
        transport=transport,
        headers={"Authorization": "Bearer tok123"},
    ) as c:
        c.submit(SearchCounts(engine=secret, count=1))
        assert c.flush(5.0)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in text and "tok123" not in text
    assert any(
        r.levelno == logging.DEBUG and "POST /submit/" in r.getMessage() for r in caplog.records
    )
    caplog.clear()
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=":memory:", transport=transport, log_pings=True
    ) as c:
        c.submit(SearchCounts(engine=secret, count=1))
        assert c.flush(5.0)
    shown = [r for r in caplog.records if secret in r.getMessage()]
    assert shown and all(r.levelno == logging.DEBUG for r in shown)


def test_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    failing = httpx.MockTransport(lambda r: httpx.Response(500))
    with pingsdk.PingClient(
        "https://e.example.com",
        queue_path=":memory:",
        transport=failing,
        retry=pingsdk.RetryPolicy.no_wait(max_attempts=4),
    ) as c:
        for i in range(20):
            c.submit(SearchCounts(engine="x", count=i))
        assert c.flush(5.0)
        assert c.stats().dropped == {"max_attempts": 20} and c.stats().retried == 60
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 4  # one per event kind per interval, not 80


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"timeout": -1}, "timeout"),
        ({"debug_id": "bad id!"}, "X-Debug-ID|debug"),
        ({"source_tags": "automation"}, "source_tags"),
        ({"headers": {"X-Forwarded-For": "1.2.3.4"}}, "X-Forwarded-For"),
        ({"headers": {"X-Ok": "line\r\nbreak"}}, "X-Ok"),
        ({"rate_limit": 5}, "rate_limit"),
        ({"durability": "disk"}, "durability"),
        ({"retry": {"initial_delay": 1}}, "RetryPolicy"),
        ({"app": ("a", "b")}, "AppInfo"),
    ],
)
def test_bad_settings_are_typed_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(pingsdk.ConfigurationError, match=match):
        pingsdk.PingClient("https://e.example.com", queue_path=":memory:", **kwargs)  # type: ignore[arg-type]


def test_submit_after_close_and_idempotent_close() -> None:
    c = pingsdk.PingClient("https://e.example.com", queue_path=":memory:")
    c.close()
    c.close()
    assert c.flush(0.1) is False
    with pytest.raises(RuntimeError, match="closed"):
        c.submit(SearchCounts(engine="x", count=1))


def test_pending_pings_from_earlier_run_start_uploader_without_submit(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    black = httpx.MockTransport(lambda r: httpx.Response(503))
    with pingsdk.PingClient(
        delivery_edge.url,  # pings are only ever sent to the endpoint they were submitted for
        queue_path=queue_path,
        transport=black,
        retry=pingsdk.RetryPolicy.no_wait(max_attempts=None),
    ) as c:
        ids = {c.submit(SearchCounts(engine="x", count=i)) for i in range(3)}
        c.close(0.1)
    client = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, app=APP)
    try:
        assert delivery_edge.wait_for(3, timeout=5.0)  # no submit(), no flush(): started by itself
        assert {p.doc_id for p in delivery_edge.accepted()} == ids
    finally:
        client.close()


def test_sent_pings_are_acked_a_batch_per_transaction(
    delivery_edge: EdgeServer, queue_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write per round of requests, not one per ping: a sender in another process then
    rarely holds the file's write lock when submit() wants it."""
    batches: list[int] = []
    ack_many = PingQueue.ack_many

    def counting(self: PingQueue, doc_ids: object, *, timeout: float | None = None) -> int:
        ids = list(doc_ids)  # type: ignore[call-overload]
        batches.append(len(ids))
        return ack_many(self, ids, timeout=timeout)

    monkeypatch.setattr(PingQueue, "ack_many", counting)
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, max_in_flight=16) as client:
        ids = [client.submit(SearchCounts(engine="batch", count=i)) for i in range(200)]
        assert client.flush(timeout=30.0)
        assert client.stats().pending == 0
    assert sum(batches) == 200
    assert len(batches) <= 200 // 3, batches  # one ack per ping before
    assert {p.doc_id for p in delivery_edge.accepted()} == set(ids)
