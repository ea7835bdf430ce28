"""A hostile server on a real socket: garbage bytes, a redirect, silence, then a real answer.

None of it may lose the ping or change its URL or body; the client retries with backoff and
delivers once the server answers properly.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator

import pytest

import pingsdk
from tests.delivery.pings import SearchCounts

ANSWERS = [
    b"\x00\xff\xfe this is not HTTP at all\r\n\r\n",  # garbage status line
    b"HTTP/1.1 200 OK\r\nContent-Length: banana\r\n\r\n",  # broken framing
    b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n",  # a status outside the contract
    b"",  # accept, read, then close without a word
]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class HostileServer:
    """Answers each connection with the next of ``ANSWERS``, then 200; records requests."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[tuple[str, bytes]] = []
        self.answers = list(ANSWERS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2.0)
                request = self._read(conn)
                if request is None:
                    continue
                self.requests.append(request)
                conn.sendall(self.answers.pop(0) if self.answers else OK)

    @staticmethod
    def _read(conn: socket.socket) -> tuple[str, bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length")
        )
        while len(body) < length:
            body += conn.recv(65536)
        return lines[0].split()[1], body

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


def test_garbage_redirects_and_silence_lose_nothing(hostile: HostileServer) -> None:
    dropped: list[pingsdk.DeliveryReport] = []
    retry = pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.05)
    with pingsdk.PingClient(
        hostile.url, queue_path=":memory:", retry=retry, max_in_flight=1, on_dropped=dropped.append
    ) as client:
        doc_id = client.submit(SearchCounts(engine="ddg", count=2))
        assert client.flush(timeout=10.0)
        stats = client.stats()
    assert dropped == []
    assert stats.sent == 1 and stats.pending == 0
    assert stats.retried == len(ANSWERS)
    assert len(hostile.requests) == len(ANSWERS) + 1
    # Every attempt went to the same URL with the same bytes; the redirect was not followed.
    assert {path for path, _ in hostile.requests} == {
        f"/submit/delivery-test/search-counts/1/{doc_id}"
    }
    assert len({body for _, body in hostile.requests}) == 1
    assert json.loads(gzip.decompress(hostile.requests[0][1])) == {"engine": "ddg", "count": 2}
