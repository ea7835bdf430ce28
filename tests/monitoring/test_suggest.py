"""Thresholds proposed from data: the validation examples, or a real local edge's records."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

import httpx
import pytest

import pingsdk
from examples import pings
from pingsdk._cli._monitor import (
    channel_stats,
    example_submissions,
    format_suggestions,
    record_submissions,
    suggest,
)
from pingsdk.edge import EdgeServer
from pingsdk.monitoring._alerts import Submission


def values(suggestions: list, channel: str) -> dict[str, float | None]:  # type: ignore[type-arg]
    return {f"{s.alert_type}.{s.setting}": s.value for s in suggestions if s.channel == channel}


def test_examples_give_the_average_size_the_example_declares() -> None:
    subs = example_submissions(pings.SessionSummary)
    sizes = [
        len(pings.SessionSummary.model_validate(p).to_json_bytes())
        for p in pings.SessionSummary.ping_info().examples.values()
    ]
    got = suggest(channel_stats(subs), timed=False)
    # "full" is a release example and "minimal" a nightly one.
    assert values(got, "release")["size.average"] == sizes[0]
    assert values(got, "nightly")["size.average"] == sizes[1]
    monitor = pings.SessionSummary.ping_info().monitor
    assert monitor is not None and monitor.release is not None
    assert monitor.release.size is not None
    assert monitor.release.size.average == sizes[0]
    # Examples carry no receipt times: nothing is claimed about rates, gaps or latency.
    assert values(got, "release")["volume.inactivity_timeout"] is None
    assert "ingestion_error.percent" not in values(got, "release")
    text = format_suggestions(pings.SessionSummary, got, "the validation examples")
    assert "release size.average = 588: mean size of 1 valid submission(s), 588-588 bytes" in text
    assert (
        "release=pingsdk.monitoring.ChannelThresholds(size=pingsdk.monitoring.SizeThreshold(average=588"
        in text
    )


def test_edge_records_give_rates_and_latency(examples_schema_repo: Path) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    with EdgeServer(schemas=examples_schema_repo) as edge, httpx.Client(base_url=edge.url) as http:
        ids = []
        for hours_ago in (0, 0, 0, 1, 30):
            session = pings.realistic_session(
                started_at=now - datetime.timedelta(hours=hours_ago, minutes=5)
            )
            doc_id = str(uuid.uuid4())
            ids.append(doc_id)
            path = pingsdk.wire.submit_path("pingsdk-demo", "session-summary", 1, doc_id)
            assert http.post(path, content=session.to_json_bytes()).status_code == 200
        # One invalid submission (an ingestion error) and one duplicate of an accepted docId.
        bad = pingsdk.wire.submit_path("pingsdk-demo", "session-summary", 1, str(uuid.uuid4()))
        invalid = {**pings.realistic_session().to_payload(), "duration_seconds": -1}
        http.post(bad, json=invalid)
        dup = pingsdk.wire.submit_path("pingsdk-demo", "session-summary", 1, ids[0])
        http.post(dup, content=pings.realistic_session().to_json_bytes())
        records = edge.received()

    subs = record_submissions(pings.SessionSummary, records)
    assert sorted(s.kind for s in subs) == ["duplicate", "error"] + ["valid"] * 5
    got = values(suggest(channel_stats(subs), timed=True), "release")
    # 1 error of 6 (16.7%) doubled; 1 duplicate of 6 doubled.
    assert got["ingestion_error.percent"] == pytest.approx(33.4)
    assert got["duplicate.percent"] == pytest.approx(33.4)
    # The slowest 1% (the one sent 30 hours after its session started) sets the hours.
    assert got["latency.hours"] == 31
    # Records spanning seconds support no inactivity timeout.
    assert got["volume.inactivity_timeout"] is None
    sizes = [s.size for s in subs if s.kind == "valid"]
    assert got["size.average"] == round(sum(sizes) / len(sizes))
    error = next(s for s in subs if s.kind == "error")
    assert error.error  # the diagnostic the monitor would list


def test_review_request_names_the_monitor_configuration() -> None:
    text = pingsdk.schema.review_request(pings.SessionSummary)
    section = text.split("## Monitoring\n\n", 1)[1].split("\n\n## ", 1)[0]
    assert section.splitlines() == [
        "- **docType monitor configuration:** `pingsdk-demo-session-summary.cfg` for "
        "`moz_telemetry_doctype_monitor.lua`, written by `pingsdk schema monitor`; alerts to "
        "product-analytics@example.com, jdoe@example.com",
        "- **release:** volume: no valid data for 30 minutes, or a day's count 20% away from a "
        "week earlier; size: a daily average more than 20% away from 588 bytes; ingestion "
        "errors above 0.5% in an hour; duplicates above 1% in a day; daily shape (SAX "
        "distance) above 10 from a week earlier; latency: more than 5% arriving over 48 hours "
        "after creation",
        "- **nightly:** ingestion errors above 2% in an hour",
    ]


def test_inactivity_suggestion_stays_below_what_never_fires() -> None:
    # Two hours of valid data with one 40-minute gap: twice that is capped at 58 minutes.
    times = [m * 60.0 for m in range(0, 40)] + [m * 60.0 for m in range(80, 121)]
    subs = [Submission(t, "valid", "release", 100) for t in times]
    got = suggest(channel_stats(subs), timed=True)
    [inactivity] = [s for s in got if s.setting == "inactivity_timeout"]
    assert inactivity.value == 58
    assert "longest gap between valid submissions was 41.0 minutes" in inactivity.how
