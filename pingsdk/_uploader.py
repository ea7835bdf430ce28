"""The upload engine: one asyncio coroutine that moves pings from the queue to the edge.

Both clients run the same :class:`Engine`: :class:`PingClient` on a private thread's event loop,
:class:`AsyncPingClient` as a task on the caller's loop. One loop with many requests in flight
(one ``httpx.AsyncClient``, keep-alive) rather than a pool of sender threads: the threads fought
``submit()`` for the GIL (every SQLite call releases it) and made it ~40x slower.

The cycle: claim due rows up to the free request slots, send each (``Date`` set at send time,
path and body exactly as stored), classify the outcome, then ack, defer (attempts and next attempt
time persisted in the queue) or drop. Between cycles it sleeps until the next due time, a wake-up
(``submit()``, a finished request) or a poll tick; it never spins. Connection failures and
explicit overload answers (429, 503) also pause new claims globally, so a dead server sees a
backed-off trickle rather than one request per queued ping.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import importlib
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable

import httpx

from ._config import ClientConfig
from ._exceptions import QueueError
from ._headers import http_date, telemetry_agent
from ._log import RateLimitedLog, logger
from ._outcome import Outcome, OutcomeKind, classify, classify_exception
from ._ping import Ping
from ._prepare import prepare_ping
from ._queue import PingQueue, QueuedPing
from ._stats import ClientStats, Counters, DeliveryReport

__all__ = ["Engine", "TokenBucket", "open_queue", "preload_imports", "tls_context"]

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


_LAZY_IMPORTS = (
    "httpcore",
    "h11",
    "anyio",
    "anyio._backends._asyncio",
    "certifi",
    "encodings.idna",
)


def preload_imports() -> None:
    """Import, in the calling thread, what httpx imports lazily at its first request.

    If the uploader thread did those imports and another thread forked meanwhile, the child
    would inherit half-initialised modules (seen: ``httpcore`` without ``AsyncConnectionPool``).
    """
    for name in _LAZY_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


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
        context = _TLS_CONTEXTS[verify] = httpx.create_ssl_context(verify=verify)
    return context


def open_queue(config: ClientConfig) -> PingQueue:
    """The queue a client with ``config`` uses."""
    return PingQueue(
        config.queue_path,
        max_count=config.max_queue_count,
        max_bytes=config.max_queue_bytes,
        durability=config.durability,
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


class Engine:
    """Queue, counters and the upload loop of one client (in one process).

    Thread use: :meth:`accept`, :meth:`wake` and :meth:`stats` may be called from any thread;
    everything else runs on the loop that runs :meth:`run`.
    """

    def __init__(
        self,
        config: ClientConfig,
        queue: PingQueue,
        counters: Counters,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self.queue = queue
        self.counters = counters
        self._rng = rng or random.Random()
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
        # to us, so give them back as soon as the queue takes writes again, or on close.
        self._unsettled: set[str] = set()
        self._pause_until = 0.0
        self._failures = 0
        self._bucket = TokenBucket(*config.rate_limit) if config.rate_limit else None
        self._warn = RateLimitedLog()
        self._http: httpx.AsyncClient | None = None
        self._extensions = {"timeout": httpx.Timeout(config.timeout).as_dict()}
        self.running = False
        self.finished = False

    # -- any thread ------------------------------------------------------------------------

    def accept(self, ping: Ping, *, upload_enabled: bool) -> str:
        """Prepare and store ``ping`` (durable on return), count it, wake the loop.

        Raises what :func:`prepare_ping` and ``PingQueue.put`` raise; nothing is stored then.
        """
        row = prepare_ping(ping, self._config, upload_enabled=upload_enabled)
        self.store(row)
        return row.doc_id

    def store(self, row: QueuedPing) -> None:
        """Put a prepared row in the queue, count it and any evictions, wake the loop."""
        evicted = self.queue.put(row)
        self.counters.add("submitted")
        if evicted:
            self.counters.add("evicted", len(evicted))
            # Data loss, so ERROR; rate-limited because an outage evicts on every submit.
            self._warn.log(
                logging.ERROR,
                "evicted",
                "queue full: evicted %d oldest ping(s) to store a new one (max_queue_count=%d, "
                "max_queue_bytes=%d)",
                len(evicted),
                self._config.max_queue_count,
                self._config.max_queue_bytes,
            )
        if self._config.log_pings and logger.isEnabledFor(logging.DEBUG):
            logger.debug("ping %s %s: %s", row.doc_id, row.path, _payload_text(row))
        self.wake()

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
        """The counters plus the queue's pending count."""
        return self.counters.snapshot(
            pending=self.queue.stats().pending, in_flight=len(self._in_flight)
        )

    # -- on the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """The upload loop; returns after :meth:`stop`. Unsent leases are given back on exit."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.running = True
        limits = httpx.Limits(
            max_connections=self._config.max_in_flight,
            max_keepalive_connections=self._config.max_in_flight,
        )
        try:
            async with httpx.AsyncClient(
                transport=self._config.transport,
                verify=(
                    tls_context(self._config.verify) if self._config.transport is None else True
                ),
                timeout=self._config.timeout,
                limits=limits,
                follow_redirects=False,
            ) as http:
                self._http = http
                try:
                    await self._main()
                finally:
                    await self._cancel_in_flight(release=True)
        finally:
            self._http = None
            self.running = False
            self.finished = True
            self._progress.set()

    def stop(self) -> None:
        """Ask :meth:`run` to return (call on the loop)."""
        self._stopping = True
        self._wake_event.set()

    def other_sender_pause(self, deadline: float) -> float | None:
        """One step of ``flush()`` for a client whose pings another process sends.

        ``uploader=False`` clients wait for the queue itself: this returns ``None`` when no
        stored ping is due before ``deadline`` (a ``time.monotonic()`` value), ``0.0`` when the
        deadline has passed with some still due, else how long to sleep before asking again.
        """
        now = time.monotonic()
        next_due = self.queue.next_due()
        if next_due is None or next_due > time.time() + (deadline - now):
            return None
        return min(OTHER_SENDER_POLL, max(0.0, deadline - now))

    async def flush(self, timeout: float) -> bool:
        """Wait until nothing due before the deadline is unsent; ``False`` at the deadline.

        Pings scheduled for a retry after the deadline are not due, so they do not count.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        self.wake()
        while True:
            remaining = deadline - time.monotonic()
            if not self._in_flight:
                next_due = self.queue.next_due()
                if next_due is None or next_due > time.time() + remaining:
                    return True
                if self._pause_until >= deadline or self.finished:
                    return False  # nothing can go out before the deadline
            if remaining <= 0:
                return False
            self._progress.clear()
            await _wait_event(self._progress, min(remaining, POLL_INTERVAL))

    async def purge(self, keep: QueuedPing | None = None) -> int:
        """Cancel in-flight sends, delete every queued ping, then store ``keep`` alone."""
        await self._cancel_in_flight(release=False)
        return self.purge_now(keep)

    def purge_now(self, keep: QueuedPing | None = None) -> int:
        """Delete every queued ping, then store ``keep`` alone (nothing may be in flight)."""
        purged = self.queue.purge()
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
                delay = self._fill()
            except QueueError as exc:
                # The queue file is busy, full or being replaced: nothing is lost (rows stay
                # stored), so wait and try again rather than let the uploader die.
                self._warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
                delay = _QUEUE_RETRY
            self._progress.set()
            if self._stopping:
                break
            await _wait_event(self._wake_event, delay)

    def _fill(self) -> float:
        """Start sends for due rows; return how long to sleep before looking again."""
        if self._unsettled:
            self.queue.release(sorted(self._unsettled))  # QueueError: _main retries later
            self._unsettled.clear()
        free = self._config.max_in_flight - len(self._in_flight)
        if free <= 0:
            return POLL_INTERVAL  # a finished request wakes us
        mono = time.monotonic()
        if mono < self._pause_until:
            return self._pause_until - mono
        if self._bucket is not None:
            tokens = self._bucket.available()
            if tokens <= 0:
                return self._bucket.wait_time()
            free = min(free, tokens)
        now = time.time()
        rows = self.queue.claim(free, now=now)
        assert self._loop is not None
        for row in rows:
            reason = self._config.retry.gives_up(row.attempts, row.created_at, now)
            if reason is not None:
                self.queue.ack(row.doc_id)
                self._report_drop(row, reason, status=None, attempts=row.attempts)
                continue
            if self._bucket is not None:
                self._bucket.take()
            task = self._loop.create_task(self._send(row))
            self._in_flight[row.doc_id] = (row, task)
        if len(rows) == free:
            return POLL_INTERVAL if len(self._in_flight) >= self._config.max_in_flight else 0.0
        next_due = self.queue.next_due()
        if next_due is None:
            return POLL_INTERVAL
        wait = next_due - time.time()
        if wait <= 0:
            return _BUSY_RETRY if not rows else 0.0
        return min(wait, POLL_INTERVAL)

    async def _send(self, row: QueuedPing) -> None:
        assert self._http is not None
        attempt = row.attempts + 1
        headers = dict(row.headers)
        headers["Date"] = http_date(time.time())
        if not any(name.lower() == "user-agent" for name in headers):
            headers["User-Agent"] = _USER_AGENT
        # A request built here and passed to send() skips the client's per-request merging of
        # default headers, cookies and params: ~25% less CPU per ping than client.post().
        request = httpx.Request(
            "POST",
            self._config.endpoint + row.path,
            content=row.body,
            headers=headers,
            extensions=self._extensions,
        )
        started = time.monotonic()
        try:
            response = await self._http.send(request)
            outcome = classify(response.status_code, response.headers, now=time.time())
        except asyncio.CancelledError:
            raise
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
        del self._in_flight[row.doc_id]
        try:
            self._apply(row, outcome, attempt)
        except QueueError as exc:
            # The outcome could not be recorded: the row is released (by _fill or close) and
            # sent again with the same URL and body, so the pipeline deduplicates it.
            self._unsettled.add(row.doc_id)
            self._warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
        finally:
            self._wake_event.set()

    def _apply(self, row: QueuedPing, outcome: Outcome, attempt: int) -> None:
        """Act on one request's outcome: ack, defer with backoff, or drop."""
        if outcome.kind is OutcomeKind.SENT:
            self.queue.ack(row.doc_id)
            self._failures = 0
            self._pause_until = 0.0
            self.counters.add("sent")
            self._callback(self._config.on_sent, _report(row, outcome.status, "ok", attempt))
            return
        if outcome.kind is OutcomeKind.DROP:
            self.queue.ack(row.doc_id)
            self._report_drop(row, outcome.reason, status=outcome.status, attempts=attempt)
            return
        now = time.time()
        policy = self._config.retry
        if outcome.status is None or outcome.status in (429, 503):
            # The server is unreachable or asked everyone to slow down: pause all new sends.
            self._failures += 1
            pause = policy.delay(self._failures, retry_after=outcome.retry_after, rng=self._rng)
            self._pause_until = max(self._pause_until, time.monotonic() + pause)
        reason = policy.gives_up(attempt, row.created_at, now)
        if reason is not None:
            self.queue.ack(row.doc_id)
            self._report_drop(row, reason, status=outcome.status, attempts=attempt)
            return
        delay = policy.delay(attempt, retry_after=outcome.retry_after, rng=self._rng)
        self.queue.defer(row.doc_id, next_attempt_at=now + delay, attempts=attempt)
        self.counters.add("retried")
        self._warn.log(
            logging.WARNING,
            "retry",
            "upload of ping %s failed (%s), attempt %d; retrying in %.1f s",
            row.doc_id,
            outcome.reason,
            attempt,
            delay,
        )

    def _report_drop(
        self, row: QueuedPing, reason: str, *, status: int | None, attempts: int
    ) -> None:
        self.counters.drop(reason)
        self._warn.log(
            logging.WARNING,
            "drop:" + reason,
            "dropped ping %s (%s/%s/%d) after %d attempt(s): %s",
            row.doc_id,
            row.namespace,
            row.doctype,
            row.version,
            attempts,
            reason,
        )
        self._callback(self._config.on_dropped, _report(row, status, reason, attempts))

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
                self.queue.release(sorted(self._unsettled))
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
            self.queue.release(ids)
        return ids


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


def _report(row: QueuedPing, status: int | None, reason: str, attempts: int) -> DeliveryReport:
    return DeliveryReport(
        doc_id=row.doc_id,
        path=row.path,
        namespace=row.namespace,
        doctype=row.doctype,
        version=row.version,
        status=status,
        reason=reason,
        attempts=attempts,
    )


def _payload_text(row: QueuedPing) -> str:
    body = row.body
    if row.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")
