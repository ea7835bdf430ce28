"""The local edge: a threaded stdlib HTTP server speaking the edge contract.

It binds loopback by default, answers as ``docs/edge.md`` and the contract describe, stores every
submit request, and can misbehave on purpose (see :class:`FaultPlan`).
"""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import json
import logging
import select
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from .._exceptions import ConfigurationError
from .._version import __version__
from ._decode import decode_body
from ._faults import Fault, FaultInjector, FaultPlan, ScriptEntry
from ._monitor import build_report
from ._rules import (
    ALLOW,
    KEPT_HEADERS,
    MAX_BODY,
    RouteError,
    is_doc_id,
    oversized_field,
    parse_route,
    parse_version,
)
from ._schemas import SchemaStore
from ._store import ReceivedPing, Store
from ._viewer import render_page

__all__ = ["EdgeServer"]

logger = logging.getLogger("pingsdk.edge")

_STORED_EXTRA = ("Content-Type", "Content-Encoding")
_INTERNAL = ("/", "/__heartbeat__", "/__lbheartbeat__", "/__version__", "/__monitor__")
_POLL = 0.1


class _ClientGoneError(Exception):
    """The client closed the connection before sending the whole body."""


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], edge: EdgeServer) -> None:
        self.edge = edge
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanishes is routine; anything else is a bug worth a traceback.
        logger.warning("edge: error while handling a request", exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Malformed request lines get a status line too (the stdlib would answer them as HTTP/0.9).
    default_request_version = "HTTP/1.0"
    server: _HTTPServer
    server_version = f"pingsdk-edge/{__version__}"
    # Headers and body leave in one write (flushed by handle_one_request), and without Nagle:
    # otherwise delayed ACKs add ~40 ms to every keep-alive request.
    wbufsize = 64 * 1024

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.edge.socket_timeout)
        if self.connection.family in (socket.AF_INET, socket.AF_INET6):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.edge._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.edge._untrack(self.connection)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches one dispatcher, so unknown methods get 405 rather than 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("edge: %s " + format, self.address_string(), *args)

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

    def _send_json(self, status: int, document: Any) -> None:
        body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        self._send(status, body, "application/json; charset=utf-8")

    # -- reading -----------------------------------------------------------------------------

    def _body(self) -> tuple[bytes | None, int | None]:
        """The body, or the status that refuses it (411, 400, 413)."""
        declared = self.headers.get("Content-Length")
        if declared is None:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True  # an unread chunked body would poison keep-alive
            return None, 411
        try:
            length = int(declared)
            if length < 0:
                raise ValueError(declared)
        except ValueError:
            self.close_connection = True
            return None, 400
        if length > MAX_BODY:
            self.close_connection = True
            return None, 413
        data = self.rfile.read(length)
        if len(data) < length:
            raise _ClientGoneError
        return data, None

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
            return
        try:
            self._submit(path, query)
        except _ClientGoneError:
            self.close_connection = True

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
            page = edge._page(doctype=doctype, debug_id=debug_id)
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")

    def _submit(self, path: str, query: str) -> None:
        edge = self.server.edge
        received_at = time.time()
        fault: Fault | None = None
        latency = 0.0
        if self.command in ("POST", "PUT"):
            fault, latency = edge.faults.next()
        if fault is not None and fault.kind in ("reset", "timeout"):
            self._drain()
            edge._pause(latency)
            edge.store.add_fault(received_at, fault.kind, path)
            if fault.kind == "reset":
                self._reset()
            else:
                self._hold(edge.faults.plan.hold)
            return

        headers = {name: self.headers[name] for name in KEPT_HEADERS if name in self.headers}
        stored = dict(headers)
        stored.update({n: self.headers[n] for n in _STORED_EXTRA if n in self.headers})
        record: dict[str, Any] = {
            "received_at": received_at,
            "method": self.command,
            "path": path,
            "query": query,
            "headers": json.dumps(stored, ensure_ascii=False),
            "wire_size": 0,
            "errors": "[]",
            "client_date": headers.get("Date"),
            "clock_skew": _skew(headers.get("Date"), received_at),
        }

        if self.command not in ("POST", "PUT"):
            self._drain()
            self._finish(record, 405, extra=(("Allow", ALLOW),))
            return

        body, refused = self._body()
        edge._pause(latency)
        if fault is not None:
            edge.store.add_fault(received_at, fault.kind, path)
            extra: list[tuple[str, str]] = []
            if fault.kind in ("429", "503"):
                extra.append(("Retry-After", str(fault.retry_after)))
            self._send(int(fault.kind), f"injected fault {fault.kind}\n".encode(), headers=extra)
            return
        if body is not None:
            record["wire_size"] = len(body)

        too_long = oversized_field(path, query, headers)
        if too_long is not None:
            self._finish(record, 431, message=f"{too_long} over 1024 bytes")
            return
        try:
            route = parse_route(path)
        except RouteError as exc:
            self._finish(record, 404, message=str(exc))
            return
        record.update(
            namespace=route.namespace,
            doctype=route.doctype,
            version=route.version,
            doc_id=route.doc_id,
            legacy=json.dumps(route.legacy) if route.legacy else None,
        )
        schemas = edge.schemas
        if schemas is not None:
            unknown = schemas.missing(route.namespace, route.doctype, route.version)
            if unknown is not None:
                self._finish(record, 404, message=f"unknown {unknown}")
                return
        if refused is not None or body is None:
            self._finish(record, refused or 411, message="send Content-Length (at most 1 MB)")
            return

        problems: list[str] = []
        if not is_doc_id(route.doc_id):
            problems.append("docId is not a UUID (8-4-4-4-12 hex)")
        decoded = decode_body(body)
        record["decoded_size"] = decoded.size
        record["payload"] = decoded.text
        if decoded.error is not None:
            problems.append(decoded.error)
        version = route.version
        if decoded.payload is not None and version is None:
            version, problem = _payload_version(decoded.payload)
            if schemas is not None and (
                problem is not None
                or schemas.missing(route.namespace, route.doctype, version) == "version"
            ):
                # The pipeline would refuse these, but the schema repository's own examples
                # include legacy pings whose payload version names no schema (block-autoplay.1
                # says "version": 4); with one schema version there is no doubt which applies.
                only = schemas.single_version(route.namespace, route.doctype)
                if only is not None:
                    version, problem = only, None
            record["version"] = version
            if problem is not None:
                problems.append(problem)
        issues = []
        if (
            schemas is not None
            and decoded.payload is not None
            and version is not None
            and not problems
        ):
            unknown = schemas.missing(route.namespace, route.doctype, version)
            if unknown is not None:
                problems.append(
                    f"no schema {route.namespace}/{route.doctype} version {version}"
                    " (legacy URL: the version comes from the payload)"
                )
            else:
                issues = schemas.validate(route.namespace, route.doctype, version, decoded.payload)
                record["valid"] = int(not issues)
                record["errors"] = json.dumps(
                    [{"path": i.path, "message": i.message, "keyword": i.keyword} for i in issues],
                    ensure_ascii=False,
                )
        if problems:
            record["decode_error"] = "; ".join(problems)
        status = 400 if edge.strict and (problems or issues) else 200
        self._finish(record, status)

    def _finish(
        self,
        record: dict[str, Any],
        status: int,
        *,
        message: str = "",
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        record["status"] = status
        edge = self.server.edge
        edge.store.add(record)
        if status == 400 and edge.strict and ("valid" in record or "decode_error" in record):
            self._send_json(
                400,
                {
                    "status": 400,
                    "decode_error": record.get("decode_error"),
                    "errors": json.loads(record["errors"]),
                },
            )
            return
        text = f"{status} {http.HTTPStatus(status).phrase}" + (f": {message}" if message else "")
        self._send(status, (text + "\n").encode("utf-8"), headers=extra)

    # -- faults ------------------------------------------------------------------------------

    def _reset(self) -> None:
        # SO_LINGER 0 makes the close send RST instead of FIN: the client sees a reset. The
        # socket really closes once finish() drops rfile/wfile, before any FIN could go out.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _hold(self, bound: float) -> None:
        """Answer nothing until the client gives up, ``bound`` passes, or the server stops."""
        self.close_connection = True
        deadline = time.monotonic() + bound
        stopping = self.server.edge._stopping
        while not stopping.is_set() and time.monotonic() < deadline:
            try:
                readable, _, _ = select.select([self.connection], [], [], _POLL)
                if readable and not self.connection.recv(4096):
                    return
            except (OSError, ValueError):
                return


def _skew(date: str | None, received_at: float) -> float | None:
    if not date:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    if sent.tzinfo is None:
        return None
    return round(received_at - sent.timestamp(), 3)


def _payload_version(payload: dict[str, Any]) -> tuple[int | None, str | None]:
    """gcp-ingestion's rule: the first scalar of top-level ``version``, then ``v``."""
    for key in ("version", "v"):
        value = payload.get(key)
        if key in payload and not isinstance(value, (dict, list)):
            version = parse_version(value)
            if version is None:
                return None, f"payload {key!r} is not a positive integer version"
            return version, None
    return None, "payload has no top-level 'version' or 'v' (needed for legacy telemetry URLs)"


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
        socket_timeout: seconds a connection may stay silent (slowloris guard, keep-alive idle).

    Raises:
        ConfigurationError: a schema folder without schemas.

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
    ) -> None:
        self.schemas = SchemaStore(schemas) if schemas is not None else None
        self.strict = strict
        self.host = host
        self.port = port
        self.socket_timeout = socket_timeout
        self.viewer_limit = viewer_limit
        self.faults = FaultInjector(faults)
        self.store = Store(db)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

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
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _POLL},
            name=f"pingsdk-edge-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("edge: serving on %s (strict=%s)", self.url, self.strict)
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections, join the threads and close the store.

        Idempotent; held (``"timeout"``) requests are released at once.
        """
        if self._stopping.is_set():
            return
        with self._conn_lock:
            self._stopping.set()
            open_now = list(self._connections)
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            for conn in open_now:
                _shutdown(conn)
            httpd.server_close()  # joins handler threads
        if self._thread is not None:
            self._thread.join()
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

    def _track(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.add(conn)
            stopping = self._stopping.is_set()
        if stopping:
            _shutdown(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.discard(conn)

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
        """Every stored request (accepted and rejected, not faulted), oldest first."""
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
        """The ``/__monitor__`` document: per (namespace, doctype, version) counts and sizes."""
        return build_report(self.store.summary_rows(), self.store.fault_counts())

    def clear(self) -> None:
        """Forget stored requests, fault counts and scripted faults (the plan stays)."""
        self.faults.clear()
        self.store.clear()

    def _page(self, *, doctype: str, debug_id: str) -> str:
        pings = self.store.pings(
            limit=self.viewer_limit, newest_first=True, doctype=doctype, debug_id=debug_id
        )
        return render_page(pings, doctype=doctype, debug_id=debug_id, total=self.store.count())


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
