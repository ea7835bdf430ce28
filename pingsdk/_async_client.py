"""AsyncPingClient: the asyncio client; the shared upload engine runs as a task on your loop.

Same settings, preparation, queue, outcomes and retry schedule as :class:`PingClient` (both use
:class:`pingsdk._uploader.Engine`); only where the engine runs differs.
"""

from __future__ import annotations

import asyncio
import os
import time
from types import TracebackType

from ._client import _STOP_RESERVE, BaseClient
from ._log import logger
from ._ping import Ping
from ._uploader import Engine

__all__ = ["AsyncPingClient"]


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

    async def submit(self, ping: Ping) -> str:
        """Store ``ping`` for sending and return its document id (durable on return).

        Raises the same typed errors as :meth:`PingClient.submit`.
        """
        self._check_open()
        engine = self._running_engine() if self._config.uploader else self._engine
        return engine.accept(ping, upload_enabled=self._upload_enabled)

    async def flush(self, timeout: float = 5.0) -> bool:
        """Send what is due, waiting at most ``timeout`` seconds; see :meth:`PingClient.flush`."""
        if self._closed:
            return False
        if not self._config.uploader:
            deadline = time.monotonic() + max(0.0, timeout)
            while (pause := self._engine.other_sender_pause(deadline)) is not None:
                if not pause:
                    return False
                await asyncio.sleep(pause)
            return True
        return await self._running_engine().flush(timeout)

    async def close(self, timeout: float = 2.0) -> None:
        """Flush for most of ``timeout`` seconds, then stop the uploader task. Idempotent.

        Running requests are cancelled; their pings stay queued for the next start.
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        task = self._task
        if task is not None and not task.done():
            flush_time = timeout - min(_STOP_RESERVE, timeout / 4)
            if self._upload_enabled and flush_time > 0:
                await self._engine.flush(flush_time)
            self._engine.stop()
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
        pending = self._engine.queue.stats().pending
        if pending:
            logger.info("%d ping(s) stay queued for the next start", pending)
        self._engine.queue.close()

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
            self._engine = Engine(self._config, self._engine.queue, self._counters)
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
