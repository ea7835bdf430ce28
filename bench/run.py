"""pingsdk benchmarks (``make bench``): every target of issue #12, with PASS or MISSED.

1. ``submit()`` latency, p50 and p99, while the uploader delivers to a local edge, against the
   durable floor (``uuid7()`` + ``model_dump_json()`` + one committed SQLite WAL insert); the
   same with ``durability="buffered"`` when this pingsdk has it; ``uploader=False`` with
   ``pingsdk relay`` for reference.
2. Delivering 3,000 queued pings, against one sync ``httpx.Client`` keep-alive loop posting the
   same gzipped bodies to the same edge, with the edge's CPU use to show it is not the limit.
3. An edge adding 20 ms to every answer, against a sequential sender.
4. ``import pingsdk`` against ``from pydantic import BaseModel; import httpx``, fresh processes.
5. Memory: peak RSS of a process sending a 10,000-ping burst; RSS added by 100,000 pending pings.

The edge (``bench/_edge.py``) is a minimal asyncio HTTP/1.1 server in a process of its own.
Every timing is repeated (``--reps``) and the median quoted. ``--quick`` makes a smoke run with
small counts (the figures mean little).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _floor
from _payload import PING

import pingsdk
from pingsdk._delivery._config import build_config
from pingsdk._delivery._prepare import prepare_ping
from pingsdk._queue import PingQueue, QueuedPing

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass
class Sizes:
    reps: int
    latency_n: int
    delivery_n: int
    async_n: int
    slow_n: int
    slow_sequential_n: int
    import_runs: int
    burst_n: int
    pending_n: int
    cap: float
    """Seconds one delivery run may take; a slower run is stopped and its rate so far quoted."""
    budget: float
    """Seconds a scenario may use: no further repetition starts after that (one always runs)."""


FULL = Sizes(
    reps=3,
    latency_n=3000,
    delivery_n=3000,
    async_n=500,
    slow_n=400,
    slow_sequential_n=100,
    import_runs=10,
    burst_n=10_000,
    pending_n=100_000,
    cap=20.0,
    budget=45.0,
)
QUICK = Sizes(
    reps=1,
    latency_n=500,
    delivery_n=500,
    async_n=200,
    slow_n=100,
    slow_sequential_n=20,
    import_runs=3,
    burst_n=1000,
    pending_n=5000,
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


def child_env(work: Path) -> dict[str, str]:
    """The environment of the processes the bench starts.

    Bytecode is cached (in ``work``, not beside the sources), as it is for an installed package:
    with ``PYTHONDONTWRITEBYTECODE`` set, every fresh process would compile pingsdk's sources
    again (about 75 ms) while pydantic and httpx load their installed bytecode.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


# -- the edge in its own process ------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Edge:
    """A running ``bench/_edge.py``."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the edge process has used so far (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def posts(self) -> int:
        return int(httpx.get(f"{self.url}/__count__", timeout=10).json()["posts"])


@contextlib.contextmanager
def edge(env: dict[str, str], latency: float = 0.0) -> Iterator[Edge]:
    """Run ``bench/_edge.py`` on a free loopback port."""
    cmd = [sys.executable, str(HERE / "_edge.py"), "--latency", str(latency)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "listening on " not in first:
            raise RuntimeError(f"bench/_edge.py did not start: {first!r}")
        running = Edge(first.split("listening on ", 1)[1].strip(), proc.pid)
        running.posts()
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclasses.dataclass
class Timed:
    """One run: its rate and how busy the edge was meanwhile."""

    rate: float
    edge_cpu: float
    """The edge's CPU seconds per wall second (1.0 = one core flat out, its ceiling)."""
    delivered: int
    total: int


def timed(server: Edge, count: int, run: Callable[[], int]) -> Timed:
    """Run ``run`` (which returns how many it delivered) and read the edge's CPU around it."""
    cpu, start = server.cpu_seconds(), time.perf_counter()
    delivered = run()
    wall = time.perf_counter() - start
    return Timed(delivered / wall, (server.cpu_seconds() - cpu) / wall, delivered, count)


# -- helpers -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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


def buffered_unavailable() -> str | None:
    """Why ``durability="buffered"`` cannot be measured, or ``None`` when it can."""
    # Through a dict: a pingsdk without the mode would not type-check the keyword.
    options: dict[str, Any] = {"durability": "buffered"}
    try:
        build_config("http://127.0.0.1:1", **options)
    except (TypeError, pingsdk.ConfigurationError) as exc:
        return f"not available in pingsdk {pingsdk.__version__}: {exc}"
    return None


# -- 1. submit() latency ------------------------------------------------------------------------


def submit_while_delivering(
    url: str, queue_file: Path, count: int, **options: Any
) -> tuple[list[float], int]:
    """Timings of ``count`` submits while the client's uploader delivers; and how many it sent.

    A backlog of ``count`` pings is submitted first, untimed, so the uploader is sending during
    the whole timed window, however fast the submits are.
    """
    with pingsdk.PingClient(url, queue_path=queue_file, **options) as client:
        for _ in range(200):  # warm up: connections open, statements prepared
            client.submit(PING)
        client.flush(timeout=30)
        for _ in range(count):
            client.submit(PING)
        time.sleep(0.1)  # the backlog is committed and on its way
        before = client.stats().sent
        timings = _floor.time_calls(lambda _i: client.submit(PING), count)
        sent_during = client.stats().sent - before
        client.close(timeout=2.0)  # the rest stays in a file that is thrown away
    return timings, sent_during


def bench_latency(
    sizes: Sizes, work: Path, server: Edge, env: dict[str, str]
) -> dict[str, dict[str, float]]:
    names = ["submit", "process", "relay", "queue_put", "floor"]
    buffered = buffered_unavailable() is None
    if buffered:
        names += ["buffered", "buffered_process"]
    out: dict[str, dict[str, list[float]]] = {name: {"p50": [], "p99": []} for name in names}
    for rep in range(sizes.reps):
        runs: dict[str, list[float]] = {
            "queue_put": _floor.queue_put(PING, sizes.latency_n),
            "floor": _floor.durable_floor(PING, sizes.latency_n, work),
        }
        runs["submit"], sent = submit_while_delivering(
            server.url, work / f"latency-{rep}.db", sizes.latency_n
        )
        note = f"  latency rep {rep + 1}: the uploader delivered {sent} pings meanwhile"
        runs["process"], sent = submit_while_delivering(
            server.url, work / f"process-{rep}.db", sizes.latency_n, uploader="process"
        )
        note += f"; uploader='process': {sent}"
        if buffered:
            runs["buffered"], sent = submit_while_delivering(
                server.url, work / f"buffered-{rep}.db", sizes.latency_n, durability="buffered"
            )
            note += f"; buffered: {sent}"
            runs["buffered_process"], sent = submit_while_delivering(
                server.url,
                work / f"buffered-process-{rep}.db",
                sizes.latency_n,
                durability="buffered",
                uploader="process",
            )
            note += f"; buffered, uploader='process': {sent}"
        runs["relay"], relayed = submit_with_relay(
            server.url, work / f"relay-{rep}.db", sizes.latency_n, env
        )
        print(f"{note}; `pingsdk relay` (own process): {relayed}", file=sys.stderr)
        for name, values in runs.items():
            out[name]["p50"].append(percentile(values, 50))
            out[name]["p99"].append(percentile(values, 99))
            if name in ("submit", "process", "buffered", "buffered_process"):
                print(
                    f"    {name}: p50 {us(out[name]['p50'][-1])}, p99 {us(out[name]['p99'][-1])}"
                    f" (floor p50 {us(percentile(runs['floor'], 50))})",
                    file=sys.stderr,
                )
    return {name: {k: statistics.median(v) for k, v in d.items()} for name, d in out.items()}


def submit_with_relay(
    url: str, queue_file: Path, count: int, env: dict[str, str]
) -> tuple[list[float], int]:
    """submit() timings of a store-only client (uploader=False) while `pingsdk relay` sends."""
    exe = Path(sys.executable).with_name("pingsdk")
    with pingsdk.PingClient(url, queue_path=queue_file, uploader=False) as app:
        for _ in range(200):  # warm up, and give the relay something to send at once
            app.submit(PING)
        relay = subprocess.Popen(
            [str(exe), "relay", "--queue", str(queue_file), "--endpoint", url],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
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


# -- 2. delivery against a sync keep-alive loop ---------------------------------------------


def raw_loop(url: str, rows: list[QueuedPing]) -> int:
    """One keep-alive ``httpx.Client`` POSTs every row, one after another; returns the count."""
    with httpx.Client(base_url=url, timeout=30) as http:
        http.get("/__count__")  # the connection is open before the clock starts, as for pingsdk
        for row in rows:
            http.post(row.path, content=row.body, headers=dict(row.headers)).raise_for_status()
    return len(rows)


async def _async_raw(url: str, rows: list[QueuedPing], concurrency: int) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(row: QueuedPing) -> None:
            async with gate:
                response = await http.post(row.path, content=row.body, headers=dict(row.headers))
                response.raise_for_status()

        await asyncio.gather(*(one(row) for row in rows))
    return len(rows)


def async_raw_loop(url: str, rows: list[QueuedPing], concurrency: int = 8) -> int:
    """One ``httpx.AsyncClient`` POSTs every row, ``concurrency`` at a time."""
    return asyncio.run(_async_raw(url, rows, concurrency))


def pingsdk_delivery(
    server: Edge, rows: list[QueuedPing], queue_file: Path, cap: float, **options: int
) -> Timed:
    """A PingClient delivering the rows of a pre-filled queue (stopped at ``cap``)."""
    fill_queue(queue_file, rows)

    def run() -> int:
        client = pingsdk.PingClient(server.url, queue_path=queue_file, **options)  # type: ignore[arg-type]
        try:
            return wait_delivered(client, len(rows), cap)
        finally:
            client.close(timeout=2.0)

    return timed(server, len(rows), run)


def bench_delivery(sizes: Sizes, work: Path, server: Edge) -> dict[str, Any]:
    sdk: list[Timed] = []
    raw: list[Timed] = []
    araw: list[Timed] = []
    for rep in repetitions(sizes):
        rows = prepared_rows(sizes.delivery_n, server.url)
        raw.append(timed(server, len(rows), functools.partial(raw_loop, server.url, rows)))
        rows = prepared_rows(sizes.async_n, server.url)
        araw.append(timed(server, len(rows), functools.partial(async_raw_loop, server.url, rows)))
        rows = prepared_rows(sizes.delivery_n, server.url)
        sdk.append(pingsdk_delivery(server, rows, work / f"delivery-{rep}.db", sizes.cap))
        print(
            f"  delivery rep {rep + 1}: pingsdk {sdk[-1].rate:.0f}/s ({sdk[-1].delivered} "
            f"delivered; edge CPU {sdk[-1].edge_cpu:.0%} of a core), sync loop "
            f"{raw[-1].rate:.0f}/s (edge CPU {raw[-1].edge_cpu:.0%}), async httpx x8 "
            f"{araw[-1].rate:.0f}/s (edge CPU {araw[-1].edge_cpu:.0%})",
            file=sys.stderr,
        )
    return {
        "sdk": statistics.median(t.rate for t in sdk),
        "raw": statistics.median(t.rate for t in raw),
        "async": statistics.median(t.rate for t in araw),
        "sdk_edge_cpu": statistics.median(t.edge_cpu for t in sdk),
        "raw_edge_cpu": statistics.median(t.edge_cpu for t in raw),
        "async_edge_cpu": statistics.median(t.edge_cpu for t in araw),
        # Paired within each repetition, so the machine's drift between repetitions cancels.
        "ratio": statistics.median(s.rate / r.rate for s, r in zip(sdk, raw, strict=True)),
        "capped": ", ".join(f"{t.delivered}/{t.total}" for t in sdk if t.delivered < t.total),
    }


# -- 3. a slow edge against a sequential sender ----------------------------------------------------


def bench_slow(sizes: Sizes, work: Path, server: Edge) -> dict[str, float]:
    sequential, default, wide, araw = [], [], [], []
    for rep in repetitions(sizes):
        rows = prepared_rows(sizes.slow_sequential_n, server.url)
        sequential.append(timed(server, len(rows), functools.partial(raw_loop, server.url, rows)))
        rows = prepared_rows(sizes.async_n // 2, server.url)
        araw.append(timed(server, len(rows), functools.partial(async_raw_loop, server.url, rows)))
        rows = prepared_rows(sizes.slow_n, server.url)
        default.append(pingsdk_delivery(server, rows, work / f"slow-{rep}.db", sizes.cap))
        rows = prepared_rows(sizes.slow_n, server.url)
        wide.append(
            pingsdk_delivery(server, rows, work / f"slow16-{rep}.db", sizes.cap, max_in_flight=16)
        )
        print(
            f"  slow rep {rep + 1}: sequential {sequential[-1].rate:.0f}/s, pingsdk "
            f"{default[-1].rate:.0f}/s (default), {wide[-1].rate:.0f}/s (16 in flight), "
            f"async httpx x8 {araw[-1].rate:.0f}/s",
            file=sys.stderr,
        )
    out = {
        name: statistics.median(t.rate for t in runs)
        for name, runs in (
            ("async", araw),
            ("sequential", sequential),
            ("default", default),
            ("wide", wide),
        )
    }
    out["ratio"] = statistics.median(
        d.rate / s.rate for d, s in zip(default, sequential, strict=True)
    )
    return out


# -- 4. import time ---------------------------------------------------------------------------

IMPORT_BASELINE = "from pydantic import BaseModel; import httpx"
IMPORTS = {
    "baseline": IMPORT_BASELINE,
    "pingsdk": "import pingsdk",
    # What the send path's own libraries cost on top of the baseline, whoever imports them.
    "send_libraries": IMPORT_BASELINE + "; import asyncio, sqlite3, tenacity, uuid6, h11",
    # An application defines a model: pydantic's first model class loads more of pydantic.
    "baseline_model": IMPORT_BASELINE + "\nclass M(BaseModel):\n    x: int",
    "pingsdk_ping": (
        "import pingsdk\nclass P(pingsdk.Ping, namespace='a', doctype='b', version=1):\n"
        "    '''Doc.'''\n    x: int"
    ),
}


def bench_import(sizes: Sizes, work: Path, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """Fresh interpreters running each statement, in turn, round after round.

    Each process's CPU time (user + system, from ``wait4``) and wall time are read. The verdict
    uses CPU time: on a machine shared with other work, wall time also counts the waits for a
    free core, which come and go between two runs (on a quiet machine the two are about equal).
    The ratio of each to the baseline is taken round by round (the machine's speed drifts), and
    the median of those ratios quoted.
    """

    def run(code: str) -> tuple[float, float]:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=work)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode != 0:
            raise RuntimeError(f"python -c {code!r} exited with {proc.returncode}")
        return usage.ru_utime + usage.ru_stime, wall

    for code in IMPORTS.values():
        run(code)  # writes the bytecode cache
    cpu: dict[str, list[float]] = {name: [] for name in IMPORTS}
    wall: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(sizes.import_runs):
        for name, code in IMPORTS.items():
            used, took = run(code)
            cpu[name].append(used)
            wall[name].append(took)

    def against(name: str, base: str) -> dict[str, float]:
        def ratio(figures: dict[str, list[float]]) -> float:
            pairs = zip(figures[name], figures[base], strict=True)
            return statistics.median(a / b for a, b in pairs)

        return {
            "cpu": statistics.median(cpu[name]),
            "base_cpu": statistics.median(cpu[base]),
            "ratio": ratio(cpu),
            "wall": statistics.median(wall[name]),
            "base_wall": statistics.median(wall[base]),
            "wall_ratio": ratio(wall),
        }

    out = {
        "pingsdk": against("pingsdk", "baseline"),
        "send_libraries": against("send_libraries", "baseline"),
        "with_model": against("pingsdk_ping", "baseline_model"),
    }
    for name, figures in out.items():
        print(
            f"  import {name}: CPU {figures['cpu'] * 1e3:.0f} ms vs {figures['base_cpu'] * 1e3:.0f}"
            f" ms ({figures['ratio']:.2f}x); wall {figures['wall'] * 1e3:.0f} ms vs "
            f"{figures['base_wall'] * 1e3:.0f} ms ({figures['wall_ratio']:.2f}x)",
            file=sys.stderr,
        )
    return out


# -- 5. memory ------------------------------------------------------------------------------


def memory_probe(env: dict[str, str], *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(HERE / "_memory.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench/_memory.py {args[0]} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.splitlines()[-1]))


def bench_memory(sizes: Sizes, work: Path, server: Edge, env: dict[str, str]) -> dict[str, Any]:
    burst = memory_probe(env, "burst", server.url, str(sizes.burst_n), str(work / "burst.db"))
    print(
        f"  burst: {burst['sent']:.0f} of {sizes.burst_n} delivered, submitted in "
        f"{burst['submit_s']:.1f} s, all delivered after {burst['total_s']:.1f} s; RSS before "
        f"the client {burst['rss_before_mib']:.1f} MiB",
        file=sys.stderr,
    )
    pending = memory_probe(env, "pending", str(sizes.pending_n), str(work / "pending.db"))
    print(
        f"  pending: {pending['pending']:.0f} pending, RSS {pending['rss_mib']:.1f} MiB",
        file=sys.stderr,
    )
    return {"burst": burst, "pending": pending}


# -- report --------------------------------------------------------------------------------


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def ms(figures: dict[str, float], prefix: str = "", *, wall: bool = False) -> str:
    """An import row's figure: median CPU (or wall) milliseconds."""
    return f"{figures[prefix + ('wall' if wall else 'cpu')] * 1e3:.0f} ms"


def verdict(ok: bool | None) -> str:
    return "(reference)" if ok is None else ("PASS" if ok else "MISSED")


Row = tuple[str, str, str, str, str, str]


def latency_rows(
    label: str, figures: dict[str, float], floor: dict[str, float], *, buffered: bool = False
) -> list[Row]:
    """The p50 and p99 rows of one way of submitting, against the floor and its targets."""
    if buffered:
        targets = (("<= 12 µs", figures["p50"] <= 12e-6), ("<= 100 µs", figures["p99"] <= 100e-6))
    else:
        targets = (
            ("<= 2x floor", figures["p50"] <= 2 * floor["p50"]),
            ("<= 500 µs", figures["p99"] <= 500e-6),
        )
    return [
        (
            f"{label.format(p=p)}",
            us(figures[p]),
            us(floor[p]) + " floor",
            f"{figures[p] / floor[p]:.2f}x",
            target,
            verdict(ok),
        )
        for p, (target, ok) in zip(("p50", "p99"), targets, strict=True)
    ]


def report(
    sizes: Sizes,
    lat: dict[str, dict[str, float]],
    dlv: dict[str, Any],
    slow: dict[str, float],
    imp: dict[str, dict[str, float]],
    mem: dict[str, Any],
) -> str:
    sub, floor, put, relay = lat["submit"], lat["floor"], lat["queue_put"], lat["relay"]
    sdk, wire, araw = float(dlv["sdk"]), float(dlv["raw"]), float(dlv["async"])
    n = f"{sizes.delivery_n:,}"
    rows: list[Row] = [
        ("measure", "pingsdk", "baseline", "ratio", "target", "verdict"),
        *latency_rows("submit() {p} while delivering", sub, floor),
        *latency_rows('submit() {p} uploader="process"', lat["process"], floor),
    ]
    buffered = lat.get("buffered")
    if buffered is None:
        why = buffered_unavailable() or "not measured"
        rows += [
            ("buffered submit() p50, delivering", "not available", "-", "-", "<= 12 µs", why),
            ("buffered submit() p99, delivering", "not available", "-", "-", "<= 100 µs", "-"),
        ]
    else:
        rows += latency_rows("buffered submit() {p}, delivering", buffered, floor, buffered=True)
        rows += latency_rows(
            'buffered submit() {p}, uploader="process"',
            lat["buffered_process"],
            floor,
            buffered=True,
        )
    rows += [
        (
            "submit() p50, uploader=False + relay",
            us(relay["p50"]),
            us(floor["p50"]) + " floor",
            f"{relay['p50'] / floor['p50']:.2f}x",
            "-",
            verdict(None),
        ),
        (
            "submit() p99, uploader=False + relay",
            us(relay["p99"]),
            us(floor["p99"]) + " floor",
            f"{relay['p99'] / floor['p99']:.2f}x",
            "-",
            verdict(None),
        ),
        (
            "submit() p50 vs queue.Queue.put",
            us(sub["p50"]),
            us(put["p50"]),
            f"{sub['p50'] / put['p50']:.0f}x",
            "-",
            verdict(None),
        ),
        (
            f"delivering {n} pings vs sync loop",
            f"{sdk:.0f}/s",
            f"{wire:.0f}/s",
            f"{dlv['ratio']:.2f}x",
            ">= 0.8x",
            verdict(dlv["ratio"] >= 0.8),
        ),
        (
            "delivering vs async httpx, 8 at once",
            f"{sdk:.0f}/s",
            f"{araw:.0f}/s",
            f"{sdk / araw:.2f}x",
            "-",
            verdict(None),
        ),
        (
            "20 ms edge vs sequential sender",
            f"{slow['default']:.0f}/s",
            f"{slow['sequential']:.0f}/s",
            f"{slow['ratio']:.1f}x",
            ">= 10x",
            verdict(slow["ratio"] >= 10),
        ),
        (
            "20 ms edge, max_in_flight=16",
            f"{slow['wide']:.0f}/s",
            f"{slow['sequential']:.0f}/s",
            f"{slow['wide'] / slow['sequential']:.1f}x",
            "-",
            verdict(None),
        ),
        (
            "20 ms edge, async httpx, 8 at once",
            f"{slow['async']:.0f}/s",
            f"{slow['sequential']:.0f}/s",
            f"{slow['async'] / slow['sequential']:.1f}x",
            "-",
            verdict(None),
        ),
        (
            "import pingsdk (CPU time)",
            ms(imp["pingsdk"]),
            ms(imp["pingsdk"], "base_"),
            f"{imp['pingsdk']['ratio']:.2f}x",
            "<= 1.15x",
            verdict(imp["pingsdk"]["ratio"] <= 1.15),
        ),
        (
            "import pingsdk (wall time)",
            ms(imp["pingsdk"], wall=True),
            ms(imp["pingsdk"], "base_", wall=True),
            f"{imp['pingsdk']['wall_ratio']:.2f}x",
            "-",
            verdict(None),
        ),
        (
            "import asyncio+sqlite3+tenacity+uuid6+h11",
            ms(imp["send_libraries"]),
            ms(imp["send_libraries"], "base_"),
            f"{imp['send_libraries']['ratio']:.2f}x",
            "-",
            verdict(None),
        ),
        (
            "import pingsdk + one Ping class",
            ms(imp["with_model"]),
            ms(imp["with_model"], "base_") + " +model",
            f"{imp['with_model']['ratio']:.2f}x",
            "-",
            verdict(None),
        ),
        (
            f"peak RSS, {sizes.burst_n:,}-ping burst",
            f"{mem['burst']['peak_mib']:.1f} MiB",
            "-",
            "-",
            "<= 45 MiB",
            verdict(mem["burst"]["peak_mib"] <= 45 and mem["burst"]["sent"] == sizes.burst_n),
        ),
        (
            f"RSS added by {sizes.pending_n:,} pending",
            f"{mem['pending']['added_mib']:.1f} MiB",
            "-",
            "-",
            "<= 20 MiB",
            verdict(
                mem["pending"]["added_mib"] <= 20 and mem["pending"]["pending"] == sizes.pending_n
            ),
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        f"edge (one asyncio thread; 100% = one core, its ceiling): CPU "
        f"{dlv['raw_edge_cpu']:.0%} during the sync loop ({wire:.0f}/s), "
        f"{dlv['sdk_edge_cpu']:.0%} during pingsdk ({sdk:.0f}/s), "
        f"{dlv['async_edge_cpu']:.0%} during async httpx x8 ({araw:.0f}/s)"
    )
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
        env = child_env(work)
        print("1/5 import time...", file=sys.stderr)
        imp = bench_import(sizes, work, env)
        with edge(env) as server:
            print("2/5 submit() latency...", file=sys.stderr)
            lat = bench_latency(sizes, work, server, env)
            print("3/5 delivery against a sync keep-alive loop...", file=sys.stderr)
            dlv = bench_delivery(sizes, work, server)
            print("4/5 memory...", file=sys.stderr)
            mem = bench_memory(sizes, work, server, env)
        with edge(env, latency=0.020) as server:
            print("5/5 delivery over a 20 ms edge...", file=sys.stderr)
            slow = bench_slow(sizes, work, server)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"pingsdk {pingsdk.__version__} bench: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {load:.1f}; medians of up to {sizes.reps} run(s); "
        f"{sizes.latency_n} submits, {sizes.delivery_n} pings delivered, "
        f"{sizes.slow_n} over 20 ms ({sizes.slow_sequential_n} sequential), "
        f"{sizes.import_runs} fresh interpreters each; {time.perf_counter() - started:.0f} s"
    )
    sys.stderr.flush()
    print(report(sizes, lat, dlv, slow, imp, mem), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
