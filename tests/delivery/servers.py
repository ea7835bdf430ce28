"""Small stdlib HTTP servers on 127.0.0.1 for fault tests: scripted answers, trickled answers,
and an edge in a child process that can be killed and restarted on the same port."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Seen:
    """What a scripted server received."""

    requests: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight_per_doc: int = 0

    def paths(self) -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.requests]


def doc_id_of(path: str) -> str:
    return path.split("?", maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a request (reset) is part of these tests


@contextmanager
def scripted_server(
    answer: Callable[[str], Answer], *, delay: float = 0.0, trickle: float = 0.0
) -> Iterator[tuple[str, Seen]]:
    """Serve ``answer(path)`` to every POST; ``trickle`` sends the answer one byte at a time
    with that many seconds between bytes. Yields the base URL and what was received."""
    seen = Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            doc = doc_id_of(self.path)
            with seen.lock:
                seen.requests.append((time.monotonic(), self.path, dict(self.headers)))
                seen.in_flight[doc] = seen.in_flight.get(doc, 0) + 1
                seen.max_in_flight_per_doc = max(seen.max_in_flight_per_doc, seen.in_flight[doc])
            try:
                if delay:
                    time.sleep(delay)
                status, headers, body = answer(self.path)
                head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                raw = head.encode() + body
                if trickle:
                    for i in range(len(raw)):
                        self.wfile.write(raw[i : i + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
                else:
                    self.wfile.write(raw)
            except OSError:
                pass  # the client gave up on the request
            finally:
                with seen.lock:
                    seen.in_flight[doc] -= 1

    server = _QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


EDGE_PROCESS = """
import http.server, sys, time
port, log, latency = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(latency)
        with open(log, "a") as f:
            f.write(f"{time.time()} {self.path}\\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
print("ready", flush=True)
server.serve_forever(poll_interval=0.05)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EdgeProcess:
    """An accepting edge in a child process: SIGKILL it and start it again on the same port.

    Every accepted request is appended to ``log`` as ``<unix time> <path>``.
    """

    def __init__(self, port: int, log: Path, *, latency: float = 0.0) -> None:
        self.port = port
        self.log = log
        self.latency = latency
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", EDGE_PROCESS, str(self.port), str(self.log), str(self.latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def accepted(self) -> list[tuple[float, str]]:
        if not self.log.exists():
            return []
        rows = []
        for line in self.log.read_text().splitlines():
            stamp, path = line.split(" ", 1)
            rows.append((float(stamp), path))
        return rows
