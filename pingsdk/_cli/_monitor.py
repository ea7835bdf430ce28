"""``pingsdk schema monitor`` (the docType monitor ``.cfg`` ops deploy) and the logic of
``pingsdk monitor``'s alerts and ``--suggest`` (thresholds derived from a local edge's records or
from the validation examples).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pingsdk import ConfigurationError, Ping
from pingsdk._cli import Commands
from pingsdk._model._loader import load_pings
from pingsdk._naming import lookup_name
from pingsdk.monitoring import DocTypeMonitor, render_monitor_config
from pingsdk.monitoring._alerts import Submission, parse_window
from pingsdk.monitoring._board import (
    AlertBoard,
    ChannelStats,
    RecordLike,
    submission_from_record,
)
from pingsdk.monitoring._config import monitor_config_name
from pingsdk.monitoring._thresholds import CHANNELS, normalize_channel

__all__ = [
    "Suggestion",
    "add_monitor_arguments",
    "add_serve_arguments",
    "alerts_report",
    "channel_stats",
    "example_submissions",
    "format_edge_alerts",
    "format_suggestions",
    "record_submissions",
    "register",
    "serve_options",
    "suggest",
    "suggest_command",
    "with_replayed_alerts",
    "write_configs",
]


def register(commands: Commands) -> None:
    """Add ``schema monitor``."""
    monitor = commands.schema.add_parser(
        "monitor",
        help="write the docType monitor configuration of each ping",
        description=(
            "Write <namespace>-<doctype>.cfg for each Ping class in TARGET (a module or .py "
            "file) declared with monitor=pingsdk.monitoring.DocTypeMonitor(...): the "
            "configuration of "
            "moz_telemetry_doctype_monitor.lua that ops deploy. Classes without monitor= are "
            "listed on stderr and skipped."
        ),
    )
    monitor.add_argument("target", metavar="TARGET")
    monitor.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="output directory (default: the current directory)",
    )
    monitor.set_defaults(func=_schema_monitor)


def _schema_monitor(args: argparse.Namespace) -> int:
    pings = load_pings(args.target)
    for path in write_configs(pings, args.out):
        print(path)
    return 0


def write_configs(pings: Sequence[type[Ping]], out: Path) -> list[Path]:
    """Write one ``.cfg`` per docType (the newest version's thresholds); return the paths."""
    newest: dict[tuple[str, str], type[Ping]] = {}
    for cls in pings:
        info = cls.ping_info()
        if info.monitor is None:
            print(
                f"pingsdk: {cls.__qualname__} declares no "
                "monitor=pingsdk.monitoring.DocTypeMonitor(...); "
                "skipped",
                file=sys.stderr,
            )
            continue
        key = (info.namespace, info.doctype)
        if key not in newest or newest[key].ping_info().version < info.version:
            newest[key] = cls
    if not newest:
        raise ConfigurationError(
            "no Ping class declares monitor=pingsdk.monitoring.DocTypeMonitor(...); "
            "see docs/monitoring.md"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cls in newest.values():
        path = out / monitor_config_name(cls.ping_info())
        path.write_text(render_monitor_config(cls), encoding="utf-8")
        written.append(path)
    return written


def _same_doctype(cls: type[Ping], namespace: str | None, doctype: str | None) -> bool:
    info = cls.ping_info()
    return (lookup_name(info.namespace), lookup_name(info.doctype)) == (
        lookup_name(namespace or ""),
        lookup_name(doctype or ""),
    )


def record_submissions(cls: type[Ping], records: Iterable[RecordLike]) -> list[Submission]:
    """The submissions the monitor of ``cls``'s docType would see among edge records."""
    monitor = cls.ping_info().monitor or DocTypeMonitor()
    out = []
    for record in records:
        if not _same_doctype(
            cls, getattr(record, "namespace", None), getattr(record, "doctype", None)
        ):
            continue
        sub = submission_from_record(record, monitor)
        if sub is not None:
            out.append(sub)
    return out


def example_submissions(cls: type[Ping]) -> list[Submission]:
    """The validation examples as valid submissions (serialized as the model sends them)."""
    info = cls.ping_info()
    monitor = info.monitor or DocTypeMonitor()
    out = []
    for payload in info.examples.values():
        ping = cls.model_validate(payload)
        body = ping.to_json_bytes()
        channel: Any = ping.to_payload()
        for part in (monitor.channel_field or "").split(".") if monitor.channel_field else ():
            channel = channel.get(part) if isinstance(channel, Mapping) else None
        out.append(
            Submission(0.0, "valid", channel if isinstance(channel, str) else None, len(body))
        )
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Suggestion:
    """One proposed threshold and how it was derived.

    Attributes:
        channel: the monitor's normalized channel.
        alert_type: ``volume``, ``size``, ...
        setting: the threshold's name (``average``, ``percent``, ...).
        value: the proposed number, or ``None`` when the data cannot support one.
        how: how the number was derived, in one sentence.
    """

    channel: str
    alert_type: str
    setting: str
    value: float | None
    how: str


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step


def channel_stats(subs: Iterable[Submission]) -> dict[str, ChannelStats]:
    """Per normalized channel statistics of submissions (sorted by receipt time first)."""
    out: dict[str, ChannelStats] = {}
    for sub in sorted(subs, key=lambda s: s.at):
        out.setdefault(normalize_channel(sub.channel), ChannelStats()).add(sub)
    return out


def suggest(stats: Mapping[str, ChannelStats], *, timed: bool) -> list[Suggestion]:
    """Thresholds per channel from observed submissions, each with how it was derived.

    ``timed`` says whether receipt times are real (edge records) or not (examples).
    """
    out: list[Suggestion] = []
    for channel in CHANNELS:
        st = stats.get(channel)
        if st is None or not (st.valid + st.errors + st.duplicates):
            continue
        out += _suggest_size(channel, st)
        out += _suggest_rates(channel, st, timed=timed)
        out.append(_suggest_volume(channel, st, timed=timed))
        out += _suggest_latency(channel, st, timed=timed)
        out.append(
            Suggestion(
                channel,
                "shape",
                "mindist",
                None,
                "needs two weeks of per-minute counts (the same day a week earlier); leave shape "
                "off until production data shows a stable daily pattern",
            )
        )
    return out


def _suggest_size(channel: str, st: ChannelStats) -> list[Suggestion]:
    if not st.valid:
        return []
    mean = st.size_sum / st.valid
    variance = max(0.0, st.size_squares / st.valid - mean * mean)
    spread = math.sqrt(variance) / mean * 100 if mean else 0.0
    return [
        Suggestion(
            channel,
            "size",
            "average",
            round(mean),
            f"mean size of {st.valid} valid submission(s), {st.size_min}-{st.size_max} bytes",
        ),
        Suggestion(
            channel,
            "size",
            "percent_delta",
            10,
            f"the monitor's sample value; single submissions vary by {spread:.0f}% "
            "(standard deviation), which averages out over the 24,000 the check needs",
        ),
    ]


def _suggest_rates(channel: str, st: ChannelStats, *, timed: bool) -> list[Suggestion]:
    # Rate alerts: twice the observed rate, never below the monitor's own sample value.
    out = []
    for alert, count, total, floor, what in (
        ("ingestion_error", st.errors, st.valid + st.errors, 0.5, "error(s)"),
        ("duplicate", st.duplicates, st.valid + st.duplicates, 2.0, "duplicate(s)"),
    ):
        if timed and total:
            rate = count / total * 100
            out.append(
                Suggestion(
                    channel,
                    alert,
                    "percent",
                    min(100.0, max(floor, _round_up(2 * rate, 0.1))),
                    f"{count} {what} in {total} submissions ({rate:.2g}%): twice that, at "
                    f"least the monitor's sample {floor:g}",
                )
            )
    return out


def _suggest_volume(channel: str, st: ChannelStats, *, timed: bool) -> Suggestion:
    span = (st.last - st.first) if st.first is not None and st.last is not None else 0.0
    if timed and span >= 3600:
        gap = st.max_gap / 60
        return Suggestion(
            channel,
            "volume",
            "inactivity_timeout",
            min(58, max(1, math.ceil(2 * gap))),
            f"the longest gap between valid submissions was {gap:.1f} minutes over "
            f"{span / 3600:.1f} hours: twice that, within 1-58 (59 or more never fires)",
        )
    return Suggestion(
        channel,
        "volume",
        "inactivity_timeout",
        None,
        "needs at least an hour of records with real receipt times "
        + (f"(these span {span / 60:.1f} minutes); " if timed else "(examples have none); ")
        + "choose from production volume: minutes a quiet channel may go without data",
    )


def _suggest_latency(channel: str, st: ChannelStats, *, timed: bool) -> list[Suggestion]:
    timed_latencies = sum(st.latency_hours)
    if not (timed and timed_latencies):
        return []
    hours, cumulative = 0, 0
    while cumulative < 0.99 * timed_latencies:
        cumulative += st.latency_hours[hours]
        hours += 1
    return [
        Suggestion(
            channel,
            "latency",
            "hours",
            max(1, hours),
            f"99% of {timed_latencies} submissions arrived within {max(1, hours)} hours of "
            "creation",
        ),
        Suggestion(
            channel, "latency", "percent", 5, "alert when more than 5% arrive later than that"
        ),
    ]


_REQUIRED = {
    "volume": {"inactivity_timeout"},
    "size": {"average", "percent_delta"},
    "ingestion_error": {"percent"},
    "duplicate": {"percent"},
    "latency": {"hours", "percent"},
}


def format_suggestions(cls: type[Ping], suggestions: Sequence[Suggestion], source: str) -> str:
    """The suggestions as text, ending with a ``monitor=`` snippet of the numbers found."""
    info = cls.ping_info()
    lines = [f"{info.namespace}/{info.doctype} ({cls.__qualname__}), from {source}:"]
    if not suggestions:
        lines.append("  no submissions of this docType")
        return "\n".join(lines) + "\n"
    for s in suggestions:
        value = "-" if s.value is None else f"{s.value:g}"
        lines.append(f"  {s.channel} {s.alert_type}.{s.setting} = {value}: {s.how}")
    kinds = {
        "volume": "VolumeThreshold",
        "size": "SizeThreshold",
        "ingestion_error": "IngestionErrorThreshold",
        "duplicate": "DuplicateThreshold",
        "latency": "LatencyThreshold",
    }
    snippet = ["monitor=pingsdk.monitoring.DocTypeMonitor("]
    for channel in CHANNELS:
        found = [s for s in suggestions if s.channel == channel and s.value is not None]
        if not found:
            continue
        parts = []
        for alert, kind in kinds.items():
            settings = [s for s in found if s.alert_type == alert]
            if not settings or not _REQUIRED[alert] <= {s.setting for s in settings}:
                continue  # a type the data cannot fill in completely is left to the user
            args = ", ".join(f"{s.setting}={s.value:g}" for s in settings)
            parts.append(f"{alert}=pingsdk.monitoring.{kind}({args})")
        if parts:
            name = "other" if channel == "Other" else channel
            snippet.append(f"    {name}=pingsdk.monitoring.ChannelThresholds({', '.join(parts)}),")
    snippet.append(")")
    lines.append("  as code:")
    lines += ["    " + line for line in snippet]
    return "\n".join(lines) + "\n"


def alerts_report(
    pings: Sequence[type[Ping]],
    records: Sequence[Any],
    *,
    minute: float,
    until: float,
) -> list[dict[str, Any]]:
    """Replay edge records (``pingsdk.edge.ReceivedPing``) through the pings' monitors.

    Timer events run every monitor minute from the first record to ``until``. The result has
    the shape of the running edge's ``/__monitor__`` ``alerts``.
    """
    ordered = sorted(records, key=lambda r: float(r.received_at))
    start = float(ordered[0].received_at) if ordered else until
    board = AlertBoard(pings, minute=minute, start=start)
    for record in ordered:
        board.advance(float(record.received_at))
        board.observe(record.namespace, record.doctype, record)
    board.advance(until)
    return board.report()


def format_edge_alerts(report: Mapping[str, Any]) -> str:
    """The ``alerts`` of a monitor document as text: per docType and channel, each alert with
    the monitor's own text ("" when the document has none)."""
    docs = report.get("alerts")
    if not docs:
        return ""
    lines = ["", "docType monitor alerts:"]
    for doc in docs:
        name = f"{doc['namespace']}/{doc['doctype']}"
        alerts = doc.get("alerts", {})
        total = sum(len(v) for v in alerts.values())
        lines.append(f"  {name}: {total} alert(s)")
        for channel, items in alerts.items():
            for alert in items:
                lines.append(f"  {name} [{channel}] {alert['summary']} ({alert['alert_type']})")
                detail = alert["detail"].rstrip("\n").split("\n")
                lines += [f"    {line}" if line else "" for line in detail]
    return "\n".join(lines) + "\n"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """``pingsdk serve --monitor TARGET --monitor-window DURATION``."""
    parser.add_argument(
        "--monitor",
        metavar="TARGET",
        help="evaluate the docType monitor thresholds (monitor=) of the Ping classes in TARGET "
        "(a module or .py file) on the edge's records, printing each alert",
    )
    parser.add_argument(
        "--monitor-window",
        default="24h",
        metavar="DURATION",
        help="how long the monitor's 24-hour window lasts; every window scales with it "
        "(default 24h; e.g. 60s in tests)",
    )


def serve_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``EdgeServer`` keywords of ``--monitor`` and ``--monitor-window``."""
    if not args.monitor:
        if args.monitor_window != "24h":
            raise ConfigurationError("--monitor-window needs --monitor TARGET")
        return {}
    window = parse_window(args.monitor_window) * 1440

    def on_alert(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return {"monitor": load_pings(args.monitor), "monitor_window": window, "on_alert": on_alert}


def add_monitor_arguments(
    parser: argparse.ArgumentParser, source: argparse._MutuallyExclusiveGroup
) -> None:
    """``pingsdk monitor [TARGET] [--suggest] [--examples] [--monitor-window DURATION]``."""
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="module or .py file of Ping classes: with --db, replay their monitor thresholds "
        "over the records and list the alerts; with --suggest, the pings to propose for",
    )
    source.add_argument(
        "--examples",
        action="store_true",
        help="with --suggest: derive from TARGET's validation examples",
    )
    parser.add_argument(
        "--suggest",
        action="store_true",
        help="propose thresholds per channel from the data, saying how each was derived",
    )
    parser.add_argument(
        "--monitor-window",
        default="24h",
        metavar="DURATION",
        help="with --db and TARGET: replay with the monitor's day lasting DURATION (default 24h)",
    )


def with_replayed_alerts(args: argparse.Namespace, report: dict[str, Any]) -> dict[str, Any]:
    """``report`` plus the alerts of TARGET's monitors replayed over ``--db`` records."""
    if not args.target or not args.db:
        return report
    from pingsdk.edge._store import open_readonly

    store = open_readonly(args.db)
    try:
        records = store.pings()
    finally:
        store.close()
    minute = parse_window(args.monitor_window)
    alerts = alerts_report(load_pings(args.target), records, minute=minute, until=time.time())
    return {**report, "alerts": alerts}


def suggest_command(args: argparse.Namespace) -> int:
    """``pingsdk monitor --suggest TARGET (--db FILE | --url URL | --examples)``."""
    if not args.suggest:
        raise ConfigurationError("--examples goes with --suggest")
    if not args.target:
        raise ConfigurationError("--suggest needs TARGET, the module or .py file of the pings")
    pings = load_pings(args.target)
    results = []
    for cls in pings:
        if args.examples:
            stats, timed, source = channel_stats(example_submissions(cls)), False, "examples"
        elif args.db:
            stats, timed, source = _db_stats(cls, args.db), True, args.db
        else:
            stats, timed, source = _url_stats(cls, args.url), True, args.url
        results.append((cls, suggest(stats, timed=timed), source))
    if args.json:
        doc = [
            {
                "namespace": cls.ping_info().namespace,
                "doctype": cls.ping_info().doctype,
                "source": source,
                "suggestions": [dataclasses.asdict(s) for s in found],
            }
            for cls, found, source in results
        ]
        print(json.dumps(doc, indent=2))
    else:
        what = {"examples": "the validation examples"}
        sys.stdout.write(
            "\n".join(
                format_suggestions(cls, found, what.get(source, source))
                for cls, found, source in results
            )
        )
    return 0


def _db_stats(cls: type[Ping], db: str) -> dict[str, ChannelStats]:
    from pingsdk.edge._store import open_readonly

    store = open_readonly(db)
    try:
        records = store.pings()
    finally:
        store.close()
    return channel_stats(record_submissions(cls, records))


def _url_stats(cls: type[Ping], url: str) -> dict[str, ChannelStats]:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/__monitor__", timeout=10.0)
        response.raise_for_status()
        report = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ConfigurationError(f"{url}: no edge monitor there ({exc})") from None
    info = cls.ping_info()
    for doc in report.get("alerts") or ():
        if _same_doctype(cls, doc.get("namespace"), doc.get("doctype")):
            return {c: ChannelStats.from_dict(d) for c, d in doc.get("channels", {}).items()}
    raise ConfigurationError(
        f"{url}: the edge does not monitor {info.namespace}/{info.doctype}; start it with "
        "`pingsdk serve --monitor TARGET`, or read its records with --db"
    )
