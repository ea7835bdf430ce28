"""A lean HTTP/1.1 transport for the uploader: asyncio streams + h11 behind httpx's seam.

httpx's default async transport (httpcore over anyio) costs about 1 ms of CPU per request; on
the uploader thread that CPU is GIL time taken from the application's ``submit()`` calls. This
transport does what the uploader needs and nothing else, for a fraction of that: HTTP/1.1 only,
a keep-alive pool per host, TLS through the client's shared ``ssl.SSLContext``, no redirects,
no proxies (the client falls back to httpx's transport when the environment names one) and an
answer body read up to a bound.

Failures raise httpx's exception classes, so :func:`pingsdk._delivery._outcome.classify_exception`
classifies them exactly as it does httpx's own: ``ConnectError``/``ConnectTimeout`` before the
request is written, ``WriteError``/``WriteTimeout`` while writing, ``ReadError``/``ReadTimeout``
while waiting for the answer, ``RemoteProtocolError`` for an answer that is not HTTP/1.1 or a
server that closed without answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import TypeVar

import h11
import httpx

__all__ = ["H11Transport", "environment_proxy", "origin_of"]

_T = TypeVar("_T")
_Parts = tuple[bytes, bytes, "list[tuple[bytes, bytes]]", bytes]
"""A request's method, target, headers and body."""

_READ_SIZE = 65536
MAX_ANSWER_BYTES = 64 * 1024
"""Default bound on the answer body kept; a longer answer is cut and its connection closed."""


def environment_proxy(url: str) -> bool:
    """Whether the environment (``HTTPS_PROXY``, ``ALL_PROXY``, ... minus ``NO_PROXY``) routes
    ``url`` through a proxy, which this transport does not speak (httpx's does)."""
    parsed = httpx.URL(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parsed.host)


if sys.version_info >= (3, 11):

    async def _within(awaitable: Awaitable[_T], seconds: float | None) -> _T:
        if seconds is None:
            return await awaitable
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def _within(awaitable: Awaitable[_T], seconds: float | None) -> _T:
        return await asyncio.wait_for(awaitable, seconds)


class _Connection:
    """One TCP (or TLS) connection and its h11 state machine."""

    __slots__ = ("h11", "reader", "used", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.used = False  # True once an exchange completed: a kept-alive connection

    def usable(self) -> bool:
        """An idle connection the server has not closed (its EOF is seen as soon as it comes)."""
        return not (self.writer.is_closing() or self.reader.at_eof())

    def close(self) -> None:
        self.writer.close()


class _Answer(httpx.AsyncByteStream):
    """An answer body already read (bounded), handed to httpx as a stream."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body


class H11Transport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` speaking HTTP/1.1 over asyncio streams with h11.

    Args:
        ssl_context: the context for ``https://`` URLs (the client's shared one).
        max_keepalive: idle connections kept per host.
        max_answer_bytes: the most of an answer body read; a longer body is cut there (the
            status and headers are complete) and its connection closed rather than reused.

    The whole answer is read before :meth:`handle_async_request` returns, under the
    request's read timeout. A request on a kept-alive connection that the server closed
    before answering any byte is sent once more on a new connection (a server may close an
    idle connection at any moment; the request is the same, so the pipeline deduplicates).
    Must be used on one event loop.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_keepalive: int = 8,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_keepalive = max_keepalive
        self._max_answer = max_answer_bytes
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return its answer (body already read, bounded)."""
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        status, headers, answer = await self.exchange(
            origin_of(url),
            request.method.encode(),
            url.raw_path,
            headers=request.headers.raw,
            body=body,
            timeouts=request.extensions.get("timeout", {}),
            request=request,
        )
        return httpx.Response(status, headers=headers, stream=_Answer(answer), request=request)

    async def exchange(
        self,
        origin: tuple[str, str, int],
        method: bytes,
        target: bytes,
        *,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeouts: Mapping[str, float | None],
        request: httpx.Request | None = None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request from its parts, without building httpx objects (the uploader's path).

        Args:
            origin: ``(scheme, host, port)``, see :func:`origin_of`.
            headers: every header to send, ``Host`` included.
            timeouts: httpx's timeout dict (``connect``, ``read``, ``write``; ``None``: none).
            request: attached to the exceptions raised, when there is one.

        Returns:
            The status, the answer's headers (names lowercased) and its body (bounded).

        Raises:
            httpx.TransportError: the same subclasses as :meth:`handle_async_request`.
        """
        if self._closed:
            raise RuntimeError("the transport is closed")
        parts = (method, target, headers, body)
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.usable():
                conn.close()
                continue
            try:
                return await self._exchange(conn, origin, parts, timeouts, request)
            except _StaleConnectionError:
                continue  # closed by the server while idle: a new connection, same request
        conn = await self._connect(origin, timeouts.get("connect"))
        return await self._exchange(conn, origin, parts, timeouts, request)

    async def _connect(self, key: tuple[str, str, int], timeout: float | None) -> _Connection:
        scheme, host, port = key
        context = None
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
        try:
            reader, writer = await _within(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                    limit=_READ_SIZE,
                ),
                timeout,
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:  # refused, unreachable, name not found, TLS handshake failed
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return _Connection(reader, writer)

    async def _exchange(
        self,
        conn: _Connection,
        key: tuple[str, str, int],
        parts: _Parts,
        timeouts: Mapping[str, float | None],
        request: httpx.Request | None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            return await self._roundtrip(conn, key, parts, timeouts, request)
        except _NoAnswerError as exc:
            conn.close()
            cause = exc.__cause__
            if conn.used:
                raise _StaleConnectionError from cause
            if exc.writing:
                raise httpx.WriteError(_text(cause), request=request) from cause
            if cause is not None:
                raise httpx.ReadError(_text(cause), request=request) from cause
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except BaseException:
            conn.close()
            raise

    async def _roundtrip(
        self,
        conn: _Connection,
        key: tuple[str, str, int],
        parts: _Parts,
        timeouts: Mapping[str, float | None],
        request: httpx.Request | None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        machine = conn.h11
        method, target, request_headers, body = parts
        try:
            data = machine.send(h11.Request(method=method, target=target, headers=request_headers))
            assert data is not None
            if body:
                data += machine.send(h11.Data(data=body)) or b""
            data += machine.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        try:
            conn.writer.write(data)
            await _within(conn.writer.drain(), timeouts.get("write"))
        except TimeoutError as exc:
            raise httpx.WriteTimeout("writing the request timed out", request=request) from exc
        except OSError as exc:
            raise _NoAnswerError(writing=True) from exc
        read_timeout = timeouts.get("read")
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        kept = bytearray()
        cut = False
        got_bytes = False
        while True:
            try:
                event = machine.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            if event is h11.NEED_DATA:
                try:
                    chunk = await _within(conn.reader.read(_READ_SIZE), read_timeout)
                except TimeoutError as exc:
                    raise httpx.ReadTimeout(
                        "waiting for the answer timed out", request=request
                    ) from exc
                except OSError as exc:
                    if not got_bytes:
                        raise _NoAnswerError(writing=False) from exc
                    raise httpx.ReadError(_text(exc), request=request) from exc
                if not chunk and not got_bytes:
                    raise _NoAnswerError(writing=False)
                got_bytes = True
                machine.receive_data(chunk)  # b"" tells h11 the server closed
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = list(event.headers)
            elif isinstance(event, h11.Data):
                room = self._max_answer - len(kept)
                kept += event.data[:room]
                if len(event.data) > room:
                    cut = True
                    break
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "the server closed the connection in the middle of the answer",
                    request=request,
                )
        if cut or machine.our_state is not h11.DONE or machine.their_state is not h11.DONE:
            conn.close()
        else:
            machine.start_next_cycle()
            conn.used = True
            self._keep(key, conn)
        return status, headers, bytes(kept)

    def _keep(self, key: tuple[str, str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if self._closed or len(idle) >= self._max_keepalive:
            conn.close()
        else:
            idle.append(conn)

    async def aclose(self) -> None:
        """Close every idle connection (those in use close when their request ends)."""
        self._closed = True
        conns = [conn for idle in self._idle.values() for conn in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            with contextlib.suppress(Exception):
                await _within(conn.writer.wait_closed(), 1.0)


def origin_of(url: httpx.URL) -> tuple[str, str, int]:
    """The pool key of ``url``: scheme, host, port (the scheme's default when not given)."""
    return (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))


def _text(exc: BaseException | None) -> str:
    return (str(exc) or type(exc).__name__) if exc is not None else "connection closed"


class _NoAnswerError(Exception):
    """The connection failed or closed before any byte of the answer."""

    def __init__(self, *, writing: bool) -> None:
        super().__init__()
        self.writing = writing


class _StaleConnectionError(Exception):
    """A kept-alive connection turned out closed: the request may go on a new one."""
