"""AsyncPingClient: the asyncio client; the shared upload engine runs as a task on your loop.

Same settings, preparation, queue, outcomes and retry schedule as :class:`PingClient` (both use
:class:`pingsdk._delivery._engine.Engine`); only where the engine runs differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from types import TracebackType

from pingsdk._client._sync import (
    _NOW_ERRORS,
    _STOP_RESERVE,
    DEFAULT_SEND_NOW_TIMEOUT,
    BaseClient,
    _report_left,
)
from pingsdk._delivery._engine import Engine, Sender
from pingsdk._delivery._outcome import Outcome
from pingsdk._delivery._prepare import prepare_ping
from pingsdk._delivery._stats import DeliveryReport
from pingsdk._exceptions import EdgeUnavailableError, QueueBusyError, QueueError
from pingsdk._log import logger
from pingsdk._model._ping import Ping
from pingsdk._queue import PingQueue, QueuedPing

__all__ = ["AsyncPingClient"]

LOOP_LOCK_WAIT = 0.02
"""Longest wait for the queue file's lock in a queue call made on the caller's event loop.

Another process holding the file (a long write, a relay's claim) must not stall the loop: past
this, ``submit()`` finishes the write in a worker thread and the uploader tries again on its
next cycle.
"""


class AsyncPingClient(BaseClient):
    """Send pings from asyncio code; same keywords and guarantees as :class:`PingClient`.

    The uploader is a task on the running loop, started by the first ``submit()`` or
    ``flush()``. ``submit()`` stores the ping with one local SQLite write (tens of microseconds;
    about a millisecond with ``durability="power"``) and never waits for the network.

    There is no exit hook for an event loop: close the client (``async with`` does) to flush;
    whatever is not sent stays on disk and goes out on the next start.

    Example::

        async with pingsdk.AsyncPingClient("https://incoming.example.com") as client:
            doc_id = await client.submit(SearchCounts(engine="ddg", count=3))
            await client.flush(timeout=5.0)

    Added in 0.1.
    """

    def _init_runtime(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._pid = os.getpid()

    def _new_engine(self, queue: PingQueue) -> Engine:
        return Engine(self._config, queue, self._counters, lock_wait=LOOP_LOCK_WAIT)

    async def submit(self, ping: Ping) -> str:
        """Store ``ping`` for sending and return its document id (durable on return, or
        within ``buffer_delay`` with ``durability="buffered"``).

        Never blocks the event loop on the queue file's lock: when another process holds it,
        the write finishes in a worker thread while the loop goes on.

        Raises the same typed errors as :meth:`PingClient.submit` (``QueueBusyError`` when the
        file stays locked past the queue's ``busy_timeout``).
        """
        self._check_open()
        engine = self._running_engine() if self._config.uploader else self._engine
        row = engine.take(ping, upload_enabled=self._upload_enabled)
        if isinstance(row, str):
            return row  # buffered (durability="buffered")
        try:
            engine.store(row, timeout=LOOP_LOCK_WAIT)
        except QueueBusyError:
            await asyncio.to_thread(engine.store, row)
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
        self._check_open()
        row = self._document_row(document, namespace=namespace, doctype=doctype, version=version)
        return await self._send_row_now(row, timeout)

    async def _send_row_now(self, row: QueuedPing, timeout: float) -> DeliveryReport:
        now = self._start_now(row, timeout)
        await asyncio.to_thread(self._engine.store, row, leased=True)
        result: Outcome | BaseException
        sender = Sender(self._config, shared=True)
        try:
            await sender.open()
            result = await self._config.retry.async_retrying(stop=now.stop())(now.attempt, sender)
        except _NOW_ERRORS as exc:
            result = exc
        except BaseException:
            now.abandon()
            raise
        finally:
            await sender.close()
        try:
            return await asyncio.to_thread(now.finish, result)
        except EdgeUnavailableError as exc:
            if exc.queued and self._config.uploader and not self._closed:
                self._running_engine()  # the ping left queued goes out without a submit
            raise

    async def flush(self, timeout: float = 5.0, *, now: bool = True) -> bool:
        """Send every queued ping of this endpoint, waiting at most ``timeout`` seconds;
        ``True`` only when none is left. See :meth:`PingClient.flush`."""
        if self._closed:
            return False
        if not self._config.uploader:
            deadline = time.monotonic() + max(0.0, timeout)
            while not isinstance(step := self._engine.other_sender_step(deadline), bool):
                await asyncio.sleep(step)
            return step
        return await self._running_engine().flush(timeout, now=now)

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
        if self._closed:
            return False
        self._closed = True
        timeout = max(0.0, timeout)
        deadline = time.monotonic() + timeout
        task = self._task
        if (task is None or task.done()) and self._config.uploader and timeout > 0:
            # Pings left by an earlier run (a deletion request, say) go out on close even if
            # this client never submitted or flushed.
            with contextlib.suppress(QueueError):
                if self._engine.pending(timeout=LOOP_LOCK_WAIT):
                    self._running_engine()
                    task = self._task
        if task is not None and not task.done():
            flush_time = timeout - min(_STOP_RESERVE, timeout / 4)
            if flush_time > 0 and task.get_loop() is asyncio.get_running_loop():
                await self._engine.flush(flush_time)
            self._engine.stop()
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
        return _report_left(self._engine, min(deadline, time.monotonic() + LOOP_LOCK_WAIT))

    async def set_upload_enabled(
        self, enabled: bool, *, deletion_request: Ping | None = None
    ) -> None:
        """Switch uploading on or off; see :meth:`PingClient.set_upload_enabled`."""
        self._check_open()
        if enabled:
            self._upload_enabled = True
            return
        keep = self._prepare_deletion(deletion_request)
        self._upload_enabled = False
        if self._task is not None and not self._task.done():
            await self._engine.purge(keep)
        else:
            self._engine.purge_now(keep)
        if keep is not None and self._config.uploader:
            self._running_engine()

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
        """The engine, started as a task on the running loop (restarted on a new loop or fork)."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return self._engine
        if task is not None or self._pid != os.getpid():
            # A previous loop ended (or this is a fork child): its engine's events and
            # connections belong to that loop; start over on the same queue file.
            # (The queue reconnects by itself in a fork child, under a new lease owner.)
            if self._pid == os.getpid():
                # Its buffer is ours (a fork child's copy is the parent's, never committed
                # here): stored now, or handed to the new engine if the file is busy.
                with contextlib.suppress(QueueError):
                    self._engine.commit_buffer(timeout=LOOP_LOCK_WAIT)
                left = self._engine
            else:
                left = None
            self._engine = self._new_engine(self._engine.queue)
            if left is not None and left.buffered:
                self._engine.adopt_buffer(left)
            self._pid = os.getpid()
        self._task = loop.create_task(self._engine.run(), name="pingsdk-uploader")
        self._task.add_done_callback(_log_crash)
        return self._engine


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "the pingsdk uploader task stopped unexpectedly; queued pings stay on disk",
            exc_info=task.exception(),
        )
