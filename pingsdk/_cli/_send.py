"""``pingsdk send`` (a JSON payload file to an edge) and ``pingsdk queue status|flush|purge``.

Both go through :class:`pingsdk.PingClient` and :class:`pingsdk._queue.PingQueue`: the same
preparation, queue, outcomes and retry schedule as the library. ``send`` is
:meth:`pingsdk.PingClient.send_document_now`: the file's bytes are stored in the queue, then
sent at once (size limits, docId, URL, headers and gzip as for any ping); a ping not delivered
within ``--timeout`` stays queued.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import signal
import sys
import threading
import time
import types
from pathlib import Path

from pingsdk._cli import Commands, _usage
from pingsdk._client._sync import PingClient
from pingsdk._delivery._stats import DeliveryReport
from pingsdk._exceptions import (
    ConfigurationError,
    EdgeUnavailableError,
    SubmitError,
)
from pingsdk._naming import validate_name
from pingsdk._queue import PingQueue, QueueGroup, QueueSnapshot, default_queue_path

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


def _check_names(namespace: str, doctype: str, version: int) -> None:
    """The URL names as the options that gave them (the library's message names no option)."""
    for kind, value in (("namespace", namespace), ("doctype", doctype)):
        try:
            validate_name(kind, value)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"--{kind}: {exc} (the pipeline treats '-' and '_' alike)"
            ) from None
    if version < 1:
        raise ConfigurationError(f"--version must be a positive integer, got {version}")


# -- argparse ----------------------------------------------------------------------------------


def register(commands: Commands) -> None:
    """Add ``send``, ``queue`` and ``relay`` to the top-level commands."""
    _register_send(commands)
    _register_queue(commands)
    _register_relay(commands)


def _register_send(commands: Commands) -> None:
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


def _register_queue(commands: Commands) -> None:
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

    listing = queue.add_parser(
        "list",
        help="what the queue holds, per endpoint and ping",
        description="Per endpoint, namespace, doctype and version: how many pings, their "
        "size, the oldest, failed attempts, when the next is due and the last status.",
    )
    _queue_arg(listing)
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=_list)

    flush = queue.add_parser(
        "flush",
        help="send the queue's pings for an endpoint to it",
        description="Send the pings of the queue file that were submitted for --endpoint "
        "(pings for other endpoints are never sent elsewhere). Without --now, pings waiting "
        "for a scheduled retry wait; with --now they are tried at once (a pause the server "
        "asked for with Retry-After is still honoured). Exits 0 only when none of the "
        "endpoint's pings is left and none was dropped, 1 otherwise.",
    )
    _queue_arg(flush)
    _endpoint_args(flush)
    flush.add_argument(
        "--now", action="store_true", help="ignore the backoff: try every pending ping now"
    )
    flush.set_defaults(func=_flush)

    purge = queue.add_parser(
        "purge",
        help="delete every ping in the queue file",
        description="Delete every ping in the queue file, without asking; prints how many.",
    )
    _queue_arg(purge)
    purge.set_defaults(func=_purge)


def _register_relay(commands: Commands) -> None:
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
    _check_names(args.namespace, args.doctype, args.version)
    queue = Path(args.queue) if args.queue else default_cli_queue()
    tags = [t.strip() for t in args.source_tags.split(",")] if args.source_tags else []
    outcomes = _Outcomes()
    client = _client(args, queue, outcomes, debug_id=args.debug_id, source_tags=tags)
    failure: SubmitError | None = None
    try:
        try:
            report = client.send_document_now(
                data,
                namespace=args.namespace,
                doctype=args.doctype,
                version=args.version,
                timeout=args.timeout,
            )
        except SubmitError as exc:
            failure = exc
    finally:
        # Pings an earlier ``send`` left queued go out meanwhile, on the uploader.
        client.close(timeout=_CLOSE_TIMEOUT)
    doc_id = report.doc_id if failure is None else failure.doc_id
    earlier = [r for r in outcomes.sent if r.doc_id != doc_id]
    if earlier:
        print(f"also sent {len(earlier)} ping(s) queued earlier in {queue}")
    if isinstance(failure, EdgeUnavailableError) and failure.queued:
        # The uploader may have settled it while the client closed.
        found = outcomes.find(doc_id)
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
            return _rejected(doc_id, _why(report), report.detail)
    elif failure is not None:
        return _rejected(doc_id, _why(failure), failure.detail)
    print(f"sent {doc_id} to {client.config.endpoint}{report.path} (HTTP {report.status})")
    return 0


def _rejected(doc_id: str, why: str, detail: str | None) -> int:
    print(
        f"pingsdk: error: ping {doc_id} was rejected and dropped ({why}); "
        "resending it cannot succeed",
        file=sys.stderr,
    )
    if detail:
        print(f"the edge answered: {detail}", file=sys.stderr)
    return 1


def _why(result: DeliveryReport | SubmitError) -> str:
    if isinstance(result, SubmitError):
        status, reason = result.status_code, result.reason
    else:
        status, reason = result.status, result.reason
    if status is not None and not reason.startswith("max_"):
        return f"HTTP {status}, after {result.attempts} attempt(s)"
    return f"{reason}, after {result.attempts} attempt(s)"


# -- queue commands ------------------------------------------------------------------------------


def _existing_queue(path: str) -> Path:
    """``path`` if it is a pingsdk queue file (opened through the queue's own checks).

    The CLI opens queues with ``create=False``: a file named by mistake on a command line is
    never created, migrated from another program's data, or moved aside.
    """
    queue = Path(path)
    with PingQueue(queue, create=False) as probe:
        probe.stats()
    return queue


def _snapshot(path: str) -> tuple[Path, QueueSnapshot]:
    """A queue file that must exist, read in one transaction (nothing created or moved)."""
    queue = Path(path)
    with PingQueue(queue, create=False) as opened:
        return queue, opened.inspect()


def _status(args: argparse.Namespace) -> int:
    path, snapshot = _snapshot(args.queue)
    stats, next_due, oldest = snapshot.stats, snapshot.next_due, snapshot.oldest
    now = time.time()
    print(f"queue:    {path}")
    print(f"pending:  {stats.pending} ping(s), {_size(stats.bytes)} ({stats.leased} in flight)")
    print(f"oldest:   {_when(oldest, now) if oldest is not None else '-'}")
    if next_due is None:
        print("next due: -")
    elif next_due <= now:
        print("next due: now")
    else:
        print(f"next due: {_when(next_due, now)}")
    if stats.quarantined:
        print(f"quarantined: {stats.quarantined} damaged row(s) (not sent; see queue list)")
    return 0


def _list(args: argparse.Namespace) -> int:
    path, snapshot = _snapshot(args.queue)
    groups, quarantined = snapshot.groups, snapshot.stats.quarantined
    if args.json:
        rows = [dataclasses.asdict(g) for g in groups]
        print(json.dumps({"queue": str(path), "groups": rows, "quarantined": quarantined}))
        return 0
    now = time.time()
    if not groups:
        print(f"{path}: no pings queued")
    for endpoint, members in itertools.groupby(groups, key=lambda g: g.endpoint):
        print(endpoint or "(any endpoint: stored by pingsdk 0.1)")
        for g in members:
            print("  " + _group_line(g, now))
    if quarantined:
        print(f"quarantined: {quarantined} damaged row(s), kept in the file's quarantine table")
    return 0


def _group_line(g: QueueGroup, now: float) -> str:
    due = "now" if g.next_attempt <= now else f"in {_duration(g.next_attempt - now)}"
    status = "-" if g.last_attempt is None else (g.last_status or "no answer")
    return (
        f"{g.namespace}/{g.doctype}/{g.version}: {g.count} ping(s), {_size(g.bytes)}, oldest "
        f"{_duration(now - g.oldest)} ago, attempts {g.total_attempts} (max {g.max_attempts}), "
        f"next {due}, last status {status}" + (f", {g.leased} in flight" if g.leased else "")
    )


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
        done = client.flush(timeout=args.timeout, now=args.now)
    finally:
        # close() flushes overriding the backoff: only what --now asked for.
        client.close(timeout=_CLOSE_TIMEOUT if args.now else 0.0)
    endpoint = client.config.endpoint
    with PingQueue(path, create=False) as queue:
        left, others = _left(queue, endpoint)
        next_due = queue.next_due(endpoint=endpoint)
    line = f"sent {len(outcomes.sent)} ping(s)"
    if outcomes.dropped:
        line += f", dropped {len(outcomes.dropped)} ({_reasons(outcomes.dropped)})"
    line += f"; {left} left in {path}"
    if left and next_due is not None and next_due > time.time():
        line += f", next due {_when(next_due, time.time())}"
    if others:
        line += f" ({others} for other endpoints, not sent here)"
    print(line)
    for report in outcomes.dropped:
        if report.detail:
            print(f"  {report.doc_id}: {_why(report)}: {report.detail}", file=sys.stderr)
    if left:
        hint = "" if args.now else "; --now tries them without waiting for their retry"
        problem = f"{left} ping(s) were not delivered{hint}"
        if done:  # the queue changed under us: still a failure to report
            problem = f"{left} ping(s) are still queued"
    elif outcomes.dropped:
        problem = f"{len(outcomes.dropped)} ping(s) were rejected and dropped"
    else:
        return 0
    print(f"pingsdk: error: {problem}", file=sys.stderr)
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
        client.flush(timeout=0.0, now=False)  # starts the uploader; it then polls the file
        print(f"pingsdk relay: sending from {path} to {args.endpoint}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        client.close(timeout=_CLOSE_TIMEOUT)
    endpoint = client.config.endpoint
    with PingQueue(path, create=False) as queue:
        left, others = _left(queue, endpoint)
    line = f"pingsdk relay: sent {len(outcomes.sent)}, dropped {len(outcomes.dropped)}"
    if outcomes.dropped:
        line += f" ({_reasons(outcomes.dropped)})"
    line += f", {left} left queued for {endpoint}"
    if others:
        line += f", {others} for other endpoints (never sent by this relay)"
    print(line)
    return 0  # stopped on request; the summary says what is left


def _left(queue: PingQueue, endpoint: str) -> tuple[int, int]:
    """Pings still queued for ``endpoint`` (pingsdk 0.1's included), and for other endpoints."""
    left = queue.stats(endpoint=endpoint).pending
    return left, queue.stats().pending - left


def _reasons(dropped: list[DeliveryReport]) -> str:
    """``"1 http_400, 2 http_404"``: how many were dropped for each reason."""
    counts: dict[str, int] = {}
    for report in dropped:
        counts[report.reason] = counts.get(report.reason, 0) + 1
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


def _purge(args: argparse.Namespace) -> int:
    path = _existing_queue(args.queue)
    with PingQueue(path) as queue:
        removed = queue.purge()
    print(f"removed {removed} ping(s) from {path}")
    return 0
