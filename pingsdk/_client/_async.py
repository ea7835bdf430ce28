"""AsyncPingClient: the asyncio client; the shared upload engine runs as a task on your loop.

Same settings, submit path, queue, outcomes and retry schedule as :class:`PingClient` (both are a
:class:`~pingsdk._client._base.BaseClient`); a :class:`~pingsdk._delivery._runner.TaskRunner`
hosts the engine, and the calls that block in ``PingClient`` are awaited here.
"""

from __future__ import annotations

import contextlib
import time
import typing
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from pingsdk._client._base import DEFAULT_SEND_NOW_TIMEOUT, BaseClient
from pingsdk._delivery._config import ClientSettings  # get_type_hints() resolves __init__
from pingsdk._exceptions import EdgeUnavailableError, QueueBusyError, QueueError
from pingsdk._log import logger

if TYPE_CHECKING:
    # The sending stack is imported by the constructor (BaseClient), not by `import pingsdk`;
    # the methods below import from modules it has loaded (a sys.modules lookup).
    from types import TracebackType

    from pingsdk._delivery._engine import Engine
    from pingsdk._delivery._process_runner import ProcessRunner
    from pingsdk._delivery._runner import TaskRunner
    from pingsdk._delivery._stats import DeliveryReport
    from pingsdk._model._ping import Ping
    from pingsdk._queue import QueuedPing

__all__ = ["AsyncPingClient"]


class AsyncPingClient(BaseClient["TaskRunner"]):
    """Send pings from asyncio code; same keywords and guarantees as :class:`PingClient`.

    The uploader is a task on the running loop, started by the first ``submit()`` or
    ``flush()`` (with ``uploader="process"``: a sender process, and the waits of ``flush()``,
    ``close()`` and ``set_upload_enabled()`` run in a worker thread). ``submit()`` stores the
    ping with one local SQLite write (tens of microseconds; about a millisecond with
    ``durability="power"``) and never waits for the network.

    There is no exit hook for an event loop: close the client (``async with`` does) to flush;
    whatever is not sent stays on disk and goes out on the next start.

    Example::

        async with pingsdk.AsyncPingClient("https://incoming.example.com") as client:
            doc_id = await client.submit(SearchCounts(engine="ddg", count=3))
            await client.flush(timeout=5.0)

    Added in 0.1.
    """

    def __init__(self, endpoint: str, **settings: Unpack[ClientSettings]) -> None:
        from pingsdk._delivery._runner import LOOP_LOCK_WAIT, TaskRunner

        super().__init__(endpoint, TaskRunner, settings)
        # Decided once: the default client's calls never look for a sender process.
        self._sender: ProcessRunner | None = (
            self._runner if not isinstance(self._runner, TaskRunner) else None
        )
        # How long submit() and close() wait for the queue file's lock on the loop's thread.
        self._lock_wait = LOOP_LOCK_WAIT

    async def submit(self, ping: Ping) -> str:
        """Store ``ping`` for sending and return its document id (durable on return, or
        within ``buffer_delay`` with ``durability="buffered"``).

        Never blocks the event loop on the queue file's lock: when another process holds it,
        the write finishes in a worker thread while the loop goes on.

        Raises the same typed errors as :meth:`PingClient.submit` (``QueueBusyError`` when the
        file stays locked past the queue's ``busy_timeout``).
        """
        self._check_open()
        if self._config.uploader:
            if self._sender is None:
                self._runner.start()
            else:
                await self._start()
        submitter = self._submitter
        row = submitter.take(ping, upload_enabled=self._upload_enabled)
        if isinstance(row, str):
            return row  # buffered (durability="buffered")
        try:
            submitter.store(row, timeout=self._lock_wait)
        except QueueBusyError:
            import asyncio  # loaded: this coroutine runs on an asyncio loop

            await asyncio.to_thread(submitter.store, row)
        return row.doc_id

    async def send_now(
        self, ping: Ping, *, timeout: float = DEFAULT_SEND_NOW_TIMEOUT
    ) -> DeliveryReport:
        """Store ``ping`` and send it at once, awaiting the edge's answer (at most ``timeout``
        seconds, retries included); see :meth:`PingClient.send_now`.

        Retries wait with ``asyncio.sleep`` (``RetryPolicy.async_retrying()``), and the queue
        file is written from a worker thread, so the event loop never blocks on it (the
        ``on_sent`` / ``on_dropped`` callback of this ping runs in that worker thread).
        Cancelling the call gives the ping back to the uploader: it stays queued.

        Raises the same errors as :meth:`PingClient.send_now` (``PingRejectedError``,
        ``EdgeUnavailableError``...).

        Added in the release after 0.1.0.
        """
        from pingsdk._delivery._prepare import prepare_ping

        self._check_open()
        row = prepare_ping(ping, self._config, upload_enabled=self._upload_enabled)
        return await self._send_row_now(row, timeout)

    async def send_document_now(
        self,
        document: bytes,
        *,
        namespace: str,
        doctype: str,
        version: int,
        timeout: float = DEFAULT_SEND_NOW_TIMEOUT,
    ) -> DeliveryReport:
        """:meth:`send_now` for a JSON document without a Ping class; see
        :meth:`PingClient.send_document_now`.

        Added in the release after 0.1.0.
        """
        from pingsdk._client._send_now import document_row

        self._check_open()
        row = document_row(
            document,
            self._config,
            upload_enabled=self._upload_enabled,
            namespace=namespace,
            doctype=doctype,
            version=version,
        )
        return await self._send_row_now(row, timeout)

    async def _send_row_now(self, row: QueuedPing, timeout: float) -> DeliveryReport:
        from pingsdk._client._send_now import send_row_async

        try:
            return await send_row_async(self._submitter, self._config, row, timeout)
        except EdgeUnavailableError as exc:
            if exc.queued and self._config.uploader and not self._closed:
                self._runner.start()  # the ping left queued goes out without a submit
            raise

    async def flush(self, timeout: float = 5.0, *, now: bool = True) -> bool:
        """Send every queued ping of this endpoint, waiting at most ``timeout`` seconds;
        ``True`` only when none is left. See :meth:`PingClient.flush`."""
        if self._closed:
            return False
        if not self._config.uploader:
            import asyncio

            deadline, step = self._other_sender_step(timeout)
            while not isinstance(step, bool):
                await asyncio.sleep(step)
                step = self._engine.other_sender_step(deadline)
            return step
        process = self._process()
        if process is not None:
            import asyncio

            await self._start()
            return await asyncio.to_thread(process.flush, timeout, now=now)
        engine = await self._start()
        return await engine.flush(timeout, now=now)

    async def close(self, timeout: float = 2.0) -> bool:
        """Flush (overriding the backoff) for most of ``timeout`` seconds, then stop the
        uploader task. Idempotent; never raises (a failure is logged); never takes much longer
        than ``timeout``.

        Running requests are cancelled; their pings stay queued for the next start.

        Returns:
            ``True`` when no ping for this endpoint is left in the queue.
        """
        try:
            return await self._close(timeout)
        except Exception:
            logger.exception("closing the pingsdk client failed; queued pings stay on disk")
            return False

    async def _close(self, timeout: float) -> bool:
        from pingsdk._delivery._runner import settle_at_close

        if self._closed:
            return False
        process = self._process()
        timeout, deadline = self._close_deadline(timeout)
        running = self._runner.running
        if not running and self._config.uploader and timeout > 0:
            # Pings left by an earlier run (a deletion request, say) go out on close even if
            # this client never submitted or flushed.
            with contextlib.suppress(QueueError):
                if self._engine.pending(timeout=self._lock_wait):
                    await self._start()
        if process is not None:
            import asyncio

            process.close()
            await asyncio.to_thread(process.stop, timeout, deadline)
        else:
            await typing.cast("TaskRunner", self._runner).stop(timeout, deadline)
        return settle_at_close(self._engine, min(deadline, time.monotonic() + self._lock_wait))

    async def set_upload_enabled(
        self, enabled: bool, *, deletion_request: Ping | None = None
    ) -> None:
        """Switch uploading on or off; see :meth:`PingClient.set_upload_enabled`."""
        self._check_open()
        if enabled:
            self._upload_enabled = True
            return
        keep = self._switch_off(deletion_request)
        process = self._process()
        if process is not None:
            import asyncio

            await asyncio.to_thread(process.purge, keep)
        elif self._runner.running:
            await self._engine.purge(keep)
        else:
            self._submitter.purge(keep)
        if keep is not None and self._config.uploader:
            await self._start()

    async def __aenter__(self) -> AsyncPingClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _running_engine(self) -> Engine:
        """The engine, started on the running loop (pingsdk.glean wakes it after its pings)."""
        return self._runner.start()

    def _process(self) -> ProcessRunner | None:
        """The sender process's runner (``uploader="process"``), caught up after a fork."""
        runner = self._sender
        if runner is not None and runner.forked():
            runner.after_fork()
        return runner

    async def _start(self) -> Engine:
        """The engine started: a task on this loop, or the sender process (started from a
        worker thread: starting a process must not stall the loop)."""
        process = self._process()
        if process is None or process.running:
            return self._runner.start()
        import asyncio

        return await asyncio.to_thread(process.start)
