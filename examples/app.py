"""An application that sends pings: what a team's service or CLI tool does with pingsdk.

    python examples/app.py --endpoint http://127.0.0.1:8000 --queue /tmp/pings.db

It submits a day's search counts and two session summaries through :class:`pingsdk.PingClient`
(durable as soon as ``submit()`` returns), waits up to ``--timeout`` seconds for delivery, and
exits 0 only when nothing due is left unsent. Pings that could not be delivered stay in the
queue file and are sent by the next run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pings import SearchCounts, realistic_session

import pingsdk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="edge base URL")
    parser.add_argument("--queue", required=True, help="queue file")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for delivery")
    parser.add_argument("--debug-id", default=None, help="X-Debug-ID to tag the pings with")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="app: %(levelname)s %(message)s")

    # Short delays so the demo is quick; production code keeps the defaults (1 min .. 2 h).
    retry = pingsdk.RetryPolicy(initial_delay=0.2, max_delay=1.0)
    with pingsdk.PingClient(
        args.endpoint, queue_path=args.queue, retry=retry, debug_id=args.debug_id
    ) as client:
        for engine, count in (("ddg", 3), ("wikipedia", 1), ("example-search", 12)):
            doc_id = client.submit(SearchCounts(engine=engine, count=count))
            print(f"app: submitted search-counts {doc_id} ({engine})")
        for reason in ("closed", "updated"):
            doc_id = client.submit(realistic_session(end_reason=reason))
            print(f"app: submitted session-summary {doc_id}")
        delivered = client.flush(timeout=args.timeout)
        stats = client.stats()
    print(
        f"app: sent {stats.sent}, retried {stats.retried}, dropped {sum(stats.dropped.values())}, "
        f"still queued {stats.pending}"
    )
    return 0 if delivered and stats.pending == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
