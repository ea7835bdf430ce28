"""``pingsdk serve`` (the local edge) and ``pingsdk monitor`` (its docType report as a table)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import types
from typing import Any

import httpx

from pingsdk._cli import Commands
from pingsdk._cli._monitor import (
    add_monitor_arguments,
    add_serve_arguments,
    format_edge_alerts,
    serve_options,
    suggest_command,
    with_replayed_alerts,
)
from pingsdk._exceptions import ConfigurationError
from pingsdk.edge import EdgeServer, FaultPlan, format_report
from pingsdk.edge._monitor import build_report
from pingsdk.edge._store import DEFAULT_MEMORY_RECORDS, open_readonly

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``serve`` and ``monitor`` to the top-level commands."""
    serve = commands.top.add_parser(
        "serve",
        help="run a local validating edge server",
        description="Run a local edge that answers like the HTTP edge contract, validates "
        "pings against a schema-repository tree, stores them and reports on them. Prints the "
        "URL it serves on the first line and runs until SIGINT or SIGTERM. Without --db it "
        f"keeps the newest {DEFAULT_MEMORY_RECORDS:,} requests in memory (--max-records); the "
        "monitor's numbers and duplicate detection still count every request. "
        "With -v it logs one line per request: status, method, path and verdict or reason.",
    )
    serve.add_argument("--schemas", metavar="DIR", help="schema-repository tree (schemas/<ns>/...)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument(
        "--db", metavar="FILE", help="SQLite file to store requests in (created owner-only)"
    )
    serve.add_argument(
        "--max-records",
        type=int,
        default=None,
        metavar="N",
        help=f"keep only the newest N requests (default: {DEFAULT_MEMORY_RECORDS:,} in memory, "
        "all with --db)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="answer 400 for invalid or undecodable pings and 404 for unknown doctypes "
        "(default: 200 and the verdict is recorded, like the real edge)",
    )
    serve.add_argument(
        "--request-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="a request must arrive within this from its first byte; idle connections are "
        "closed after it (default: 10)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=32,
        metavar="N",
        help="threads answering requests; waiting connections need none (default: 32)",
    )
    serve.add_argument("--fault-rate", type=float, default=0.0, metavar="R", help="0.0 to 1.0")
    serve.add_argument(
        "--fault-kinds",
        default="500,503,429,reset,timeout",
        metavar="KINDS",
        help="comma-separated: 4xx/5xx statuses, reset, timeout",
    )
    serve.add_argument("--latency", type=float, default=0.0, metavar="SECONDS")
    serve.add_argument("--retry-after", type=int, default=1, metavar="SECONDS")
    serve.add_argument("--seed", type=int, default=None, help="seed of the fault draw")
    add_serve_arguments(serve)
    serve.set_defaults(func=_serve)

    monitor = commands.top.add_parser(
        "monitor",
        help="print what a local edge received, per doctype",
        description="Print the docType monitor of a local edge as a table, with the alerts of "
        "the docType monitor thresholds it evaluates (pingsdk serve --monitor, or TARGET "
        "replayed over --db); with --suggest, propose thresholds from its records or from "
        "TARGET's validation examples.",
    )
    source = monitor.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", metavar="FILE", help="the database of `pingsdk serve --db`")
    source.add_argument("--url", help="a running edge, e.g. http://127.0.0.1:8000")
    monitor.add_argument("--json", action="store_true", help="print the JSON document instead")
    add_monitor_arguments(monitor, source)
    monitor.set_defaults(func=_monitor)


def _serve(args: argparse.Namespace) -> int:
    kinds = tuple(k for k in args.fault_kinds.split(",") if k.strip())
    plan = FaultPlan(
        rate=args.fault_rate,
        kinds=kinds,
        latency=args.latency,
        retry_after=args.retry_after,
        seed=args.seed,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        done.set()

    edge = EdgeServer(
        schemas=args.schemas,
        db=args.db,
        strict=args.strict,
        host=args.host,
        port=args.port,
        faults=plan,
        socket_timeout=args.request_timeout,
        max_records=args.max_records,
        workers=args.workers,
        **serve_options(args),
    )
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with edge:
            print(f"pingsdk edge serving on {edge.url}", flush=True)
            schemas = len(edge.schemas) if edge.schemas is not None else 0
            mode = "strict" if args.strict else "lenient"
            kept = edge.store.max_records
            store = args.db or "memory"
            limit = f", newest {kept:,} kept" if kept is not None else ""
            print(f"{schemas} schemas, {mode} mode, store: {store}{limit}", flush=True)
            if edge.alerting.board:
                print(f"docType monitor: a day lasts {args.monitor_window}", flush=True)
            while not done.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("pingsdk edge stopped", flush=True)
    return 0


def _monitor(args: argparse.Namespace) -> int:
    if args.suggest or args.examples:
        return suggest_command(args)
    report: dict[str, Any]
    if args.url:
        try:
            response = httpx.get(args.url.rstrip("/") + "/__monitor__", timeout=10.0)
            response.raise_for_status()
            report = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ConfigurationError(f"{args.url}: no edge monitor there ({exc})") from None
    else:
        store = open_readonly(args.db)
        try:
            report = build_report(store.summary_rows(), store.fault_counts())
        finally:
            store.close()
    report = with_replayed_alerts(args, report)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(format_report(report))
        sys.stdout.write(format_edge_alerts(report))
    return 0
