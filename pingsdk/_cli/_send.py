"""``pingsdk send`` (a JSON payload file to an edge) and ``pingsdk queue status|flush|purge``.

Both go through :class:`pingsdk.PingClient` and :class:`pingsdk._queue.PingQueue`: the same
preparation, queue, outcomes and retry schedule as the library. A raw payload has no Ping
class, so ``send`` wraps it in a throwaway concrete subclass of :class:`_RawPayload` whose
:meth:`to_json_bytes` returns the file's bytes unchanged; ``PingClient.submit`` then prepares it
exactly as any other ping (size limits, docId, URL, headers, gzip).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import signal
import sqlite3
import sys
import threading
import time
import types
from pathlib import Path

from pydantic import ConfigDict, PrivateAttr

from .._client import PingClient
from .._exceptions import ConfigurationError
from .._ping import Ping, PingRegistry, validate_name
from .._queue import _APPLICATION_ID, _SQLITE_MAGIC, PingQueue, default_queue_path
from .._stats import DeliveryReport
from . import Commands, _usage

__all__ = ["register"]

_DEFAULT_TIMEOUT = 10.0
_CLOSE_TIMEOUT = 1.0
_CLI_QUEUE_NAME = "cli-pings.db"


def default_cli_queue() -> Path:
    """The queue ``pingsdk send`` uses without ``--queue``: beside the library's default.

    Not the library's own default file: an application's pending pings must never be flushed
    to whatever endpoint a command line names.
    """
    return default_queue_path().with_name(_CLI_QUEUE_NAME)


# -- a raw payload as a Ping ---------------------------------------------------------------------

_RAW_REGISTRY = PingRegistry()
"""Raw payload classes live here, never in ``default_registry`` (they are not the user's)."""


class _RawPayload(Ping, additional_properties=True):
    """A JSON object sent byte for byte as read; identity given by a concrete subclass."""

    model_config = ConfigDict(extra="allow")
    _raw: bytes = PrivateAttr(default=b"{}")

    def to_json_bytes(self) -> bytes:
        """The payload's bytes exactly as given."""
        return self._raw


@functools.lru_cache(maxsize=64)
def _raw_class(namespace: str, doctype: str, version: int) -> type[_RawPayload]:
    keywords = {
        "namespace": namespace,
        "doctype": doctype,
        "version": version,
        "registry": _RAW_REGISTRY,
    }
    cls = types.new_class("RawPayload", (_RawPayload,), keywords)
    return cls


def raw_ping(namespace: str, doctype: str, version: int, data: bytes) -> Ping:
    """A Ping whose payload is ``data`` (checked to be a UTF-8 JSON object) as it is.

    Raises:
        ConfigurationError: a bad name or version, or ``data`` not a JSON object.
    """
    for kind, value in (("namespace", namespace), ("doctype", doctype)):
        try:
            validate_name(kind, value)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"--{kind}: {exc} (the pipeline treats '-' and '_' alike)"
            ) from None
    if version < 1:
        raise ConfigurationError(f"--version must be a positive integer, got {version}")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"the payload is not UTF-8 JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ConfigurationError("the payload must be a JSON object ({...}), as the edge requires")
    ping = _raw_class(namespace, doctype, version).model_construct()
    ping._raw = data
    return ping


# -- argparse ----------------------------------------------------------------------------------


def register(commands: Commands) -> None:
    """Add ``send`` and ``queue`` to the top-level commands."""
    send = commands.top.add_parser(
        "send",
        help="send a JSON payload file to an edge (queued, retried)",
        description="Send FILE (a JSON object) as one ping, through the same durable queue "
        "and retry schedule as PingClient. Exits 0 once the edge accepted it; 1 if it was "
        "rejected (4xx) or not delivered within --timeout, in which case it stays queued for "
        "`pingsdk queue flush`.",
    )
    send.add_argument("file", metavar="FILE.json", help="the payload (a JSON object)")
    send.add_argument("--namespace", required=True, help="document namespace, e.g. my-app")
    send.add_argument("--doctype", required=True, help="document type, e.g. search-counts")
    send.add_argument(
        "--version", required=True, type=int, metavar="N", help="document version (positive)"
    )
    _endpoint_args(send)
    send.add_argument(
        "--queue",
        metavar="FILE",
        help=f"queue file (default: {_CLI_QUEUE_NAME} beside the library's per-user queue)",
    )
    send.add_argument("--debug-id", metavar="X", help="X-Debug-ID header (the debug ping viewer)")
    send.add_argument(
        "--source-tags", metavar="a,b", help="X-Source-Tags, comma-separated (e.g. automation)"
    )
    send.set_defaults(func=_send)

    queue_parser = commands.top.add_parser(
        "queue",
        help="inspect, flush or purge a queue file",
        description="Work on a PingClient queue file: status, flush what is due, or purge.",
    )
    queue = queue_parser.add_subparsers(dest="queue_command", metavar="COMMAND")
    queue_parser.set_defaults(func=_usage(queue_parser))

    status = queue.add_parser(
        "status",
        help="pending count, bytes, oldest ping, next attempt",
        description="Print how many pings a queue file holds, their size, the oldest, and "
        "when the next one is due.",
    )
    _queue_arg(status)
    status.set_defaults(func=_status)

    flush = queue.add_parser(
        "flush",
        help="send the pings that are due to an edge",
        description="Send every due ping of the queue file to the endpoint (pings waiting "
        "for a scheduled retry stay). Exits 1 if due pings are left after --timeout.",
    )
    _queue_arg(flush)
    _endpoint_args(flush)
    flush.set_defaults(func=_flush)

    purge = queue.add_parser(
        "purge",
        help="delete every ping in the queue file",
        description="Delete every ping in the queue file, without asking; prints how many.",
    )
    _queue_arg(purge)
    purge.set_defaults(func=_purge)

    relay = commands.top.add_parser(
        "relay",
        help="send the pings other processes store in a queue file, until stopped",
        description="Run an uploader for a queue file that applications write with "
        "PingClient(..., uploader=False): their submit() then only stores, and this process "
        "does all the sending (retries, backoff, leases as usual). Runs until SIGINT or "
        "SIGTERM, then prints what it sent. Pings stored by others are noticed within 2 s.",
    )
    _queue_arg(relay)
    _endpoint_args(relay)
    relay.add_argument(
        "--max-in-flight", type=int, default=8, metavar="N", help="concurrent requests (8)"
    )
    relay.set_defaults(func=_relay)


def _endpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", required=True, metavar="URL", help="edge base URL")
    parser.add_argument(
        "--timeout",
        type=float,
        default=_DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for delivery (default {_DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow http:// to a host that is not loopback",
    )


def _queue_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", required=True, metavar="FILE", help="the queue file")


# -- outcomes ------------------------------------------------------------------------------------


class _Outcomes:
    """Collects the client's delivery callbacks (they run on the uploader thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[DeliveryReport] = []
        self.dropped: list[DeliveryReport] = []

    def on_sent(self, report: DeliveryReport) -> None:
        with self._lock:
            self.sent.append(report)

    def on_dropped(self, report: DeliveryReport) -> None:
        with self._lock:
            self.dropped.append(report)

    def find(self, doc_id: str) -> tuple[str, DeliveryReport] | None:
        with self._lock:
            for kind, reports in (("sent", self.sent), ("dropped", self.dropped)):
                for report in reports:
                    if report.doc_id == doc_id:
                        return kind, report
        return None


def _client(
    args: argparse.Namespace, queue: Path, outcomes: _Outcomes, **extra: object
) -> PingClient:
    if not args.timeout > 0:
        raise ConfigurationError(f"--timeout must be positive, got {args.timeout}")
    return PingClient(
        args.endpoint,
        queue_path=queue,
        timeout=args.timeout,
        allow_insecure=args.allow_insecure,
        on_sent=outcomes.on_sent,
        on_dropped=outcomes.on_dropped,
        atexit_timeout=0.0,
        **extra,  # type: ignore[arg-type]
    )


def _send(args: argparse.Namespace) -> int:
    data = Path(args.file).read_bytes()
    ping = raw_ping(args.namespace, args.doctype, args.version, data)
    queue = Path(args.queue) if args.queue else default_cli_queue()
    tags = [t.strip() for t in args.source_tags.split(",")] if args.source_tags else []
    outcomes = _Outcomes()
    client = _client(args, queue, outcomes, debug_id=args.debug_id, source_tags=tags)
    try:
        doc_id = client.submit(ping)
        client.flush(timeout=args.timeout)
    finally:
        client.close(timeout=_CLOSE_TIMEOUT)
    found = outcomes.find(doc_id)
    earlier = [r for r in outcomes.sent if r.doc_id != doc_id]
    if earlier:
        print(f"also sent {len(earlier)} ping(s) queued earlier in {queue}")
    if found is None:
        print(
            f"pingsdk: error: ping {doc_id} was not delivered within {args.timeout:g} s; it "
            f"stays queued in {queue} (send it later with: pingsdk queue flush --queue "
            f"{queue} --endpoint {args.endpoint})",
            file=sys.stderr,
        )
        return 1
    kind, report = found
    if kind == "dropped":
        print(
            f"pingsdk: error: ping {doc_id} was rejected and dropped ({_why(report)}); "
            "resending it cannot succeed",
            file=sys.stderr,
        )
        return 1
    print(f"sent {doc_id} to {client.config.endpoint}{report.path} (HTTP {report.status})")
    return 0


def _why(report: DeliveryReport) -> str:
    if report.status is not None:
        return f"HTTP {report.status}, after {report.attempts} attempt(s)"
    return f"{report.reason}, after {report.attempts} attempt(s)"


# -- queue commands ------------------------------------------------------------------------------


def _existing_queue(path: str) -> Path:
    """``path`` if it is a pingsdk queue file.

    Checked here because PingQueue moves a file it cannot use aside and starts afresh: right
    for an application's own queue, wrong for a file named by mistake on a command line.
    """
    queue = Path(path)
    if not queue.is_file():
        raise ConfigurationError(f"no queue file at {queue}")
    with queue.open("rb") as file:
        is_sqlite = file.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    # Read through SQLite, not the file header: a fresh queue's header may still be in the WAL.
    if not is_sqlite or _query(queue, "PRAGMA application_id") != _APPLICATION_ID:
        raise ConfigurationError(f"{queue} is not a pingsdk queue file")
    return queue


def _query(path: Path, sql: str) -> object:
    """The single value ``sql`` returns from ``path`` opened read-only; ``None`` on error."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else row[0]


def _status(args: argparse.Namespace) -> int:
    path = _existing_queue(args.queue)
    with PingQueue(path) as queue:
        stats = queue.stats()
        next_due = queue.next_due()
    now = time.time()
    print(f"queue:    {path}")
    print(f"pending:  {stats.pending} ping(s), {_size(stats.bytes)} ({stats.leased} in flight)")
    oldest = _oldest(path)
    print(f"oldest:   {_when(oldest, now) if oldest is not None else '-'}")
    if next_due is None:
        print("next due: -")
    elif next_due <= now:
        print("next due: now")
    else:
        print(f"next due: {_when(next_due, now)}")
    return 0


def _oldest(path: Path) -> float | None:
    """``created_at`` of the oldest stored ping (PingQueue has no accessor for it)."""
    value = _query(path, "SELECT min(created_at) FROM pings")
    return float(value) if isinstance(value, (int, float)) else None


def _when(timestamp: float, now: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp).astimezone()
    delta = timestamp - now
    span = _duration(abs(delta))
    relative = f"in {span}" if delta > 0 else f"{span} ago"
    return f"{moment.isoformat(timespec='seconds')} ({relative})"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _flush(args: argparse.Namespace) -> int:
    path = _existing_queue(args.queue)
    outcomes = _Outcomes()
    client = _client(args, path, outcomes)
    try:
        done = client.flush(timeout=args.timeout)
        retried = client.stats().retried
    finally:
        client.close(timeout=_CLOSE_TIMEOUT)
    with PingQueue(path) as queue:
        left = queue.stats().pending
        next_due = queue.next_due()
    reasons: dict[str, int] = {}
    for report in outcomes.dropped:
        reasons[report.reason] = reasons.get(report.reason, 0) + 1
    dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    line = f"sent {len(outcomes.sent)} ping(s)"
    if outcomes.dropped:
        line += f", dropped {len(outcomes.dropped)} ({dropped})"
    line += f"; {left} left in {path}"
    if left and next_due is not None and next_due > time.time():
        line += f", next due {_when(next_due, time.time())}"
    print(line)
    if not done:
        problem = f"due pings were left unsent after {args.timeout:g} s"
    elif retried and left:
        problem = f"{retried} attempt(s) failed; what failed waits for its scheduled retry"
    else:
        return 0
    print(f"pingsdk: error: {problem} (is the edge reachable?)", file=sys.stderr)
    return 1


def _relay(args: argparse.Namespace) -> int:
    path = _existing_queue(args.queue) if Path(args.queue).exists() else Path(args.queue)
    outcomes = _Outcomes()
    client = _client(args, path, outcomes, max_in_flight=args.max_in_flight)
    stop = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        client.flush(timeout=0.0)  # starts the uploader; it then polls the file by itself
        print(f"pingsdk relay: sending from {path} to {args.endpoint}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        client.close(timeout=_CLOSE_TIMEOUT)
    print(f"pingsdk relay: sent {len(outcomes.sent)}, dropped {len(outcomes.dropped)}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    path = _existing_queue(args.queue)
    with PingQueue(path) as queue:
        removed = queue.purge()
    print(f"removed {removed} ping(s) from {path}")
    return 0
