"""The local edge: a stdlib HTTP handler behind a waiting room, speaking the edge contract.

It binds loopback by default, answers as ``docs/edge.md`` and the contract describe, stores every
submit request with its verdict, and can misbehave on purpose (see :class:`FaultPlan`).
Connections wait in a :class:`~pingsdk.edge._room.WaitingRoom` until a whole request has
arrived, so slow or idle clients never hold one of the fixed number of worker threads.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import io
import json
import logging
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pingsdk._exceptions import ConfigurationError
from pingsdk._version import __version__
from pingsdk.edge._alerting import EdgeAlerts
from pingsdk.edge._answer import REFUSED, Answer, Request, answer, refusal
from pingsdk.edge._faults import Fault, FaultInjector, FaultPlan, ScriptEntry
from pingsdk.edge._room import Connection, WaitingRoom
from pingsdk.edge._rules import KEPT_HEADERS, framing
from pingsdk.edge._schemas import SchemaStore
from pingsdk.edge._store import DEFAULT_MEMORY_RECORDS, ReceivedPing, Store
from pingsdk.edge._viewer import render_page
from pingsdk.wire._urls import SUBMIT_PREFIX

if TYPE_CHECKING:
    from pingsdk._model._ping import Ping

__all__ = ["EdgeServer"]

logger = logging.getLogger("pingsdk.edge")

_STORED_EXTRA = ("Content-Type", "Content-Encoding")
_INTERNAL = ("/", "/__heartbeat__", "/__lbheartbeat__", "/__version__", "/__monitor__")


class _ClientGoneError(Exception):
    """The client closed the connection before sending the whole body."""


class _HTTPServer(http.server.HTTPServer):
    """Binds and listens; the waiting room accepts and the handler answers."""

    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], edge: EdgeServer) -> None:
        self.edge = edge
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        # The waiting room builds each handler itself (see EdgeServer._handle).
        super().__init__(address, http.server.BaseHTTPRequestHandler)

    def server_bind(self) -> None:
        # The stdlib looks up the host's FQDN here (slow without DNS); the edge never uses it.
        # Its SO_REUSEADDR is set here too: an edge restarted on its port must not wait for the
        # old connections' TIME_WAIT to end.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        socket.socket.bind(self.socket, self.server_address)
        self.server_address = self.socket.getsockname()
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers the one request the waiting room buffered for ``conn``."""

    protocol_version = "HTTP/1.1"
    # Malformed request lines get a status line too (the stdlib would answer them as HTTP/0.9).
    default_request_version = "HTTP/1.0"
    server: _HTTPServer
    server_version = f"pingsdk-edge/{__version__}"
    # Headers and body leave in one write (flushed by handle_one_request).
    wbufsize = 64 * 1024

    def __init__(self, conn: Connection, server: _HTTPServer) -> None:
        self.conn = conn
        self.reset = False
        self.consumed = 0
        super().__init__(conn.sock, conn.address, server)

    def setup(self) -> None:
        self.connection = self.request
        self.rfile = io.BytesIO(bytes(self.conn.buffer))
        self.wfile = self.connection.makefile("wb", self.wbufsize)

    def handle(self) -> None:
        self.close_connection = True
        if self.conn.oversized:
            self.requestline, self.command, self.path = "", "", ""
            self.request_version = "HTTP/1.1"
            self._send(431, b"431 Request Header Fields Too Large: request head over 128 KiB\n")
            self._log(431, "-", "request head over 128 KiB")
            return
        self.handle_one_request()

    def finish(self) -> None:
        self.consumed = self.rfile.tell()
        try:
            super().finish()
        except OSError:
            self.close_connection = True

    def __getattr__(self, name: str) -> Any:
        # Every method reaches one dispatcher, so unknown methods get 405 rather than 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def handle_expect_100(self) -> bool:
        # The waiting room already sent "100 Continue" when the body had not arrived yet.
        return True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request comes from _log, with the reason; this one would repeat it.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("edge: %s " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Requests the stdlib refuses before they reach _dispatch (malformed request line,
        # huge or too many headers) are logged like every other request.
        super().send_error(code, message, explain)
        self._log(code, getattr(self, "path", "") or "-", message or "malformed request")

    def _log(self, status: int | str, path: str, reason: str | None) -> None:
        method = getattr(self, "command", None) or "-"
        logger.info("edge: %s %s %s%s", status, method, path, f" {reason}" if reason else "")

    # -- answering ---------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "text/plain; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, document: Any, *, indent: int | None = 2) -> None:
        separators = (",", ": ") if indent else (",", ":")
        text = json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)
        self._send(status, text.encode("utf-8") + b"\n", "application/json; charset=utf-8")

    def _send_text(
        self, status: int, message: str = "", headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        text = f"{status} {http.HTTPStatus(status).phrase}" + (f": {message}" if message else "")
        self._send(status, (text + "\n").encode("utf-8"), headers=headers)

    # -- reading -----------------------------------------------------------------------------

    def _body(self) -> tuple[bytes | None, int | None, str]:
        """The body, or the status that refuses it (411, 400, 413) and why."""
        lengths = self.headers.get_all("Content-Length") or []
        length, refused, reason = framing(lengths, "Transfer-Encoding" in self.headers)
        if length is None:
            # The end of this request is unknown: nothing after it on this connection can be
            # trusted to be the next request.
            self.close_connection = True
            return None, refused, reason
        data = self.rfile.read(length)
        if len(data) < length:
            raise _ClientGoneError
        return data, None, ""

    def _drain(self) -> None:
        try:
            self._body()
        except _ClientGoneError:
            self.close_connection = True

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        if self.command in ("GET", "HEAD") and path in _INTERNAL:
            self._drain()
            self._internal(path, query)
            self._log(200, self.path, None)
            return
        if not path.startswith(SUBMIT_PREFIX):
            # Browsers ask for /favicon.ico and the like: answered, never stored as pings.
            self._drain()
            self._send_text(404, "not a submit path (expected /submit/...)")
            self._log(404, self.path, "not a submit path")
            return
        try:
            self._submit(path, query)
        except _ClientGoneError:
            self.close_connection = True
        except Exception:
            # Every request gets an answer and a record, even one that trips a bug here.
            logger.exception("edge: error while handling %s %s", self.command, path)
            self.close_connection = True
            self._finish(
                self._record(path, query, time.time()), 500, reason="edge error (see its log)"
            )

    def _internal(self, path: str, query: str) -> None:
        edge = self.server.edge
        if path == "/__lbheartbeat__":
            self._send(200)
        elif path == "/__heartbeat__":
            schemas = len(edge.schemas) if edge.schemas is not None else 0
            self._send_json(200, {"status": "ok", "checks": {"store": "ok", "schemas": schemas}})
        elif path == "/__version__":
            self._send_json(
                200,
                {
                    "source": "https://github.com/pingsdk/pingsdk",
                    "version": __version__,
                    "commit": "",
                    "build": "pingsdk-edge",
                },
            )
        elif path == "/__monitor__":
            self._send_json(200, edge.monitor())
        else:
            params = urllib.parse.parse_qs(query)
            doctype = params.get("doctype", [""])[0]
            debug_id = params.get("debug_id", params.get("x_debug_id", [""]))[0]
            app = params.get("app", params.get("namespace", [""]))[0]
            page = edge._page(doctype=doctype, debug_id=debug_id, app=app)
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")

    def _record(self, path: str, query: str, received_at: float) -> dict[str, Any]:
        headers = {name: self.headers[name] for name in KEPT_HEADERS if name in self.headers}
        stored = dict(headers)
        stored.update({n: self.headers[n] for n in _STORED_EXTRA if n in self.headers})
        return {
            "received_at": received_at,
            "method": self.command,
            "path": path,
            "query": query,
            "headers": json.dumps(stored, ensure_ascii=False),
            "wire_size": 0,
            "errors": "[]",
            "client_date": headers.get("Date"),
            "clock_skew": _skew(headers.get("Date"), received_at),
            "verdict": REFUSED,
        }

    def _submit(self, path: str, query: str) -> None:
        edge = self.server.edge
        received_at = time.time()
        fault: Fault | None = None
        latency = 0.0
        if self.command in ("POST", "PUT"):
            fault, latency = edge.faults.next()
        verdict = answer(self._facts(path, query, fault), edge.schemas, strict=edge.strict)
        if verdict.rule != "gone":
            edge._pause(latency)
        self._act(verdict, self._record(path, query, received_at))

    def _facts(self, path: str, query: str, fault: Fault | None) -> Request:
        """The request as the decision sees it, once its body is read (or found missing)."""
        headers = {name: self.headers[name] for name in KEPT_HEADERS if name in self.headers}
        try:
            body, refused, why = self._body()
        except _ClientGoneError:
            self.close_connection = True
            return Request(self.command, path, query, headers, client_gone=True, fault=fault)
        return Request(self.command, path, query, headers, body, refused, why, fault=fault)

    def _act(self, verdict: Answer, record: dict[str, Any]) -> None:
        """Carry out ``verdict``: count a fault, answer (or not), store the request."""
        edge = self.server.edge
        path = record["path"]
        if verdict.fault is not None:
            edge.store.add_fault(record["received_at"], verdict.fault, path)
            self._log(verdict.status or verdict.fault, path, "injected fault")
        if verdict.fault == "reset":
            self._reset()
        elif verdict.fault == "timeout":
            self._hold(edge.faults.plan.hold)
        elif not verdict.stored and verdict.status is not None:
            self._send_text(verdict.status, verdict.reason or "", headers=verdict.headers)
        elif verdict.stored and verdict.status is not None:
            record.update(verdict.fields)
            self._finish(record, verdict.status, reason=verdict.reason, extra=verdict.headers)

    def _finish(
        self,
        record: dict[str, Any],
        status: int,
        *,
        reason: str | None = None,
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        record["status"] = status
        record["reason"] = reason
        edge = self.server.edge
        edge.alerting.observe(record, edge.store.add(record))
        log_reason = record["verdict"]
        if reason and record.get("valid") != 0:
            log_reason += f": {reason}"
        elif reason:
            # Schema messages quote payload values: only their count goes above DEBUG.
            count = len(json.loads(record["errors"]))
            log_reason += f": {count} schema error{'s' if count != 1 else ''}"
            logger.debug("edge: %s %s: %s", self.command, record["path"], reason)
        self._log(status, record["path"], log_reason)
        if status == 400 and edge.strict and ("valid" in record or "decode_error" in record):
            self._send_json(400, refusal(record), indent=None)
            return
        self._send_text(status, reason or "", headers=extra)

    # -- faults ------------------------------------------------------------------------------

    def _reset(self) -> None:
        # SO_LINGER 0 makes the close send RST instead of FIN: the client sees a reset. The
        # worker closes the socket once finish() has dropped rfile/wfile.
        self.close_connection = True
        self.reset = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _hold(self, bound: float) -> None:
        """Answer nothing until the client gives up, ``bound`` passes, or the server stops;
        the waiting room holds the connection, so no thread waits for it."""
        self.conn.held = True
        self.conn.deadline = time.monotonic() + bound


def _skew(date: str | None, received_at: float) -> float | None:
    if not date:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if sent.tzinfo is None:
        return None
    return round(received_at - sent.timestamp(), 3)


class EdgeServer:
    """A local edge server: the contract's answers, schema validation, storage, a monitor.

    Args:
        schemas: a schema-repository tree (``schemas/<ns>/<doctype>/<doctype>.<v>.schema.json``
            or the repository root above it); ``None`` validates nothing and knows every name.
        db: SQLite file to store requests in; ``None`` keeps them in memory.
        strict: answer 400 (errors in a JSON body) for schema-invalid or undecodable pings,
            like Mozilla's edge-validator; by default they get 200, like the real edge.
        host, port: where to listen; port 0 picks a free port (see :attr:`url`).
        faults: a :class:`FaultPlan` to misbehave with from the start.
        socket_timeout: seconds a request may take to arrive from its first byte, and that an
            idle keep-alive connection stays open (slowloris guard); also bounds each write.
        viewer_limit: how many requests the viewer page shows.
        max_records: keep only the newest this many requests; ``None`` (the default) keeps
            10,000 in memory and every request in a ``db`` file. The monitor, duplicate
            detection and :meth:`wait_for` count every request, kept or not.
        workers: threads answering requests (default 32). Connections wait for their whole
            request without a thread, so this bounds the threads whatever clients do; a
            ``latency`` fault keeps its worker for that long.
        monitor: Ping classes whose docType monitor thresholds (``monitor=``) the edge
            evaluates on its records, raising the monitor's alerts (see docs/monitoring.md).
        monitor_window: seconds the monitor's 24-hour window lasts (default a day; every other
            window scales with it, so tests can use e.g. 60).
        on_alert: called with the text of each alert (``pingsdk serve`` prints it).

    Raises:
        ConfigurationError: a schema folder without schemas; a bad ``max_records``,
            ``workers`` or ``socket_timeout``.

    Example:
        >>> import httpx
        >>> with EdgeServer() as edge:
        ...     r = httpx.post(f"{edge.url}/submit/ns/doc/1/0b5c3f5e-8a32-4a0e-9c4e-3d5bd0c5f3a1",
        ...                    json={"a": 1})
        >>> r.status_code
        200
    """

    def __init__(
        self,
        schemas: str | Path | None = None,
        db: str | Path | None = None,
        *,
        strict: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        socket_timeout: float = 10.0,
        viewer_limit: int = 100,
        max_records: int | None = None,
        workers: int = 32,
        monitor: Iterable[type[Ping]] = (),
        monitor_window: float = 86400.0,
        on_alert: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be a positive integer, got {workers!r}")
        if not socket_timeout > 0:
            raise ConfigurationError(f"socket_timeout must be positive, got {socket_timeout!r}")
        self.schemas = SchemaStore(schemas) if schemas is not None else None
        self.strict = strict
        self.host = host
        self.port = port
        self.socket_timeout = socket_timeout
        self.viewer_limit = viewer_limit
        self.workers = workers
        self.faults = FaultInjector(faults)
        if not monitor_window > 0:
            raise ConfigurationError(f"monitor_window must be positive, got {monitor_window!r}")
        self.alerting = EdgeAlerts(monitor, minute=monitor_window / 1440, on_alert=on_alert)
        if max_records is None and db is None:
            max_records = DEFAULT_MEMORY_RECORDS
        self.store = Store(db, max_records=max_records)
        self._httpd: _HTTPServer | None = None
        self._room: WaitingRoom | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> EdgeServer:
        """Bind and serve in a background thread; returns ``self``.

        Raises:
            OSError: the address cannot be bound.
        """
        if self._httpd is not None:
            return self
        if self._stopping.is_set():
            raise ConfigurationError("this EdgeServer was stopped; create a new one")
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = int(self._httpd.server_address[1])
        self._room = WaitingRoom(
            self._httpd.socket,
            self._handle,
            timeout=self.socket_timeout,
            workers=self.workers,
            name=f"pingsdk-edge-{self.port}",
        )
        self._room.start()
        self.alerting.start(self.url)
        logger.info("edge: serving on %s (strict=%s)", self.url, self.strict)
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections, join the threads and close the store.

        Idempotent; held (``"timeout"``) requests are released at once.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.alerting.stop()
        room, self._room = self._room, None
        if room is not None:
            room.stop()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.server_close()
        self.store.close()
        logger.info("edge: stopped")

    def __enter__(self) -> EdgeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _handle(self, conn: Connection) -> Connection | None:
        """Answer the request buffered on ``conn``; the connection to keep, or ``None``."""
        httpd = self._httpd
        if httpd is None:
            return None
        handler = _Handler(conn, httpd)
        if conn.held:
            return conn
        if handler.reset or handler.close_connection:
            return None
        del conn.buffer[: handler.consumed]
        return conn

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    # -- what tests use ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server.

        Raises:
            ConfigurationError: the server is not started.
        """
        if self._httpd is None:
            raise ConfigurationError("the edge server is not running (use start() or `with`)")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def received(self) -> list[ReceivedPing]:
        """Every stored submit request (accepted and refused, not faulted), oldest first.

        The store keeps the newest ``max_records`` (10,000 in memory by default); requests
        outside ``/submit/`` are never stored.
        """
        return self.store.pings()

    def accepted(self) -> list[ReceivedPing]:
        """Stored requests answered 2xx, oldest first."""
        return [p for p in self.store.pings() if p.accepted]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` pings were accepted (2xx) in total; False on timeout."""
        return self.store.wait_accepted(count, timeout)

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Misbehave with ``plan`` from now on (``None`` or ``FaultPlan()`` to stop)."""
        self.faults.set_plan(plan)

    def script(self, entries: Iterable[ScriptEntry]) -> None:
        """Force the answers to the next submit requests, in order, before the plan applies.

        Entries: ``"500"``, ``"503"``, ``"429"``, ``("429", 2)`` (Retry-After 2), any 4xx/5xx,
        ``"reset"``, ``"timeout"``, or ``"200"`` for "answer normally".

        Raises:
            ConfigurationError: an unknown entry.
        """
        self.faults.script(entries)

    def monitor(self) -> dict[str, Any]:
        """The ``/__monitor__`` document: per (namespace, doctype, version) counts, verdicts
        and sizes, and the most frequent reasons requests were refused or unknown.

        Kept up to date per request (never a scan of the records), and exact for every
        request since the start or :meth:`clear`, including those no longer kept. With
        ``monitor=``, ``alerts`` lists per monitored docType the docType monitor's alerts per
        channel since the start, and per-channel statistics.
        """
        report = self.store.report()
        if self.alerting.board:
            # Per monitored docType: the alerts raised since the start, per channel.
            report["alerts"] = self.alerting.report()
        return report

    def clear(self) -> None:
        """Forget stored requests, fault counts and scripted faults (the plan stays)."""
        self.faults.clear()
        self.store.clear()

    def _page(self, *, doctype: str, debug_id: str, app: str = "") -> str:
        pings = self.store.pings(
            limit=self.viewer_limit,
            newest_first=True,
            doctype=doctype,
            debug_id=debug_id,
            namespace=app,
        )
        return render_page(
            pings,
            doctype=doctype,
            debug_id=debug_id,
            app=app,
            apps=self.store.namespaces(),
            total=self.store.count(),
            alerts=self.alerting.alerted(),
        )
