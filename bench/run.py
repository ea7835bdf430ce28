"""pingsdk delivery benchmarks (``make bench``): medians and ratios from one run.

1. ``submit()`` durable latency, p50 and p99, while the uploader delivers to a local edge at the
   same time, against ``queue.Queue.put`` of the same payload and against the durable floor
   (``uuid7()`` + ``model_dump_json()`` + one committed SQLite WAL insert).
2. Delivery of 10,000 queued pings to a local edge, against a raw httpx keep-alive loop posting
   the same gzipped bodies to the same server (the wire limit).
3. Delivery over an edge adding 20 ms to every answer, against a sequential sender.

The edge (``pingsdk serve``) runs in its own process so it does not share the GIL with what is
measured. Every measurement is repeated (``--reps``) and the median is quoted. Run with
``--quick`` for a smoke run (small counts; the figures mean little).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from pydantic import Field

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _floor

import pingsdk
from pingsdk._config import build_config
from pingsdk._prepare import prepare_ping
from pingsdk._queue import PingQueue, QueuedPing

REGISTRY = pingsdk.PingRegistry()


class SearchCounts(
    pingsdk.Ping, namespace="bench-app", doctype="search-counts", version=1, registry=REGISTRY
):
    """A typical small ping (about 400 bytes of JSON)."""

    client_id: str = Field(description="Install id.")
    engine: str = Field(description="Search engine id.")
    source: str = Field(description="Where the search started.")
    count: int = Field(ge=0, description="Searches.")
    locale: str = Field(description="UI locale.")
    channel: str = Field(description="Release channel.")
    os_name: str = Field(description="Operating system.")
    os_version: str = Field(description="OS version.")
    app_version: str = Field(description="Application version.")
    experiments: list[str] = Field(description="Active experiment slugs.")
    session_seconds: float = Field(ge=0, description="Session length.")


PING = SearchCounts(
    client_id="c0ffee00-1234-4abc-8def-0123456789ab",
    engine="duckduckgo",
    source="urlbar",
    count=7,
    locale="en-GB",
    channel="release",
    os_name="Linux",
    os_version="6.8",
    app_version="131.0.2",
    experiments=["new-tab-layout", "search-suggestions-v2", "onboarding-2024"],
    session_seconds=1234.5,
)


@dataclasses.dataclass
class Sizes:
    reps: int
    latency_n: int
    delivery_n: int
    async_n: int
    slow_n: int
    slow_sequential_n: int
    cap: float
    """Seconds one delivery run may take; a slower run is stopped and its rate so far quoted."""
    budget: float
    """Seconds a scenario may use: no further repetition starts after that (one always runs)."""


FULL = Sizes(
    reps=3,
    latency_n=3000,
    delivery_n=10_000,
    async_n=500,
    slow_n=400,
    slow_sequential_n=100,
    cap=20.0,
    budget=75.0,
)
QUICK = Sizes(
    reps=1,
    latency_n=500,
    delivery_n=500,
    async_n=200,
    slow_n=100,
    slow_sequential_n=20,
    cap=10.0,
    budget=20.0,
)


def repetitions(sizes: Sizes) -> Iterator[int]:
    """Repetition numbers, stopping early once the scenario used its time budget."""
    start = time.monotonic()
    for rep in range(sizes.reps):
        if rep and time.monotonic() - start > sizes.budget:
            print(f"  (time budget used: {rep} repetition(s))", file=sys.stderr)
            return
        yield rep


# -- the edge in its own process ------------------------------------------------------------------


@contextlib.contextmanager
def edge(latency: float = 0.0) -> Iterator[str]:
    """Run ``pingsdk serve`` on a free loopback port; yields its URL."""
    exe = Path(sys.executable).with_name("pingsdk")
    cmd = [str(exe), "serve", "--port", "0", "--latency", str(latency)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "serving on " not in first:
            raise RuntimeError(f"pingsdk serve did not start: {first!r}")
        url = first.split("serving on ", 1)[1].strip()
        httpx.get(f"{url}/__heartbeat__", timeout=10).raise_for_status()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- helpers -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def prepared_rows(count: int, endpoint: str) -> list[QueuedPing]:
    """Rows exactly as ``submit()`` stores them (same docId, path, headers, gzip body)."""
    config = build_config(endpoint)
    return [prepare_ping(PING, config, upload_enabled=True) for _ in range(count)]


def fill_queue(path: Path, rows: list[QueuedPing]) -> None:
    with PingQueue(path, max_count=len(rows) + 1) as queue:
        for row in rows:
            queue.put(row)


def wait_delivered(client: pingsdk.PingClient, count: int, cap: float) -> int:
    """Wait until ``count`` pings were sent or ``cap`` seconds passed; returns how many."""
    deadline = time.monotonic() + cap
    while (sent := client.stats().sent) < count and time.monotonic() < deadline:
        client.flush(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
    return sent


# -- 1. submit() latency ------------------------------------------------------------------------


def bench_latency(sizes: Sizes, work: Path, url: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, list[float]]] = {
        name: {"p50": [], "p99": []} for name in ("submit", "relay", "queue_put", "floor")
    }
    for rep in range(sizes.reps):
        runs: dict[str, list[float]] = {
            "queue_put": _floor.queue_put(PING, sizes.latency_n),
            "floor": _floor.durable_floor(PING, sizes.latency_n, work),
        }
        queue_file = work / f"latency-{rep}.db"
        with pingsdk.PingClient(url, queue_path=queue_file) as client:
            for _ in range(200):  # warm up: connections open, statements prepared
                client.submit(PING)
            client.flush(timeout=30)
            runs["submit"] = _floor.time_calls(lambda _i: client.submit(PING), sizes.latency_n)
            sent_during = client.stats().sent - 200
            client.close(timeout=2.0)  # the rest stays in a file that is thrown away
        runs["relay"], relayed = submit_with_relay(url, work / f"relay-{rep}.db", sizes.latency_n)
        print(
            f"  latency rep {rep + 1}: uploader delivered {sent_during} pings while "
            f"{sizes.latency_n} were submitted; `pingsdk relay` (own process, sending during "
            f"and after the timed submits) delivered {relayed} of them",
            file=sys.stderr,
        )
        for name, values in runs.items():
            out[name]["p50"].append(percentile(values, 50))
            out[name]["p99"].append(percentile(values, 99))
    return {name: {k: median_of(v) for k, v in d.items()} for name, d in out.items()}


def submit_with_relay(url: str, queue_file: Path, count: int) -> tuple[list[float], int]:
    """submit() timings of a store-only client (uploader=False) while `pingsdk relay` sends."""
    exe = Path(sys.executable).with_name("pingsdk")
    with pingsdk.PingClient(url, queue_path=queue_file, uploader=False) as app:
        for _ in range(200):  # warm up, and give the relay something to send at once
            app.submit(PING)
        relay = subprocess.Popen(
            [str(exe), "relay", "--queue", str(queue_file), "--endpoint", url],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert relay.stdout is not None
            relay.stdout.readline()
            timings = _floor.time_calls(lambda _i: app.submit(PING), count)
            app.flush(timeout=30)
        finally:
            relay.terminate()
            out, _ = relay.communicate(timeout=30)
    sent = int(out.rsplit("sent ", 1)[1].split(",")[0]) if "sent " in out else 0
    return timings, sent - 200


# -- 2. delivery against the wire limit -----------------------------------------------------------


def raw_loop(url: str, rows: list[QueuedPing]) -> float:
    """Seconds for one keep-alive httpx client to POST every row, one after another."""
    with httpx.Client(base_url=url, timeout=30) as http:
        start = time.perf_counter()
        for row in rows:
            http.post(row.path, content=row.body, headers=dict(row.headers)).raise_for_status()
        return time.perf_counter() - start


async def _async_raw(url: str, rows: list[QueuedPing], concurrency: int) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(row: QueuedPing) -> None:
            async with gate:
                response = await http.post(row.path, content=row.body, headers=dict(row.headers))
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(row) for row in rows))
        return time.perf_counter() - start


def async_raw_loop(url: str, rows: list[QueuedPing], concurrency: int = 8) -> float:
    """Seconds for one ``httpx.AsyncClient`` to POST every row, ``concurrency`` at a time."""
    return asyncio.run(_async_raw(url, rows, concurrency))


@dataclasses.dataclass
class Run:
    rate: float
    delivered: int
    total: int


def pingsdk_delivery(
    url: str, rows: list[QueuedPing], queue_file: Path, cap: float, **options: int
) -> Run:
    """Rate at which a PingClient delivers the rows of a pre-filled queue (stopped at ``cap``)."""
    fill_queue(queue_file, rows)
    start = time.perf_counter()
    client = pingsdk.PingClient(url, queue_path=queue_file, **options)  # type: ignore[arg-type]
    try:
        delivered = wait_delivered(client, len(rows), cap)
        return Run(delivered / (time.perf_counter() - start), delivered, len(rows))
    finally:
        client.close(timeout=2.0)


def bench_delivery(sizes: Sizes, work: Path, url: str) -> dict[str, float | str]:
    sdk, raw, araw, capped = [], [], [], []
    for rep in repetitions(sizes):
        rows = prepared_rows(sizes.delivery_n, url)
        raw.append(sizes.delivery_n / raw_loop(url, rows))
        rows = prepared_rows(sizes.async_n, url)
        araw.append(sizes.async_n / async_raw_loop(url, rows))
        rows = prepared_rows(sizes.delivery_n, url)
        run = pingsdk_delivery(url, rows, work / f"delivery-{rep}.db", sizes.cap)
        sdk.append(run.rate)
        if run.delivered < run.total:
            capped.append(f"{run.delivered}/{run.total}")
        print(
            f"  delivery rep {rep + 1}: pingsdk {run.rate:.0f}/s ({run.delivered} delivered), "
            f"wire {raw[-1]:.0f}/s, async httpx x8 {araw[-1]:.0f}/s",
            file=sys.stderr,
        )
    return {
        "sdk": median_of(sdk),
        "raw": median_of(raw),
        "async": median_of(araw),
        "capped": ", ".join(capped),
    }


# -- 3. a slow edge against a sequential sender ----------------------------------------------------


def bench_slow(sizes: Sizes, work: Path, url: str) -> dict[str, float]:
    sequential, default, wide, araw = [], [], [], []
    for rep in repetitions(sizes):
        rows = prepared_rows(sizes.slow_sequential_n, url)
        sequential.append(sizes.slow_sequential_n / raw_loop(url, rows))
        rows = prepared_rows(sizes.async_n // 2, url)
        araw.append(len(rows) / async_raw_loop(url, rows))
        rows = prepared_rows(sizes.slow_n, url)
        default.append(pingsdk_delivery(url, rows, work / f"slow-{rep}.db", sizes.cap).rate)
        rows = prepared_rows(sizes.slow_n, url)
        wide.append(
            pingsdk_delivery(url, rows, work / f"slow16-{rep}.db", sizes.cap, max_in_flight=16).rate
        )
        print(
            f"  slow rep {rep + 1}: sequential {sequential[-1]:.0f}/s, pingsdk "
            f"{default[-1]:.0f}/s (8 in flight), {wide[-1]:.0f}/s (16 in flight), "
            f"async httpx x8 {araw[-1]:.0f}/s",
            file=sys.stderr,
        )
    return {
        "async": median_of(araw),
        "sequential": median_of(sequential),
        "default": median_of(default),
        "wide": median_of(wide),
    }


# -- report --------------------------------------------------------------------------------


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(
    lat: dict[str, dict[str, float]], dlv: dict[str, float | str], slow: dict[str, float]
) -> str:
    sub, floor, put, relay = lat["submit"], lat["floor"], lat["queue_put"], lat["relay"]
    sdk, wire, araw = float(dlv["sdk"]), float(dlv["raw"]), float(dlv["async"])
    rows: list[tuple[str, str, str, str, str]] = [
        ("measure", "pingsdk", "baseline", "ratio", "target"),
        (
            "submit() p50 vs durable floor",
            us(sub["p50"]),
            us(floor["p50"]),
            f"{sub['p50'] / floor['p50']:.2f}x",
            f"<= 2x: {verdict(sub['p50'] <= 2 * floor['p50'])}",
        ),
        (
            "submit() p99 vs durable floor",
            us(sub["p99"]),
            us(floor["p99"]),
            f"{sub['p99'] / floor['p99']:.2f}x",
            f"<= 500 µs: {verdict(sub['p99'] <= 500e-6)}",
        ),
        (
            "submit() p50, uploader=False + relay",
            us(relay["p50"]),
            us(floor["p50"]),
            f"{relay['p50'] / floor['p50']:.2f}x",
            f"<= 2x: {verdict(relay['p50'] <= 2 * floor['p50'])}",
        ),
        (
            "submit() p99, uploader=False + relay",
            us(relay["p99"]),
            us(floor["p99"]),
            f"{relay['p99'] / floor['p99']:.2f}x",
            f"<= 500 µs: {verdict(relay['p99'] <= 500e-6)}",
        ),
        (
            "submit() p50 vs queue.Queue.put",
            us(sub["p50"]),
            us(put["p50"]),
            f"{sub['p50'] / put['p50']:.0f}x",
            "-",
        ),
        (
            "submit() p99 vs queue.Queue.put",
            us(sub["p99"]),
            us(put["p99"]),
            f"{sub['p99'] / put['p99']:.0f}x",
            "-",
        ),
        (
            "delivery vs wire limit (sync loop)",
            f"{sdk:.0f}/s",
            f"{wire:.0f}/s",
            f"{sdk / wire:.2f}x",
            f">= 0.8x: {verdict(sdk >= 0.8 * wire)}",
        ),
        (
            "delivery vs async httpx, 8 at once",
            f"{sdk:.0f}/s",
            f"{araw:.0f}/s",
            f"{sdk / araw:.2f}x",
            "(reference)",
        ),
        (
            "20 ms edge, 8 in flight (default)",
            f"{slow['default']:.0f}/s",
            f"{slow['sequential']:.0f}/s",
            f"{slow['default'] / slow['sequential']:.1f}x",
            f">= 10x: {verdict(slow['default'] >= 10 * slow['sequential'])}",
        ),
        (
            "20 ms edge, max_in_flight=16",
            f"{slow['wide']:.0f}/s",
            f"{slow['sequential']:.0f}/s",
            f"{slow['wide'] / slow['sequential']:.1f}x",
            f">= 10x: {verdict(slow['wide'] >= 10 * slow['sequential'])}",
        ),
        (
            "20 ms edge, async httpx, 8 at once",
            f"{slow['async']:.0f}/s",
            f"{slow['sequential']:.0f}/s",
            f"{slow['async'] / slow['sequential']:.1f}x",
            "(reference)",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if dlv["capped"]:
        lines.append(f"(delivery runs stopped at the time cap, delivered: {dlv['capped']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, one repetition")
    parser.add_argument("--reps", type=int, help="repetitions per measurement (default 3)")
    args = parser.parse_args(argv)
    sizes = dataclasses.replace(QUICK if args.quick else FULL)
    if args.reps:
        sizes.reps = args.reps
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pingsdk-bench-") as tmp:
        work = Path(tmp)
        with edge() as url:
            print("1/3 submit() latency...", file=sys.stderr)
            lat = bench_latency(sizes, work, url)
            print("2/3 delivery against the wire limit...", file=sys.stderr)
            dlv = bench_delivery(sizes, work, url)
        with edge(latency=0.020) as url:
            print("3/3 delivery over a 20 ms edge...", file=sys.stderr)
            slow = bench_slow(sizes, work, url)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"pingsdk {pingsdk.__version__} bench: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {load:.1f}; medians of up to {sizes.reps} run(s); "
        f"{sizes.latency_n} submits, {sizes.delivery_n} pings delivered, "
        f"{sizes.slow_n} over 20 ms ({sizes.slow_sequential_n} sequential); "
        f"{time.perf_counter() - started:.0f} s"
    )
    sys.stderr.flush()
    print(report(lat, dlv, slow), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
