"""The waiting room: connections wait here, without a thread, until a whole request arrived.

One thread accepts connections and reads them without blocking. A connection is handed to a
worker only when its request head and the body it announces are in memory, so a slow or
idle client costs a socket and a buffer, never a thread; the number of threads is fixed
whatever clients do. A request must arrive within the deadline from its first byte, and an
idle keep-alive connection is closed after the same deadline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable

from pingsdk.edge._rules import MAX_HEAD, head_framing

__all__ = ["Connection", "WaitingRoom"]

logger = logging.getLogger("pingsdk.edge")

_TICK = 0.1
_CHUNK = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclasses.dataclass(eq=False)
class Connection:
    """One client connection and what it sent that no request consumed yet.

    Attributes:
        sock: the socket (non-blocking while in the room).
        address: the client's address.
        buffer: bytes received and not yet handled.
        deadline: monotonic time by which the pending request must be complete (or, idle,
            by which the next one must start).
        held: answer nothing until the client leaves or the deadline passes (a fault).
        oversized: the head grew past :data:`MAX_HEAD` without ending.
        continued: ``100 Continue`` was sent for the pending request.
        started: the pending request's first byte has arrived (its deadline runs).
    """

    sock: socket.socket
    address: tuple[str, int]
    buffer: bytearray = dataclasses.field(default_factory=bytearray)
    deadline: float = 0.0
    held: bool = False
    oversized: bool = False
    continued: bool = False
    started: bool = False

    def request_ready(self) -> bool:
        """True when a whole request (head and announced body) is buffered, or the head is
        too large to wait for."""
        end = _head_end(self.buffer)
        if end < 0:
            self.oversized = len(self.buffer) > MAX_HEAD
            return self.oversized
        length, _ = head_framing(bytes(self.buffer[:end]))
        return len(self.buffer) >= end + (length or 0)

    def wants_continue(self) -> bool:
        """The head is complete, asks for ``100 Continue`` and the body is not all here."""
        end = _head_end(self.buffer)
        if end < 0 or self.continued:
            return False
        _, expect = head_framing(bytes(self.buffer[:end]))
        return expect


def _head_end(buffer: bytearray) -> int:
    """Index just past the blank line that ends the head, or -1."""
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    ends = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
    return min(ends) if ends else -1


class WaitingRoom:
    """Accepts on ``listener`` and hands complete requests to ``handle`` on worker threads.

    ``handle(connection)`` runs on one of ``workers`` threads; it returns the connection to
    keep it open (it comes back to the room, held or waiting for its next request) or
    ``None`` to close it.
    """

    def __init__(
        self,
        listener: socket.socket,
        handle: Callable[[Connection], Connection | None],
        *,
        timeout: float,
        workers: int,
        name: str,
    ) -> None:
        self._listener = listener
        self._handle = handle
        self._timeout = timeout
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._inbox: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._work: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._waiting: set[Connection] = set()
        self._busy: set[Connection] = set()
        self._busy_lock = threading.Lock()
        self._stopping = threading.Event()
        self._fd_warned = -60.0
        self._threads = [threading.Thread(target=self._run, name=name, daemon=True)]
        self._threads += [
            threading.Thread(target=self._worker, name=f"{name}-worker-{i}", daemon=True)
            for i in range(workers)
        ]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the room thread and the workers."""
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Close every connection (busy ones are shut down so their workers finish at once)
        and join all threads."""
        self._stopping.set()
        self._wake()
        with self._busy_lock:
            busy = list(self._busy)
        for conn in busy:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for _ in self._threads[1:]:
            self._work.put(None)
        for thread in self._threads:
            thread.join()
        while True:
            try:
                _close(self._inbox.get_nowait())
            except queue.Empty:
                break
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the room thread ---------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        next_sweep = time.monotonic() + _TICK
        while not self._stopping.is_set():
            for key, _ in self._selector.select(_TICK):
                if key.fileobj is self._listener:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    self._readable(key.data)
            self._take_back()
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + _TICK
                for conn in [c for c in self._waiting if c.deadline <= now]:
                    self._drop(conn)
        for conn in list(self._waiting):
            self._drop(conn)

    def _accept(self) -> None:
        for _ in range(64):  # a burst of connections does not starve reading
            try:
                sock, address = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    # Out of file descriptors: pause accepting rather than spin, and say so
                    # once a minute at most.
                    now = time.monotonic()
                    if now >= self._fd_warned + 60:
                        self._fd_warned = now
                        logger.warning("edge: out of file descriptors; accepting pauses")
                    self._stopping.wait(_TICK)
                return
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, address)
            conn.deadline = time.monotonic() + self._timeout
            self._enter(conn)

    def _enter(self, conn: Connection) -> None:
        if conn.held:
            conn.buffer.clear()
        elif conn.buffer and conn.request_ready():
            self._dispatch(conn)
            return
        try:
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
        except (OSError, ValueError):
            _close(conn)
            return
        with self._busy_lock:
            self._waiting.add(conn)

    def _take_back(self) -> None:
        while True:
            try:
                conn = self._inbox.get_nowait()
            except queue.Empty:
                return
            with self._busy_lock:
                self._busy.discard(conn)
            conn.started = bool(conn.buffer)
            conn.continued = False
            with contextlib.suppress(OSError):
                conn.sock.setblocking(False)
            self._enter(conn)

    def _readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:  # the client is gone; what it left unfinished is not a request
            self._drop(conn)
            return
        if conn.held:
            return
        if not conn.started:
            # The deadline runs from the first byte of each request.
            conn.started = True
            conn.deadline = time.monotonic() + self._timeout
        conn.buffer += data
        if conn.request_ready():
            self._selector.unregister(conn.sock)
            with self._busy_lock:
                self._waiting.discard(conn)
            self._dispatch(conn)
        elif conn.wants_continue():
            conn.continued = True
            with contextlib.suppress(OSError):
                conn.sock.send(_CONTINUE)

    def _dispatch(self, conn: Connection) -> None:
        with self._busy_lock:
            self._busy.add(conn)
        self._work.put(conn)

    def _drop(self, conn: Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        with self._busy_lock:
            self._waiting.discard(conn)
        _close(conn)

    # -- workers -----------------------------------------------------------------------------

    def _worker(self) -> None:
        while (conn := self._work.get()) is not None:
            kept: Connection | None = None
            try:
                conn.sock.settimeout(self._timeout)
                kept = self._handle(conn)
            except Exception:
                logger.warning("edge: error while handling a request", exc_info=True)
            if kept is None or self._stopping.is_set():
                with self._busy_lock:
                    self._busy.discard(conn)
                _close(conn)
                continue
            if not kept.held:
                kept.deadline = time.monotonic() + self._timeout
            self._inbox.put(kept)
            self._wake()


def _close(conn: Connection) -> None:
    with contextlib.suppress(OSError):
        conn.sock.close()
