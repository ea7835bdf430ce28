"""PingClient: the synchronous client, a thin shell over the shared upload engine.

``submit()`` stores the ping in the caller's thread (durable on return) and wakes the engine,
which runs on one private daemon thread with its own asyncio loop. Settings, preparation, the
queue, outcomes and retries live in the shared modules; this file only owns the thread, the
deadlines, fork safety and the exit hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx
import tenacity
from tenacity.stop import stop_base

from pingsdk import _lifecycle as lifecycle
from pingsdk._delivery._config import (
    DEFAULT_ATEXIT_TIMEOUT,
    DEFAULT_BUFFER_DELAY,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_QUEUE_BYTES,
    DEFAULT_MAX_QUEUE_COUNT,
    DEFAULT_TIMEOUT,
    ClientConfig,
    Durability,
    build_config,
)
from pingsdk._delivery._engine import (
    _CLOSE_COMMIT_WAIT,
    Engine,
    Sender,
    needs_tls_context,
    open_queue,
    preload_imports,
    tls_context,
)
from pingsdk._delivery._outcome import (
    RETRYABLE_EXCEPTIONS,
    Outcome,
    OutcomeKind,
    classify_exception,
)
from pingsdk._delivery._prepare import prepare_document, prepare_ping
from pingsdk._delivery._retry import RetryPolicy
from pingsdk._delivery._stats import ClientStats, Counters, DeliveryReport
from pingsdk._exceptions import (
    ConfigurationError,
    EdgeUnavailableError,
    PingRejectedError,
    QueueError,
    UploadDisabledError,
)
from pingsdk._log import logger
from pingsdk._model._ping import Ping
from pingsdk._queue import PingQueue, QueuedPing
from pingsdk.wire._urls import AppInfo

__all__ = ["BaseClient", "PingClient"]

_STOP_RESERVE = 0.5
"""Seconds of a close() timeout kept for stopping the uploader after the final flush."""

DEFAULT_SEND_NOW_TIMEOUT = 10.0
"""How long ``send_now()`` tries by default (seconds), retries included."""


class BaseClient:
    """What both clients share: settings, queue, counters and the upload switch.

    See :class:`PingClient` for the keywords.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        queue_path: str | os.PathLike[str] | None = None,
        retry: RetryPolicy | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        compress: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        debug_id: str | None = None,
        source_tags: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        app: AppInfo | None = None,
        upload_enabled: bool = True,
        rate_limit: tuple[int, float] | None = None,
        max_queue_count: int = DEFAULT_MAX_QUEUE_COUNT,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        durability: Durability = "process",
        buffer_delay: float = DEFAULT_BUFFER_DELAY,
        allow_insecure: bool = False,
        log_pings: bool = False,
        on_sent: Callable[[DeliveryReport], None] | None = None,
        on_dropped: Callable[[DeliveryReport], None] | None = None,
        atexit_timeout: float = DEFAULT_ATEXIT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
        uploader: bool = True,
    ) -> None:
        self._config = build_config(
            endpoint,
            queue_path=queue_path,
            retry=retry,
            max_in_flight=max_in_flight,
            compress=compress,
            timeout=timeout,
            debug_id=debug_id,
            source_tags=source_tags,
            headers=headers,
            app=app,
            upload_enabled=upload_enabled,
            rate_limit=rate_limit,
            max_queue_count=max_queue_count,
            max_queue_bytes=max_queue_bytes,
            durability=durability,
            buffer_delay=buffer_delay,
            allow_insecure=allow_insecure,
            log_pings=log_pings,
            on_sent=on_sent,
            on_dropped=on_dropped,
            atexit_timeout=atexit_timeout,
            transport=transport,
            verify=verify,
            uploader=uploader,
        )
        self._counters = Counters()
        self._upload_enabled = self._config.upload_enabled
        self._closed = False
        self._engine = self._new_engine(open_queue(self._config))
        if not self._upload_enabled:
            # Pings stored while uploading was allowed must not leave after the user opted out;
            # a deletion request stored by an earlier run survives the purge and is sent.
            self._engine.purge_now()
        self._init_runtime()

    def _new_engine(self, queue: PingQueue) -> Engine:
        """The upload engine on ``queue`` (each client kind bounds its lock waits its way)."""
        return Engine(self._config, queue, self._counters)

    def _init_runtime(self) -> None:
        """Set up what the concrete client runs on (thread or task); called by ``__init__``."""

    @property
    def config(self) -> ClientConfig:
        """The validated, frozen settings."""
        return self._config

    @property
    def upload_enabled(self) -> bool:
        """Whether pings are accepted and sent. Setting ``False`` purges the queue."""
        return self._upload_enabled

    def stats(self) -> ClientStats:
        """Delivery counters since this client was created, and the pending count (stored
        pings, and buffered ones with ``durability="buffered"``)."""
        return self._engine.stats()

    def _prepare_deletion(self, ping: Ping | None) -> QueuedPing | None:
        # The deletion request is the one ping sent after the switch goes off; it survives
        # this purge and any later one (a next run that starts with upload_enabled=False).
        if ping is None:
            return None
        return prepare_ping(ping, self._config, upload_enabled=True, survives_purge=True)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this pingsdk client is closed; create a new one")

    def _document_row(
        self, document: bytes, *, namespace: str, doctype: str, version: int
    ) -> QueuedPing:
        """The row for ``send_document_now()``: checked as the edge will check it, prepared as
        a Ping's is (docId, URL, headers, gzip, size limits)."""
        if not self._upload_enabled:
            raise UploadDisabledError(
                "upload is disabled (upload_enabled=False): the ping was not stored"
            )
        if not isinstance(document, (bytes, bytearray)):
            raise ConfigurationError(
                f"the document must be bytes (UTF-8 JSON), got {type(document).__name__}"
            )
        try:
            parsed = json.loads(bytes(document).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"the payload is not UTF-8 JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise ConfigurationError(
                "the payload must be a JSON object ({...}), as the edge requires"
            )
        return prepare_document(
            bytes(document), self._config, namespace=namespace, doctype=doctype, version=version
        )

    def _start_now(self, row: QueuedPing, timeout: float) -> _SendNow:
        """Check ``timeout``; the bookkeeping of one ``send_now()`` of ``row`` (not stored yet)."""
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigurationError(
                f"send_now() timeout must be a positive number of seconds, got {timeout!r}"
            )
        return _SendNow(self._engine, self._config, row, float(timeout))


class _LeaseLostError(Exception):
    """The lease on a ``send_now()`` row could not be renewed: another sender may hold it."""


class _SendNow:
    """One ``send_now()``: the leased row, its attempts, its deadline and its settlement.

    Both clients run the same steps; only the retry loop differs (``RetryPolicy.retrying()``
    around one request on a private event loop, or ``async_retrying()`` on the caller's).
    """

    def __init__(
        self, engine: Engine, config: ClientConfig, row: QueuedPing, timeout: float
    ) -> None:
        self.engine = engine
        self.config = config
        self.row = row
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.attempts = 0
        self.detail: str | None = None

    def stop(self) -> stop_base:
        """The policy's limits, and no wait that would end past the caller's timeout."""
        return self.config.retry.tenacity_stop() | tenacity.stop_before_delay(self.timeout)

    async def attempt(self, sender: Sender) -> Outcome:
        """One POST within what is left of the timeout; network errors raise (for tenacity)."""
        if self.attempts:
            # The lease must outlast the request (request_deadline is below lease_seconds):
            # renewed before every retry, or no further request is made.
            try:
                renewed = self.engine.queue.extend([self.row.doc_id], timeout=0.1)
            except QueueError as exc:
                raise _LeaseLostError(str(exc)) from exc
            if not renewed:
                raise _LeaseLostError("another sender holds the ping now")
        self.attempts += 1
        remaining = max(self.deadline - time.monotonic(), 0.001)
        limit = min(self.config.request_deadline, remaining)
        started = time.monotonic()
        try:
            outcome, self.detail = await asyncio.wait_for(sender.post(self.row), limit)
        except asyncio.TimeoutError as exc:  # not a TimeoutError before Python 3.11
            raise TimeoutError(f"no answer within {limit:.3g} s") from exc
        logger.debug(
            "POST %s -> %s %s (send_now attempt %d, %.1f ms)",
            self.row.path,
            outcome.status if outcome.status is not None else "-",
            outcome.reason,
            self.attempts,
            (time.monotonic() - started) * 1000,
            extra={"event": "request", "doc_id": self.row.doc_id},
        )
        return outcome

    def abandon(self) -> None:
        """Give the lease back (an unexpected error or a cancel): the uploader sends it."""
        with contextlib.suppress(QueueError):
            self.engine.queue.release([self.row.doc_id], timeout=0.5)
        self.engine.wake()

    def finish(self, result: Outcome | BaseException) -> DeliveryReport:
        """Ack, drop or defer the row by the last attempt's result; the report or the error."""
        row, url = self.row, self.config.endpoint + self.row.path
        if isinstance(result, _LeaseLostError):
            raise EdgeUnavailableError(
                f"ping {row.doc_id} was not delivered: its lease in the queue could not be "
                f"renewed ({result}); it stays queued and the uploader sends it",
                doc_id=row.doc_id,
                url=url,
                attempts=self.attempts,
                reason="lease_lost",
                queued=True,
            ) from result
        outcome = result if isinstance(result, Outcome) else classify_exception(result)
        report = self.engine.finish_now(row, outcome, self.attempts, self.detail)
        if report.reason == "ok":
            return report
        said = f"; the edge said: {self.detail}" if self.detail else ""
        if outcome.kind is OutcomeKind.DROP:
            raise PingRejectedError(
                f"the edge rejected ping {row.doc_id} with HTTP {outcome.status}; it was dropped "
                f"(resending the same ping cannot succeed){said}",
                doc_id=row.doc_id,
                url=url,
                status_code=outcome.status,
                attempts=self.attempts,
                detail=self.detail,
                reason=outcome.reason,
            )
        queued = report.reason == "queued"
        fate = (
            "it stays queued and the uploader sends it"
            if queued
            else f"the retry policy gave up on it ({report.reason}): it was dropped"
        )
        status = f"HTTP {outcome.status}" if outcome.status is not None else outcome.reason
        raise EdgeUnavailableError(
            f"ping {row.doc_id} was not delivered within {self.timeout:g} s "
            f"({self.attempts} attempt(s), last: {status}); {fate}{said}",
            doc_id=row.doc_id,
            url=url,
            status_code=outcome.status,
            attempts=self.attempts,
            detail=self.detail,
            reason=outcome.reason if queued else report.reason,
            queued=queued,
        ) from (None if isinstance(result, Outcome) else result)


_NOW_ERRORS: tuple[type[BaseException], ...] = (*RETRYABLE_EXCEPTIONS, _LeaseLostError)
"""What ends a ``send_now()`` retry loop as a failed delivery rather than a bug."""


_live: weakref.WeakSet[PingClient] = weakref.WeakSet()
_abandoned: list[object] = []
"""A forked child's copies of the parent's engine, loop and queue: kept alive so that nothing in
the child ever closes (or finalizes) the parent's connections and SQLite handles."""


def _after_fork_in_child() -> None:
    for client in list(_live):
        client._forget_parent()


def _close_all_at_exit() -> None:
    # Each client's exit work is isolated: one failing must not keep the others' pings unsent.
    for client in list(_live):
        try:
            client._close_at_exit()
        except Exception:
            logger.exception("closing a pingsdk client at exit failed; its pings stay queued")


lifecycle.on_fork(after_in_child=_after_fork_in_child)
lifecycle.on_exit(_close_all_at_exit)


class PingClient(BaseClient):
    """Send pings to an edge server, reliably, from any thread.

    ``submit()`` stores the ping in a durable on-disk queue and returns its document id; a
    background uploader (one thread running an asyncio loop, started on first use) sends it with
    retries, through outages, restarts and crashes. Every ping is sent with the URL and body it
    was given at submit, so the pipeline can deduplicate retries.

    Args:
        endpoint: the edge's base URL, e.g. ``"https://incoming.telemetry.mozilla.org"``
            (no ``/submit`` path: pingsdk adds it). ``https://`` is required unless the host
            is loopback or ``allow_insecure=True``. Each ping is only ever sent to the endpoint
            it was submitted for, whoever sends it.
        queue_path: the SQLite queue file; ``None`` for the per-user default, ``":memory:"``
            for tests (single process, nothing survives).
        retry: the :class:`RetryPolicy` (backoff, max attempts, max age 14 days by default).
        max_in_flight: concurrent requests (default 16: enough for ten times a sequential
            sender against an edge 20 ms away, and no slower against a near one).
        compress: gzip bodies (default ``True``).
        timeout: seconds for one request (connect, write, read; default 10).
        debug_id: ``X-Debug-ID`` header (routes pings to the Debug Ping Viewer). The
            environment variable ``PINGSDK_DEBUG_ID`` wins over it.
        source_tags: ``X-Source-Tags`` (at most 5; use ``("automation",)`` for test traffic).
            ``PINGSDK_SOURCE_TAGS`` (comma-separated) wins over it.
        headers: extra request headers (never the infrastructure or pingsdk's own headers).
        app: an :class:`AppInfo`, needed for legacy ``telemetry`` pings.
        upload_enabled: ``False`` purges the queue now (but a deletion request left by an
            earlier run, which is still sent) and refuses pings.
        rate_limit: ``(pings, per_seconds)``, e.g. ``(15, 60.0)`` as Glean; ``None`` = no limit.
        max_queue_count, max_queue_bytes: queue bounds (10,000 pings, 50 MiB); when full the
            oldest pings are evicted, counted and logged at ERROR.
        durability: ``"process"`` (safe against a crash of the process when ``submit()``
            returns), ``"power"`` (fsync: also safe against power loss, ~ms per submit) or
            ``"buffered"``: ``submit()`` hands the ping to an in-memory buffer that the
            uploader commits to the queue within ``buffer_delay``; a crash (SIGKILL, power
            loss) loses at most the pings of that last window. ``flush()``, ``close()`` and the
            exit hook commit the buffer first. Needs ``uploader=True``.
        buffer_delay: the longest a buffered ping waits for its commit, in seconds (default
            0.05; only used with ``durability="buffered"``).
        allow_insecure: allow ``http://`` to non-loopback hosts (and ``verify=False``).
        log_pings: log payloads at DEBUG (off by default: payloads are user data).
            ``PINGSDK_LOG_PINGS=1`` (or ``0``) wins over it. The client logs once at INFO
            which settings the environment overrode.
        on_sent, on_dropped: callables receiving a :class:`DeliveryReport`; run on the uploader
            thread (for :meth:`send_now`: in the calling thread), so keep them quick.
        atexit_timeout: seconds the exit hook spends flushing (default 2).
        transport: an ``httpx.AsyncBaseTransport`` (tests: ``httpx.MockTransport``).
        verify: TLS verification (``True``, or a CA bundle path).
        uploader: ``False`` makes this client store pings only; another process sending from
            the same queue file (``pingsdk relay``) delivers them. ``submit()`` then costs one
            local write and never competes with an uploader thread for the GIL (see
            docs/sending.md, "Sending from another process").

    Raises:
        ConfigurationError: a bad setting, or a bad ``PINGSDK_*`` environment variable (the
            message says which and what is accepted).
        QueueError: the queue file cannot be opened.

    Example::

        with pingsdk.PingClient("https://incoming.example.com", queue_path="pings.db") as client:
            doc_id = client.submit(SearchCounts(engine="ddg", count=3))
            assert client.flush(timeout=5.0)  # True only when nothing is left to send

    Added in 0.1.
    """

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        _live.add(self)
        if self._config.uploader and self._engine.pending():
            # Pings left by an earlier run go out without waiting for a submit (with upload
            # off, only deletion requests are left after the purge).
            self._start()

    def submit(self, ping: Ping) -> str:
        """Store ``ping`` for sending and return its document id.

        Durable when it returns (with ``durability="buffered"``: within ``buffer_delay``);
        never waits for the network.

        Raises:
            UploadDisabledError: uploading is switched off.
            PingExpiredError: the ping class is past its ``review.expires`` date.
            PayloadTooLargeError: larger than the edge accepts; nothing was stored.
            QueueFullError: the disk is full; nothing stored was harmed.
            ConfigurationError: not a concrete Ping, or a legacy ping without ``app=``.
        """
        if self._pid != os.getpid():
            self._after_fork()
        self._check_open()
        doc_id = self._engine.accept(ping, upload_enabled=self._upload_enabled)
        if self._thread is None and self._config.uploader:
            self._start()
        return doc_id

    def send_now(self, ping: Ping, *, timeout: float = DEFAULT_SEND_NOW_TIMEOUT) -> DeliveryReport:
        """Store ``ping`` and send it at once, waiting for the edge's answer (at most ``timeout``
        seconds, retries included); for CLIs and scripts that must know the ping arrived.

        The ping is prepared as by :meth:`submit` (same checks, URL, headers, gzip) and stored
        in the queue first, leased to this call, so the uploader never sends it meanwhile. A
        retryable failure (5xx, 408, 429, no answer) is retried in this call on the client's
        :class:`RetryPolicy` schedule (``Retry-After`` included) while the next try can start
        within ``timeout``. Nothing is lost: a ping not delivered in time stays queued, with
        its retry schedule, for the uploader (or a later ``flush()``). It ignores the
        uploader's schedule, pause and ``rate_limit``, and counts in :meth:`stats` and the
        ``on_sent`` / ``on_dropped`` callbacks (run in the calling thread) like any ping.

        Returns:
            The :class:`DeliveryReport` of the accepted ping (``reason == "ok"``).

        Raises:
            PingRejectedError: the edge answered 4xx (not 408/429); the ping was dropped.
            EdgeUnavailableError: not delivered within ``timeout`` (or the policy's
                ``max_attempts``); the last exception is its ``__cause__``. The ping stays
                queued unless ``queued`` is ``False`` (the policy gave up on it).
            ConfigurationError: ``timeout`` is not a positive number.
            RuntimeError: called from a running event loop (use
                :meth:`AsyncPingClient.send_now`), or the client is closed.
            UploadDisabledError, PingExpiredError, PayloadTooLargeError, QueueError: as
                :meth:`submit`; nothing was sent.

        Example::

            report = client.send_now(SearchCounts(engine="ddg", count=3), timeout=5.0)

        Added in the release after 0.1.0.
        """
        self._ready_to_send_now()
        row = prepare_ping(ping, self._config, upload_enabled=self._upload_enabled)
        return self._send_row_now(row, timeout)

    def send_document_now(
        self,
        document: bytes,
        *,
        namespace: str,
        doctype: str,
        version: int,
        timeout: float = DEFAULT_SEND_NOW_TIMEOUT,
    ) -> DeliveryReport:
        """:meth:`send_now` for a JSON document that has no :class:`Ping` class
        (``pingsdk send`` uses it): ``document`` is sent byte for byte as given, to
        ``/submit/<namespace>/<doctype>/<version>/<docId>``.

        Raises:
            ConfigurationError: ``document`` is not a UTF-8 JSON object, or a bad name or
                version.
            And what :meth:`send_now` raises.

        Added in the release after 0.1.0.
        """
        self._ready_to_send_now()
        row = self._document_row(document, namespace=namespace, doctype=doctype, version=version)
        return self._send_row_now(row, timeout)

    def _ready_to_send_now(self) -> None:
        if self._pid != os.getpid():
            self._after_fork()
        self._check_open()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise RuntimeError(
            "PingClient.send_now() blocks and cannot run inside an event loop; "
            "use AsyncPingClient.send_now() from asyncio code"
        )

    def _send_row_now(self, row: QueuedPing, timeout: float) -> DeliveryReport:
        now = self._start_now(row, timeout)
        self._engine.store(row, leased=True)
        result: Outcome | BaseException
        # A private event loop in the caller's thread: one request at a time runs on it, and
        # RetryPolicy.retrying() sleeps between them with time.sleep.
        loop = asyncio.new_event_loop()
        sender = Sender(self._config, shared=True)
        try:
            loop.run_until_complete(sender.open())
            result = self._config.retry.retrying(stop=now.stop())(
                lambda: loop.run_until_complete(now.attempt(sender))
            )
        except _NOW_ERRORS as exc:
            result = exc
        except BaseException:
            now.abandon()
            raise
        finally:
            try:
                loop.run_until_complete(sender.close())
            finally:
                loop.close()
        try:
            return now.finish(result)
        except EdgeUnavailableError as exc:
            if exc.queued and self._config.uploader and not self._closed:
                self._start()  # the ping left queued goes out without waiting for a submit
            raise

    def stats(self) -> ClientStats:
        """Delivery counters since this client was created, and the pending count (stored
        pings, and buffered ones with ``durability="buffered"``)."""
        if self._pid != os.getpid():
            self._after_fork()  # the parent's buffer is not this process's to count
        return self._engine.stats()

    def flush(self, timeout: float = 5.0, *, now: bool = True) -> bool:
        """Send every queued ping of this endpoint, waiting at most ``timeout`` seconds.

        A flush overrides the backoff: pings waiting for a retry are tried at once, and so
        is the edge after an outage (one probe request first). It does not override a pause
        the server asked for (429/503 with ``Retry-After``).

        Args:
            timeout: the longest wait in seconds.
            now: ``False`` keeps the backoff: only pings due before the deadline are sent.

        Returns:
            ``True`` only when no ping for this endpoint is left in the queue; ``False`` at
            the deadline, or earlier when none of the rest can be sent before it (the server
            asked to wait, or every remaining ping is scheduled later). With
            ``uploader=False`` it waits for the other process to send them.
        """
        if self._pid != os.getpid():
            self._after_fork()
        if self._closed:
            return False
        if not self._config.uploader:
            deadline = time.monotonic() + max(0.0, timeout)
            while not isinstance(step := self._engine.other_sender_step(deadline), bool):
                time.sleep(step)
            return step
        self._start()
        return bool(self._call(self._engine.flush(timeout, now=now), timeout))

    def close(self, timeout: float = 2.0) -> bool:
        """Flush (overriding the backoff) for most of ``timeout`` seconds, then stop the
        uploader.

        Requests still running are cancelled and their pings released: they stay on disk and the
        next client on this queue sends them, with the same URL and body. Never blocks longer
        than ``timeout`` (plus a few milliseconds) and never raises: a failure is logged.
        Idempotent.

        Returns:
            ``True`` when no ping for this endpoint is left in the queue (for a store-only
            client, ``uploader=False``, when the other process has sent them all).
        """
        try:
            return self._close(timeout)
        except Exception:
            logger.exception("closing the pingsdk client failed; queued pings stay on disk")
            return False

    def _close(self, timeout: float) -> bool:
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            if self._closed:
                return False
            self._closed = True
        _live.discard(self)
        timeout = max(0.0, timeout)
        deadline = time.monotonic() + timeout
        thread, loop = self._thread, self._loop
        if thread is not None and loop is not None:
            flush_time = timeout - min(_STOP_RESERVE, timeout / 4)
            if flush_time > 0:
                self._call(self._engine.flush(flush_time), flush_time)
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(self._engine.stop)
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                _commit_buffer_at_close(self._engine, deadline)
                logger.warning(
                    "the uploader did not stop within %.1f s; pings it holds are released when "
                    "their lease expires",
                    timeout,
                )
                return False
        return _report_left(self._engine, deadline)

    def set_upload_enabled(self, enabled: bool, *, deletion_request: Ping | None = None) -> None:
        """Switch uploading on or off.

        Switching off refuses new pings, cancels running requests and deletes every queued ping;
        ``deletion_request`` (e.g. a ``deletion-request`` ping) is then the only ping sent.

        Raises:
            PingExpiredError, PayloadTooLargeError, ConfigurationError: for ``deletion_request``.
        """
        if self._pid != os.getpid():
            self._after_fork()
        self._check_open()
        if enabled:
            self._upload_enabled = True
            return
        keep = self._prepare_deletion(deletion_request)
        self._upload_enabled = False
        if self._thread is not None:
            self._call(self._engine.purge(keep), 5.0)
        else:
            self._engine.purge_now(keep)
        if keep is not None and self._config.uploader:
            self._start()

    @property
    def upload_enabled(self) -> bool:
        """Whether pings are accepted and sent; assigning is ``set_upload_enabled(value)``."""
        return self._upload_enabled

    @upload_enabled.setter
    def upload_enabled(self, enabled: bool) -> None:
        self.set_upload_enabled(enabled)

    def __enter__(self) -> PingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None or self._closed:
                return
            preload_imports(self._config)
            if needs_tls_context(self._config):
                tls_context(self._config.verify)  # here, not in the uploader thread: see there
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_run_engine, args=(loop, self._engine), name="pingsdk-uploader", daemon=True
            )
            self._loop = loop
            thread.start()
            self._thread = thread

    def _call(self, coro: Any, timeout: float) -> Any:
        """Run ``coro`` on the uploader loop; ``False`` if it misses ``timeout`` (+ a margin)."""
        loop = self._loop
        if loop is None:
            coro.close()
            return False
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # the loop is closed
            coro.close()
            return False
        try:
            return future.result(max(0.0, timeout) + 0.25)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return False

    def _close_at_exit(self) -> None:
        # Bounded by atexit_timeout; close() logs how many pings stay queued for the next start.
        self.close(self._config.atexit_timeout)

    def _forget_parent(self) -> None:
        """In a fork child: drop every reference to the parent's uploader without touching it."""
        self._lock = threading.Lock()
        self._counters.after_fork()

    def _after_fork(self) -> None:
        # The parent's thread does not exist here and its loop and connections are the parent's:
        # abandon them untouched and start a new engine. The queue reconnects by itself in a
        # child, under a new lease owner, so rows the parent holds are never sent twice.
        with self._lock:
            if self._pid == os.getpid():
                return
            _abandoned.append((self._engine, self._loop, self._thread))
            self._thread = None
            self._loop = None
            self._engine = self._new_engine(self._engine.queue)
            self._pid = os.getpid()
            if not self._closed:
                _live.add(self)


def _run_engine(loop: asyncio.AbstractEventLoop, engine: Engine) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(engine.run())
    except BaseException:
        logger.exception("the pingsdk uploader stopped unexpectedly; queued pings stay on disk")
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def _commit_buffer_at_close(engine: Engine, deadline: float) -> None:
    """Store what ``durability="buffered"`` still holds in memory; log a loss at ERROR."""
    try:
        engine.commit_buffer(timeout=max(_CLOSE_COMMIT_WAIT, deadline - time.monotonic()))
    except QueueError as exc:
        logger.error(
            "could not store %d buffered ping(s) at close (%s): they are lost",
            engine.buffered,
            exc,
        )


def _report_left(engine: Engine, deadline: float) -> bool:
    """After the uploader stopped: log what stays queued, close the file; ``True`` if nothing.

    Every wait is bounded by ``deadline`` (``time.monotonic()``), but for committing a
    buffer (``durability="buffered"``), which gets at least a tenth of a second; never raises.
    """
    _commit_buffer_at_close(engine, deadline)
    try:
        left = engine.pending(timeout=max(0.0, deadline - time.monotonic()))
    except QueueError as exc:
        logger.info("could not count the pings left in the queue (%s); they stay on disk", exc)
        left = -1
    if left > 0:
        logger.info("%d ping(s) stay queued for the next start", left)
    with contextlib.suppress(Exception):
        engine.queue.close()
    return left == 0
