"""A real EdgeServer on 127.0.0.1 receives every ping exactly as the contract says."""

from __future__ import annotations

import email.utils
import gzip
import re
import time
from pathlib import Path

import httpx
import jsonschema
import pytest

import pingsdk
from pingsdk.edge import EdgeServer
from tests.delivery.pings import APP, LegacyCrash, SearchCounts

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
DATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$"
)


def test_every_ping_arrives_valid_with_url_and_headers(
    delivery_edge: EdgeServer, queue_path: Path, fast_retry: pingsdk.RetryPolicy
) -> None:
    with pingsdk.PingClient(
        delivery_edge.url,
        queue_path=queue_path,
        retry=fast_retry,
        debug_id="my-debug-1",
        source_tags=("automation", "ci"),
        headers={"X-Custom": "yes"},
        app=APP,
    ) as client:
        ids = [client.submit(SearchCounts(engine=f"e{i}", count=i)) for i in range(20)]
        legacy_id = client.submit(LegacyCrash(reason="oom"))
        assert client.flush(timeout=10.0)
        stats = client.stats()
    assert stats.sent == 21 and stats.submitted == 21 and stats.pending == 0
    got = {p.doc_id: p for p in delivery_edge.received()}
    assert set(got) == {*ids, legacy_id}
    assert all(p.status == 200 and p.valid for p in got.values()), [p.errors for p in got.values()]

    schema = pingsdk.schema.export_schema(SearchCounts)
    for i, doc_id in enumerate(ids):
        ping = got[doc_id]
        jsonschema.validate(ping.payload, schema)
        assert ping.payload == {"engine": f"e{i}", "count": i}
        assert ping.method == "POST"
        assert re.fullmatch(rf"/submit/delivery-test/search-counts/1/{UUID}", ping.path)
        assert ping.path.endswith(doc_id) and ping.query == ""
        headers = {k.lower(): v for k, v in ping.headers.items()}
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert headers["content-encoding"] == "gzip"
        assert int(headers["content-length"]) == ping.wire_size
        assert DATE.match(headers["date"]), headers["date"]
        sent_at = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
        assert abs(sent_at - time.time()) < 120
        assert re.fullmatch(
            r"pingsdk/[\w.+-]+ \(Python 3\.\d+ on \w+\)", headers["x-telemetry-agent"]
        )
        assert headers["user-agent"] == headers["x-telemetry-agent"]
        assert headers["x-debug-id"] == "my-debug-1"
        assert headers["x-source-tags"] == "automation,ci"
    legacy = got[legacy_id]
    assert (
        legacy.path == f"/submit/telemetry/{legacy_id}/crash/Firefox/130.0/release/20240101000000"
    )
    assert legacy.query == "v=4"


def test_extra_headers_reach_the_edge() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with pingsdk.PingClient(
        "https://incoming.example.com/prefix",
        queue_path=":memory:",
        headers={"X-Custom": "yes", "user-agent": "myapp/2.0"},
        compress=False,
        transport=httpx.MockTransport(handler),
    ) as client:
        doc_id = client.submit(SearchCounts(engine="a", count=1))
        assert client.flush(5.0)
    (request,) = seen
    assert (
        str(request.url)
        == f"https://incoming.example.com/prefix/submit/delivery-test/search-counts/1/{doc_id}"
    )
    assert request.headers["x-custom"] == "yes"
    assert request.headers.get_list("user-agent") == ["myapp/2.0"]  # the user's, only once
    assert "content-encoding" not in request.headers
    assert request.content == b'{"engine":"a","count":1}'
    assert request.headers["content-length"] == str(len(request.content))


def test_retry_resends_identical_url_and_body(
    delivery_edge: EdgeServer, queue_path: Path, fast_retry: pingsdk.RetryPolicy
) -> None:
    """Record what goes on the wire (real sockets) while the edge fails three times."""
    wire: list[tuple[str, bytes, str]] = []

    class Recording(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            wire.append((str(request.url), request.content, request.headers["date"]))
            return await super().handle_async_request(request)

    delivery_edge.script(["500", "reset", ("429", 0), "503"])
    with pingsdk.PingClient(
        delivery_edge.url,
        queue_path=queue_path,
        retry=fast_retry,
        transport=Recording(),
        max_in_flight=1,
    ) as client:
        doc_id = client.submit(SearchCounts(engine="ddg", count=3))
        assert client.flush(timeout=10.0)
        stats = client.stats()
    assert len(wire) == 5
    assert {url for url, _, _ in wire} == {
        f"{delivery_edge.url}/submit/delivery-test/search-counts/1/{doc_id}"
    }
    assert len({body for _, body, _ in wire}) == 1  # byte-identical gzip every time
    assert gzip.decompress(wire[0][1]) == b'{"engine":"ddg","count":3}'
    assert stats.retried == 4 and stats.sent == 1
    assert [p.doc_id for p in delivery_edge.accepted()] == [doc_id]


def test_https_required_except_loopback() -> None:
    with pytest.raises(pingsdk.ConfigurationError, match="https"):
        pingsdk.PingClient("http://incoming.example.com", queue_path=":memory:")
    client = pingsdk.PingClient(
        "http://incoming.example.com", queue_path=":memory:", allow_insecure=True
    )
    client.close()
    with pytest.raises(pingsdk.ConfigurationError, match="allow_insecure"):
        pingsdk.PingClient("https://x.example.com", queue_path=":memory:", verify=False)
