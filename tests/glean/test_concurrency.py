"""Threads recording while others submit: nothing is lost or counted twice, seq has no gaps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.glean.support import METRICS_YAML, PINGS_YAML, AppFactory, stored_pings

THREADS = 6
ADDS = 400


def test_recording_while_submitting_loses_and_doubles_nothing(
    make_app: AppFactory, queue_file: Path
) -> None:
    app = make_app()
    metrics = app.load_metrics(METRICS_YAML)
    pings = app.load_pings(PINGS_YAML)
    core = metrics.service_core
    start = threading.Barrier(THREADS + 2)
    recording = threading.Event()

    def record() -> None:
        start.wait()
        for i in range(ADDS):
            core.requests.add()
            core.dynamic_labels["a" if i % 2 else "b"].add()
            core.app_starts.add()  # application lifetime: in SQLite, never cleared
            metrics.service_events.request_done.record({"method": "GET"})

    def submit() -> None:
        start.wait()
        while not recording.is_set():
            pings.service.submit()
            # The persisted counter makes every ping non-empty: pace the submits so that the
            # queue (10,000 pings at most) never has to evict one.
            time.sleep(0.002)

    workers = [threading.Thread(target=record) for _ in range(THREADS)]
    submitter = threading.Thread(target=submit)
    for thread in [*workers, submitter]:
        thread.start()
    start.wait()
    for thread in workers:
        thread.join()
    recording.set()
    submitter.join()
    pings.service.submit()

    payloads = [p for path, p, _ in stored_pings(queue_file) if "/service/" in path]
    assert len(payloads) >= 2  # submits really interleaved with recording
    assert [p["ping_info"]["seq"] for p in payloads] == list(range(len(payloads)))
    total = THREADS * ADDS
    counted = sum(p.get("metrics", {}).get("counter", {}).get("service.core.requests", 0)
                  for p in payloads)  # fmt: skip
    assert counted == total
    labeled = [
        p.get("metrics", {}).get("labeled_counter", {}).get("service.core.dynamic_labels", {})
        for p in payloads
    ]
    assert sum(sum(d.values()) for d in labeled) == total
    assert sum(len(p.get("events", [])) for p in payloads) == total
    last = payloads[-1]["metrics"]["counter"]["service.core.app_starts"]
    assert last == total  # the persisted counter saw every add exactly once
