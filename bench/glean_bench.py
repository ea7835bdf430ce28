"""pingsdk.glean against the Glean SDK (glean-sdk, installed only here), side by side.

    python bench/glean_bench.py [--quick] [--burst-wait SECONDS]

1. Recording a counter and submitting a small ping: p50/p99 of the two calls, timed together.
2. A 1,000-ping burst to a local edge: pings delivered, time until all were delivered (or
   how many within the wait), pings lost. For glean-sdk, lost is counted after a restart: its
   pending-pings quota (500) is enforced when it scans its pending directory at start.
3. Memory (RSS) after the burst, and import time (median of fresh interpreters).

glean-sdk goes into its own venv under /tmp (created on first use with ``pip install
glean-sdk``); each SDK runs in its own process, so neither shares a GIL or an import with the
other. The edge is an in-process :class:`pingsdk.edge.EdgeServer` in this (orchestrating)
process, which only counts what arrives.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from pingsdk.edge import EdgeServer

GLEAN_VENV = Path(tempfile.gettempdir()) / "pingsdk-glean-bench-venv"
ROOT = Path(__file__).resolve().parents[1]

METRICS_YAML = """---
$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0
bench:
  requests:
    type: counter
    description: Requests.
    bugs: [https://example.com/1]
    data_reviews: [https://example.com/1]
    notification_emails: [bench@example.com]
    expires: never
    send_in_pings: [small, burst]
"""
PINGS_YAML = """---
$schema: moz://mozilla.org/schemas/glean/pings/2-0-0
small:
  description: A small ping.
  include_client_id: true
  bugs: [https://example.com/1]
  data_reviews: [https://example.com/1]
  notification_emails: [bench@example.com]
burst:
  description: The burst's ping.
  include_client_id: true
  bugs: [https://example.com/1]
  data_reviews: [https://example.com/1]
  notification_emails: [bench@example.com]
"""

# Both children print one JSON line: latencies (µs), burst submit time, RSS after the burst.
# The burst ends by closing (pingsdk: flush for the wait; glean-sdk: its uploader keeps going in
# its own process, so the orchestrator waits on the edge instead).
PINGSDK_CHILD = r"""
import json, sys, time
from pathlib import Path
from pingsdk import PingClient
from pingsdk.glean import GleanApp
url, work = sys.argv[1], Path(sys.argv[2])
latency_n, burst_n, wait = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
client = PingClient(url, queue_path=work / "queue.db")
app = GleanApp("glean-bench", client=client)
metrics = app.load_metrics(work / "metrics.yaml")
pings = app.load_pings(work / "pings.yaml")
counter = metrics.bench.requests
lat = []
for i in range(latency_n + 50):
    t = time.perf_counter()
    counter.add()
    pings.small.submit()
    if i >= 50:
        lat.append((time.perf_counter() - t) * 1e6)
client.flush(timeout=30)
t0, t = time.time(), time.perf_counter()
for _ in range(burst_n):
    counter.add()
    pings.burst.submit()
submitted = time.perf_counter() - t
client.flush(timeout=wait)
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
print(json.dumps({"latency": lat, "submit_s": submitted, "rss_kib": rss, "t0": t0}), flush=True)
client.close(1.0)
"""

GLEAN_CHILD = r"""
import json, sys, time
from pathlib import Path
from glean import Configuration, Glean, load_metrics, load_pings
url, work = sys.argv[1], Path(sys.argv[2])
latency_n, burst_n, wait = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
Glean.initialize(application_id="glean-bench", application_version="1.0", upload_enabled=True,
                 data_dir=work / "glean", configuration=Configuration(server_endpoint=url))
metrics = load_metrics(work / "metrics.yaml")
pings = load_pings(work / "pings.yaml")
counter = metrics.bench.requests
lat = []
for i in range(latency_n + 50):
    t = time.perf_counter()
    counter.add()
    pings.small.submit()
    if i >= 50:
        lat.append((time.perf_counter() - t) * 1e6)
t0, t = time.time(), time.perf_counter()
for _ in range(burst_n):
    counter.add()
    pings.burst.submit()
submitted = time.perf_counter() - t
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
print(json.dumps({"latency": lat, "submit_s": submitted, "rss_kib": rss, "t0": t0}), flush=True)
time.sleep(wait)  # its upload process keeps sending meanwhile
"""

# A restart of glean-sdk on the same data directory: its start-up scan applies the quota.
GLEAN_RESTART = r"""
import sys, time
from pathlib import Path
from glean import Configuration, Glean
work = Path(sys.argv[1])
Glean.initialize(application_id="glean-bench", application_version="1.0", upload_enabled=False,
                 data_dir=work / "glean", configuration=Configuration(server_endpoint="http://127.0.0.1:9"))
time.sleep(3)
"""

IMPORT = (
    "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def glean_python() -> Path | None:
    """The bench venv's interpreter with glean-sdk, creating it if needed; None if impossible."""
    python = GLEAN_VENV / "bin" / "python"
    check = [str(python), "-c", "import glean"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    print(f"creating {GLEAN_VENV} with glean-sdk ...", file=sys.stderr)
    venv.create(GLEAN_VENV, with_pip=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "glean-sdk"],
        capture_output=True,
        text=True,
        check=False,
    )
    if install.returncode != 0:
        print(f"glean-sdk could not be installed:\n{install.stderr[-2000:]}", file=sys.stderr)
        return None
    return python


def import_ms(python: str, module: str, reps: int) -> float:
    runs = []
    for _ in range(reps):
        out = subprocess.run(
            [python, "-c", IMPORT.format(module=module)], capture_output=True, text=True, check=True
        )
        runs.append(float(out.stdout.strip()))
    return statistics.median(runs)


def run_sdk(
    name: str, python: str, child: str, latency_n: int, burst_n: int, wait: float
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, EdgeServer() as edge:
        work = Path(tmp)
        (work / "metrics.yaml").write_text(METRICS_YAML)
        (work / "pings.yaml").write_text(PINGS_YAML)
        env = {**os.environ, "PYTHONPATH": str(ROOT)} if name == "pingsdk" else dict(os.environ)
        proc = subprocess.Popen(
            [python, "-c", child, edge.url, str(work), str(latency_n), str(burst_n), str(wait)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{name}: the child printed nothing")
        result: dict[str, object] = json.loads(line)
        deadline = time.monotonic() + wait + 5
        while time.monotonic() < deadline:
            if sum(1 for r in edge.received() if r.doctype == "burst") >= burst_n:
                break
            if proc.poll() is not None and name == "pingsdk":
                break
            time.sleep(0.2)
        proc.terminate()
        proc.wait(30)
        received = edge.received()
        burst = [r for r in received if r.doctype == "burst"]
        delivered = len({r.doc_id for r in burst})
        # From the first burst submit to the arrival of the last burst ping.
        all_in = (
            max(r.received_at for r in burst) - float(result["t0"])  # type: ignore[arg-type]
            if delivered >= burst_n
            else None
        )
        small = len({r.doc_id for r in received if r.doctype == "small"})
        if name == "glean-sdk":
            subprocess.run(
                [python, "-c", GLEAN_RESTART, str(work)],
                capture_output=True,
                timeout=60,
                check=False,
            )
            pending_dir = work / "glean" / "pending_pings"
            pending = len(list(pending_dir.iterdir())) if pending_dir.is_dir() else 0
            # Pending pings after the restart are the small and burst ones not yet sent.
            lost = max(0, (latency_n + 50 + burst_n) - small - delivered - pending)
        else:
            queue = work / "queue.db"
            import sqlite3

            with sqlite3.connect(queue) as conn:
                pending = conn.execute("SELECT count(*) FROM pings").fetchone()[0]
            lost = max(0, (latency_n + 50 + burst_n) - small - delivered - pending)
        result.update(
            delivered=delivered,
            delivered_all=small + delivered,
            submitted_all=latency_n + 50 + burst_n,
            all_in_s=all_in,
            pending=pending,
            lost=lost,
            waited_s=wait,
        )
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument(
        "--burst-wait", type=float, default=120.0, help="seconds each SDK gets to deliver the burst"
    )
    args = parser.parse_args()
    latency_n, burst_n = (100, 100) if args.quick else (500, 1000)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, "
          f"Python {platform.python_version()}")  # fmt: skip
    sdks: list[tuple[str, str, str, str]] = [
        ("pingsdk", sys.executable, PINGSDK_CHILD, "pingsdk.glean")
    ]
    glean = glean_python()
    if glean is not None:
        sdks.append(("glean-sdk", str(glean), GLEAN_CHILD, "glean"))
    else:
        print("# glean-sdk: not installable here; its column is empty")
    results = {}
    for name, python, child, module in sdks:
        result = run_sdk(name, python, child, latency_n, burst_n, args.burst_wait)
        result["import_ms"] = import_ms(python, module, 3 if args.quick else 5)
        results[name] = result
    print(f"{'measure':44} " + " ".join(f"{n:>14}" for n in results))
    rows = [
        ("counter add + small submit p50 (µs)", lambda r: f"{percentile(r['latency'], 50):.0f}"),
        ("counter add + small submit p99 (µs)", lambda r: f"{percentile(r['latency'], 99):.0f}"),
        (f"burst: {burst_n} submits took (s)", lambda r: f"{r['submit_s']:.2f}"),
        ("pings submitted in the run (all phases)", lambda r: str(r["submitted_all"])),
        (
            f"delivered within {args.burst_wait:.0f} s (all phases)",
            lambda r: str(r["delivered_all"]),
        ),
        (f"burst pings delivered within {args.burst_wait:.0f} s", lambda r: str(r["delivered"])),
        (
            "burst: time to deliver all (s)",
            lambda r: "-" if r["all_in_s"] is None else f"{r['all_in_s']:.1f}",
        ),
        ("still pending (glean-sdk: after a restart)", lambda r: str(r["pending"])),
        ("lost (neither delivered nor pending)", lambda r: str(r["lost"])),
        ("RSS after the burst (MiB)", lambda r: f"{int(r['rss_kib']) / 1024:.1f}"),
        ("import time (ms, median)", lambda r: f"{r['import_ms']:.0f}"),
    ]
    for label, fmt in rows:
        print(f"{label:44} " + " ".join(f"{fmt(r):>14}" for r in results.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
