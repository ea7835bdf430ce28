"""The sender process of a client with ``uploader="process"``: the engine, out of the
application's process (and out of its GIL).

Started by :class:`~pingsdk._delivery._process_runner.ProcessRunner` with its settings on the
first stdin line (see :mod:`._sender_messages` for the rest of the conversation). It runs the
same engine as the uploader thread on the same queue file, and forwards its counters, delivery
reports (when the client has callbacks) and log records to the client.

It never outlives its client: it flushes, stops and exits when told (``c``), when its stdin
ends (the client's process is gone, however it died) or when it is handed to another parent
(the client's process died while a fork child still held the pipe). Leased pings it could not
send are released (or their leases expire), never lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import select
import threading
import time
from typing import Any

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._report import Reporter
from pingsdk._delivery._runner import ThreadRunner
from pingsdk._delivery._sender_messages import encode, encode_report, load_config
from pingsdk._delivery._stats import Counters, DeliveryReport
from pingsdk._delivery._submit import Submitter, open_queue
from pingsdk._log import logger

__all__ = ["main"]

_FORWARD_EVERY = 0.02
"""How often counters, reports and log lines go to the client (one write per batch)."""
_REWAKE = 0.01
"""A second look at the queue this long after a wake-up: the client wakes at most every 2 ms,
so pings stored just after a wake-up are claimed without waiting for the idle poll."""
_EXIT_RESERVE = 0.35
"""Seconds of a close's deadline the sender keeps for stopping and exiting."""
_PARENT_CHECK = 1.0
"""How often the sender checks that the process that started it still lives."""


class _SignallingCounters(Counters):
    """Counters that tell the outbox when they change (it sleeps until then)."""

    def __init__(self, changed: threading.Event) -> None:
        super().__init__()
        self._changed = changed

    def add(self, name: str, n: int = 1) -> None:
        super().add(name, n)
        self._changed.set()

    def drop(self, reason: str, n: int = 1) -> None:
        super().drop(reason, n)
        self._changed.set()


class _Outbox:
    """What goes to the client: counter deltas, reports and log records, written in batches by
    one thread (:meth:`run`) and at once before each answer (:meth:`send`)."""

    def __init__(self) -> None:
        self.changed = threading.Event()
        self.counters = _SignallingCounters(self.changed)
        self.runner: ThreadRunner | None = None
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []
        self._seen: tuple[int, int, dict[str, int], int] = (0, 0, {}, 0)
        self._stopping = False

    def report(self, on: str, report: DeliveryReport) -> None:
        with self._lock:
            self._items.append({"k": "r", "on": on, "report": encode_report(report)})
        self.changed.set()

    def log(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        item = {
            "k": "l",
            "level": record.levelno,
            "msg": text,
            "event": getattr(record, "event", None),
            "doc_id": getattr(record, "doc_id", None),
        }
        with self._lock:
            self._items.append(item)
        self.changed.set()

    def _counts(self) -> dict[str, Any] | None:
        sent, retried, dropped = self.counters.totals()
        in_flight = 0 if self.runner is None else self.runner.engine.in_flight
        old_sent, old_retried, old_dropped, _ = self._seen
        if (sent, retried, dropped, in_flight) == self._seen:
            return None
        self._seen = (sent, retried, dropped, in_flight)
        return {
            "k": "c",
            "sent": sent - old_sent,
            "retried": retried - old_retried,
            "dropped": {
                reason: n - old_dropped.get(reason, 0)
                for reason, n in dropped.items()
                if n != old_dropped.get(reason, 0)
            },
            "in_flight": in_flight,
        }

    def send(self, *answer: dict[str, Any]) -> None:
        """Write what is waiting (counts first), then ``answer``; one write."""
        with self._lock:
            items, self._items = self._items, []
            counts = self._counts()
            messages = ([counts] if counts else []) + items + list(answer)
            if messages:
                _write(b"".join(encode(m) for m in messages))

    def run(self) -> None:
        """Forward what changed, a batch at most every ``_FORWARD_EVERY``; asleep when idle
        (no timer: an idle sender does not wake up 50 times a second)."""
        while not self._stopping:  # checked after each send: a stop may come during one
            self.changed.wait()
            if self._stopping:
                return
            time.sleep(_FORWARD_EVERY)  # gather the batch
            self.changed.clear()
            self.send()

    def stop(self) -> None:
        self._stopping = True
        self.changed.set()


class _Forward(logging.Handler):
    def __init__(self, outbox: _Outbox) -> None:
        super().__init__()
        self._outbox = outbox

    def emit(self, record: logging.LogRecord) -> None:
        self._outbox.log(record)


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(1, view)
        except BrokenPipeError:
            return  # the client is gone: its stdin's end tells the main loop
        view = view[written:]


def _read_setup() -> tuple[dict[str, Any], bytes]:
    """The settings line, and what the client wrote after it (commands already sent)."""
    data = b""
    while b"\n" not in data:
        chunk = os.read(0, 65536)
        if not chunk:
            raise SystemExit(0)  # the client went away before saying anything
        data += chunk
    line, rest = data.split(b"\n", 1)
    return load_config(line), rest


def main() -> None:
    """Run the sender until the client closes it or goes away."""
    setup, commands = _read_setup()
    config: ClientConfig = setup["config"]
    outbox = _Outbox()
    counters = outbox.counters
    if setup["reports"]:
        # The callbacks live in the client: the reports go there (counted there by "c").
        config = dataclasses.replace(
            config,
            on_sent=lambda report: outbox.report("sent", report),
            on_dropped=lambda report: outbox.report("dropped", report),
        )
    runner = ThreadRunner(config, Submitter(config, open_queue(config), Reporter(config, counters)))
    outbox.runner = runner
    handler = _Forward(outbox)
    handler.setLevel(setup["log_level"])
    logger.addHandler(handler)
    logger.setLevel(setup["log_level"])
    logger.propagate = False
    forwarder = threading.Thread(target=outbox.run, name="pingsdk-sender-outbox", daemon=True)
    forwarder.start()
    runner.start()
    outbox.send({"k": "ready", "pid": os.getpid()})
    ok = _serve(runner, outbox, setup["parent"], config.atexit_timeout, commands)
    outbox.stop()
    outbox.send({"k": "x", "ok": ok})
    forwarder.join(1.0)
    os._exit(0)  # nothing else to run: no atexit hooks of a half-copied application


def _serve(
    runner: ThreadRunner, outbox: _Outbox, parent: int, exit_timeout: float, pending: bytes
) -> bool:
    """Answer commands (``pending``: those read with the settings) until told to close or
    orphaned; returns whether the engine stopped in time."""
    rewake_at = math.inf
    next_check = time.monotonic() + _PARENT_CHECK
    while True:
        *lines, pending = pending.split(b"\n")
        woken = False
        for line in lines:
            words = line.decode("ascii", "replace").split()
            if words and words[0] == "c":
                return _close(runner, float(words[1]))
            woken = _answer(runner, outbox, words) or woken
        if woken:
            runner.engine.wake()
            rewake_at = time.monotonic() + _REWAKE
        now = time.monotonic()
        readable, _, _ = select.select([0], [], [], max(0.0, min(rewake_at, next_check) - now))
        now = time.monotonic()
        if now >= rewake_at:
            rewake_at = math.inf
            runner.engine.wake()
        if now >= next_check:
            next_check = now + _PARENT_CHECK
            if os.getppid() != parent:
                return _close(runner, now + exit_timeout)
        if readable:
            chunk = os.read(0, 65536)
            if not chunk:  # the client's process is gone, however it ended
                return _close(runner, time.monotonic() + exit_timeout)
            pending += chunk


def _answer(runner: ThreadRunner, outbox: _Outbox, words: list[str]) -> bool:
    """Carry out one command but ``c``; returns whether it was a wake-up."""
    if not words:
        return False
    if words[0] == "w":
        return True
    if words[0] == "f":
        deadline, now = float(words[2]), words[3] == "1"
        ok = runner.call(
            runner.engine.flush(deadline - time.monotonic(), now=now), deadline - time.monotonic()
        )
        outbox.send({"k": "f", "id": int(words[1]), "ok": bool(ok)})
    elif words[0] == "p":
        purged = runner.call(runner.engine.purge(None), 5.0)
        n = purged if isinstance(purged, int) and not isinstance(purged, bool) else -1
        outbox.send({"k": "p", "id": int(words[1]), "n": n})
    return False


def _close(runner: ThreadRunner, deadline: float) -> bool:
    """Flush, stop the engine and close the queue by ``deadline`` (a little is kept for the
    answer and the exit); returns whether the engine stopped in time.

    What is left in the queue is the client's to count and report (``settle_at_close`` there),
    once, after this process has stopped.
    """
    # Kept for what follows the engine's stop (the answer, the exit), and for the engine's
    # own overrun (a flush call may end a quarter second after its timeout).
    deadline -= min(_EXIT_RESERVE, max(0.0, deadline - time.monotonic()) / 3)
    runner.close()
    stopped = runner.stop(max(0.0, deadline - time.monotonic()), deadline)
    with contextlib.suppress(Exception):
        runner.engine.queue.close()
    return stopped


if __name__ == "__main__":  # pragma: no cover - started through BOOT
    main()
