"""The monitor's own alert texts, for the inputs of its own integration test.

Golden source: lua_sandbox_extensions ``moz_telemetry/tests/integration/doctype_monitor/``:
``run/input/doctype_monitor.lua`` generates the messages, ``run/analysis/doctype_monitor.cfg``
sets one alert type per channel, and ``run/output/doctype_monitor.lua`` holds the texts the
monitor sent (copied below verbatim). The generator is reproduced here minute for minute.
"""

from __future__ import annotations

import pytest
from pydantic import AwareDatetime, Field

import pingsdk
from pingsdk.monitoring._alerts import Alert, DocTypeAlerts, Submission, dashboard_uri, replay

GRAPH = "https://integration_test/dashboard_output/graphs/analysis.doctype_monitor"

GOLDEN = {
    "nightly": f"""\
The average message size has changed by 10.0069% (current avg: 165B)

graph: {GRAPH}.size.html
""",
    "aurora": f"""\
Ingestion Data for the Last Hour
================================
valid            : 1140
error            : 48
percent_error    : 4.0404
max_percent_error: 4

graph: {GRAPH}.ingestion_error.html

Diagnostic (count/error)
========================
48\tfoobar
""",
    "release": f"""\
48% of submissions received after 24 hours expected up to 20%

graph: {GRAPH}.latency.html
""",
    "esr": f"""\
Duplicate Data for the Last Hour
================================
unique               : 24000
duplicate            : 1074
percent_duplicate    : 4.28332
max_percent_duplicate: 4

graph: {GRAPH}.duplicate.html
""",
    "Other": f"""\
SAX Analysis
============
start time : 19700116 000000
end time   : 19700116 235900
current    : ########################
historical : DDDDDDDDDDDDDDDDDDDDDDDD
mindist    : 36.6951
max_mindist: 0

graph: {GRAPH}.volume.html
""",
    "beta": f"""\
historical: 28800 current: 36000  delta: 25%

graph: {GRAPH}.volume.html
""",
}

# The test configuration's thresholds (run/analysis/doctype_monitor.cfg).
CONFIG = pingsdk.monitoring.DocTypeMonitor(
    release=pingsdk.monitoring.ChannelThresholds(
        latency=pingsdk.monitoring.LatencyThreshold(hours=24, percent=20)
    ),
    beta=pingsdk.monitoring.ChannelThresholds(
        volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5, percent_delta=10)
    ),
    nightly=pingsdk.monitoring.ChannelThresholds(
        size=pingsdk.monitoring.SizeThreshold(average=150, percent_delta=10)
    ),
    esr=pingsdk.monitoring.ChannelThresholds(
        duplicate=pingsdk.monitoring.DuplicateThreshold(percent=4)
    ),
    aurora=pingsdk.monitoring.ChannelThresholds(
        ingestion_error=pingsdk.monitoring.IngestionErrorThreshold(percent=4)
    ),
    other=pingsdk.monitoring.ChannelThresholds(shape=pingsdk.monitoring.ShapeThreshold(mindist=0)),
    creation_field="created",
    channel_field="channel",
    recipients=("trink@mozilla.com",),
    prefix=False,
)

DAY = 86400


def nightly_size(i: int, j: int) -> int:
    """Sizes whose 24-hour total at the first check equals the golden run's.

    The golden run measured Heka protobuf message sizes (a base message, and one with a
    100-byte extra field from minute 900), which exist only inside Heka. At the first size
    check (24,000 submissions: minutes 0-959) its average was 165.0103 bytes, i.e. 3,960,248
    bytes in total: 150-byte submissions before minute 900 and 390/391-byte ones after give
    exactly that total.
    """
    if i < 900:
        return 150
    # 1,500 submissions in minutes 900-959 share 3,960,248 - 22,500 * 150 bytes.
    n = (i - 900) * 25 + (j - 1)
    return 390 + (1 if n < 248 else 0) if i < 960 else 390


def generate() -> list[Submission]:
    """run/input/doctype_monitor.lua, one Submission per injected message."""
    out: list[Submission] = []
    ns = 8 * DAY
    for i in range(1440):  # volume (beta) and shape (Other) need history
        t = i * 60 + ns
        out += [Submission(t, "valid", "beta", 150, t)] * 20
        out += [Submission(t, "valid", "Other", 150, t)] * 20
    for i in range(1441):
        t = i * 60 + ns + DAY * 7
        out += [Submission(t, "valid", "beta", 150, t)] * 25
        out += [Submission(t, "valid", "esr", 150, t)] * 20
        out.append(Submission(t, "duplicate" if i >= 120 else "valid", "esr", 150, t))
        out += [Submission(t, "valid", "aurora", 150, t)] * 19
        if i >= 1380:
            out.append(Submission(t, "error", "aurora", 0, t, error="foobar"))
        out += [Submission(t, "valid", "nightly", nightly_size(i, j), t) for j in range(1, 26)]
        created = t - (i - 1380) * 3600 if i >= 1380 else t
        out += [Submission(t, "valid", "release", 150, created)] * 20
    return out


@pytest.fixture(scope="module")
def alerts() -> dict[str, Alert]:
    engine = DocTypeAlerts(
        CONFIG, dashboard=dashboard_uri("integration_test", "analysis.doctype_monitor")
    )
    # The golden run's timer followed its messages: no timer events in the six idle days
    # between the two blocks of data (else beta's inactivity would have fired), one per new
    # minute. Its tumbling latency window restarts every 60 timer events; where those restarts
    # fall depends on when the timer started, which the run does not record. 48% is what
    # windows restarting two minutes before the hour give, i.e. two timer events before the
    # first message.
    engine.latency_checks = 2
    got = replay(CONFIG, generate(), engine=engine, idle=False)
    by_channel: dict[str, Alert] = {}
    for alert in got:
        assert alert.channel not in by_channel, f"second alert for {alert.channel}: {alert}"
        by_channel[alert.channel] = alert
    return by_channel


@pytest.mark.parametrize("channel", sorted(GOLDEN))
def test_golden_text(alerts: dict[str, Alert], channel: str) -> None:
    assert alerts[channel].detail == GOLDEN[channel]


def test_one_alert_per_channel(alerts: dict[str, Alert]) -> None:
    assert sorted(alerts) == sorted(GOLDEN)
    assert {c: a.alert_type for c, a in alerts.items()} == {
        "nightly": "size",
        "aurora": "ingestion_error",
        "release": "latency",
        "esr": "duplicate",
        "Other": "shape",
        "beta": "volume",
    }


def test_inactivity_timeout_text() -> None:
    """Not in the golden run: the text comes from alert_check_volume's string.format."""
    monitor = pingsdk.monitoring.DocTypeMonitor(
        release=pingsdk.monitoring.ChannelThresholds(
            volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)
        ),
        channel_field="channel",
        recipients=("a@example.com",),
    )
    subs = [Submission(m * 60.0, "valid", "release", 10) for m in range(30)]
    got = replay(monitor, subs, until=45 * 60.0, dashboard=dashboard_uri("h", "analysis.x-y"))
    assert [(a.summary, a.detail) for a in got] == [
        (
            "inactivitiy timeout",
            "No new valid data has been seen in 5 minutes\n\n"
            "graph: https://h/dashboard_output/graphs/analysis.x_y.volume.html\n",
        )
    ]
    # Data in minutes 0-29. The timer event at minute 35 is the first whose last 5 minutes
    # plus the current one (30-35) are empty; the hour already had more than 5 empty minutes.
    assert got[0].at == 35 * 60.0


def test_no_alert_below_the_minimum_counts() -> None:
    """ingestion_error needs 1,000 submissions or errors in the hour; 999 errors are not enough."""
    monitor = pingsdk.monitoring.DocTypeMonitor(
        other=pingsdk.monitoring.ChannelThresholds(
            ingestion_error=pingsdk.monitoring.IngestionErrorThreshold(percent=1)
        ),
        recipients=("a@example.com",),
    )
    subs = [Submission(60.0 + k * 0.01, "error", None, error="bad") for k in range(999)]
    assert replay(monitor, subs, until=600.0) == []
    subs.append(Submission(61.0, "error", None, error="bad"))
    (alert,) = replay(monitor, subs, until=600.0)
    assert "error            : 1000\n" in alert.detail
    assert alert.detail.endswith("========================\n1000\tbad\n")


def test_scaled_windows_give_the_same_text() -> None:
    """Every window scales with the minute: 1 s per monitor minute gives the same alerts."""
    scaled = [
        Submission(
            s.at / 60,
            s.kind,
            s.channel,
            s.size,
            None if s.created is None else s.created / 60,
            s.error,
        )
        for s in generate()
        if s.channel in ("beta", "esr")
    ]
    got = replay(
        CONFIG,
        scaled,
        minute=1.0,
        dashboard=dashboard_uri("integration_test", "analysis.doctype_monitor"),
        idle=False,
    )
    assert {a.channel: a.detail for a in got} == {c: GOLDEN[c] for c in ("beta", "esr")}


def test_monitor_keyword_on_a_ping() -> None:
    class Golden(
        pingsdk.Ping,
        namespace="monitoring-test",
        doctype="golden",
        version=1,
        registry=pingsdk.PingRegistry(),
        monitor=CONFIG,
    ):
        """A ping with the golden thresholds."""

        created: AwareDatetime = Field(description="Creation time.")
        channel: str = Field(description="Release channel.")

    assert Golden.ping_info().monitor == CONFIG
