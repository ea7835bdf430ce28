"""The lean HTTP/1.1 transport against real sockets on 127.0.0.1: keep-alive, closes, chunked
answers, garbage, resets, timeouts, TLS, and the error classes the outcome table relies on."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import pingsdk
from pingsdk._delivery._h11_transport import H11Transport, environment_proxy
from pingsdk._delivery._http import default_transport
from pingsdk._delivery._outcome import classify_exception

Script = Callable[[socket.socket, int], None]
"""Handles one accepted connection (its index counts connections from 0)."""

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def read_request(sock: socket.socket) -> bytes:
    """One request (headers and a Content-Length body); b"" if the client closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)
    return head


@contextmanager
def raw_server(
    script: Script, *, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[int, list[int]]]:
    """A TCP server running ``script`` on each connection; yields the port and a one-item list
    counting the connections accepted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted = [0]
    stop = threading.Event()

    def serve(conn: socket.socket, index: int) -> None:
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
            script(conn, index)
        except OSError:
            pass
        finally:
            conn.close()

    def accept_loop() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            index = accepted[0]
            accepted[0] += 1
            threading.Thread(target=serve, args=(conn, index), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def keep_alive(answer: bytes = OK) -> Script:
    def script(sock: socket.socket, index: int) -> None:
        while read_request(sock):
            sock.sendall(answer)

    return script


def post(
    transport: H11Transport, url: str, *, timeout: float = 5.0, body: bytes = b"{}"
) -> httpx.Response:
    """One POST through ``transport`` on a fresh loop; the answer body is read."""

    async def go() -> httpx.Response:
        request = httpx.Request(
            "POST",
            url,
            content=body,
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )
        response = await transport.handle_async_request(request)
        await response.aread()
        return response

    return asyncio.run(go())


def run_many(transport: H11Transport, url: str, count: int) -> list[httpx.Response]:
    """``count`` POSTs one after another on one loop (so kept-alive connections are reused)."""

    async def go() -> list[httpx.Response]:
        answers = []
        for _ in range(count):
            request = httpx.Request(
                "POST", url, content=b"{}", extensions={"timeout": httpx.Timeout(5).as_dict()}
            )
            response = await transport.handle_async_request(request)
            await response.aread()
            answers.append(response)
        await transport.aclose()
        return answers

    return asyncio.run(go())


def test_keep_alive_reuses_one_connection() -> None:
    with raw_server(keep_alive()) as (port, accepted):
        answers = run_many(H11Transport(), f"http://127.0.0.1:{port}/submit/a/b/1/x", 20)
    assert [r.status_code for r in answers] == [200] * 20
    assert all(r.content == b"ok" for r in answers)
    assert accepted[0] == 1


def test_connection_close_answer_opens_a_new_connection() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with raw_server(keep_alive(answer)) as (port, accepted):
        answers = run_many(H11Transport(), f"http://127.0.0.1:{port}/", 5)
    assert [r.status_code for r in answers] == [200] * 5
    assert accepted[0] == 5


def test_idle_connection_closed_by_server_is_replaced_not_failed() -> None:
    # The server answers one request per connection, keep-alive announced, then closes: the
    # next request must not fail on the dead kept-alive connection.
    def one_then_close(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(OK)
        time.sleep(0.05)

    async def go(url: str) -> list[int]:
        transport = H11Transport()
        statuses = []
        for _ in range(4):
            request = httpx.Request("POST", url, content=b"{}")
            response = await transport.handle_async_request(request)
            statuses.append(response.status_code)
            await asyncio.sleep(0.2)  # the server closes meanwhile
        await transport.aclose()
        return statuses

    with raw_server(one_then_close) as (port, accepted):
        assert asyncio.run(go(f"http://127.0.0.1:{port}/")) == [200] * 4
    assert accepted[0] == 4


def test_close_right_after_reading_a_reused_request_is_retried_once() -> None:
    # The race an idle check cannot see: the server takes the second request and closes.
    def second_request_dropped(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(OK)
        if index == 0:
            read_request(sock)  # and close without answering

    with raw_server(second_request_dropped) as (port, accepted):
        answers = run_many(H11Transport(), f"http://127.0.0.1:{port}/", 2)
    assert [r.status_code for r in answers] == [200, 200]
    assert accepted[0] == 2


def test_chunked_answer_is_read_and_connection_reused() -> None:
    answer = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    with raw_server(keep_alive(answer)) as (port, accepted):
        answers = run_many(H11Transport(), f"http://127.0.0.1:{port}/", 3)
    assert [(r.status_code, r.content) for r in answers] == [(400, b"hello world")] * 3
    assert accepted[0] == 1


def test_long_answer_is_cut_at_the_bound_and_its_connection_closed() -> None:
    big = b"x" * 10_000
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + big
    with raw_server(keep_alive(answer)) as (port, accepted):
        answers = run_many(H11Transport(max_answer_bytes=1000), f"http://127.0.0.1:{port}/", 2)
    assert [(r.status_code, len(r.content)) for r in answers] == [(200, 1000)] * 2
    assert accepted[0] == 2


def expect_error(
    script: Script, kind: type[Exception], reason: str, *, timeout: float = 5.0
) -> None:
    with raw_server(script) as (port, _), pytest.raises(kind) as caught:
        post(H11Transport(), f"http://127.0.0.1:{port}/", timeout=timeout)
    assert classify_exception(caught.value).reason == reason


def test_garbage_answer_is_a_protocol_error() -> None:
    def garbage(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(b"SSH-2.0-OpenSSH_9.0\r\nnot http at all\r\n\r\n")
        time.sleep(0.2)

    expect_error(garbage, httpx.RemoteProtocolError, "protocol_error")


def test_close_without_answer_is_a_protocol_error() -> None:
    def hang_up(sock: socket.socket, index: int) -> None:
        read_request(sock)

    expect_error(hang_up, httpx.RemoteProtocolError, "protocol_error")


def test_close_in_the_middle_of_the_answer_is_a_protocol_error() -> None:
    def half(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part")

    expect_error(half, httpx.RemoteProtocolError, "protocol_error")


def test_reset_is_a_read_error() -> None:
    def reset(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    expect_error(reset, httpx.ReadError, "read_error")


def test_slow_answer_is_a_read_timeout() -> None:
    def slow(sock: socket.socket, index: int) -> None:
        read_request(sock)
        time.sleep(1.0)

    started = time.monotonic()
    expect_error(slow, httpx.ReadTimeout, "timeout", timeout=0.2)
    assert time.monotonic() - started < 1.0 + 0.5


def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(httpx.ConnectError) as caught:
            post(H11Transport(), f"http://127.0.0.1:{port}/")
    assert classify_exception(caught.value).reason == "connect_error"


def test_connect_timeout(black_hole: str) -> None:
    # A full backlog on a listener that never accepts stalls the TLS handshake: a connect step.
    with pytest.raises(httpx.ConnectTimeout):
        post(H11Transport(), black_hole.replace("http://", "https://") + "/", timeout=0.2)


@pytest.fixture
def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext, str]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx, ca.cert_pem.bytes().decode()


def test_tls_with_a_trusted_certificate(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext, str],
) -> None:
    server_ctx, client_ctx, _ = tls_pair
    with raw_server(keep_alive(), tls=server_ctx) as (port, accepted):
        answers = run_many(H11Transport(ssl_context=client_ctx), f"https://127.0.0.1:{port}/", 3)
    assert [r.status_code for r in answers] == [200] * 3
    assert accepted[0] == 1


def test_tls_with_an_untrusted_certificate_is_a_connect_error(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext, str],
) -> None:
    server_ctx, _, _ = tls_pair
    untrusting = H11Transport(ssl_context=ssl.create_default_context())
    with (
        raw_server(keep_alive(), tls=server_ctx) as (port, _),
        pytest.raises(httpx.ConnectError) as caught,
    ):
        post(untrusting, f"https://127.0.0.1:{port}/")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_client_delivers_over_tls_with_a_ca_bundle(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext, str], tmp_path: Path
) -> None:
    from tests.delivery.pings import SearchCounts

    server_ctx, _, ca_pem = tls_pair
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca_pem)
    seen: list[bytes] = []

    def record(sock: socket.socket, index: int) -> None:
        while head := read_request(sock):
            seen.append(head.split(b"\r\n", 1)[0])
            sock.sendall(OK)

    with (
        raw_server(record, tls=server_ctx) as (port, _),
        pingsdk.PingClient(
            f"https://127.0.0.1:{port}", queue_path=tmp_path / "q.db", verify=str(bundle)
        ) as client,
    ):
        doc_id = client.submit(SearchCounts(engine="ddg", count=1))
        assert client.flush(timeout=10.0)
    assert len(seen) == 1 and seen[0].startswith(b"POST /submit/") and doc_id.encode() in seen[0]


def test_default_transport_is_lean_unless_a_proxy_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    config = pingsdk.PingClient("https://edge.example.com", queue_path=":memory:").config
    assert isinstance(default_transport(config), H11Transport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    assert environment_proxy("https://edge.example.com")
    assert default_transport(config) is None  # httpx's transport, which speaks CONNECT
    monkeypatch.setenv("NO_PROXY", "edge.example.com")
    assert isinstance(default_transport(config), H11Transport)
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    given = pingsdk.PingClient("https://edge.example.com", queue_path=":memory:", transport=mock)
    assert default_transport(given.config) is mock


def test_client_sends_under_the_endpoint_prefix_with_host_header(tmp_path: Path) -> None:
    from tests.delivery.pings import SearchCounts

    heads: list[bytes] = []

    def record(sock: socket.socket, index: int) -> None:
        while head := read_request(sock):
            heads.append(head)
            sock.sendall(OK)

    with (
        raw_server(record) as (port, _),
        pingsdk.PingClient(
            f"http://127.0.0.1:{port}/edge-prefix", queue_path=tmp_path / "q.db"
        ) as client,
    ):
        doc_id = client.submit(SearchCounts(engine="ddg", count=1))
        assert client.flush(timeout=10.0)
    (head,) = heads
    lines = head.decode().split("\r\n")
    assert lines[0] == (f"POST /edge-prefix/submit/delivery-test/search-counts/1/{doc_id} HTTP/1.1")
    fields = {
        name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines[1:])
    }
    assert fields["host"] == f"127.0.0.1:{port}"
    assert fields["content-encoding"] == "gzip" and "date" in fields
    assert fields["user-agent"].startswith("pingsdk/")
