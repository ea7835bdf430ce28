"""Capture what a client sends through httpx's transport seam, decoded for assertions."""

from __future__ import annotations

import collections
import dataclasses
import gzip
import json
import threading
import time
import typing
from collections.abc import Iterable, Iterator
from typing import Any, TypeAlias, TypeVar

import httpx

from pingsdk._exceptions import ConfigurationError
from pingsdk._model._ping import Ping
from pingsdk._model._registry import PingRegistry, default_registry
from pingsdk._naming import lookup_name
from pingsdk.wire._urls import AppInfo, SubmitPath, parse_submit_path

__all__ = ["CapturedPing", "CapturingTransport"]

_P = TypeVar("_P", bound=Ping)

_GZIP_MAGIC = b"\x1f\x8b"

Reply: TypeAlias = int | httpx.Response | BaseException
"""What the transport answers one request with: a status, a full response, or an exception."""


@dataclasses.dataclass(frozen=True)
class CapturedPing:
    """One request a client sent, with its URL parts and payload decoded.

    Attributes:
        method: ``"POST"`` (or whatever the client used).
        url: the full URL as sent.
        path: the URL path, e.g. ``/submit/my-app/search-counts/1/<docId>``.
        query: the raw query string (``"v=4"`` for legacy pings, else ``""``).
        namespace, doctype: from the path (``namespace == "telemetry"`` for legacy pings).
        version: the document version, or ``None`` for a legacy ping (its URL has none).
        doc_id: the document id from the path.
        app: the application parts of a legacy telemetry URL, else ``None``.
        headers: the request headers (case-insensitive lookup).
        body: the raw request body, exactly as sent (usually gzip).
        status: the status the transport answered, or ``None`` when it raised an error.
        captured_at: Unix time the request arrived.
        registry: where :attr:`ping` looks up the ping's class.

    Example::

        ping = capture.pings[0]
        assert ping.doctype == "search-counts"
        assert ping.payload["engine"] == "ddg"
        assert ping.parse(SearchCounts).count == 3
    """

    method: str
    url: str
    path: str
    query: str
    namespace: str | None
    doctype: str | None
    version: int | None
    doc_id: str | None
    app: AppInfo | None
    headers: httpx.Headers
    body: bytes
    status: int | None
    captured_at: float
    registry: PingRegistry = dataclasses.field(default=default_registry, repr=False)

    @property
    def json_bytes(self) -> bytes:
        """The body with gzip removed (sniffed, as the pipeline does, whatever the headers say)."""
        if self.body[:2] == _GZIP_MAGIC:
            return gzip.decompress(self.body)
        return self.body

    @property
    def payload(self) -> Any:
        """The decoded JSON payload (a ``dict`` for any well-formed ping)."""
        return json.loads(self.json_bytes)

    @property
    def compressed(self) -> bool:
        """``True`` when the body is gzip."""
        return self.body[:2] == _GZIP_MAGIC

    def parse(self, ping_cls: type[_P]) -> _P:
        """The payload parsed (and validated) as ``ping_cls``.

        Raises:
            AssertionError: the URL names another ping than ``ping_cls`` declares.
            pydantic.ValidationError: the payload is not a valid ``ping_cls``.
        """
        info = ping_cls.ping_info()
        mismatch = (
            lookup_name(info.namespace) != lookup_name(self.namespace or "")
            or lookup_name(info.doctype) != lookup_name(self.doctype or "")
            or (self.version is not None and info.version != self.version)
        )
        if mismatch:
            raise AssertionError(
                f"captured ping {self.identity} was parsed as {ping_cls.__qualname__}, which "
                f"declares {info.namespace}/{info.doctype}/{info.version}"
            )
        return ping_cls.from_json_bytes(self.json_bytes)

    @property
    def ping(self) -> Ping:
        """The payload parsed into the Ping class registered for its URL identity.

        Raises:
            LookupError: no class (or, for a legacy URL, more than one) matches; use
                :meth:`parse` with the class instead.
        """
        return self.parse(self.ping_class)

    @property
    def ping_class(self) -> type[Ping]:
        """The Ping class registered for this URL's namespace, doctype and version."""
        if self.namespace is None or self.doctype is None:
            raise LookupError(f"{self.path} is not a submission URL")
        if self.version is not None:
            cls = self.registry.get(self.namespace, self.doctype, self.version)
            if cls is None:
                raise LookupError(
                    f"no Ping class is registered for {self.identity}; import the module that "
                    "declares it, or call .parse(YourPing)"
                )
            return cls
        # The legacy URL carries no version: unambiguous only with one class for the doctype.
        found = [
            c
            for c in self.registry
            if (lookup_name(c.ping_info().namespace), lookup_name(c.ping_info().doctype))
            == (lookup_name(self.namespace), lookup_name(self.doctype))
        ]
        if len(found) != 1:
            raise LookupError(
                f"{len(found)} Ping classes match legacy ping {self.identity}; "
                "call .parse(YourPing)"
            )
        return found[0]

    @property
    def identity(self) -> str:
        """``namespace/doctype/version`` (``namespace/doctype`` for a legacy ping)."""
        parts = [self.namespace or "?", self.doctype or "?"]
        if self.version is not None:
            parts.append(str(self.version))
        return "/".join(parts)


def _submit_path(raw_path: str) -> SubmitPath | None:
    """The parts of a canonical submit path, else ``None`` (health checks, malformed paths)."""
    try:
        return parse_submit_path(raw_path)
    except ConfigurationError:
        return None


class CapturingTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """An httpx transport that records every request and answers without any socket.

    Pass it as a client's ``transport=``. It answers ``default_status`` (200) unless replies
    were queued with :meth:`respond`; each queued reply (a status, an ``httpx.Response`` or an
    exception to raise, such as ``httpx.ConnectError("down")``) answers one request, in order.
    Thread-safe: the client's uploader thread records while the test thread reads.

    Args:
        replies: replies to queue at once (same as :meth:`respond`).
        default_status: the status once the queued replies are used up.
        registry: where :attr:`CapturedPing.ping` looks up Ping classes.

    Example::

        transport = CapturingTransport()
        transport.respond(503, 200)            # first attempt fails, the retry succeeds
        client = pingsdk.PingClient("https://edge.test", queue_path=":memory:",
                                    retry=pingsdk.RetryPolicy.no_wait(), transport=transport)
        client.submit(SearchCounts(engine="ddg", count=3))
        client.flush(timeout=5)
        assert [r.status for r in transport.requests] == [503, 200]
        assert transport.pings[0].payload == {"engine": "ddg", "count": 3}
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        default_status: int = 200,
        registry: PingRegistry = default_registry,
    ) -> None:
        self.default_status = default_status
        self.registry = registry
        self._replies: collections.deque[Reply] = collections.deque(replies)
        self._requests: list[CapturedPing] = []
        self._changed = threading.Condition()

    def respond(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order (statuses, responses or exceptions)."""
        with self._changed:
            self._replies.extend(replies)

    @property
    def unused_replies(self) -> list[Reply]:
        """Queued replies no request has consumed yet (a copy)."""
        with self._changed:
            return list(self._replies)

    @property
    def requests(self) -> list[CapturedPing]:
        """Every request received, in order, whatever it was answered (a copy)."""
        with self._changed:
            return list(self._requests)

    @property
    def pings(self) -> list[CapturedPing]:
        """The requests answered 2xx (the pings delivered), in order (a copy)."""
        return [r for r in self.requests if r.status is not None and 200 <= r.status < 300]

    def clear(self) -> None:
        """Forget every captured request and queued reply."""
        with self._changed:
            self._requests.clear()
            self._replies.clear()

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[CapturedPing]:
        """Block until ``count`` pings were delivered (answered 2xx); returns them.

        Raises:
            AssertionError: fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                delivered = [
                    r for r in self._requests if r.status is not None and 200 <= r.status < 300
                ]
                left = deadline - time.monotonic()
                if len(delivered) >= count or left <= 0:
                    break
                self._changed.wait(left)
        if len(delivered) < count:
            raise AssertionError(
                f"expected {count} delivered ping(s) within {timeout}s, got {len(delivered)} "
                f"({len(self._requests)} request(s) in all)"
            )
        return delivered

    def __len__(self) -> int:
        return len(self.pings)

    def __iter__(self) -> Iterator[CapturedPing]:
        return iter(self.pings)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Record a request from a sync ``httpx.Client`` and answer it."""
        return self._answer(request, request.read())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record a request from an ``httpx.AsyncClient`` and answer it."""
        return self._answer(request, await request.aread())

    def _answer(self, request: httpx.Request, body: bytes) -> httpx.Response:
        with self._changed:
            reply: Reply = self._replies.popleft() if self._replies else self.default_status
        response: httpx.Response | None
        if isinstance(reply, BaseException):
            status, response = None, None
        elif isinstance(reply, httpx.Response):
            status, response = reply.status_code, reply
        else:
            status, response = reply, httpx.Response(reply)
        self._record(request, body, status)
        if response is None:
            raise typing.cast(BaseException, reply)
        return response

    def _record(self, request: httpx.Request, body: bytes, status: int | None) -> None:
        path = request.url.path
        parts = _submit_path(request.url.raw_path.decode("ascii"))
        captured = CapturedPing(
            method=request.method,
            url=str(request.url),
            path=path,
            query=request.url.query.decode("ascii"),
            namespace=parts.namespace if parts else None,
            doctype=parts.doctype if parts else None,
            version=parts.version if parts else None,
            doc_id=parts.doc_id if parts else None,
            app=parts.app if parts else None,
            headers=httpx.Headers(request.headers),
            body=body,
            status=status,
            captured_at=time.time(),
            registry=self.registry,
        )
        with self._changed:
            self._requests.append(captured)
            self._changed.notify_all()
