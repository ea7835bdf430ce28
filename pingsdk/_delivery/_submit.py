"""The submit path: ``prepare`` -> ``queue.put`` (or the buffer) -> wake the uploader.

``submit()`` runs this in the caller's thread (or on the caller's event loop) and never touches
the network or the engine's loop: a ping is durable when :meth:`Submitter.store` returns. With
``durability="buffered"`` a prepared ping waits in memory instead, and the engine commits the
batch in one transaction within ``buffer_delay`` (:meth:`Submitter.commit_buffer`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._prepare import Draft, check_ping, finish_ping
from pingsdk._delivery._report import Reporter, payload_text
from pingsdk._exceptions import QueueBusyError
from pingsdk._log import logger
from pingsdk._model._ping import Ping
from pingsdk._queue import PingQueue, QueuedPing

__all__ = ["Submitter", "open_queue"]

_BUFFER_SLACK = 4096
"""Room kept for a row's path and headers when judging whether a buffered ping fits the queue:
a ping that might not fit is stored at once, so ``submit()`` still raises PayloadTooLargeError."""


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


def _no_wake() -> None:
    """Until an engine is bound: it looks at the queue when it starts."""


class Submitter:
    """Prepares and stores the pings of one client (in one process); any thread.

    ``wake`` is the bound engine's wake-up (:meth:`bind`): called after every store, and for the
    first ping of a buffered batch, so the engine times the batch's commit.
    """

    def __init__(self, config: ClientConfig, queue: PingQueue, reporter: Reporter) -> None:
        self._config = config
        self.queue = queue
        self.reporter = reporter
        self.wake: Callable[[], None] = _no_wake
        # durability="buffered": prepared rows waiting for the loop to commit them in one
        # transaction. ``_buffer_lock`` guards the list (taken by submit(), held for an
        # append); ``_commit_lock`` is held for a whole commit, so stats() never sees a batch
        # that is in neither the buffer nor the queue.
        self._buffered = config.durability == "buffered"
        self._buffer: list[Draft] = []
        self._buffer_since = 0.0
        self._buffer_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def bind(self, wake: Callable[[], None]) -> None:
        """Wake this engine from now on (a new engine after a new loop or a fork)."""
        self.wake = wake

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
                self.reporter.evicted(1)
            buffer.append(row)
        self.reporter.stored(row.doc_id, row.path, lambda: row.json.decode("utf-8", "replace"))
        if first:
            self.wake()

    def store(self, row: QueuedPing, *, timeout: float | None = None, leased: bool = False) -> None:
        """Put a prepared row in the queue, count it and any evictions, wake the loop.

        Args:
            timeout: the longest wait for the queue file's lock (``QueueBusyError`` after it,
                with nothing stored); ``None`` for the queue's ``busy_timeout``.
            leased: store it leased to this client's queue owner (``send_now()``, which sends
                it at once and then settles it itself).
        """
        if leased:
            evicted = self.queue.put_leased(row, timeout=timeout)
        else:
            evicted = self.queue.put(row, timeout=timeout)
        if evicted:
            self.reporter.evicted(len(evicted))
        self.reporter.stored(row.doc_id, row.path, lambda: payload_text(row))
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
            self.reporter.evicted(len(evicted))
        return len(rows)

    @property
    def buffered(self) -> int:
        """Pings handed to the buffer and not yet committed to the queue."""
        return len(self._buffer)

    def buffer_wait(self) -> float:
        """Seconds until the buffer is due for its commit (``inf`` when it is empty).

        A batch is committed half a ``buffer_delay`` after its first ping: the other half is
        the margin for a loop that is busy sending, so a ping is on disk within the delay.
        """
        if not self._buffer:
            return math.inf
        return self._buffer_since + self._config.buffer_delay / 2 - time.monotonic()

    def pending(self) -> int:
        """Pings stored in the queue (every endpoint's) plus the buffered ones."""
        with self._commit_lock:
            return self.queue.stats().pending + len(self._buffer)

    def purge(self, keep: QueuedPing | None = None) -> int:
        """Delete every queued and buffered ping but those stored to survive a purge (deletion
        requests), then store ``keep``. Nothing may be in flight."""
        with self._commit_lock, self._buffer_lock:
            unstored = len(self._buffer)
            self._buffer.clear()
        purged = self.queue.purge() + unstored
        if purged:
            self.reporter.counters.drop("upload_disabled", purged)
            logger.info("upload disabled: deleted %d queued ping(s)", purged)
        if keep is not None:
            self.store(keep)
        return purged

    def forget_buffer(self) -> Submitter:
        """In a fork child: a submitter on the same queue without the parent's buffer (the
        parent commits it) nor its locks (another thread may have held them)."""
        return Submitter(self._config, self.queue, self.reporter)
