"""Outcome -> action: ack, retry with backoff (persisted), drop with report. Decision logic."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import pingsdk
from pingsdk._queue import PingQueue
from pingsdk.edge import EdgeServer
from tests.delivery.pings import SearchCounts


def scripted(
    answers: list[int | Exception | Callable[[], httpx.Response]],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering from ``answers`` in order, then 200 forever."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0) if answers else 200
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer()
        return httpx.Response(answer)

    return httpx.MockTransport(handler), seen


def make(transport: httpx.MockTransport, **kw: object) -> pingsdk.PingClient:
    kw.setdefault("retry", pingsdk.RetryPolicy.no_wait(max_attempts=None))
    kw.setdefault("queue_path", ":memory:")
    return pingsdk.PingClient("https://edge.example.com", transport=transport, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_done(status: int) -> None:
    transport, seen = scripted([status])
    sent: list[pingsdk.DeliveryReport] = []
    with make(transport, on_sent=sent.append) as client:
        doc_id = client.submit(SearchCounts(engine="a", count=1))
        assert client.flush(5.0)
        stats = client.stats()
    assert len(seen) == 1 and stats.sent == 1 and stats.pending == 0
    assert [(r.doc_id, r.status, r.reason, r.attempts) for r in sent] == [(doc_id, status, "ok", 1)]


@pytest.mark.parametrize("status", [400, 404, 405, 411, 413, 414, 431])
def test_4xx_is_dropped_once_and_reported(status: int, caplog: pytest.LogCaptureFixture) -> None:
    transport, seen = scripted([status])
    dropped: list[pingsdk.DeliveryReport] = []
    with make(transport, on_dropped=dropped.append) as client:
        doc_id = client.submit(SearchCounts(engine="a", count=1))
        assert client.flush(5.0)
        stats = client.stats()
    assert len(seen) == 1, "a 4xx is never resent"
    assert dict(stats.dropped) == {f"http_{status}": 1} and stats.sent == 0 and stats.pending == 0
    (report,) = dropped
    assert (report.doc_id, report.status, report.reason) == (doc_id, status, f"http_{status}")
    assert report.path.endswith(doc_id) and report.doctype == "search-counts"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(doc_id in r.getMessage() and f"http_{status}" in r.getMessage() for r in warnings)


@pytest.mark.parametrize(
    "failure",
    [
        408,
        429,
        500,
        502,
        503,
        504,
        507,
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
        RuntimeError("our own bug"),
    ],
    ids=str,
)
def test_retryable_outcomes_are_retried_until_sent(failure: int | Exception) -> None:
    transport, seen = scripted([failure, failure])
    with make(transport) as client:
        client.submit(SearchCounts(engine="a", count=1))
        assert client.flush(5.0)
        stats = client.stats()
    assert len(seen) == 3 and stats.retried == 2 and stats.sent == 1
    assert len({(str(r.url), r.content) for r in seen}) == 1


def test_retry_after_is_honoured_and_persisted(tmp_path: Path) -> None:
    transport, seen = scripted([lambda: httpx.Response(429, headers={"Retry-After": "30"})])
    policy = pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.01, max_retry_after=3600)
    path = tmp_path / "q.db"
    client = make(transport, retry=policy, queue_path=path)
    client.submit(SearchCounts(engine="a", count=1))
    before = time.time()
    # The server asked for 30 s: even a flush waits for that, so it reports the ping as left.
    assert client.flush(1.0) is False
    assert client.close(1.0) is False
    assert len(seen) == 1
    queue = PingQueue(path)
    try:
        due = queue.next_due()
        assert due is not None and 29 <= due - before <= 32
        assert queue.stats().pending == 1
    finally:
        queue.close()


def test_backoff_schedule_is_persisted_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    transport, seen = scripted([503])
    policy = pingsdk.RetryPolicy(initial_delay=1.0, max_delay=1.0, jitter=False)
    client = make(transport, retry=policy, queue_path=path)
    client.submit(SearchCounts(engine="a", count=1))
    # Keeping the backoff, the retry is 1 s away: not due before this deadline, so not sent.
    assert client.flush(0.2, now=False) is False
    assert client.close(0.0) is False  # no time to flush
    assert len(seen) == 1
    # A new client on the same file waits for the stored schedule, then sends attempt 2.
    transport2, seen2 = scripted([])
    sent: list[pingsdk.DeliveryReport] = []
    with make(transport2, retry=policy, queue_path=path, on_sent=sent.append) as client2:
        started = time.time()
        assert client2.flush(3.0, now=False)
        assert time.time() - started >= 0.5  # it waited for the stored schedule
    assert len(seen2) == 1 and sent[0].attempts == 2


def test_max_attempts_drops_and_counts() -> None:
    transport, seen = scripted([500, 500, 500, 500])
    dropped: list[pingsdk.DeliveryReport] = []
    with make(
        transport, retry=pingsdk.RetryPolicy.no_wait(max_attempts=3), on_dropped=dropped.append
    ) as client:
        client.submit(SearchCounts(engine="a", count=1))
        assert client.flush(5.0)
        stats = client.stats()
    assert len(seen) == 3
    assert dict(stats.dropped) == {"max_attempts": 1} and stats.retried == 2
    assert dropped[0].reason == "max_attempts" and dropped[0].status == 500


def test_max_age_drops_without_sending(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    transport, seen = scripted([])
    # An old ping left by an earlier run (stored directly, backdated).
    from pingsdk._delivery._config import build_config
    from pingsdk._delivery._prepare import prepare_ping

    row = prepare_ping(
        SearchCounts(engine="a", count=1),
        build_config("https://edge.example.com"),
        upload_enabled=True,
        now=time.time() - 10,
    )
    queue = PingQueue(path)
    queue.put(row)
    queue.close()
    with make(transport, queue_path=path, retry=pingsdk.RetryPolicy(max_age=5.0)) as client:
        assert client.flush(3.0)
        stats = client.stats()
    assert seen == [] and dict(stats.dropped) == {"max_age": 1}


def test_callback_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    transport, _ = scripted([])

    def boom(report: pingsdk.DeliveryReport) -> None:
        raise ValueError("callback bug")

    with make(transport, on_sent=boom) as client:
        client.submit(SearchCounts(engine="a", count=1))
        assert client.flush(5.0)
        assert client.stats().sent == 1
    assert any("callback" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_4xx_from_real_edge_dropped_and_reported(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    dropped: list[pingsdk.DeliveryReport] = []
    delivery_edge.script(["404", "200"])
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, on_dropped=dropped.append, max_in_flight=1
    ) as client:
        first = client.submit(SearchCounts(engine="a", count=1))
        second = client.submit(SearchCounts(engine="b", count=2))
        assert client.flush(5.0)
        stats = client.stats()
    assert [r.doc_id for r in dropped] == [first] and dropped[0].status == 404
    assert dict(stats.dropped) == {"http_404": 1} and stats.sent == 1
    assert [p.doc_id for p in delivery_edge.accepted()] == [second]


def test_an_outcome_the_queue_could_not_record_is_released_not_stranded(tmp_path: Path) -> None:
    # The edge answers 503, and writing the retry schedule fails (a full disk): the row must
    # not stay leased to this client until the lease expires, neither while it runs nor after.
    path = tmp_path / "q.db"
    transport, seen = scripted([503] * 1000)
    policy = pingsdk.RetryPolicy(initial_delay=0.05, max_delay=0.05)
    client = make(transport, queue_path=path, retry=policy)
    failures: list[str] = []

    def failing_defer(doc_id: str, **kwargs: float | int) -> bool:
        failures.append(doc_id)
        raise pingsdk.QueueFullError("disk full (simulated)")

    client._engine.queue.defer = failing_defer  # type: ignore[method-assign]
    doc_id = client.submit(SearchCounts(engine="a", count=1))
    deadline = time.monotonic() + 5
    while len(failures) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    client.close(2.0)
    # Released while running (so it was tried again), and released again on close.
    assert failures[:2] == [doc_id, doc_id]
    assert {request.url.path for request in seen} == {
        f"/submit/delivery-test/search-counts/1/{doc_id}"
    }
    with PingQueue(path) as other:
        assert [row.doc_id for row in other.claim(5)] == [doc_id]  # claimable at once
