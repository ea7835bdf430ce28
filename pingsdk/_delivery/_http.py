"""HTTP: the TLS context, the transport, one POST of a stored row and what its failure means.

The engine (the uploader) and ``send_now()`` both post through a :class:`Sender`: one HTTP
session to the client's endpoint that sends a row exactly as stored (path and body), with the
send-time headers of :func:`pingsdk.wire._headers.send_headers`. The default transport is the
lean HTTP/1.1 one (:mod:`pingsdk._delivery._h11_transport`); httpx's own only serves a proxy
named in the environment, and a ``transport=`` given to the client wins over both.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ssl
import time
from typing import TYPE_CHECKING

import httpx

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._outcome import (
    DETAIL_BYTES,
    Outcome,
    OutcomeKind,
    classify,
    classify_exception,
    response_detail,
)
from pingsdk._queue import QueuedPing
from pingsdk.wire._headers import send_headers

if TYPE_CHECKING:
    from pingsdk._delivery import _h11_transport

__all__ = [
    "Sender",
    "default_transport",
    "needs_tls_context",
    "preload_imports",
    "tls_context",
]

_LAZY_IMPORTS = (
    "pingsdk._delivery._h11_transport",  # and h11, urllib.request: only once a client sends
    "h11",
    "encodings.idna",
)
_HTTPX_TRANSPORT_IMPORTS = ("httpcore", "anyio", "anyio._backends._asyncio", "certifi")
"""What httpx's own transport imports at its first request: only for a client that uses it
(a proxy named in the environment); the lean transport needs none of it (about 4 MiB)."""

_DRAIN_BYTES = 64 * 1024
"""Read at most this much of an answer: enough to reuse the connection for any sane answer."""


def preload_imports(config: ClientConfig | None = None) -> None:
    """Import, in the calling thread, what the uploader imports lazily at its first request.

    If the uploader thread did those imports and another thread forked meanwhile, the child
    would inherit half-initialised modules (seen: ``httpcore`` without ``AsyncConnectionPool``).
    ``config`` limits them to what that client's transport needs (all of them without it).
    """
    names: tuple[str, ...] = _LAZY_IMPORTS
    if config is None or _uses_httpx_transport(config):
        names += _HTTPX_TRANSPORT_IMPORTS
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _uses_httpx_transport(config: ClientConfig) -> bool:
    from pingsdk._delivery._h11_transport import environment_proxy

    return config.transport is None and environment_proxy(config.endpoint)


def needs_tls_context(config: ClientConfig) -> bool:
    """Whether the client's own transport will make TLS connections (an ``https://`` endpoint,
    or httpx's transport for a proxy), so the shared context must exist before it starts."""
    if config.transport is not None:
        return False
    return config.endpoint.startswith("https://") or _uses_httpx_transport(config)


_TLS_CONTEXTS: dict[bool | str, ssl.SSLContext] = {}


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context for ``verify``, created once per process tree and then shared.

    Creating one takes OpenSSL's locks for tens of milliseconds (loading the CA bundle). Done
    by the uploader thread, a ``fork()`` from another thread meanwhile left the child with
    those locks held, and the child's uploader hung in ``SSLContext()`` (seen in 1 of 4 forks
    right after the first submit). So clients create it in the calling thread before the
    uploader starts, and a forked child reuses the parent's context.
    """
    context = _TLS_CONTEXTS.get(verify)
    if context is None:
        # A CA bundle path is loaded here: httpx deprecated ``verify=<str>`` (a warning).
        context = _TLS_CONTEXTS[verify] = (
            ssl.create_default_context(cafile=verify)
            if isinstance(verify, str)
            else httpx.create_ssl_context(verify=verify)
        )
    return context


def prepare_to_send(config: ClientConfig) -> None:
    """What must happen in the caller's thread before a client's uploader starts: the lazy
    imports and the TLS context (see :func:`preload_imports` and :func:`tls_context`)."""
    preload_imports(config)
    if needs_tls_context(config):
        tls_context(config.verify)


def default_transport(config: ClientConfig) -> httpx.AsyncBaseTransport | None:
    """The transport the uploader sends with: ``config.transport`` when given, else the lean
    HTTP/1.1 transport (a third of httpx's CPU per request, so less GIL taken from
    ``submit()``), else ``None`` (httpx's own) when the environment names a proxy for the
    endpoint, which only httpx's transport speaks."""
    if config.transport is not None:
        return config.transport
    from pingsdk._delivery._h11_transport import H11Transport, environment_proxy

    if environment_proxy(config.endpoint):
        return None
    # Plain http:// never needs the TLS context (loading the CA bundle costs ~1.6 MiB).
    context = tls_context(config.verify) if needs_tls_context(config) else None
    return H11Transport(ssl_context=context, max_keepalive=config.max_in_flight)


class Sender:
    """One HTTP session to the client's endpoint: POSTs stored rows exactly as stored.

    Only ``Date`` (set at send time) and a default ``User-Agent`` are added to a row's headers;
    the URL is the client's endpoint plus the row's path. The engine holds one for its lifetime;
    ``send_now()`` opens its own, so it never waits for a free slot of the uploader's.
    """

    def __init__(self, config: ClientConfig, *, shared: bool = False) -> None:
        """``shared``: a ``transport=`` given to the client is also the uploader's, so closing
        this session must leave it open (a ``send_now()``'s session)."""
        self._config = config
        self._shared = shared and config.transport is not None
        self._http: httpx.AsyncClient | None = None
        self._direct: _h11_transport.H11Transport | None = None
        self._origin = ("", "", 0)
        self._host_header = (b"Host", b"")
        self._base_target = b""
        self._extensions = {"timeout": httpx.Timeout(config.timeout).as_dict()}

    async def open(self) -> None:
        """Set up the transport and the connection pool (call on the loop that sends)."""
        limits = httpx.Limits(
            max_connections=self._config.max_in_flight,
            max_keepalive_connections=self._config.max_in_flight,
        )
        # Imported here: h11 and urllib.request load when a client first sends, not on
        # ``import pingsdk`` (preload_imports() loads them in the caller's thread).
        from pingsdk._delivery._h11_transport import H11Transport, origin_of

        transport = default_transport(self._config)
        # The lean transport is called directly: httpx.AsyncClient's send() (auth, redirect
        # and cookie plumbing) would add about a third to its CPU per request.
        self._direct = transport if isinstance(transport, H11Transport) else None
        endpoint = httpx.URL(self._config.endpoint)
        self._origin = origin_of(endpoint)
        self._host_header = (b"Host", endpoint.netloc)
        self._base_target = endpoint.raw_path.rstrip(b"/")
        http = httpx.AsyncClient(
            transport=transport,
            # Only httpx's own transport (a proxy) uses it; the lean one has its context.
            verify=tls_context(self._config.verify) if transport is None else True,
            timeout=self._config.timeout,
            limits=limits,
            follow_redirects=False,
        )
        await http.__aenter__()
        self._http = http

    async def close(self) -> None:
        """Close the connections (idempotent)."""
        http, self._http, self._direct = self._http, None, None
        if http is not None and not self._shared:
            await http.aclose()  # closes the transport too

    async def post(self, row: QueuedPing) -> tuple[Outcome, str | None]:
        """One POST of ``row``: the outcome and, for a refusal or failure, the start of the
        answer body. Network errors raise (see :meth:`post_within` for their meaning)."""
        assert self._http is not None
        headers = send_headers(row.headers, now=time.time())
        if self._direct is not None and row.path.isascii():
            return await self._post_direct(self._direct, row, headers)
        # A request built here and passed to send() skips the client's per-request merging of
        # default headers, cookies and params: ~25% less CPU per ping than client.post().
        request = httpx.Request(
            "POST",
            self._config.endpoint + row.path,
            content=row.body,
            headers=headers,
            extensions=self._extensions,
        )
        response = await self._http.send(request, stream=True)
        try:
            body = await _read_answer(response)
        except (httpx.HTTPError, OSError):
            body = b""  # the status decides; a broken body only costs the detail
        finally:
            await response.aclose()
        outcome = classify(response.status_code, response.headers, now=time.time())
        detail = None if outcome.kind is OutcomeKind.SENT else response_detail(body)
        return outcome, detail

    async def _post_direct(
        self, direct: _h11_transport.H11Transport, row: QueuedPing, headers: dict[str, str]
    ) -> tuple[Outcome, str | None]:
        # The lean transport from the row's parts: no httpx.Request (its URL parsing alone
        # was a fifth of the CPU of a request) and no httpx.Response.
        raw = [self._host_header]
        raw += [(name.encode(), value.encode()) for name, value in headers.items()]
        status, answer_headers, answer = await direct.exchange(
            self._origin,
            b"POST",
            self._base_target + row.path.encode(),
            headers=raw,
            body=row.body,
            timeouts=self._extensions["timeout"],
        )
        outcome = classify(
            status,
            {name.decode("latin-1"): value.decode("latin-1") for name, value in answer_headers},
            now=time.time(),
        )
        if outcome.kind is OutcomeKind.SENT:
            return outcome, None
        return outcome, response_detail(answer[:DETAIL_BYTES])

    async def post_within(self, row: QueuedPing, deadline: float) -> tuple[Outcome, str | None]:
        """:meth:`post` bounded by ``deadline`` seconds for the whole request; never raises
        but for a cancel: a failure is its :class:`Outcome` (the uploader's sends)."""
        # A request that outlives ``deadline`` (e.g. an answer trickled byte by byte) is given up
        # well before its lease could pass to another sender; its TimeoutError is classified by
        # the outcome table like every other failure.
        try:
            return await asyncio.wait_for(self.post(row), deadline)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return classify_exception(exc), None  # logs unexpected exceptions at ERROR


async def _read_answer(response: httpx.Response) -> bytes:
    """The first DETAIL_BYTES of the answer body, reading at most _DRAIN_BYTES of it."""
    kept = bytearray()
    seen = 0
    async for chunk in response.aiter_bytes():
        if len(kept) < DETAIL_BYTES:
            kept += chunk[: DETAIL_BYTES - len(kept)]
        seen += len(chunk)
        if seen >= _DRAIN_BYTES:
            break
    return bytes(kept)
