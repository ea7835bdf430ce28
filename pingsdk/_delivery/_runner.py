"""Where the engine runs: a private thread (:class:`ThreadRunner`, for ``PingClient``) or a task
on the caller's event loop (:class:`TaskRunner`, for ``AsyncPingClient``).

A runner starts the engine on first use, runs coroutines on it, stops it within a deadline and
replaces it after a ``fork()`` (or, for a task, on a new event loop) on the same submitter: the
clients hold a runner and share everything else.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._engine import Engine
from pingsdk._delivery._http import prepare_to_send
from pingsdk._delivery._stats import ClientStats
from pingsdk._delivery._submit import Submitter
from pingsdk._exceptions import QueueError
from pingsdk._log import logger
from pingsdk._queue import QueuedPing

__all__ = ["LOOP_LOCK_WAIT", "Closable", "TaskRunner", "ThreadRunner", "settle_at_close"]

T = TypeVar("T")

LOOP_LOCK_WAIT = 0.02
"""Longest wait for the queue file's lock in a queue call made on the caller's event loop.

Another process holding the file (a long write, a relay's claim) must not stall the loop: past
this, ``submit()`` finishes the write in a worker thread and the uploader tries again on its
next cycle.
"""
_STOP_RESERVE = 0.5
"""Seconds of a close() timeout kept for stopping the uploader after the final flush."""
_CLOSE_COMMIT_WAIT = 0.1
"""Least time given to committing the buffer at close: losing pings is worse than a late close."""

_abandoned: list[object] = []
"""A forked child's copies of the parent's engine, loop and thread: kept alive so that nothing
in the child ever closes (or finalizes) the parent's connections and SQLite handles."""


def _flush_time(timeout: float) -> float:
    """How much of a close's ``timeout`` goes to the final flush (the rest stops the engine)."""
    return timeout - min(_STOP_RESERVE, timeout / 4)


class Closable:
    """A runner that is closed once (by the client's close) and never starts again."""

    _lock: threading.Lock
    _closed: bool

    def close(self) -> bool:
        """Mark the runner closed (it never starts again); ``False`` if it already was."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            return True


class ThreadRunner(Closable):
    """The engine on one private daemon thread running its own asyncio loop.

    Any thread may call it. In a fork child, :meth:`after_fork` (called by the client before
    anything else) abandons the parent's engine untouched and makes a new one.
    """

    def __init__(self, config: ClientConfig, submitter: Submitter) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.engine = Engine(config, submitter)

    @property
    def started(self) -> bool:
        """Whether the uploader thread was started (and not abandoned by a fork)."""
        return self._thread is not None

    def start(self) -> Engine:
        """The engine, its thread started unless it runs or the runner was closed."""
        if self._thread is not None:
            return self.engine
        with self._lock:
            if self._thread is not None or self._closed:
                return self.engine
            prepare_to_send(self._config)  # here, not in the uploader thread: see there
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_run_engine, args=(loop, self.engine), name="pingsdk-uploader", daemon=True
            )
            self._loop = loop
            thread.start()
            self._thread = thread
            return self.engine

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T | bool:
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

    def flush(self, timeout: float, *, now: bool = True) -> bool:
        """Run the engine's flush on its thread (started first); see ``Engine.flush``."""
        self.start()
        return bool(self.call(self.engine.flush(timeout, now=now), timeout))

    def purge(self, keep: QueuedPing | None) -> int:
        """Cancel running requests, delete every queued ping (but deletion requests), store
        ``keep``; returns how many were deleted."""
        if self._thread is None:
            return self.engine.submitter.purge(keep)
        purged = self.call(self.engine.purge(keep), 5.0)
        return purged if not isinstance(purged, bool) else -1

    def stats(self) -> ClientStats:
        """The engine's counters, pending count and requests in flight."""
        return self.engine.stats()

    def stop(self, timeout: float, deadline: float) -> bool:
        """Flush for most of ``timeout``, then stop the thread by ``deadline`` (monotonic).

        Returns ``False`` when the thread did not stop in time (what it holds is released when
        its leases expire; the buffer is committed from here).
        """
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return True
        flush_time = _flush_time(timeout)
        if flush_time > 0:
            self.call(self.engine.flush(flush_time), flush_time)
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(self.engine.stop)
        thread.join(max(0.0, deadline - time.monotonic()))
        if not thread.is_alive():
            return True
        _commit_buffer_at_close(self.engine.submitter, deadline)
        logger.warning(
            "the uploader did not stop within %.1f s; pings it holds are released when "
            "their lease expires",
            timeout,
        )
        return False

    def forked(self) -> bool:
        """Whether this process is a fork child the runner has not caught up with yet."""
        return self._pid != os.getpid()

    def after_fork(self) -> None:
        """In a fork child: abandon the parent's thread, loop and engine untouched and make a
        new engine on the same queue (which reconnects by itself in a child, under a new
        lease owner, so rows the parent holds are never sent twice). The parent's buffer is
        the parent's to commit."""
        with self._lock:
            if self._pid == os.getpid():
                return
            _abandoned.append((self.engine, self._loop, self._thread))
            self._thread = None
            self._loop = None
            self.engine = Engine(self._config, self.engine.submitter.forget_buffer())
            self._pid = os.getpid()

    def after_fork_in_child(self) -> None:
        """Right after ``fork()``: another thread of the parent may have held the lock."""
        self._lock = threading.Lock()


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


class TaskRunner:
    """The engine as a task on the running event loop (started on first use, restarted on a
    new loop or in a fork child). Call it from the loop's thread only."""

    def __init__(self, config: ClientConfig, submitter: Submitter) -> None:
        self._config = config
        self._pid = os.getpid()
        self.task: asyncio.Task[None] | None = None
        self.engine = self._new_engine(submitter)

    def _new_engine(self, submitter: Submitter) -> Engine:
        # Queue calls on the caller's loop never wait long for the file's lock.
        return Engine(self._config, submitter, lock_wait=LOOP_LOCK_WAIT)

    def stats(self) -> ClientStats:
        """The engine's counters, pending count and requests in flight."""
        return self.engine.stats()

    @property
    def running(self) -> bool:
        """Whether the engine's task runs (on some loop)."""
        return self.task is not None and not self.task.done()

    def start(self) -> Engine:
        """The engine, started as a task on the running loop (restarted on a new loop or fork)."""
        loop = asyncio.get_running_loop()
        task = self.task
        if task is not None and not task.done() and task.get_loop() is loop:
            return self.engine
        if task is not None or self._pid != os.getpid():
            # A previous loop ended (or this is a fork child): its engine's events and
            # connections belong to that loop; start over on the same queue file.
            # (The queue reconnects by itself in a fork child, under a new lease owner.)
            submitter = self.engine.submitter
            if self._pid == os.getpid():
                # Its buffer is ours: stored now, or left for the new engine if the file is busy.
                with contextlib.suppress(QueueError):
                    submitter.commit_buffer(timeout=LOOP_LOCK_WAIT)
            else:
                submitter = submitter.forget_buffer()  # the parent's, never committed here
            self.engine = self._new_engine(submitter)
            self._pid = os.getpid()
        self.task = loop.create_task(self.engine.run(), name="pingsdk-uploader")
        self.task.add_done_callback(_log_crash)
        return self.engine

    async def stop(self, timeout: float, deadline: float) -> None:
        """Flush for most of ``timeout`` (on the task's own loop), then stop the task by
        ``deadline`` (monotonic), cancelling it if it does not stop."""
        task = self.task
        if task is None or task.done():
            return
        flush_time = _flush_time(timeout)
        if flush_time > 0 and task.get_loop() is asyncio.get_running_loop():
            await self.engine.flush(flush_time)
        self.engine.stop()
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "the pingsdk uploader task stopped unexpectedly; queued pings stay on disk",
            exc_info=task.exception(),
        )


def _commit_buffer_at_close(submitter: Submitter, deadline: float) -> None:
    """Store what ``durability="buffered"`` still holds in memory; log a loss at ERROR."""
    try:
        submitter.commit_buffer(timeout=max(_CLOSE_COMMIT_WAIT, deadline - time.monotonic()))
    except QueueError as exc:
        logger.error(
            "could not store %d buffered ping(s) at close (%s): they are lost",
            submitter.buffered,
            exc,
        )


def settle_at_close(engine: Engine, deadline: float) -> bool:
    """After the engine stopped: log what stays queued, close the file; ``True`` if nothing.

    Every wait is bounded by ``deadline`` (``time.monotonic()``), but for committing a
    buffer (``durability="buffered"``), which gets at least a tenth of a second; never raises.
    """
    _commit_buffer_at_close(engine.submitter, deadline)
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
