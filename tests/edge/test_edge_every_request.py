"""Every request gets an answer and a record: huge numbers, ambiguous framing, refusals.

Only submit paths are pings; refused and unknown requests keep their payload and reason.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import httpx
import pytest

from pingsdk.edge import EdgeServer
from tests.edge.support import doc_id, exchange

GOOD = {"name": "start", "count": 1}
HUGE = "9" * 5000  # over Python's 4,300-digit limit for int()


def url(edge: EdgeServer, dt: str = "app-event", version: str = "1") -> str:
    return f"{edge.url}/submit/my-app/{dt}/{version}/{doc_id()}"


def legacy(edge: EdgeServer, doctype: str = "thing") -> str:
    return f"{edge.url}/submit/telemetry/{doc_id()}/{doctype}/Firefox/120.0/release/2024?v=4"


def raw(edge: EdgeServer, data: bytes) -> bytes:
    return exchange(edge.port, data, until_headers=True)


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_integer_over_4300_digits_is_answered_and_recorded(
    schema_tree: Path, client: httpx.Client, strict: bool
) -> None:
    body = ('{"name": "x", "count": ' + HUGE + "}").encode()
    with EdgeServer(schemas=schema_tree, strict=strict) as edge:
        r = client.post(url(edge), content=body)
        assert r.status_code == (400 if strict else 200)
        [ping] = edge.received()
    assert ping.verdict == "decode error"
    assert ping.decode_error is not None and "integer over 4300 digits" in ping.decode_error
    assert ping.payload is None
    assert ping.excerpt is not None and ping.excerpt.startswith(b'{"name": "x"')


def test_version_over_2_63_in_the_url_is_answered_and_recorded(
    edge: EdgeServer, client: httpx.Client
) -> None:
    for version in (str(2**63), "9" * 40):
        r = client.post(url(edge, version=version), json=GOOD)
        assert r.status_code == 404
        assert "positive integer up to 9223372036854775807" in r.text
    assert client.post(url(edge, version=str(2**63 - 1)), json=GOOD).status_code == 200
    first, second, largest = edge.received()
    assert (first.status, second.status) == (404, 404)
    assert first.reason is not None and "up to 9223372036854775807" in first.reason
    assert first.payload == GOOD  # a refused request keeps its payload
    assert largest.version == 2**63 - 1 and largest.verdict == "unknown doctype"


@pytest.mark.parametrize("with_schemas", [True, False], ids=["schemas", "no-schemas"])
def test_legacy_payload_with_huge_version_is_answered_and_recorded(
    schema_tree: Path, client: httpx.Client, with_schemas: bool
) -> None:
    with EdgeServer(schemas=schema_tree if with_schemas else None, strict=True) as edge:
        for version in (2**63, 2**200):
            r = client.post(legacy(edge), json={"version": version, "payload": {}})
            assert r.status_code == 400
            assert "below 2^63" in r.json()["decode_error"]
        huge = ('{"version": ' + HUGE + ', "payload": {}}').encode()
        assert client.post(legacy(edge), content=huge).status_code == 400
        pings = edge.received()
    assert [p.status for p in pings] == [400, 400, 400]
    assert all(p.version is None and p.verdict == "decode error" for p in pings)


def test_conflicting_content_lengths_are_refused(edge: EdgeServer) -> None:
    body = json.dumps(GOOD).encode()
    target = f"/submit/my-app/app-event/1/{doc_id()}"
    head = f"POST {target} HTTP/1.1\r\nHost: x\r\n"
    conflicting = head + f"Content-Length: {len(body)}\r\nContent-Length: 3\r\n\r\n"
    assert raw(edge, conflicting.encode() + body).startswith(b"HTTP/1.1 400")
    listed = head + f"Content-Length: {len(body)}, 3\r\n\r\n"
    assert raw(edge, listed.encode() + body).startswith(b"HTTP/1.1 400")
    # The same value twice is not ambiguous (RFC 9112, 6.3).
    same = head + f"Content-Length: {len(body)}\r\nContent-Length: {len(body)}\r\n\r\n"
    assert raw(edge, same.encode() + body).startswith(b"HTTP/1.1 200")
    statuses = [(p.status, p.reason) for p in edge.received()]
    assert statuses == [
        (400, "conflicting Content-Length headers"),
        (400, "conflicting Content-Length headers"),
        (200, None),
    ]


def test_content_length_with_chunked_encoding_is_refused_and_closed(edge: EdgeServer) -> None:
    body = json.dumps(GOOD).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    smuggled = (
        f"POST /submit/my-app/app-event/1/{doc_id()} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(chunked)}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunked
    answer = exchange(edge.port, smuggled)  # read until the server closes
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Connection: close" in answer
    assert answer.count(b"HTTP/1.1") == 1
    [ping] = edge.received()
    assert (ping.status, ping.reason) == (400, "Content-Length together with Transfer-Encoding")


def test_db_file_is_owner_only(tmp_path: Path, client: httpx.Client) -> None:
    db = tmp_path / "edge.db"
    with EdgeServer(db=db) as edge:
        assert client.post(url(edge), json=GOOD).status_code == 200
        modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.iterdir()}
    assert modes["edge.db"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes  # -wal and -shm too


def test_browser_requests_are_not_pings(edge: EdgeServer, client: httpx.Client) -> None:
    assert client.get(edge.url + "/").status_code == 200
    for path in ("/favicon.ico", "/robots.txt", "/apple-touch-icon.png"):
        assert client.get(edge.url + path).status_code == 404
    assert client.post(edge.url + "/", json=GOOD).status_code == 404
    assert client.post(url(edge), json=GOOD).status_code == 200
    assert [p.path.split("/")[1] for p in edge.received()] == ["submit"]
    report = edge.monitor()
    assert (report["received"], report["statuses"], report["unrouted"]) == (1, {"200": 1}, {})
    assert "None/None/None" not in client.get(edge.url + "/").text


def test_refused_requests_keep_payload_and_reason_in_viewer_and_monitor(
    edge: EdgeServer, client: httpx.Client
) -> None:
    too_many = f"{edge.url}/submit/my-app/app-event/1/{doc_id()}/extra"
    assert client.post(too_many, json={"marker": "kept-404"}).status_code == 404
    long_query = url(edge) + "?q=" + "x" * 1100
    assert client.post(long_query, json={"marker": "kept-431"}).status_code == 431
    assert client.post(url(edge, dt="nope"), json={"marker": "kept-unknown"}).status_code == 200
    big = {"marker": "excerpt", "filler": "y" * 100_000}
    assert client.post(too_many, json=big).status_code == 404
    refused_404, refused_431, unknown, excerpted = edge.received()
    assert refused_404.payload == {"marker": "kept-404"}
    assert refused_404.reason == "submit path needs 4 elements, got 5"
    assert refused_431.payload == {"marker": "kept-431"}
    assert refused_431.reason == "query over 1024 bytes"
    assert unknown.payload == {"marker": "kept-unknown"}
    assert (unknown.verdict, unknown.reason) == ("unknown doctype", "no schema my-app/nope")
    # Bounded: a large refused body keeps its first 16 KiB only.
    assert excerpted.payload is None
    assert excerpted.excerpt is not None and len(excerpted.excerpt) == 16 * 1024
    assert excerpted.excerpt.startswith(b'{"marker":"excerpt"')
    page = client.get(edge.url + "/").text
    for text in ("kept-404", "kept-431", "kept-unknown", "submit path needs 4 elements, got 5"):
        assert text in page
    assert "unknown doctype" in page and "query over 1024 bytes" in page
    reasons = {(r["status"], r["reason"]): r["count"] for r in edge.monitor()["reasons"]}
    assert reasons == {
        (404, "submit path needs 4 elements, got 5"): 2,
        (431, "query over 1024 bytes"): 1,
        (200, "no schema my-app/nope"): 1,
    }


def test_strict_refusal_says_which_errors_in_its_first_kilobyte(
    strict_edge: EdgeServer, client: httpx.Client
) -> None:
    r = client.post(url(strict_edge), json={"name": 3, "count": -1, "extra": "x" * 5000})
    assert r.status_code == 400
    head = r.content[:1024].decode("utf-8", errors="replace")
    assert head.startswith('{"status":400,"message":"3 schema errors against my-app/app-event')
    for fragment in ("$.count: -1 is less than the minimum of 0", "$.name: 3 is not of type"):
        assert fragment in head
    document = r.json()
    assert document["error_count"] == 3
    assert len(document["message"]) < 1000
    assert [e["keyword"] for e in document["errors"]] == ["additionalProperties", "minimum", "type"]
    decode = client.post(url(strict_edge), content=b"{nope")
    assert decode.json()["message"].startswith("decode error: body is not JSON")


def test_an_edge_bug_still_gets_an_answer_and_a_record(
    edge: EdgeServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert edge.schemas is not None

    def broken(*args: object) -> list[object]:
        raise RuntimeError("a bug in validation")

    monkeypatch.setattr(edge.schemas, "validate", broken)
    r = client.post(url(edge), json=GOOD)
    assert r.status_code == 500
    [ping] = edge.received()
    assert (ping.status, ping.reason) == (500, "edge error (see its log)")
    monkeypatch.undo()
    assert client.post(url(edge), json=GOOD).status_code == 200  # and it goes on


def test_pipelined_requests_are_answered_in_order(edge: EdgeServer) -> None:
    body = json.dumps(GOOD).encode()
    ids = [doc_id() for _ in range(3)]
    data = b"".join(
        f"POST /submit/my-app/app-event/1/{d} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for d in ids
    )
    data += b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = exchange(edge.port, data)
    assert answer.count(b"HTTP/1.1 200 OK") == 4
    assert [p.doc_id for p in edge.received()] == ids


def test_expect_100_continue_is_honoured(edge: EdgeServer) -> None:
    body = json.dumps(GOOD).encode()
    head = (
        f"POST /submit/my-app/app-event/1/{doc_id()} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", edge.port), timeout=3) as sock:
        sock.sendall(head)
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 OK")
    assert len(edge.received()) == 1


def test_a_head_that_never_ends_within_128_kib_gets_431(edge: EdgeServer) -> None:
    lines = b"".join(b"X-%d: %s\r\n" % (i, b"a" * 40_000) for i in range(4))  # 160 KB, no end
    answer = exchange(edge.port, b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\n" + lines)
    assert answer.startswith(b"HTTP/1.1 431")
    assert b"request head over 128 KiB" in answer
    assert edge.received() == []
