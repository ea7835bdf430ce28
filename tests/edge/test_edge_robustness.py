"""The edge holds up: slowloris, huge headers, malformed HTTP, concurrent clients, 10,000 pings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from pingsdk.edge import EdgeServer
from tests.edge.support import doc_id, exchange

GOOD = {"name": "start", "count": 1}


@pytest.fixture
def quick_edge(schema_tree: object) -> Iterator[EdgeServer]:
    with EdgeServer(schemas=str(schema_tree), socket_timeout=0.5) as server:
        yield server


def url(edge: EdgeServer) -> str:
    return f"{edge.url}/submit/my-app/app-event/1/{doc_id()}"


def still_serving(edge: EdgeServer) -> None:
    assert httpx.post(url(edge), json=GOOD).status_code == 200


def test_slowloris_is_cut_off_and_others_are_served(quick_edge: EdgeServer) -> None:
    slow = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", quick_edge.port), timeout=5)
        sock.sendall(b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\nHost: x\r\n")
        slow.append(sock)
    try:
        still_serving(quick_edge)  # while 20 connections dribble
        time.sleep(0.8)
        for sock in slow:
            assert sock.recv(1024) == b""  # the server gave up on them
    finally:
        for sock in slow:
            sock.close()
    # A body that never finishes arriving is dropped too, and is not stored.
    head = b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
    assert exchange(quick_edge.port, head) == b""
    still_serving(quick_edge)
    assert len(quick_edge.received()) == 2


def test_huge_headers_and_malformed_requests(quick_edge: EdgeServer) -> None:
    huge_line = b"POST / HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
    assert exchange(quick_edge.port, huge_line).startswith(b"HTTP/1.1 431")
    many = b"POST / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n"
    assert exchange(quick_edge.port, many).startswith(b"HTTP/1.1 431")
    long_url = b"POST /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"
    assert exchange(quick_edge.port, long_url).startswith(b"HTTP/1.1 414")
    for junk in (
        b"GARBAGE\r\n\r\n",
        b"\x00\xff\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello
        b"POST /submit HTTP/9.9\r\n\r\n",
        b"POST /a HTTP/1.1\r\nbroken header line\r\n\r\n",
        b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"\r\n",
    ):
        answer = exchange(quick_edge.port, junk)
        assert answer == b"" or answer.startswith(b"HTTP/1."), junk
    still_serving(quick_edge)


def test_concurrent_clients_lose_nothing(edge: EdgeServer) -> None:
    sent: list[str] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with httpx.Client() as client:
                for _ in range(50):
                    d = doc_id()
                    target = f"{edge.url}/submit/my-app/app-event/1/{d}"
                    assert client.post(target, json=GOOD).status_code == 200
                    with lock:
                        sent.append(d)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    assert edge.wait_for(400, timeout=5)
    stored = [p.doc_id for p in edge.received()]
    assert sorted(stored) == sorted(sent) and len(set(stored)) == 400


@pytest.mark.slow
def test_ten_thousand_pings_in_a_row(tmp_path: object) -> None:
    from pathlib import Path

    db = Path(str(tmp_path)) / "edge.db"
    with EdgeServer(db=db) as edge, httpx.Client() as client:
        started = time.monotonic()
        for i in range(10_000):
            target = f"{edge.url}/submit/my-app/app-event/1/{doc_id()}"
            assert client.post(target, json={"name": "n", "count": i}).status_code == 200
        elapsed = time.monotonic() - started
        report = edge.monitor()
    assert report["accepted"] == 10_000
    assert report["doctypes"][0]["duplicates"] == 0
    assert elapsed < 100, f"10,000 pings took {elapsed:.1f} s"
