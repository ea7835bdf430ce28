"""The testing API (Glean's), pytest fixtures capturing Glean pings, metrics declared in Python."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pingsdk import ConfigurationError, PingClient
from pingsdk.glean import (
    CommonMetricData,
    CounterMetric,
    EventMetric,
    GleanApp,
    LabeledCounterMetric,
    Lifetime,
    PingType,
    StringMetric,
)
from pingsdk.testing import CapturingTransport
from tests.glean.support import METRICS_YAML, PINGS_YAML, AppFactory, stored_pings

Validate = Callable[[dict[str, Any]], None]


def test_before_next_submit_sees_the_data_then_it_is_gone(make_app: AppFactory) -> None:
    app = make_app()
    metrics = app.load_metrics(METRICS_YAML)
    pings = app.load_pings(PINGS_YAML)
    seen: list[Any] = []

    def check(reason: str | None) -> None:
        seen.append((reason, metrics.service_core.requests.test_get_value()))
        seen.append(metrics.service_core.app_starts.test_get_value())  # in SQLite: no deadlock

    metrics.service_core.requests.add(2)
    metrics.service_core.app_starts.add()
    pings.service.test_before_next_submit(check)
    pings.service.submit("shutdown")
    assert seen == [("shutdown", 2), 1]
    assert metrics.service_core.requests.test_get_value() is None
    pings.service.submit()
    assert len(seen) == 2  # one-shot


def test_on_next_payload_gets_the_payload_before_it_is_stored(
    make_app: AppFactory, queue_file: Path
) -> None:
    app = make_app()
    pings = app.load_pings(PINGS_YAML)
    payloads: list[dict[str, Any]] = []
    pings.heartbeat.test_on_next_payload(payloads.append)
    pings.heartbeat.submit()
    ((_, stored, _),) = stored_pings(queue_file)
    assert payloads == [stored]


def test_a_failing_callback_stores_nothing_and_keeps_the_data(
    make_app: AppFactory, queue_file: Path
) -> None:
    app = make_app()
    metrics = app.load_metrics(METRICS_YAML)
    pings = app.load_pings(PINGS_YAML)
    metrics.service_core.requests.add()

    def boom(payload: dict[str, Any]) -> None:
        raise AssertionError("payload rejected by the test")

    pings.service.test_on_next_payload(boom)
    with pytest.raises(AssertionError, match="rejected"):
        pings.service.submit()
    assert stored_pings(queue_file) == []
    assert metrics.service_core.requests.test_get_value() == 1
    pings.service.submit()
    ((_, payload, _),) = stored_pings(queue_file)
    assert payload["ping_info"]["seq"] == 0  # the failed attempt took no seq


def test_pytest_capture_fixture_sees_glean_pings(
    pingsdk_client: PingClient, pingsdk_capture: CapturingTransport, assert_glean_valid: Validate
) -> None:
    app = GleanApp("my-service", client=pingsdk_client)
    pings = app.load_pings(PINGS_YAML)
    metrics = app.load_metrics(METRICS_YAML)
    metrics.service_core.requests.add()
    pings.service.submit()
    assert pingsdk_client.flush(timeout=5)
    (captured,) = pingsdk_capture.pings
    assert (captured.namespace, captured.doctype, captured.version) == ("my-service", "service", 1)
    assert captured.payload["metrics"]["counter"] == {"service.core.requests": 1}
    assert_glean_valid(captured.payload)


def test_python_declarations_give_the_same_payload_as_yaml(
    make_app: AppFactory, tmp_path: Path
) -> None:
    def run(app: GleanApp, declared: bool) -> dict[str, Any]:
        if declared:
            core = CommonMetricData("service.core", "requests", ("service",))
            requests = CounterMetric(app, core)
            codes = LabeledCounterMetric(
                app,
                CommonMetricData("service.core", "status_codes", ("service",)),
                labels=["ok", "not_found", "server_error"],
            )
            backend = StringMetric(
                app, CommonMetricData("service.core", "backend", ("service",), Lifetime.APPLICATION)
            )
            done = EventMetric(
                app,
                CommonMetricData("service.events", "request_done", ("service",)),
                ["cached", "method"],
            )
            ping = PingType(app, "service", reason_codes=("periodic", "shutdown"))
        else:
            metrics = app.load_metrics(METRICS_YAML)
            requests = metrics.service_core.requests
            codes = metrics.service_core.status_codes
            backend = metrics.service_core.backend
            done = metrics.service_events.request_done
            ping = app.load_pings(PINGS_YAML).service
        requests.add(2)
        codes["ok"].add()
        codes["teapot"].add()
        backend.set("pg")
        done.record({"method": "GET"})
        out: list[dict[str, Any]] = []
        ping.test_on_next_payload(out.append)
        ping.submit("periodic")
        return out[0]

    from_yaml = run(make_app(), declared=False)
    other = PingClient("http://127.0.0.1:9", queue_path=tmp_path / "other.db", uploader=False)
    try:
        from_python = run(GleanApp("org.example.My_Service", client=other), declared=True)
    finally:
        other.close(0.5)
    assert from_python["metrics"] == from_yaml["metrics"]
    assert [e["extra"]["method"] for e in from_python["events"]] == ["GET"]
    assert from_python["ping_info"]["reason"] == "periodic"


def test_yaml_errors_are_configuration_errors(make_app: AppFactory, tmp_path: Path) -> None:
    bad = tmp_path / "metrics.yaml"
    bad.write_text(
        "---\n$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n"
        "cat:\n  metric:\n    type: counter\n"
    )
    app = make_app()
    with pytest.raises(ConfigurationError, match="glean_parser"):
        app.load_metrics(bad)
    with pytest.raises(ConfigurationError, match="no such file"):
        app.load_metrics(tmp_path / "missing.yaml")
    app.load_pings(PINGS_YAML)
    with pytest.raises(ConfigurationError, match="already registered"):
        app.load_pings(PINGS_YAML)


def test_bad_application_ids_are_refused(tmp_path: Path) -> None:
    client = PingClient("http://127.0.0.1:9", queue_path=tmp_path / "q.db", uploader=False)
    try:
        with pytest.raises(ConfigurationError, match="namespace"):
            GleanApp("-leading.dash", client=client)
        with pytest.raises(ConfigurationError, match="max_events"):
            GleanApp("ok", client=client, max_events=0)
    finally:
        client.close(0.5)


def test_events_ping_submitted_at_max_capacity(make_app: AppFactory, queue_file: Path) -> None:
    app = make_app(max_events=3)
    clicked = EventMetric(app, CommonMetricData("ui", "clicked", ("events",)), [])
    for _ in range(3):
        clicked.record()
    ((path, payload, _),) = stored_pings(queue_file)
    assert "/events/1/" in path
    assert payload["ping_info"]["reason"] == "max_capacity"
    assert len(payload["events"]) == 3


def test_public_surface_sorted_documented_and_named() -> None:
    import inspect

    import pingsdk.glean

    names = list(pingsdk.glean.__all__)
    assert names == sorted(names)
    for name in names:
        obj = getattr(pingsdk.glean, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name
        if inspect.isclass(obj) and obj is not int:
            assert obj.__module__ == "pingsdk.glean", name
