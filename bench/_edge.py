"""A minimal recording HTTP/1.1 edge for the benchmarks, meant to run in a process of its own.

Run: ``python bench/_edge.py [--latency SECONDS]``. It prints ``listening on http://127.0.0.1:PORT``
and serves until SIGTERM or SIGINT. Every request is answered ``200`` with an empty body on a
keep-alive connection; a POST is recorded (count, body bytes, distinct paths: one per docId).
``GET /__count__`` answers the record as JSON. ``--latency`` delays every POST's answer (without
holding the loop), like an edge far away.

Why not ``pingsdk serve``: its thread per connection and request parsing cost several times the
CPU of a client's request, so on two cores it, not the client, set the rate (about 550 requests/s).
This one is an asyncio protocol (stdlib only, one thread) that reads the head, skips the body by
its ``Content-Length`` and writes a fixed answer: the benchmark reads its CPU time from
``/proc/<pid>/stat`` to show that it is not the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
CLOSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Record:
    """What the edge received."""

    def __init__(self) -> None:
        self.posts = 0
        self.bytes = 0
        self.paths: set[str] = set()

    def as_json(self) -> bytes:
        return json.dumps(
            {"posts": self.posts, "bytes": self.bytes, "distinct": len(self.paths)}
        ).encode()


class EdgeProtocol(asyncio.Protocol):
    """One connection: parse heads, skip bodies, answer 200 in order."""

    def __init__(self, record: Record, latency: float) -> None:
        self.record = record
        self.latency = latency
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ", 2)[:2]
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            self.answer(method, target, length, close)

    def answer(self, method: str, target: str, length: int, close: bool) -> None:
        assert self.transport is not None
        if method == "GET" and target == "/__count__":
            body = self.record.as_json()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            return
        if method == "POST":
            self.record.posts += 1
            self.record.bytes += length
            self.record.paths.add(target)
        reply = CLOSE if close else OK
        if self.latency and method == "POST":
            asyncio.get_running_loop().call_later(self.latency, self.send, reply, close)
        else:
            self.send(reply, close)

    def send(self, reply: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(reply)
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(latency: float) -> None:
    record = Record()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: EdgeProtocol(record, latency), "127.0.0.1", 0, backlog=256
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.latency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
