"""The upload engine: one asyncio coroutine that moves pings from the queue to the edge.

Both clients run the same :class:`Engine`: :class:`PingClient` on a private thread's event loop,
:class:`AsyncPingClient` as a task on the caller's loop. One loop with many requests in flight
(one ``httpx.AsyncClient``, keep-alive) rather than a pool of sender threads: the threads fought
``submit()`` for the GIL (every SQLite call releases it) and made it ~40x slower.

The cycle: claim due rows up to the free request slots, send each (``Date`` set at send time,
path and body exactly as stored), classify the outcome, then ack, defer (attempts and next attempt
time persisted in the queue) or drop. Between cycles it sleeps until the next due time, a wake-up
(``submit()``, a finished request) or a poll tick; it never spins.

Outcomes that pause all sending (no answer, 429, 503: a column of the outcome table) pause new
claims globally, so a dead server sees a backed-off trickle rather than one request per queued
ping. An outage counts once however many requests were in flight when it began, the pause
follows the RetryPolicy's windows, one probe request goes first after it, and the first success
resumes full speed. A server's ``Retry-After`` on 429/503 is a hold nothing overrides; a flush
overrides everything else. Each request has a whole-request deadline below its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import importlib
import logging
import math
import random
import ssl
import threading
import time
from collections.abc import Callable
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
from pingsdk._delivery._prepare import Draft, check_ping, finish_ping
from pingsdk._delivery._stats import ClientStats, Counters, DeliveryReport
from pingsdk._exceptions import QueueBusyError, QueueError
from pingsdk._log import RateLimitedLog, logger
from pingsdk._model._ping import Ping
from pingsdk._queue import PingQueue, QueuedPing
from pingsdk.wire._headers import http_date, telemetry_agent

if TYPE_CHECKING:
    from pingsdk._delivery import _h11_transport

__all__ = [
    "Engine",
    "Sender",
    "TokenBucket",
    "default_transport",
    "delivery_report",
    "open_queue",
    "needs_tls_context",
    "preload_imports",
    "tls_context",
]

POLL_INTERVAL = 2.0
"""Longest idle sleep: how late pings of other processes and expired leases are noticed."""
_QUEUE_RETRY = 1.0
"""Pause after the queue file could not be used (locked past its busy timeout, I/O error)."""
OTHER_SENDER_POLL = 0.05
"""How often flush() looks at the queue when another process does the sending."""
_USER_AGENT = telemetry_agent()
"""Sent unless the client's extra headers name another User-Agent (proxies may want one)."""
_BUSY_RETRY = 0.05
"""Sleep when rows are due but none could be claimed (another sender holds them)."""
_BUFFER_SLACK = 4096
"""Room kept for a row's path and headers when judging whether a buffered ping fits the queue:
a ping that might not fit is stored at once, so ``submit()`` still raises PayloadTooLargeError."""
_CLOSE_COMMIT_WAIT = 0.1
"""Least time given to committing the buffer at close: losing pings is worse than a late close."""


_LAZY_IMPORTS = (
    "pingsdk._delivery._h11_transport",  # and h11, urllib.request: only once a client sends
    "h11",
    "encodings.idna",
)
_HTTPX_TRANSPORT_IMPORTS = ("httpcore", "anyio", "anyio._backends._asyncio", "certifi")
"""What httpx's own transport imports at its first request: only for a client that uses it
(a proxy named in the environment); the lean transport needs none of it (about 4 MiB)."""


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


def open_queue(config: ClientConfig) -> PingQueue:
    """The queue a client with ``config`` uses."""
    return PingQueue(
        config.queue_path,
        max_count=config.max_queue_count,
        max_bytes=config.max_queue_bytes,
        # A buffered client's commits are ordinary "process" commits, one per batch.
        durability="power" if config.durability == "power" else "process",
        lease_seconds=config.lease_seconds,
    )


class TokenBucket:
    """Client-side rate limit: at most ``count`` requests per ``per`` seconds, bursts included."""

    def __init__(self, count: int, per: float, *, clock: Callable[[], float] = time.monotonic):
        self._capacity = float(count)
        self._rate = count / per
        self._tokens = float(count)
        self._clock = clock
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def available(self) -> int:
        """Whole tokens available now."""
        self._refill()
        return int(self._tokens)

    def take(self) -> None:
        """Spend one token (call only after :meth:`available` said one is there)."""
        self._tokens -= 1.0

    def wait_time(self) -> float:
        """Seconds until one token is available."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self._rate)


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
        answer body."""
        assert self._http is not None
        headers = dict(row.headers)
        headers["Date"] = http_date(time.time())
        if not any(name.lower() == "user-agent" for name in headers):
            headers["User-Agent"] = _USER_AGENT
        if self._direct is not None and row.path.isascii():
            # The lean transport from the row's parts: no httpx.Request (its URL parsing alone
            # was a fifth of the CPU of a request) and no httpx.Response.
            raw = [self._host_header]
            raw += [(name.encode(), value.encode()) for name, value in headers.items()]
            status, answer_headers, answer = await self._direct.exchange(
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


class Engine:
    """Queue, counters and the upload loop of one client (in one process).

    Thread use: :meth:`accept`, :meth:`wake` and :meth:`stats` may be called from any thread;
    everything else runs on the loop that runs :meth:`run`.

    Args:
        lock_wait: the longest wait for the queue file's lock in one queue call made on the
            loop (``None``: the queue's ``busy_timeout``). The asyncio client sets a few
            milliseconds so that another process holding the file never blocks the caller's
            event loop for long: a busy queue is simply tried again on the next cycle.
    """

    def __init__(
        self,
        config: ClientConfig,
        queue: PingQueue,
        counters: Counters,
        *,
        rng: random.Random | None = None,
        lock_wait: float | None = None,
    ) -> None:
        self._config = config
        self.queue = queue
        self.counters = counters
        self._rng = rng or random.Random()
        self._lock_wait = lock_wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake_event = asyncio.Event()
        self._progress = asyncio.Event()
        # True while a wake-up is already on its way: a burst of submit() calls from other
        # threads costs one call_soon_threadsafe, not one per ping.
        self._wake_pending = False
        self._stopping = False
        self._in_flight: dict[str, tuple[QueuedPing, asyncio.Task[None]]] = {}
        # Rows whose outcome could not be written (a full or busy queue file): still leased
        # to us. A sent ping's ack is tried again (resending it would duplicate it); the others
        # are given back as soon as the queue takes writes again, or on close.
        self._unsettled: dict[str, bool] = {}
        # The global pause (monotonic times). ``_pause_until`` is this client's own backoff
        # after an outage, which a flush overrides; ``_hold_until`` is what the server asked
        # for (429/503 with Retry-After), which nothing overrides.
        self._pause_until = 0.0
        self._hold_until = 0.0
        self._failures = 0
        # When the last counted failure happened: failures of requests started before it
        # belong to the same outage and are not counted again.
        self._window_start = -math.inf
        # A flush's sweep: claim pings waiting for their retry too, each once per flush.
        self._flushes = 0
        self._sweeping = False
        self._swept: set[str] = set()
        self._bucket = TokenBucket(*config.rate_limit) if config.rate_limit else None
        self._warn = RateLimitedLog()
        self._sender: Sender | None = None
        # durability="buffered": prepared rows waiting for the loop to commit them in one
        # transaction. ``_buffer_lock`` guards the list (taken by submit(), held for an
        # append); ``_commit_lock`` is held for a whole commit, so stats() never sees a batch
        # that is in neither the buffer nor the queue.
        self._buffered = config.durability == "buffered"
        self._buffer: list[Draft] = []
        self._buffer_since = 0.0
        self._buffer_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self.running = False
        self.finished = False

    # -- any thread ------------------------------------------------------------------------

    def accept(self, ping: Ping, *, upload_enabled: bool) -> str:
        """Prepare and store ``ping`` (durable on return, or buffered), count it, wake the loop.

        Raises what ``prepare_ping`` and ``PingQueue.put`` raise; nothing
        is stored or buffered then.
        """
        row = self.take(ping, upload_enabled=upload_enabled)
        if isinstance(row, str):
            return row
        self.store(row)
        return row.doc_id

    def take(self, ping: Ping, *, upload_enabled: bool) -> QueuedPing | str:
        """Check and prepare ``ping``: buffered (its doc id is returned) with
        ``durability="buffered"`` when it surely fits the queue, else the row to :meth:`store`.

        A buffered ping's compression and headers wait for the commit, off the caller's time.
        """
        draft = check_ping(ping, self._config, upload_enabled=upload_enabled, defer=self._buffered)
        if self._buffered and draft.size + _BUFFER_SLACK <= self._config.max_queue_bytes:
            self._buffer_draft(draft)
            return draft.doc_id
        return finish_ping(draft, self._config)

    def _buffer_draft(self, row: Draft) -> None:
        """Hand ``row`` to the buffer; the loop commits it within ``buffer_delay``.

        Only the first ping of a batch wakes the loop (to time the commit): the others cost an
        append under an uncontended lock.
        """
        with self._buffer_lock:
            buffer = self._buffer
            first = not buffer
            if first:
                self._buffer_since = time.monotonic()
            elif len(buffer) >= self._config.max_queue_count:
                # The queue cannot be written (full disk, locked file) and the buffer would
                # outgrow what the queue may hold: the oldest go, as they would from the queue.
                del buffer[0]
                self._count_evicted(1)
            buffer.append(row)
        self.counters.add("submitted")
        if self._config.log_pings and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "ping %s %s: %s", row.doc_id, row.path, row.json.decode("utf-8", "replace")
            )
        if first:
            self.wake()

    def commit_buffer(self, *, timeout: float | None = None) -> int:
        """Store every buffered ping in one transaction; returns how many (any thread).

        Raises:
            QueueError: the queue could not take them (busy past ``timeout``, full disk...);
                they stay buffered, in order, for the next try.
        """
        # Another thread may be committing (the loop while close() runs): wait for it within
        # the same bound as for the file's lock.
        if not self._commit_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise QueueBusyError(
                f"the buffered pings are being stored by another thread past {timeout:.3g} s; "
                "they stay buffered"
            )
        try:
            with self._buffer_lock:
                drafts = self._buffer
                if not drafts:
                    return 0
                since = self._buffer_since
                self._buffer = []
            try:
                rows = [finish_ping(draft, self._config) for draft in drafts]
                evicted = self.queue.put_many(rows, timeout=timeout)
            except BaseException:
                with self._buffer_lock:
                    self._buffer[:0] = drafts
                    self._buffer_since = since
                raise
        finally:
            self._commit_lock.release()
        if evicted:
            self._count_evicted(len(evicted))
        return len(rows)

    def adopt_buffer(self, other: Engine) -> None:
        """Take over ``other``'s uncommitted pings (an engine replaced in this process)."""
        with other._buffer_lock:
            rows, since = other._buffer, other._buffer_since
            other._buffer = []
        if rows:
            with self._buffer_lock:
                if not self._buffer:
                    self._buffer_since = since
                self._buffer[:0] = rows
            self.wake()

    @property
    def buffered(self) -> int:
        """Pings handed to the buffer and not yet committed to the queue."""
        return len(self._buffer)

    def _buffer_wait(self) -> float:
        """Seconds until the buffer is due for its commit (``inf`` when it is empty).

        A batch is committed half a ``buffer_delay`` after its first ping: the other half is
        the margin for a loop that is busy sending, so a ping is on disk within the delay.
        """
        if not self._buffer:
            return math.inf
        return self._buffer_since + self._config.buffer_delay / 2 - time.monotonic()

    def store(self, row: QueuedPing, *, timeout: float | None = None, leased: bool = False) -> None:
        """Put a prepared row in the queue, count it and any evictions, wake the loop.

        Args:
            timeout: the longest wait for the queue file's lock (``QueueBusyError`` after it,
                with nothing stored); ``None`` for the queue's ``busy_timeout``.
            leased: store it leased to this client's queue owner (``send_now()``, which sends
                it at once and then settles it with :meth:`finish_now`).
        """
        if leased:
            evicted = self.queue.put_leased(row, timeout=timeout)
        else:
            evicted = self.queue.put(row, timeout=timeout)
        self.counters.add("submitted")
        if evicted:
            self._count_evicted(len(evicted))
        if self._config.log_pings and logger.isEnabledFor(logging.DEBUG):
            logger.debug("ping %s %s: %s", row.doc_id, row.path, _payload_text(row))
        self.wake()

    def _count_evicted(self, count: int) -> None:
        self.counters.add("evicted", count)
        # Data loss, so ERROR; rate-limited because an outage evicts on every submit.
        self._warn.log(
            logging.ERROR,
            "evicted",
            "queue full: evicted %d oldest ping(s) to store new ones (max_queue_count=%d, "
            "max_queue_bytes=%d)",
            count,
            self._config.max_queue_count,
            self._config.max_queue_bytes,
        )

    def wake(self) -> None:
        """Make the loop look at the queue soon. Cheap when a wake-up is already pending."""
        if self._wake_pending:
            return
        self._wake_pending = True
        loop = self._loop
        if loop is None:
            return  # run() looks at the queue when it starts
        if threading.get_ident() == self._loop_thread:
            self._wake_event.set()
            return
        # A closed loop means the client is shutting down: the ping stays queued.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake_event.set)

    def stats(self) -> ClientStats:
        """The counters plus the pending count: the queue's and the buffer's."""
        with self._commit_lock:
            pending = self.queue.stats().pending + len(self._buffer)
        return self.counters.snapshot(pending=pending, in_flight=len(self._in_flight))

    def pending(self, *, timeout: float | None = None) -> int:
        """Pings stored for this client's endpoint (every process's), leased or not."""
        return self.queue.stats(endpoint=self._config.endpoint, timeout=timeout).pending

    def _holds(self, timeout: float | None) -> tuple[bool, bool]:
        """Whether pings for this endpoint are stored, and whether any is leased: the cheap
        check the flush loops poll (no count of the whole table after every request)."""
        return self.queue.holds(self._config.endpoint, timeout=timeout)

    def _hopeless(self, remaining: float, leased: bool) -> bool:
        """Whether none of the stored pings can be sent within ``remaining`` seconds.

        Only when nobody holds a lease on them (a ping leased by another sender may be
        acknowledged at any moment) and the earliest is scheduled after the deadline.
        """
        if leased:
            return False
        next_due = self.queue.next_due(
            endpoint=self._config.endpoint, timeout=self._budget(remaining)
        )
        return next_due is not None and next_due - time.time() > remaining

    def _budget(self, remaining: float) -> float:
        """How long one queue call may wait for the file's lock within a deadline."""
        cap = 1.0 if self._lock_wait is None else self._lock_wait
        return max(0.0, min(remaining, cap))

    def other_sender_step(self, deadline: float) -> bool | float:
        """One step of ``flush()`` for a client whose pings another process sends.

        ``uploader=False`` clients wait for the queue itself. Returns ``True`` when no ping of
        this endpoint is stored any more, ``False`` when the deadline (a ``time.monotonic()``
        value) has passed or none of them can be sent before it, else how long to sleep
        before asking again.
        """
        remaining = deadline - time.monotonic()
        try:
            stored, leased = self._holds(self._budget(min(remaining, OTHER_SENDER_POLL)))
            if not stored:
                return True
            hopeless = self._hopeless(remaining, leased)
        except QueueError:
            hopeless = False  # busy: the other process is working on it; ask again
        if remaining <= 0 or hopeless:
            return False
        return min(OTHER_SENDER_POLL, remaining)

    # -- on the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """The upload loop; returns after :meth:`stop`. Unsent leases are given back on exit."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.running = True
        sender = Sender(self._config)
        try:
            await sender.open()
            self._sender = sender
            try:
                await self._main()
            finally:
                await self._cancel_in_flight(release=True)
        finally:
            self._sender = None
            await sender.close()
            self.running = False
            self.finished = True
            self._progress.set()

    def stop(self) -> None:
        """Ask :meth:`run` to return (call on the loop)."""
        self._stopping = True
        self._wake_event.set()

    async def flush(self, timeout: float, *, now: bool = True) -> bool:
        """Send this endpoint's pings; ``True`` only when none is left in the queue.

        Args:
            timeout: the longest wait, in seconds.
            now: override the backoff: every pending ping is tried at once (each at least once
                during this flush), and this client's own pause after an outage ends. A pause
                the server asked for (429/503 with ``Retry-After``) is still honoured, and a
                ping that fails again during the flush waits for its next retry as usual.
                ``False`` sends only what is due before the deadline.

        Returns ``False`` at the deadline, or as soon as nothing left can be sent before it
        (the server asked to wait longer, or the uploader stopped).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        if now:
            self._flushes += 1
            self._sweeping = True
            self._pause_until = 0.0  # our own backoff; a probe still goes first after an outage
        try:
            self.wake()
            while True:
                remaining = deadline - time.monotonic()
                try:
                    self.commit_buffer(timeout=self._budget(remaining))
                    held: tuple[bool, bool] | None = self._holds(self._budget(remaining))
                except QueueError:
                    held = None  # busy right now: not known to be empty
                if held is not None and not held[0] and not self._buffer:
                    return True
                if self.finished or remaining <= 0:
                    return False
                if not self._in_flight and max(self._pause_until, self._hold_until) >= deadline:
                    return False  # nothing can go out before the deadline
                if held is not None and not self._in_flight and not self._sweeping:
                    with contextlib.suppress(QueueError):
                        if self._hopeless(remaining, held[1]):
                            return False
                self._progress.clear()
                await _wait_event(self._progress, min(remaining, POLL_INTERVAL))
        finally:
            if now:
                self._flushes -= 1
                if not self._flushes:
                    self._sweeping = False
                    self._swept.clear()

    async def purge(self, keep: QueuedPing | None = None) -> int:
        """Cancel in-flight sends, delete every queued ping (but deletion requests), then store
        ``keep``."""
        await self._cancel_in_flight(release=True)
        return self.purge_now(keep)

    def purge_now(self, keep: QueuedPing | None = None) -> int:
        """Delete every queued ping but those stored to survive a purge (deletion requests),
        then store ``keep`` (nothing may be in flight)."""
        with self._commit_lock, self._buffer_lock:
            unstored = len(self._buffer)
            self._buffer.clear()
        purged = self.queue.purge() + unstored
        if purged:
            self.counters.drop("upload_disabled", purged)
            logger.info("upload disabled: deleted %d queued ping(s)", purged)
        if keep is not None:
            self.store(keep)
        return purged

    async def _main(self) -> None:
        while not self._stopping:
            self._wake_event.clear()
            self._wake_pending = False
            try:
                if self._buffer and self._buffer_wait() <= 0:
                    self.commit_buffer(timeout=self._lock_wait)
                delay = min(self._fill(), max(0.0, self._buffer_wait()))
            except QueueBusyError as exc:
                if self._lock_wait is None:
                    self._warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
                # With a short lock_wait a busy file is expected (another process is writing).
                delay = _QUEUE_RETRY if self._lock_wait is None else _BUSY_RETRY
            except QueueError as exc:
                # The queue file is busy, full or being replaced: nothing is lost (rows stay
                # stored), so wait and try again rather than let the uploader die.
                self._warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
                delay = _QUEUE_RETRY
            except Exception as exc:
                # A bug must not end delivery for good: log it, pause, go on.
                self._warn.log(
                    logging.ERROR,
                    "engine",
                    "pingsdk uploader error (%s: %s); retrying in %.0f s",
                    type(exc).__name__,
                    exc,
                    _QUEUE_RETRY,
                )
                logger.debug("pingsdk uploader error", exc_info=exc)
                delay = _QUEUE_RETRY
            self._progress.set()
            if self._stopping:
                break
            await _wait_event(self._wake_event, delay)

    def _settle(self) -> None:
        """Retry the outcomes the queue could not record earlier (QueueError: _main retries)."""
        for doc_id, sent in list(self._unsettled.items()):
            if sent:
                self.queue.ack(doc_id, timeout=self._lock_wait)
            else:
                self.queue.release([doc_id], timeout=self._lock_wait)
            del self._unsettled[doc_id]

    def _fill(self) -> float:
        """Start sends for due rows; return how long to sleep before looking again."""
        if self._unsettled:
            self._settle()
        slots = self._config.max_in_flight
        if self._failures:
            slots = 1  # after an outage one probe request goes first, not one per ping
        free = slots - len(self._in_flight)
        if free <= 0:
            return POLL_INTERVAL  # a finished request wakes us
        mono = time.monotonic()
        blocked = max(self._pause_until, self._hold_until)
        if mono < blocked:
            return blocked - mono
        if self._bucket is not None:
            tokens = self._bucket.available()
            if tokens <= 0:
                return self._bucket.wait_time()
            free = min(free, tokens)
        now = time.time()
        sweeping = self._sweeping
        # Pings this sweep already tried (and that wait for a retry) come back from a claim
        # that ignores the schedule: claim enough to see past them.
        skip = len(self._swept) if sweeping else 0
        rows = self.queue.claim(
            free + skip,
            now=now,
            endpoint=self._config.endpoint,
            ignore_schedule=sweeping,
            timeout=self._lock_wait,
        )
        corrupt = self.queue.take_quarantined()
        if corrupt:
            self.counters.drop("corrupt", corrupt)
        assert self._loop is not None
        started = 0
        give_back: list[str] = []
        for row in rows:
            if row.doc_id in self._in_flight:
                continue  # our own send is still running: never a second request for it
            if started >= free or (
                sweeping and row.doc_id in self._swept and row.next_attempt_at > now
            ):
                give_back.append(row.doc_id)
                continue
            reason = self._config.retry.gives_up(row.attempts, row.created_at, now)
            if reason is not None:
                self.queue.ack(row.doc_id, timeout=self._lock_wait)
                self._report_drop(row, reason, status=None, attempts=row.attempts, detail=None)
                continue
            if self._bucket is not None:
                self._bucket.take()
            if sweeping:
                self._swept.add(row.doc_id)
            task = self._loop.create_task(self._send(row))
            self._in_flight[row.doc_id] = (row, task)
            started += 1
        if give_back:
            self.queue.release(give_back, timeout=self._lock_wait)
        if len(rows) >= free + skip:
            return POLL_INTERVAL if len(self._in_flight) >= slots else 0.0
        # The sweep lasts as long as the flush: a ping the server holds (Retry-After) is tried
        # when its hold ends, noticed within a poll tick.
        next_due = self.queue.next_due(endpoint=self._config.endpoint, timeout=self._lock_wait)
        if next_due is None:
            return POLL_INTERVAL
        wait = next_due - time.time()
        if wait <= 0:
            return _BUSY_RETRY if not started else 0.0
        return min(wait, POLL_INTERVAL)

    async def _send(self, row: QueuedPing) -> None:
        attempt = row.attempts + 1
        started = time.monotonic()
        detail: str | None = None
        assert self._sender is not None
        try:
            outcome, detail = await asyncio.wait_for(
                self._sender.post(row), self._config.request_deadline
            )
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            # The whole request outlived its deadline (e.g. an answer trickled byte by byte):
            # give up on it well before its lease could pass to another sender.
            outcome = Outcome(OutcomeKind.RETRY, None, "timeout", pauses_sending=True)
        except Exception as exc:
            outcome = classify_exception(exc)  # logs unexpected exceptions at ERROR
        logger.debug(
            "POST %s -> %s %s (attempt %d, %.1f ms)",
            row.path,
            outcome.status if outcome.status is not None else "-",
            outcome.reason,
            attempt,
            (time.monotonic() - started) * 1000,
            extra={"event": "request", "doc_id": row.doc_id},
        )
        self._in_flight.pop(row.doc_id, None)
        try:
            self._apply(row, outcome, attempt, started=started, detail=detail)
        except Exception as exc:
            # The outcome could not be recorded: a sent ping's ack is tried again, any other
            # row is released and sent again with the same URL and body (the pipeline
            # deduplicates by docId).
            self._unsettled[row.doc_id] = outcome.kind is OutcomeKind.SENT
            self._warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
        finally:
            self._wake_event.set()

    def _apply(
        self,
        row: QueuedPing,
        outcome: Outcome,
        attempt: int,
        *,
        started: float = math.inf,
        detail: str | None = None,
    ) -> None:
        """Act on one request's outcome: ack, defer with backoff, or drop.

        ``started`` is when the request began (``time.monotonic()``): a failure of a request
        started before the current pause began is part of the outage already counted.
        """
        if outcome.kind is OutcomeKind.SENT:
            self.queue.ack(row.doc_id, timeout=self._lock_wait)
            self._swept.discard(row.doc_id)
            if self._failures:
                logger.info("the edge accepts pings again; resuming full-speed sending")
            self._failures = 0
            self._pause_until = 0.0
            self._window_start = -math.inf
            self.counters.add("sent")
            self._callback(
                self._config.on_sent, delivery_report(row, outcome.status, "ok", attempt)
            )
            return
        if outcome.kind is OutcomeKind.DROP:
            self.queue.ack(row.doc_id, timeout=self._lock_wait)
            self._swept.discard(row.doc_id)
            self._report_drop(
                row, outcome.reason, status=outcome.status, attempts=attempt, detail=detail
            )
            return
        now = time.time()
        mono = time.monotonic()
        policy = self._config.retry
        hold_until: float | None = None
        if outcome.pauses_sending:
            if started >= self._window_start:
                # A new failure (not one more request of an outage already counted).
                self._failures += 1
                self._window_start = mono
                self._pause_until = mono + self._pause(self._failures)
            server = policy.server_delay(outcome.retry_after)
            if server:
                self._hold_until = max(self._hold_until, mono + server)
                hold_until = now + server
            # The ping waits for the end of the pause, not for a backoff of its own on top:
            # every ping goes again as soon as the edge is back.
            delay = max(self._pause_until, self._hold_until) - mono
        else:
            if outcome.status is not None and started >= self._window_start:
                self._failures = 0  # the edge answers: no outage
                self._pause_until = 0.0
            delay = policy.delay(attempt, retry_after=outcome.retry_after, rng=self._rng)
        reason = policy.gives_up(attempt, row.created_at, now)
        if reason is not None:
            self.queue.ack(row.doc_id, timeout=self._lock_wait)
            self._swept.discard(row.doc_id)
            self._report_drop(row, reason, status=outcome.status, attempts=attempt, detail=detail)
            return
        self.queue.defer(
            row.doc_id,
            next_attempt_at=now + max(0.0, delay),
            attempts=attempt,
            hold_until=hold_until,
            last_status=outcome.status,
            timeout=self._lock_wait,
        )
        self.counters.add("retried")
        self._warn.log(
            logging.WARNING,
            "retry",
            "upload of ping %s failed (%s), attempt %d; retrying in %.1f s%s",
            row.doc_id,
            outcome.reason,
            attempt,
            delay,
            _detail_suffix(detail),
        )

    def finish_now(
        self, row: QueuedPing, outcome: Outcome, attempts: int, detail: str | None
    ) -> DeliveryReport:
        """Settle the last attempt of a ``send_now()`` of ``row``, which it leases (any thread).

        As :meth:`_apply` does for the uploader's sends, but without touching the uploader's
        global pause: a sent or refused ping is acked and reported (counters, ``on_sent`` /
        ``on_dropped``); a failed one is deferred to the policy's next retry time (and a
        server's hold) for the uploader, or dropped when the policy gives up on it.

        Returns the report; its ``reason`` is ``"ok"``, the drop reason, or ``"queued"`` (the
        ping stays stored for the uploader). Never raises for the queue: see :meth:`_record_now`.
        """
        report = delivery_report(row, outcome.status, outcome.reason, attempts, detail)
        if outcome.kind is OutcomeKind.SENT:
            self._record_now("remove", row, lambda: self.queue.ack(row.doc_id))
            self.counters.add("sent")
            self._callback(self._config.on_sent, report)
            return report
        now = time.time()
        policy = self._config.retry
        reason = (
            outcome.reason
            if outcome.kind is OutcomeKind.DROP
            else policy.gives_up(attempts, row.created_at, now)
        )
        if reason is not None:
            self._record_now("remove", row, lambda: self.queue.ack(row.doc_id))
            self._report_drop(row, reason, status=outcome.status, attempts=attempts, detail=detail)
            return dataclasses.replace(report, reason=reason)
        server = policy.server_delay(outcome.retry_after)
        next_attempt_at = now + policy.delay(attempts, retry_after=outcome.retry_after)
        self._record_now(
            "reschedule",
            row,
            lambda: self.queue.defer(
                row.doc_id,
                next_attempt_at=next_attempt_at,
                attempts=attempts,
                hold_until=now + server if server else None,
                last_status=outcome.status,
            ),
        )
        self.counters.add("retried")
        self.wake()
        return dataclasses.replace(report, reason="queued")

    def _record_now(self, what: str, row: QueuedPing, write: Callable[[], object]) -> None:
        """One queue write settling a ``send_now()`` row. A failure (a busy or full file) is
        logged, not raised, so the caller still learns what the edge answered: the row stays
        leased until its lease expires, then the uploader sends it again with the same URL and
        body (a sent ping's duplicate is deduplicated by its docId; a refused one is refused
        and dropped again)."""
        try:
            write()
        except QueueError as exc:
            self._warn.log(
                logging.WARNING,
                "queue",
                "could not %s ping %s in the queue (%s); the uploader handles it when its "
                "lease expires",
                what,
                row.doc_id,
                exc,
            )

    def _pause(self, failures: int) -> float:
        """The global pause after the ``failures``-th counted failure of an outage.

        The policy's window for that attempt, with "equal jitter" (between half and all of
        it) rather than full jitter: clients still spread out, but a short outage never turns
        into a long stall, and the pause still doubles per failed probe.
        """
        cap = self._config.retry.cap(failures)
        return self._rng.uniform(cap / 2, cap) if self._config.retry.jitter else cap

    def _report_drop(
        self,
        row: QueuedPing,
        reason: str,
        *,
        status: int | None,
        attempts: int,
        detail: str | None,
    ) -> None:
        self.counters.drop(reason)
        self._warn.log(
            logging.WARNING,
            "drop:" + reason,
            "dropped ping %s (%s/%s/%d) after %d attempt(s): %s%s",
            row.doc_id,
            row.namespace,
            row.doctype,
            row.version,
            attempts,
            reason,
            _detail_suffix(detail),
        )
        self._callback(
            self._config.on_dropped, delivery_report(row, status, reason, attempts, detail)
        )

    @staticmethod
    def _callback(
        callback: Callable[[DeliveryReport], None] | None, report: DeliveryReport
    ) -> None:
        if callback is None:
            return
        try:
            callback(report)
        except Exception:
            logger.exception("a delivery callback raised for ping %s; ignored", report.doc_id)

    async def _cancel_in_flight(self, *, release: bool) -> list[str]:
        """Cancel every running send; give their leases back when ``release``."""
        if release and self._unsettled:
            with contextlib.suppress(QueueError):  # then their leases simply expire
                self._settle()
            self._unsettled.clear()
        if not self._in_flight:
            return []
        tasks = [task for _, task in self._in_flight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Sends that finished before the cancel removed themselves; the rest are still here.
        ids = list(self._in_flight)
        self._in_flight.clear()
        if release and ids:
            with contextlib.suppress(QueueError):  # then their leases simply expire
                self.queue.release(ids, timeout=self._lock_wait)
        return ids


_DRAIN_BYTES = 64 * 1024
"""Read at most this much of an answer: enough to reuse the connection for any sane answer."""


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


def _detail_suffix(detail: str | None) -> str:
    return "" if detail is None else f"; the edge said: {detail}"


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds (a timer, not a task per wait)."""
    if event.is_set():
        return
    if timeout <= 0:
        await asyncio.sleep(0)
        return
    handle = asyncio.get_running_loop().call_later(timeout, event.set)
    try:
        await event.wait()
    finally:
        handle.cancel()


def delivery_report(
    row: QueuedPing, status: int | None, reason: str, attempts: int, detail: str | None = None
) -> DeliveryReport:
    return DeliveryReport(
        doc_id=row.doc_id,
        path=row.path,
        namespace=row.namespace,
        doctype=row.doctype,
        version=row.version,
        status=status,
        reason=reason,
        attempts=attempts,
        detail=detail,
    )


def _payload_text(row: QueuedPing) -> str:
    body = row.body
    if row.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")
