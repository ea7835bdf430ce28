"""What a client and its sender process say to each other (``uploader="process"``).

The client writes short text commands to the sender's stdin, one per line (a write of a line is
atomic on a pipe, so any thread may send one); the sender answers with JSON lines on its stdout.

Client to sender::

    w                       wake up: pings were stored
    f <id> <deadline> <0|1> flush until <deadline> (time.monotonic(), shared by the processes);
                            1: override the backoff
    p <id>                  cancel what is in flight and purge the queue (upload switched off)
    c <deadline>            flush, stop and exit by <deadline>

Sender to client (one JSON object per line, ``k`` says which)::

    {"k": "ready", "pid": 123}
    {"k": "c", "sent": 3, "retried": 0, "dropped": {"http_400": 1}, "in_flight": 2}   deltas
    {"k": "r", "on": "sent" | "dropped", "report": [...DeliveryReport fields]}
    {"k": "l", "level": 30, "msg": "...", "event": "...", "doc_id": "..."}           a log record
    {"k": "f", "id": 1, "ok": true}      {"k": "p", "id": 2, "n": 10}
    {"k": "x", "ok": true}               closed: whether its engine stopped by the deadline
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._stats import DeliveryReport

__all__ = [
    "BOOT",
    "decode_report",
    "dump_config",
    "encode",
    "encode_report",
    "load_config",
]

BOOT = (
    "import sys; sys.argv[1] in sys.path or sys.path.insert(0, sys.argv[1]); "
    "from pingsdk._delivery._sender_process import main; main()"
)
"""The sender's ``python -c`` program: the client's own pingsdk (its directory is argv[1]),
whatever the application's working directory and ``sys.path``."""

_REPORT_FIELDS = tuple(field.name for field in dataclasses.fields(DeliveryReport))


def dump_config(config: ClientConfig, *, log_level: int, reports: bool, parent: int) -> bytes:
    """The sender's first stdin line: the client's settings (without what cannot leave the
    process: callbacks and a transport), the log level to forward and whether the client
    wants each delivery report (it has ``on_sent`` / ``on_dropped``)."""
    sendable = dataclasses.replace(config, on_sent=None, on_dropped=None, transport=None)
    fields = {f.name: getattr(sendable, f.name) for f in dataclasses.fields(sendable)}
    blob = pickle.dumps(
        {"config": fields, "log_level": log_level, "reports": reports, "parent": parent}
    )
    return blob.hex().encode("ascii") + b"\n"


def load_config(line: bytes) -> dict[str, Any]:
    """The sender's side of :func:`dump_config` (``config`` is a :class:`ClientConfig`)."""
    # The line comes from the client that started this process through its own pipe.
    setup: dict[str, Any] = pickle.loads(bytes.fromhex(line.decode("ascii").strip()))  # noqa: S301
    setup["config"] = ClientConfig(**setup["config"])
    return setup


def encode(message: dict[str, Any]) -> bytes:
    """One message line."""
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def encode_report(report: DeliveryReport) -> list[Any]:
    """A report's fields, in order."""
    return [getattr(report, name) for name in _REPORT_FIELDS]


def decode_report(fields: list[Any]) -> DeliveryReport:
    """The report :func:`encode_report` was given."""
    return DeliveryReport(**dict(zip(_REPORT_FIELDS, fields, strict=True)))
