"""PingClient: the synchronous client; the shared upload engine runs on a private thread.

``submit()`` stores the ping in the caller's thread (durable on return) and wakes the engine,
which a :class:`~pingsdk._delivery._runner.ThreadRunner` runs on one daemon thread with its own
asyncio loop. Everything else is shared with :class:`AsyncPingClient` (:mod:`._base`,
:mod:`._send_now`, :mod:`pingsdk._delivery`); this file owns the blocking calls, fork safety and
the exit hook.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from pingsdk import _lifecycle as lifecycle
from pingsdk._client._base import DEFAULT_SEND_NOW_TIMEOUT, BaseClient
from pingsdk._delivery._config import ClientSettings  # get_type_hints() resolves __init__
from pingsdk._exceptions import EdgeUnavailableError
from pingsdk._log import logger

if TYPE_CHECKING:
    # The sending stack is imported by the constructor (BaseClient), not by `import pingsdk`;
    # the methods below import from modules it has loaded (a sys.modules lookup).
    from types import TracebackType

    from pingsdk._delivery._runner import ThreadRunner  # noqa: F401 -- the base's type argument
    from pingsdk._delivery._stats import ClientStats, DeliveryReport
    from pingsdk._model._ping import Ping
    from pingsdk._queue import QueuedPing

__all__ = ["PingClient"]

_live: weakref.WeakSet[PingClient] = weakref.WeakSet()


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


class PingClient(BaseClient["ThreadRunner"]):
    """Send pings to an edge server, reliably, from any thread.

    ``submit()`` stores the ping in a durable on-disk queue and returns its document id; a
    background uploader (one thread running an asyncio loop, started on first use) sends it with
    retries, through outages, restarts and crashes. Every ping is sent with the URL and body it
    was given at submit, so the pipeline can deduplicate retries.

    The settings after ``endpoint`` are keywords (typed for mypy: ``ClientSettings``); one
    that is not listed here raises ``TypeError``. Each left out takes the default named below.

    Args:
        endpoint: the edge's base URL, e.g. ``"https://incoming.telemetry.mozilla.org"``
            (no ``/submit`` path: pingsdk adds it). ``https://`` is required unless the host
            is loopback or ``allow_insecure=True``. Each ping is only ever sent to the endpoint
            it was submitted for, whoever sends it.
        queue_path: the SQLite queue file; ``None`` (default) for the per-user default,
            ``":memory:"`` for tests (single process, nothing survives).
        retry: the :class:`RetryPolicy` (backoff, max attempts, max age 14 days by default);
            ``None`` (default) for ``RetryPolicy()``.
        max_in_flight: concurrent requests (default 16: enough for ten times a sequential
            sender against an edge 20 ms away, and no slower against a near one).
        compress: gzip bodies (default ``True``).
        timeout: seconds for one request (connect, write, read; default 10).
        debug_id: ``X-Debug-ID`` header (routes pings to the Debug Ping Viewer). The
            environment variable ``PINGSDK_DEBUG_ID`` wins over it. Default ``None``.
        source_tags: ``X-Source-Tags`` (at most 5; use ``("automation",)`` for test traffic).
            ``PINGSDK_SOURCE_TAGS`` (comma-separated) wins over it. Default none.
        headers: extra request headers (never the infrastructure or pingsdk's own headers);
            default ``None``.
        app: an :class:`AppInfo`, needed for legacy ``telemetry`` pings; default ``None``.
        upload_enabled: ``True`` (default) sends pings; ``False`` purges the queue now (but a
            deletion request left by an earlier run, which is still sent) and refuses pings.
        rate_limit: ``(pings, per_seconds)``, e.g. ``(15, 60.0)`` as Glean; ``None`` = no limit.
        max_queue_count, max_queue_bytes: queue bounds (10,000 pings, 50 MiB); when full the
            oldest pings are evicted, counted and logged at ERROR.
        durability: ``"process"`` (the default: safe against a crash of the process when
            ``submit()`` returns), ``"power"`` (fsync: also safe against power loss, ~ms per
            submit) or ``"buffered"``: ``submit()`` hands the ping to an in-memory buffer that
            the uploader commits to the queue within ``buffer_delay``; a crash (SIGKILL, power
            loss) loses at most the pings of that last window. ``flush()``, ``close()`` and the
            exit hook commit the buffer first. Needs an uploader (a thread or ``"process"``).
        buffer_delay: the longest a buffered ping waits for its commit, in seconds (default
            0.05; only used with ``durability="buffered"``).
        allow_insecure: allow ``http://`` to non-loopback hosts (and ``verify=False``);
            default ``False``.
        log_pings: log payloads at DEBUG (off by default: payloads are user data).
            ``PINGSDK_LOG_PINGS=1`` (or ``0``) wins over it. The client logs once at INFO
            which settings the environment overrode.
        on_sent, on_dropped: callables receiving a :class:`DeliveryReport`; run on the uploader
            thread (with ``uploader="process"``: on the thread reading the sender's reports;
            for :meth:`send_now`: in the calling thread), so keep them quick. Default ``None``.
        atexit_timeout: seconds the exit hook spends flushing (default 2).
        transport: an ``httpx.AsyncBaseTransport`` (tests: ``httpx.MockTransport``); default
            ``None``: pingsdk's own HTTP/1.1 transport (httpx's for a proxy in the environment).
        verify: TLS verification: ``True`` (default), or a CA bundle path.
        uploader: ``True`` or ``"thread"`` (default) sends from a thread of this process;
            ``"process"`` sends from a sender process the client starts, restarts and stops
            itself, so ``submit()`` never waits for an uploader thread's GIL (stats, callbacks
            and logs come back to this process; not with ``transport`` or ``":memory:"``);
            ``False`` makes this client store pings only, for
            another process sending from the same queue file (``pingsdk relay``). See
            docs/sending.md, "A sender process of the client's own".

    Raises:
        ConfigurationError: a bad setting, or a bad ``PINGSDK_*`` environment variable (the
            message says which and what is accepted).
        QueueError: the queue file cannot be opened.
        TypeError: a keyword that is not a setting.

    Example::

        with pingsdk.PingClient("https://incoming.example.com", queue_path="pings.db") as client:
            doc_id = client.submit(SearchCounts(engine="ddg", count=3))
            assert client.flush(timeout=5.0)  # True only when nothing is left to send

    Added in 0.1.
    """

    def __init__(self, endpoint: str, **settings: Unpack[ClientSettings]) -> None:
        from pingsdk._delivery._runner import ThreadRunner

        super().__init__(endpoint, ThreadRunner, settings)
        _live.add(self)
        if self._config.uploader and self._engine.pending():
            # Pings left by an earlier run go out without waiting for a submit (with upload
            # off, only deletion requests are left after the purge).
            self._runner.start()

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
        self._here()
        self._check_open()
        doc_id = self._submitter.accept(ping, upload_enabled=self._upload_enabled)
        if self._config.uploader:
            self._runner.start()
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
        from pingsdk._delivery._prepare import prepare_ping

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
        from pingsdk._client._send_now import document_row

        self._ready_to_send_now()
        row = document_row(
            document,
            self._config,
            upload_enabled=self._upload_enabled,
            namespace=namespace,
            doctype=doctype,
            version=version,
        )
        return self._send_row_now(row, timeout)

    def _ready_to_send_now(self) -> None:
        import asyncio

        self._here()
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
        from pingsdk._client._send_now import send_row

        try:
            return send_row(self._submitter, self._config, row, timeout)
        except EdgeUnavailableError as exc:
            if exc.queued and self._config.uploader and not self._closed:
                self._runner.start()  # the ping left queued goes out without waiting for a submit
            raise

    def stats(self) -> ClientStats:
        """Delivery counters since this client was created, and the pending count (stored
        pings, and buffered ones with ``durability="buffered"``)."""
        self._here()  # the parent's buffer is not this process's to count
        return super().stats()

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
        self._here()
        if self._closed:
            return False
        if not self._config.uploader:
            deadline, step = self._other_sender_step(timeout)
            while not isinstance(step, bool):
                time.sleep(step)
                step = self._engine.other_sender_step(deadline)
            return step
        return self._runner.flush(timeout, now=now)

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
        from pingsdk._delivery._runner import settle_at_close

        self._here()
        if not self._runner.close():
            return False
        _live.discard(self)
        timeout, deadline = self._close_deadline(timeout)
        if not self._runner.stop(timeout, deadline):
            return False
        return settle_at_close(self._engine, deadline)

    def set_upload_enabled(self, enabled: bool, *, deletion_request: Ping | None = None) -> None:
        """Switch uploading on or off.

        Switching off refuses new pings, cancels running requests and deletes every queued ping;
        ``deletion_request`` (e.g. a ``deletion-request`` ping) is then the only ping sent.

        Raises:
            PingExpiredError, PayloadTooLargeError, ConfigurationError: for ``deletion_request``.
        """
        self._here()
        self._check_open()
        if enabled:
            self._upload_enabled = True
            return
        keep = self._switch_off(deletion_request)
        self._runner.purge(keep)
        if keep is not None and self._config.uploader:
            self._runner.start()

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
        """Start the uploader thread (pingsdk.glean wakes it after storing its own pings)."""
        self._runner.start()

    def _here(self) -> None:
        """In a fork child, before anything else: a new engine of this process's own."""
        if self._runner.forked():
            self._runner.after_fork()
            if not self._closed:
                _live.add(self)

    def _close_at_exit(self) -> None:
        # Bounded by atexit_timeout; close() logs how many pings stay queued for the next start.
        self.close(self._config.atexit_timeout)

    def _forget_parent(self) -> None:
        """In a fork child: drop every lock another parent thread may have held."""
        self._runner.after_fork_in_child()
        self._submitter.reporter.after_fork()
