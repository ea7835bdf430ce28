"""The upload engine: one asyncio coroutine that moves pings from the queue to the edge.

Both clients run the same :class:`Engine`, hosted by :mod:`pingsdk._delivery._runner`
(``PingClient`` on a private thread's event loop, ``AsyncPingClient`` as a task on the caller's
loop); pings reach the queue through :mod:`pingsdk._delivery._submit`, never through here, and
go out through :class:`pingsdk._delivery._http.Sender`. One loop with many requests in flight
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
import logging
import math
import random
import threading
import time
from collections.abc import Callable

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._http import Sender
from pingsdk._delivery._outcome import Outcome, OutcomeKind
from pingsdk._delivery._report import delivery_report
from pingsdk._delivery._stats import ClientStats
from pingsdk._delivery._submit import Submitter
from pingsdk._exceptions import QueueBusyError, QueueError
from pingsdk._log import logger
from pingsdk._queue import QueuedPing

__all__ = ["OTHER_SENDER_POLL", "POLL_INTERVAL", "Engine", "TokenBucket"]

POLL_INTERVAL = 2.0
"""Longest idle sleep: how late pings of other processes and expired leases are noticed."""
_QUEUE_RETRY = 1.0
"""Pause after the queue file could not be used (locked past its busy timeout, I/O error)."""
OTHER_SENDER_POLL = 0.05
"""How often flush() looks at the queue when another process does the sending."""
_BUSY_RETRY = 0.05
"""Sleep when rows are due but none could be claimed (another sender holds them)."""


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
    """The upload loop of one client (in one process): claims the due rows of its submitter's
    queue, sends them and applies their outcomes.

    Binds itself as ``submitter``'s wake-up. Thread use: :meth:`wake`, :meth:`stats`,
    :meth:`pending` and :meth:`other_sender_step` may be called from any thread; everything
    else runs on the loop that runs :meth:`run` (a :mod:`pingsdk._delivery._runner` hosts it).

    Args:
        lock_wait: the longest wait for the queue file's lock in one queue call made on the
            loop (``None``: the queue's ``busy_timeout``). The asyncio client sets a few
            milliseconds so that another process holding the file never blocks the caller's
            event loop for long: a busy queue is simply tried again on the next cycle.
    """

    def __init__(
        self,
        config: ClientConfig,
        submitter: Submitter,
        *,
        rng: random.Random | None = None,
        lock_wait: float | None = None,
    ) -> None:
        self._config = config
        self.submitter = submitter
        self.queue = submitter.queue
        self.reporter = submitter.reporter
        self.counters = submitter.reporter.counters
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
        # Sent pings not yet deleted from the queue: acked together, in one transaction, when
        # the loop next looks at the queue (one write per round rather than one per ping, so
        # a sender process rarely holds the file's write lock when submit() wants it). A crash
        # before that ack sends them again, with the same docId.
        self._acks: list[str] = []
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
        self._sender: Sender | None = None
        self.running = False
        self.finished = False
        submitter.bind(self.wake)

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

    @property
    def in_flight(self) -> int:
        """Requests on the wire now."""
        return len(self._in_flight)

    def stats(self) -> ClientStats:
        """The counters plus the pending count: the queue's and the buffer's."""
        pending = self.submitter.pending()
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
                    self.submitter.commit_buffer(timeout=self._budget(remaining))
                    held: tuple[bool, bool] | None = self._holds(self._budget(remaining))
                except QueueError:
                    held = None  # busy right now: not known to be empty
                if held is not None and not held[0] and not self.submitter.buffered:
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
        return self.submitter.purge(keep)

    async def _main(self) -> None:
        while not self._stopping:
            self._wake_event.clear()
            self._wake_pending = False
            try:
                submitter = self.submitter
                if submitter.buffered and submitter.buffer_wait() <= 0:
                    submitter.commit_buffer(timeout=self._lock_wait)
                delay = min(self._fill(), max(0.0, submitter.buffer_wait()))
            except QueueBusyError as exc:
                if self._lock_wait is None:
                    self.reporter.warn.log(
                        logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc
                    )
                # With a short lock_wait a busy file is expected (another process is writing).
                delay = _QUEUE_RETRY if self._lock_wait is None else _BUSY_RETRY
            except QueueError as exc:
                # The queue file is busy, full or being replaced: nothing is lost (rows stay
                # stored), so wait and try again rather than let the uploader die.
                self.reporter.warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
                delay = _QUEUE_RETRY
            except Exception as exc:
                # A bug must not end delivery for good: log it, pause, go on.
                self.reporter.warn.log(
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

    def _ack_sent(self) -> None:
        """Delete the sent pings of this round from the queue, in one transaction."""
        acks, self._acks = self._acks, []
        try:
            self.queue.ack_many(acks, timeout=self._lock_wait)
        except QueueError:
            for doc_id in acks:
                self._unsettled[doc_id] = True  # acked one by one when the queue takes writes
            raise

    def _fill(self) -> float:
        """Start sends for due rows; return how long to sleep before looking again."""
        slots = self._config.max_in_flight
        if self._failures:
            slots = 1  # after an outage one probe request goes first, not one per ping
        free = slots - len(self._in_flight)
        if free <= 0 or (self._in_flight and free < slots // 4):
            # A finished request wakes us. Refilling (and acking) a quarter of the slots at a
            # time makes one claim and one ack per few requests rather than per request.
            return POLL_INTERVAL
        if self._acks:
            self._ack_sent()
        if self._unsettled:
            self._settle()
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
                self.reporter.dropped(row, reason, status=None, attempts=row.attempts, detail=None)
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
        assert self._sender is not None
        outcome, detail = await self._sender.post_within(row, self._config.request_deadline)
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
            self.reporter.warn.log(logging.ERROR, "queue", "pingsdk queue unavailable: %s", exc)
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
            self._acks.append(row.doc_id)
            self._swept.discard(row.doc_id)
            if self._failures:
                logger.info("the edge accepts pings again; resuming full-speed sending")
            self._failures = 0
            self._pause_until = 0.0
            self._window_start = -math.inf
            self.reporter.sent(delivery_report(row, outcome.status, "ok", attempt))
            return
        if outcome.kind is OutcomeKind.DROP:
            self.queue.ack(row.doc_id, timeout=self._lock_wait)
            self._swept.discard(row.doc_id)
            self.reporter.dropped(
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
            self.reporter.dropped(
                row, reason, status=outcome.status, attempts=attempt, detail=detail
            )
            return
        self.queue.defer(
            row.doc_id,
            next_attempt_at=now + max(0.0, delay),
            attempts=attempt,
            hold_until=hold_until,
            last_status=outcome.status,
            timeout=self._lock_wait,
        )
        self.reporter.retried(row, outcome.reason, attempt, delay, detail)

    def _pause(self, failures: int) -> float:
        """The global pause after the ``failures``-th counted failure of an outage.

        The policy's window for that attempt, with "equal jitter" (between half and all of
        it) rather than full jitter: clients still spread out, but a short outage never turns
        into a long stall, and the pause still doubles per failed probe.
        """
        cap = self._config.retry.cap(failures)
        return self._rng.uniform(cap / 2, cap) if self._config.retry.jitter else cap

    async def _cancel_in_flight(self, *, release: bool) -> list[str]:
        """Cancel every running send; give their leases back when ``release``."""
        if self._acks:
            with contextlib.suppress(QueueError):  # then kept in _unsettled
                self._ack_sent()
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
