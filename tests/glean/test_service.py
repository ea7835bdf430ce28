"""A service defined by a real metrics.yaml/pings.yaml sends glean.1 pings through a local edge."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from pingsdk.edge import EdgeServer
from pingsdk.glean import GleanApp
from tests.glean.support import METRICS_YAML, PINGS_YAML, AppFactory

Validate = Callable[[dict[str, Any]], None]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def record_everything(app: GleanApp) -> tuple[Any, Any]:
    metrics = app.load_metrics(METRICS_YAML)
    pings = app.load_pings(PINGS_YAML)
    core = metrics.service_core
    core.flag.set(True)
    core.requests.add(3)
    core.status_codes["ok"].add(2)
    core.status_codes["teapot"].add()  # not a declared label: __other__
    core.dynamic_labels["eu-west"].add()
    core.region_by_zone["zone.a"].set("eu")
    core.backend.set("postgres")
    core.features.add("search")
    core.features.add("export")
    core.queue_depth.set(17)
    core.queue_depth.set(-5)  # refused: counted in glean.error.invalid_value
    core.request_id.set(uuid.UUID("8a3b5c1e-2f4d-4e6a-9b7c-0d1e2f3a4b5c"))
    core.last_url.set("https://example.com/path?q=1")
    core.notes.set("a long text " * 10)
    core.started_at.set(dt.datetime(2026, 1, 2, 3, 4, 5, 678000, dt.timezone.utc))
    core.warmup.set_raw_nanos(1_500_000_000)
    core.latency.accumulate_samples([5, 12, 250])
    core.payload_size.accumulate(3)
    core.batch_size.accumulate_samples([1, 7, 900, 5000])
    core.cache_hits.add_to_numerator(3)
    core.cache_hits.add_to_denominator(4)
    core.app_starts.add()
    core.latency_by_route["/reports"].accumulate_samples([3])
    core.size_by_kind["image"].accumulate(2048)
    core.size_by_kind["video"].accumulate(10)  # not a declared label: __other__
    core.batch_by_source["import"].accumulate_samples([12, 50])
    metrics.service_events.request_done.record({"method": "GET", "cached": True})
    metrics.service_events.request_done.record({"method": "POST"})
    return metrics, pings


def test_every_metric_type_arrives_at_the_edge_and_validates(
    make_app: AppFactory, glean_edge: EdgeServer, assert_glean_valid: Validate
) -> None:
    app = make_app(glean_edge.url, app_channel="production", locale="en-US")
    _, pings = record_everything(app)

    doc_id = pings.service.submit("periodic")
    assert doc_id is not None
    assert app.client.flush(timeout=10)
    assert glean_edge.wait_for(1, timeout=10)
    (received,) = glean_edge.received()
    assert received.path == f"/submit/org-example-my-service/service/1/{doc_id}"
    assert {k.lower(): v for k, v in received.headers.items()}["x-telemetry-agent"].startswith(
        "pingsdk/"
    )
    payload = received.payload
    assert payload is not None
    assert_glean_valid(payload)

    metrics = payload["metrics"]
    assert metrics["boolean"] == {"service.core.flag": True}
    assert metrics["counter"] == {"service.core.requests": 3, "service.core.app_starts": 1}
    assert metrics["labeled_counter"]["service.core.status_codes"] == {"ok": 2, "__other__": 1}
    assert metrics["labeled_counter"]["service.core.dynamic_labels"] == {"eu-west": 1}
    assert metrics["labeled_string"] == {"service.core.region_by_zone": {"zone.a": "eu"}}
    assert metrics["string"] == {"service.core.backend": "postgres"}
    assert metrics["string_list"] == {"service.core.features": ["search", "export"]}
    assert metrics["quantity"] == {"service.core.queue_depth": 17}
    assert metrics["uuid"] == {"service.core.request_id": "8a3b5c1e-2f4d-4e6a-9b7c-0d1e2f3a4b5c"}
    assert metrics["url"] == {"service.core.last_url": "https://example.com/path?q=1"}
    assert metrics["text"] == {"service.core.notes": "a long text " * 10}
    assert metrics["datetime"] == {"service.core.started_at": "2026-01-02T03:04:05+00:00"}
    assert metrics["timespan"] == {
        "service.core.warmup": {"value": 1500, "time_unit": "millisecond"}
    }
    latency = metrics["timing_distribution"]["service.core.latency"]
    assert latency["sum"] == 267_000_000  # nanoseconds
    assert sum(latency["values"].values()) == 3
    size = metrics["memory_distribution"]["service.core.payload_size"]
    assert size["sum"] == 3 * 1024
    assert size["values"]["3024"] == 1  # glean-core puts 3 KiB in the bucket starting at 3024
    batch = metrics["custom_distribution"]["service.core.batch_size"]
    assert batch["sum"] == 5908
    assert batch["values"]["1000"] == 1  # over range_max: the last bucket
    assert metrics["rate"] == {"service.core.cache_hits": {"numerator": 3, "denominator": 4}}
    by_route = metrics["labeled_timing_distribution"]["service.core.latency_by_route"]
    assert by_route["/reports"]["sum"] == 3_000_000
    by_kind = metrics["labeled_memory_distribution"]["service.core.size_by_kind"]
    assert by_kind["image"]["sum"] == 2048 and by_kind["__other__"]["sum"] == 10
    by_source = metrics["labeled_custom_distribution"]["service.core.batch_by_source"]
    # linear buckets 0, 1, 13, 25, 38, 50, 62, 75, 87, 100 (glean-core's linear_range)
    assert by_source["import"]["values"] == {"0": 0, "1": 1, "13": 0, "25": 0, "38": 0,
                                            "50": 1, "62": 0}  # fmt: skip
    errors = metrics["labeled_counter"]["glean.error.invalid_value"]
    assert errors == {"service.core.queue_depth": 1}
    assert "glean.error.invalid_label" not in metrics["labeled_counter"]

    events = payload["events"]
    assert [e["extra"] for e in events] == [
        {
            "method": "GET",
            "cached": "true",
            "glean_timestamp": events[0]["extra"]["glean_timestamp"],
        },
        {"method": "POST", "glean_timestamp": events[1]["extra"]["glean_timestamp"]},
    ]
    first_ms = int(events[0]["extra"]["glean_timestamp"])
    assert abs(first_ms / 1000 - time.time()) < 60  # Unix milliseconds, as glean-core sends
    assert events[0]["timestamp"] == 0
    assert all(e["category"] == "service.events" and e["name"] == "request_done" for e in events)

    info = payload["ping_info"]
    assert info["seq"] == 0
    assert info["reason"] == "periodic"
    minute = r"^\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d$"
    assert re.match(minute, info["start_time"]) and re.match(minute, info["end_time"])
    client = payload["client_info"]
    assert UUID_RE.match(client["client_id"])
    assert re.match(r"^\d{4}-\d\d-\d\d[+-]\d\d:\d\d$", client["first_run_date"])
    assert client["app_display_version"] == "1.2.3"
    assert client["app_build"] == "build-7"
    assert client["app_channel"] == "production"
    assert client["locale"] == "en-US"
    assert client["telemetry_sdk_build"].startswith("pingsdk/")


def test_ping_lifetime_cleared_application_and_user_kept(
    make_app: AppFactory, queue_file: Any, assert_glean_valid: Validate
) -> None:
    from tests.glean.support import stored_pings

    app = make_app()
    metrics, pings = record_everything(app)
    pings.service.submit()
    metrics.service_core.requests.add()
    pings.service.submit()
    first, second = (p for _, p, _ in stored_pings(queue_file))
    for payload in (first, second):
        assert_glean_valid(payload)
    assert [first["ping_info"]["seq"], second["ping_info"]["seq"]] == [0, 1]
    assert second["ping_info"]["start_time"] == first["ping_info"]["end_time"]
    kept = second["metrics"]
    assert kept["counter"] == {"service.core.requests": 1, "service.core.app_starts": 1}
    assert kept["string"] == {"service.core.backend": "postgres"}  # application lifetime
    assert kept["string_list"] == {"service.core.features": ["search", "export"]}  # user
    assert "boolean" not in kept and "events" not in second


def test_application_lifetime_ends_with_the_run_user_lifetime_does_not(
    make_app: AppFactory,
) -> None:
    app = make_app()
    metrics = app.load_metrics(METRICS_YAML)
    metrics.service_core.backend.set("postgres")
    metrics.service_core.features.add("search")
    client_id = app.storage.queue.read(
        lambda c: c.execute("SELECT value FROM glean_client WHERE key='client_id'").fetchone()[0]
    )
    app.close()
    again = make_app()
    metrics = again.load_metrics(METRICS_YAML)
    assert metrics.service_core.backend.test_get_value() is None
    assert metrics.service_core.features.test_get_value() == ["search"]
    same = again.storage.queue.read(
        lambda c: c.execute("SELECT value FROM glean_client WHERE key='client_id'").fetchone()[0]
    )
    assert same == client_id


def test_empty_ping_not_sent_unless_send_if_empty(
    make_app: AppFactory, queue_file: Any, assert_glean_valid: Validate
) -> None:
    from tests.glean.support import stored_pings

    app = make_app()
    pings = app.load_pings(PINGS_YAML)
    assert pings.service.submit() is None
    assert pings.heartbeat.submit() is not None  # send_if_empty, include_client_id: false
    ((path, payload, _),) = stored_pings(queue_file)
    assert "/heartbeat/1/" in path
    assert_glean_valid(payload)
    assert "client_id" not in payload["client_info"]
    assert "metrics" not in payload and "events" not in payload


def test_invalid_reason_is_left_out(make_app: AppFactory, queue_file: Any) -> None:
    from tests.glean.support import stored_pings

    app = make_app()
    pings = app.load_pings(PINGS_YAML)
    pings.heartbeat.submit("no-such-reason")
    ((_, payload, _),) = stored_pings(queue_file)
    assert "reason" not in payload["ping_info"]


def test_debug_switches_set_headers(
    make_app: AppFactory, queue_file: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from tests.glean.support import stored_pings

    monkeypatch.setenv("GLEAN_DEBUG_VIEW_TAG", "my-tag")
    monkeypatch.setenv("GLEAN_SOURCE_TAGS", "automation,perf")
    monkeypatch.setenv("GLEAN_LOG_PINGS", "true")
    app = make_app()
    pings = app.load_pings(PINGS_YAML)
    with caplog.at_level("INFO", logger="pingsdk"):
        pings.heartbeat.submit()
    ((_, _, headers),) = stored_pings(queue_file)
    assert headers["X-Debug-ID"] == "my-tag"
    assert headers["X-Source-Tags"] == "automation,perf"
    logged = [r for r in caplog.records if "Glean ping heartbeat" in r.getMessage()]
    assert logged and logged[0].levelname == "INFO" and '"ping_info"' in logged[0].getMessage()


def test_bad_debug_switches_are_ignored_with_an_error(
    make_app: AppFactory, queue_file: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from tests.glean.support import stored_pings

    monkeypatch.setenv("GLEAN_DEBUG_VIEW_TAG", "not a valid tag!")
    monkeypatch.setenv("GLEAN_SOURCE_TAGS", "glean-reserved")
    app = make_app()
    app.load_pings(PINGS_YAML).heartbeat.submit()
    ((_, _, headers),) = stored_pings(queue_file)
    assert "X-Debug-ID" not in headers and "X-Source-Tags" not in headers
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("GLEAN_DEBUG_VIEW_TAG" in m for m in errors)
    assert any("GLEAN_SOURCE_TAGS" in m for m in errors)


def test_payloads_not_logged_without_the_switch(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GLEAN_LOG_PINGS", raising=False)
    app = make_app()
    with caplog.at_level("DEBUG", logger="pingsdk"):
        app.load_pings(PINGS_YAML).heartbeat.submit()
    assert not any('"ping_info"' in r.getMessage() for r in caplog.records)


def test_application_id_sanitised_as_glean_does(make_app: AppFactory) -> None:
    assert make_app().namespace == "org-example-my-service"


def test_experiments_annotate_pings(
    make_app: AppFactory, queue_file: Any, assert_glean_valid: Validate
) -> None:
    from tests.glean.support import stored_pings

    app = make_app()
    app.set_experiment_active("new-cache", "treatment", {"type": "rollout"})
    app.set_experiment_active("gone", "control")
    app.set_experiment_inactive("gone")
    app.load_pings(PINGS_YAML).heartbeat.submit()
    ((_, payload, _),) = stored_pings(queue_file)
    assert_glean_valid(payload)
    assert payload["ping_info"]["experiments"] == {
        "new-cache": {"branch": "treatment", "extra": {"type": "rollout"}}
    }


def test_clients_log_pings_logs_glean_payloads_at_debug(
    queue_file: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingsdk import PingClient

    monkeypatch.delenv("GLEAN_LOG_PINGS", raising=False)
    client = PingClient("http://127.0.0.1:9", queue_path=queue_file, uploader=False,
                        log_pings=True)  # fmt: skip
    try:
        app = GleanApp("my-service", client=client)
        with caplog.at_level("DEBUG", logger="pingsdk"):
            app.load_pings(PINGS_YAML).heartbeat.submit()
    finally:
        client.close(0.5)
    logged = [r for r in caplog.records if '"ping_info"' in r.getMessage()]
    assert [r.levelname for r in logged] == ["DEBUG"]
