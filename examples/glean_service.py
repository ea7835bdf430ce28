"""A Python service sending Glean pings with pingsdk.glean: what a team moving off glean-sdk does.

    python examples/glean_service.py --endpoint http://127.0.0.1:8000 --queue /tmp/glean.db

It loads its metrics and pings from ``examples/glean/metrics.yaml`` and ``pings.yaml`` (read by
glean_parser: ``pip install 'pingsdk[glean]'``), handles a few simulated requests, submits its
``usage`` ping every ``--interval`` requests (reason ``periodic``) and once more at shutdown
(reason ``shutdown``), then waits up to ``--timeout`` seconds for delivery. It exits 0 only
when nothing due is left unsent; what could not be delivered is sent by the next run.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from pathlib import Path

import pingsdk
from pingsdk import glean

HERE = Path(__file__).resolve().parent / "glean"


def handle_request(metrics: glean.Namespace, rng: random.Random) -> None:
    """Pretend to serve one request, recording what a real handler would."""
    service = metrics.report_service
    with service.latency.measure():
        time.sleep(rng.uniform(0.001, 0.005))
    outcome = rng.choices(["ok", "client_error", "server_error"], weights=[90, 8, 2])[0]
    service.requests[outcome].add()
    if outcome == "ok" and rng.random() < 0.5:
        service.report_generated.record({"format": rng.choice(["pdf", "csv"])})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="edge base URL")
    parser.add_argument("--queue", required=True, help="queue (and metrics) file")
    parser.add_argument("--requests", type=int, default=30, help="requests to simulate")
    parser.add_argument("--interval", type=int, default=10, help="requests per usage ping")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for delivery")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="service: %(levelname)s %(message)s")

    # Short retry delays so the example is quick; production code keeps the defaults.
    retry = pingsdk.RetryPolicy(initial_delay=0.2, max_delay=1.0)
    with pingsdk.PingClient(args.endpoint, queue_path=args.queue, retry=retry) as client:
        app = glean.GleanApp(
            "org.example.ReportService",
            client=client,
            app_build="2026.12.1",
            app_display_version="3.1.0",
            app_channel="production",
        )
        metrics = app.load_metrics(HERE / "metrics.yaml")
        pings = app.load_pings(HERE / "pings.yaml")
        metrics.report_service.storage_backend.set("postgres")

        rng = random.Random(7)
        for number in range(1, args.requests + 1):
            handle_request(metrics, rng)
            if number % args.interval == 0:
                doc_id = pings.usage.submit("periodic")
                print(f"service: stored usage ping {doc_id}")
        doc_id = pings.usage.submit("shutdown")
        print(f"service: stored usage ping {doc_id}")
        delivered = client.flush(timeout=args.timeout)
        stats = client.stats()
    print(f"service: sent {stats.sent}, still queued {stats.pending}")
    return 0 if delivered and stats.pending == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
