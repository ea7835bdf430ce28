"""``uploader="process"``: the engine in a sender process the client starts and stops.

The application's process keeps only the submit path (prepare, one committed insert, a wake-up
byte at most every 2 ms): no uploader thread competes with it for the GIL. The sender
(:mod:`._sender_process`) runs the same engine on the same queue file; the client reads its
counters, reports and log lines on one reader thread, which wakes about 50 times a second while
pings flow.

What the thread uploader guarantees holds here too:

- nothing is lost: a ping is durable before the sender hears of it; a sender that dies (killed,
  crashed) is restarted on the next ``submit()``/``flush()`` (with a back-off when it keeps
  dying), and what it held is released when its leases expire;
- ``close()`` is bounded: the sender gets the deadline, and is killed if it is still there at it;
- no orphan: the sender exits when its command socket (its stdin) ends, which happens however
  the client's process ends, and checks its parent every second (a fork child may still hold
  the socket);
- fork: a fork child drops its copies of the socket and pipe at once and starts its own sender
  when it first needs one; the parent's sender is never told anything by the child.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pingsdk
from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._engine import Engine
from pingsdk._delivery._runner import Closable
from pingsdk._delivery._sender_messages import BOOT, decode_report, dump_config
from pingsdk._delivery._stats import ClientStats
from pingsdk._delivery._submit import Submitter
from pingsdk._exceptions import QueueError
from pingsdk._log import logger
from pingsdk._queue import QueuedPing

__all__ = ["ProcessRunner"]

_WAKE_EVERY = 0.002
"""Least time between two wake-up bytes (the sender looks again 10 ms after each)."""
_ANSWER_MARGIN = 0.25
"""How much later than its deadline an answer of the sender is still waited for."""
_FIRST_RESTART_DELAY = 0.5
_MAX_RESTART_DELAY = 60.0
_STABLE = 30.0
"""A sender that lived this long resets the restart back-off."""

_abandoned: list[object] = []
"""A fork child's copies of the parent's sender handle: never used, never finalized."""


class _Answer:
    __slots__ = ("event", "value")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: Any = None


_NO_SIGPIPE = getattr(socket, "MSG_NOSIGNAL", 0)


class _Sender:
    """One running sender process, its command socket, its output pipe and its reader thread.

    Commands go through a socket, not a pipe: a send to a sender that just died fails with
    EPIPE (``MSG_NOSIGNAL``, or ``SO_NOSIGPIPE`` on macOS) instead of raising SIGPIPE, which
    would kill an application that restored SIGPIPE's default action (as CLI tools do).
    """

    def __init__(self, runner: ProcessRunner, config: ClientConfig) -> None:
        commands, theirs = socket.socketpair()
        if hasattr(socket, "SO_NOSIGPIPE"):  # pragma: no cover - macOS
            commands.setsockopt(socket.SOL_SOCKET, socket.SO_NOSIGPIPE, 1)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", BOOT, str(Path(pingsdk.__file__).resolve().parent.parent)],
                stdin=theirs.fileno(),
                stdout=subprocess.PIPE,
                # Not in the application's process group: a Ctrl-C in a terminal must not kill
                # the sender before the application's exit hook has flushed through it.
                start_new_session=True,
            )
        except BaseException:
            commands.close()
            raise
        finally:
            theirs.close()
        assert self.proc.stdout is not None
        self.started = time.monotonic()
        self.commands = commands
        self.stdout: IO[bytes] = self.proc.stdout
        self.alive = True
        self.closing = False
        # Answers belong to the sender that gives them: one that died must not answer for
        # (or wake the waiters of) its successor.
        self.answers: dict[int, _Answer] = {}
        self.closed = _Answer()
        # One writer at a time (a send may be partial); submit()'s wake-up never waits for it.
        self.writing = threading.Lock()
        setup = dump_config(
            config,
            log_level=logger.getEffectiveLevel(),
            reports=config.on_sent is not None or config.on_dropped is not None,
            parent=os.getpid(),
        )
        try:
            commands.sendall(setup, _NO_SIGPIPE)
        except OSError:
            self.alive = False  # died at once: the reader reports it
        commands.setblocking(False)
        self.reader = threading.Thread(
            target=runner._read, args=(self,), name="pingsdk-sender-reader", daemon=True
        )
        self.reader.start()

    def say(self, line: str, deadline: float) -> bool:
        """Write one command line by ``deadline``; ``False`` if the sender is gone or stuck."""
        data = memoryview(line.encode("ascii") + b"\n")
        with self.writing:
            while self.alive and data:
                try:
                    data = data[self.commands.send(data, _NO_SIGPIPE) :]
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    select.select([], [self.commands], [], min(left, 0.05))
                except OSError:
                    return False
            return not data

    def wake(self) -> None:
        """One wake-up byte, if nobody is writing and there is room; never waits."""
        if not self.writing.acquire(blocking=False):
            return  # a command is on its way: the sender looks at the queue anyway
        try:
            self.commands.send(b"w\n", _NO_SIGPIPE)
        except OSError:
            pass  # full (it is busy: it will look) or gone (the reader reports it)
        finally:
            self.writing.release()

    def drop_in_fork_child(self) -> None:
        """Close this process's copies of the socket and pipe (a fork child's), telling the
        sender nothing: it belongs to the parent."""
        self.alive = False
        with contextlib.suppress(OSError):
            self.commands.close()
        with contextlib.suppress(OSError):
            os.close(self.stdout.fileno())

    def close(self) -> None:
        """Close the command socket and the output pipe."""
        with contextlib.suppress(OSError):
            self.commands.close()
        with contextlib.suppress(OSError):
            self.stdout.close()


class _SenderSide(Engine):
    """The engine object of a client whose engine runs in its sender process: never run here,
    and its wake-up (which ``pingsdk.glean`` calls after storing its pings) wakes the sender."""

    def __init__(self, config: ClientConfig, submitter: Submitter, runner: ProcessRunner) -> None:
        super().__init__(config, submitter)
        self._runner = runner
        submitter.bind(runner._wake)

    def wake(self) -> None:
        """Tell the sender that pings were stored."""
        self._runner._wake()


class ProcessRunner(Closable):
    """Hosts the engine in a sender process (see the module's docstring); any thread.

    ``engine`` is never run here: it gives the submit path's queue, the counters and the
    pending count.
    """

    def __init__(self, config: ClientConfig, submitter: Submitter) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._sender: _Sender | None = None
        self._closed = False
        self._last_wake = 0.0
        self._in_flight = 0
        self._next_id = 0
        self._restart_at = 0.0
        self._restart_delay = _FIRST_RESTART_DELAY
        self._buffered = config.durability == "buffered"
        self._commit_due = threading.Event()
        self._committer: threading.Thread | None = None
        self.engine: Engine = _SenderSide(config, submitter, self)

    # -- the runner's interface (as ThreadRunner) ----------------------------------------

    @property
    def started(self) -> bool:
        """Whether a sender process was started (and not abandoned by a fork)."""
        return self._sender is not None

    @property
    def running(self) -> bool:
        """Whether a sender process runs now (started, and not known to have ended)."""
        sender = self._sender
        return sender is not None and sender.alive

    def start(self) -> Engine:
        """The engine; its sender process started (or restarted) unless the runner is closed."""
        sender = self._sender
        if sender is not None and sender.alive:
            return self.engine
        with self._lock:
            sender = self._sender
            if (sender is not None and sender.alive) or self._closed:
                return self.engine
            now = time.monotonic()
            if now < self._restart_at:
                return self.engine
            if sender is not None:
                lived = now - sender.started
                self._restart_delay = (
                    _FIRST_RESTART_DELAY
                    if lived > _STABLE
                    else min(self._restart_delay * 2, _MAX_RESTART_DELAY)
                )
            try:
                self._sender = _Sender(self, self._config)
            except OSError as exc:
                self._restart_at = now + self._restart_delay
                logger.error(
                    "could not start the pingsdk sender process (%s); pings stay queued, "
                    "trying again in %.1f s",
                    exc,
                    self._restart_delay,
                )
                return self.engine
            self._restart_at = now + self._restart_delay
            self._wake(force=True)
            return self.engine

    def flush(self, timeout: float, *, now: bool = True) -> bool:
        """Have the sender send this endpoint's pings (see ``Engine.flush``) by ``timeout``."""
        deadline = time.monotonic() + max(0.0, timeout)
        if not self._commit(deadline):
            return False
        self._start_by(deadline)
        answer = self._ask(f"f {{id}} {deadline!r} {int(now)}", deadline)
        return answer is True

    def _start_by(self, deadline: float) -> None:
        """Start the sender, waiting out its restart back-off if that ends before
        ``deadline`` (a flush right after a sender died still gets one)."""
        self.start()
        while not self.running and not self._closed:
            wait = self._restart_at - time.monotonic()
            if wait <= 0 or time.monotonic() + wait >= deadline:
                return  # it could not start (logged), or not in time
            time.sleep(wait)
            self.start()

    def purge(self, keep: QueuedPing | None) -> int:
        """Cancel the sender's requests and delete every queued ping (but deletion requests),
        then store ``keep``."""
        purged: Any = None
        if self._sender is not None and self._sender.alive:
            purged = self._ask("p {id}", time.monotonic() + 5.0)
        submitter = self.engine.submitter
        if not isinstance(purged, int) or purged < 0:
            return submitter.purge(keep)  # no sender to ask: purge from here
        # The buffer (durability="buffered") is this process's: dropped here, with what was
        # stored since the sender's purge.
        return purged + submitter.purge(keep)

    def stats(self) -> ClientStats:
        """The counters (the sender's forwarded), the queue's pending count, and the sender's
        requests in flight."""
        pending = self.engine.submitter.pending()
        return self.engine.counters.snapshot(pending=pending, in_flight=self._in_flight)

    def stop(self, timeout: float, deadline: float) -> bool:
        """Have the sender flush, stop and exit by ``deadline``; kill it if it is still there.

        Returns ``False`` when it did not confirm that it stopped in time (what is left in
        the queue is for the client's ``settle_at_close`` to count, as for the thread).
        """
        self._commit(deadline)  # the sender's final flush sends what was buffered
        self._commit_due.set()  # the committer sees the runner closed and ends
        sender = self._sender
        if sender is None:
            return True
        sender.closing = True
        ok = False
        if (
            sender.alive
            and sender.say(f"c {deadline!r}", deadline)
            and sender.closed.event.wait(max(0.0, deadline - time.monotonic()))
        ):
            ok = sender.closed.value is True
        try:
            sender.proc.wait(max(0.0, deadline - time.monotonic()) + 0.05)
        except subprocess.TimeoutExpired:
            sender.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                sender.proc.wait(1.0)
            logger.warning(
                "the pingsdk sender process did not stop within %.1f s and was killed; pings "
                "it held are released when their lease expires",
                timeout,
            )
            return False
        finally:
            sender.close()
        return ok

    def forked(self) -> bool:
        """Whether this process is a fork child the runner has not caught up with yet."""
        return self._pid != os.getpid()

    def after_fork(self) -> None:
        """In a fork child: a new engine on the same queue; a sender of its own on first use."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self.after_fork_in_child()
            self.engine = _SenderSide(self._config, self.engine.submitter.forget_buffer(), self)
            self._in_flight = 0
            self._committer = None  # the parent's thread; this process starts its own
            self._commit_due = threading.Event()
            self._restart_at = 0.0  # the parent's back-off is not this process's
            self._restart_delay = _FIRST_RESTART_DELAY
            self._pid = os.getpid()

    def after_fork_in_child(self) -> None:
        """Right after ``fork()``: fresh locks, and the parent's sender let go of at once (so
        that it sees its stdin end when the parent's process ends)."""
        self._lock = threading.Lock()
        sender, self._sender = self._sender, None
        if sender is not None:
            _abandoned.append(sender)
            sender.drop_in_fork_child()

    # -- the conversation -------------------------------------------------------------------

    def _commit(self, deadline: float) -> bool:
        """Store the buffered pings now (``durability="buffered"``); ``False`` if they could
        not be stored by ``deadline`` (they stay buffered, logged)."""
        if not self.engine.submitter.buffered:
            return True
        try:
            self.engine.submitter.commit_buffer(timeout=max(0.0, deadline - time.monotonic()))
        except QueueError as exc:
            logger.warning("could not store the buffered pings yet (%s); they stay buffered", exc)
            return False
        return True

    def _commit_later(self) -> None:
        """The committer thread: stores each buffered batch half a ``buffer_delay`` after its
        first ping (as the uploader thread does), then wakes the sender."""
        submitter = self.engine.submitter
        while True:
            self._commit_due.wait()
            self._commit_due.clear()
            if self._closed or os.getpid() != self._pid:
                return
            while submitter.buffered:
                wait = submitter.buffer_wait()
                if wait > 0 and self._commit_due.wait(wait) and self._closed:
                    return
                try:
                    stored = submitter.commit_buffer()
                except QueueError as exc:
                    logger.warning("could not store buffered pings (%s); retrying in 1 s", exc)
                    time.sleep(1.0)
                    continue
                if stored:
                    self._wake(force=True)

    def _wake(self, *, force: bool = False) -> None:
        """Tell the sender pings were stored: one byte, at most every 2 ms; never blocks.
        With ``durability="buffered"``, a new batch starts the committer's timer instead."""
        if self._buffered and self.engine.submitter.buffered and not force:
            self._commit_due.set()
            if self._committer is None:
                with self._lock:
                    if self._committer is None and not self._closed:
                        self._committer = threading.Thread(
                            target=self._commit_later, name="pingsdk-committer", daemon=True
                        )
                        self._committer.start()
        now = time.monotonic()
        if not force and now - self._last_wake < _WAKE_EVERY:
            return
        self._last_wake = now
        sender = self._sender
        if sender is None or not sender.alive:
            if sender is not None and not self._closed and os.getpid() == self._pid:
                self.start()  # died since: start another (after its back-off)
            return
        sender.wake()

    def _ask(self, command: str, deadline: float) -> Any:
        """Send ``command`` (``{id}`` filled in) and wait for its answer until ``deadline`` (a
        margin more); ``None`` when none came."""
        sender = self._sender
        if sender is None or not sender.alive:
            return None
        answer = _Answer()
        with self._lock:
            self._next_id += 1
            key = self._next_id
            sender.answers[key] = answer
        try:
            if not sender.say(command.format(id=key), deadline):
                return None
            answer.event.wait(max(0.0, deadline - time.monotonic()) + _ANSWER_MARGIN)
            return answer.value
        finally:
            with self._lock:
                sender.answers.pop(key, None)

    def _read(self, sender: _Sender) -> None:
        """The reader thread: apply what the sender says until its stdout ends."""
        try:
            for line in sender.stdout:
                try:
                    self._apply(json.loads(line), sender)
                except Exception:
                    logger.exception("pingsdk: could not read a line of the sender process")
        except (OSError, ValueError):
            pass  # closed under us (fork child, close)
        finally:
            sender.alive = False
            for answer in list(sender.answers.values()):
                answer.event.set()
            sender.closed.event.set()
            code = sender.proc.poll()
            if code is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = sender.proc.wait(1.0)
            self._in_flight = 0
            if not sender.closing and os.getpid() == self._pid:
                logger.warning(
                    "the pingsdk sender process (pid %d) ended unexpectedly (exit code %s); "
                    "queued pings are safe and a new sender starts with the next ping",
                    sender.proc.pid,
                    code,
                )

    def _apply(self, message: dict[str, Any], sender: _Sender) -> None:
        kind = message["k"]
        reporter = self.engine.submitter.reporter
        if kind == "c":
            counters = reporter.counters
            if message["sent"]:
                counters.add("sent", message["sent"])
            if message["retried"]:
                counters.add("retried", message["retried"])
            for reason, n in message["dropped"].items():
                counters.drop(reason, n)
            self._in_flight = message["in_flight"]
        elif kind == "r":
            report = decode_report(message["report"])
            callback = self._config.on_sent if message["on"] == "sent" else self._config.on_dropped
            reporter.call_back(callback, report)
        elif kind == "l":
            extra = {key: message[key] for key in ("event", "doc_id") if message.get(key)}
            logger.log(message["level"], "%s", message["msg"], extra=extra)
        elif kind in ("f", "p"):
            answer = sender.answers.get(message["id"])
            if answer is not None:
                answer.value = message["ok"] if kind == "f" else message["n"]
                answer.event.set()
        elif kind == "x":
            sender.closed.value = message["ok"]
            sender.closed.event.set()
