"""What the edge costs does not grow with what clients do: threads, memory, monitor work."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from pingsdk.edge import EdgeServer
from pingsdk.edge._monitor import build_report
from tests.edge.support import doc_id

GOOD = {"name": "start", "count": 1}


def url(edge: EdgeServer, dt: str = "app-event") -> str:
    return f"{edge.url}/submit/my-app/{dt}/1/{doc_id()}"


def _open(port: int, count: int, data: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if data:
            sock.sendall(data)
        socks.append(sock)
    return socks


def test_two_thousand_slow_connections_do_not_pin_threads(schema_tree: Path) -> None:
    before = threading.active_count()
    with EdgeServer(schemas=schema_tree, socket_timeout=30.0) as edge:
        started = threading.active_count()
        partial = b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\nHost: x\r\nContent-Le"
        slow = _open(edge.port, 1000, partial)  # a head that never ends
        body = b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"
        slow += _open(edge.port, 500, body)  # a body that never ends
        slow += _open(edge.port, 500, b"")  # silent
        try:
            with httpx.Client(timeout=10) as client:
                for _ in range(5):  # served while 2,000 connections dribble
                    assert client.post(url(edge), json=GOOD).status_code == 200
            threads = threading.active_count()
            for sock in slow[:10]:  # still open: they were not simply dropped
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1)
        finally:
            for sock in slow:
                sock.close()
        assert len(edge.received()) == 5
    assert threads == started, f"{threads - started} threads more for 2,000 connections"
    assert started - before == 1 + edge.workers  # the waiting room and the workers
    assert threading.active_count() == before


def _keep_alive_request(sock: socket.socket) -> bytes:
    body = json.dumps(GOOD).encode()
    head = (
        f"POST /submit/my-app/app-event/1/{doc_id()} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    length = int(head_part.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += sock.recv(4096)
    return head_part.split(b"\r\n")[0]


def test_idle_keep_alive_connections_hold_no_thread(edge: EdgeServer) -> None:
    started = threading.active_count()
    socks = _open(edge.port, 300, b"")
    try:
        for sock in socks:  # each keeps its connection open after one request
            assert _keep_alive_request(sock) == b"HTTP/1.1 200 OK"
        assert threading.active_count() == started
        for sock in socks[:20]:  # and reuses it
            assert _keep_alive_request(sock) == b"HTTP/1.1 200 OK"
    finally:
        for sock in socks:
            sock.close()
    assert len(edge.received()) == 320


def test_slow_head_is_cut_at_the_deadline_even_if_it_keeps_dribbling(
    schema_tree: Path,
) -> None:
    with EdgeServer(schemas=schema_tree, socket_timeout=0.6) as edge:
        sock = socket.create_connection(("127.0.0.1", edge.port), timeout=5)
        try:
            sock.sendall(b"POST /submit/my-app/app-event/1/x HTTP/1.1\r\n")
            deadline = time.monotonic() + 5
            closed = False
            while time.monotonic() < deadline and not closed:
                time.sleep(0.2)  # each byte well within the deadline, the whole head not
                try:
                    sock.sendall(b"X")
                    sock.setblocking(False)
                    closed = sock.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                finally:
                    sock.setblocking(True)
            assert closed
        finally:
            sock.close()
        assert edge.received() == []


def _traffic(edge: EdgeServer, client: httpx.Client, seed: int, n: int) -> None:
    rnd = random.Random(seed)
    repeated = doc_id()
    for i in range(n):
        choice = rnd.random()
        target = url(edge)
        if choice < 0.1:
            target = f"{edge.url}/submit/my-app/app-event/1/{repeated}"
        elif choice < 0.2:
            target = url(edge, "nope")
        elif choice < 0.25:
            target = f"{edge.url}/submit/my-app/app-event/{doc_id()}"
        body: bytes = json.dumps({"name": "n" * rnd.randint(0, 40), "count": i - 5}).encode()
        if rnd.random() < 0.05:
            body = b"{nope"
        headers = {"Date": "Sun, 06 Nov 1994 08:49:37 GMT"} if rnd.random() < 0.2 else {}
        client.post(target, content=body, headers=headers)
    client.get(url(edge))  # a 405


def test_monitor_keeps_exact_running_numbers_while_old_records_go(schema_tree: Path) -> None:
    with (
        EdgeServer(schemas=schema_tree, max_records=50) as bounded,
        EdgeServer(schemas=schema_tree, max_records=10_000) as full,
        httpx.Client() as client,
    ):
        _traffic(bounded, client, seed=7, n=400)
        _traffic(full, client, seed=7, n=400)
        bounded.script(["503", "reset"])
        full.script(["503", "reset"])
        for edge in (bounded, full):
            for _ in range(2):
                with contextlib.suppress(httpx.HTTPError):  # the injected reset
                    client.post(url(edge), json=GOOD)
        assert len(bounded.received()) == 50
        assert len(full.received()) == 401
        kept = bounded.monitor()
        recomputed = build_report(full.store.summary_rows(), full.store.fault_counts())
        assert full.monitor() == recomputed
        # Clock skew differs only by when each edge received the same Date header.
        for report in (kept, recomputed):
            for doctype in report["doctypes"]:
                doctype.pop("clock_skew")
        assert kept == recomputed
        assert kept["received"] == 401 and kept["faults"]["total"] == 2
        assert bounded.wait_for(kept["accepted"], timeout=0.1)
        # The newest are the ones kept, and docIds accepted long ago still count as duplicates.
        assert [p.id for p in bounded.received()] == list(range(352, 402))


def test_monitor_does_not_scan_the_records(edge: EdgeServer, client: httpx.Client) -> None:
    for _ in range(3):
        client.post(url(edge), json=GOOD)

    def refuse() -> None:
        raise AssertionError("the monitor scanned every record")

    edge.store.summary_rows = refuse  # type: ignore[method-assign]
    assert client.get(edge.url + "/__monitor__").json()["received"] == 3
    assert edge.monitor()["doctypes"][0]["valid"] == 3


def test_memory_store_is_bounded_by_default(client: httpx.Client) -> None:
    with EdgeServer() as edge:
        assert edge.store.max_records == 10_000
    with EdgeServer(max_records=3) as edge:
        ids = [doc_id() for _ in range(5)]
        for d in ids + ids[:1]:
            client.post(f"{edge.url}/submit/a/b/1/{d}", json={"i": d})
        kept = edge.received()
        assert [p.doc_id for p in kept] == ids[3:] + ids[:1]
        assert kept[-1].duplicate  # remembered although its first record is gone
        assert edge.monitor()["doctypes"][0]["received"] == 6
        assert edge.monitor()["doctypes"][0]["duplicates"] == 1


def test_db_store_keeps_everything_unless_told(tmp_path: Path, client: httpx.Client) -> None:
    with EdgeServer(db=tmp_path / "all.db") as edge:
        assert edge.store.max_records is None
    with EdgeServer(db=tmp_path / "some.db", max_records=2) as edge:
        for _ in range(4):
            client.post(f"{edge.url}/submit/a/b/1/{doc_id()}", json={})
        assert len(edge.received()) == 2
        assert edge.monitor()["received"] == 4
