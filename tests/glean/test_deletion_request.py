"""Turning upload off: pending pings and client data cleared, a deletion-request ping sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pingsdk import PingClient, RetryPolicy
from pingsdk.edge import EdgeServer
from pingsdk.glean import KNOWN_CLIENT_ID, GleanApp
from tests.glean.support import METRICS_YAML, PINGS_YAML, AppFactory, stored_pings

Validate = Callable[[dict[str, Any]], None]


def _client_id(app: GleanApp) -> str:
    row = app.storage.queue.read(
        lambda c: c.execute(
            "SELECT value FROM glean_client WHERE app = ? AND key = 'client_id'", (app.namespace,)
        ).fetchone()
    )
    return str(row[0])


def test_upload_off_purges_clears_and_sends_deletion_request(
    make_app: AppFactory, queue_file: Path, glean_edge: EdgeServer, assert_glean_valid: Validate
) -> None:
    # Stores only: the pings stay queued until another client on the file sends them.
    app = make_app(glean_edge.url, uploader=False)
    metrics = app.load_metrics(METRICS_YAML)
    pings = app.load_pings(PINGS_YAML)
    metrics.service_core.features.add("search")  # user lifetime
    metrics.service_core.requests.add()
    assert pings.service.submit() is not None
    assert pings.service.submit() is not None  # the user-lifetime value is still there
    old_id = _client_id(app)

    app.set_upload_enabled(False)

    ((path, payload, _),) = stored_pings(queue_file)  # the two service pings are gone
    assert "/deletion-request/1/" in path
    assert_glean_valid(payload)
    assert payload["client_info"]["client_id"] == old_id
    assert payload["ping_info"]["reason"] == "set_upload_enabled"
    assert payload["ping_info"]["seq"] == 0
    assert _client_id(app) == KNOWN_CLIENT_ID
    assert metrics.service_core.features.test_get_value() is None
    metrics.service_core.requests.add()  # not recorded while upload is off
    assert metrics.service_core.requests.test_get_value() is None
    assert pings.service.submit() is None

    # Another client on the same file delivers the deletion request (it survived the purge).
    sender = PingClient(glean_edge.url, queue_path=queue_file, retry=RetryPolicy.no_wait())
    try:
        assert sender.flush(timeout=10)
    finally:
        sender.close(timeout=1)
    (received,) = glean_edge.received()
    assert received.path == path


def test_deletion_request_sent_by_the_apps_own_uploader(
    make_app: AppFactory, glean_edge: EdgeServer, assert_glean_valid: Validate
) -> None:
    app = make_app(glean_edge.url)
    app.load_metrics(METRICS_YAML).service_core.features.add("x")
    app.set_upload_enabled(False)
    assert app.client.flush(timeout=10)
    assert glean_edge.wait_for(1, timeout=10)
    (received,) = glean_edge.received()
    assert received.doctype == "deletion-request"
    assert received.payload is not None
    assert_glean_valid(received.payload)


def test_upload_back_on_gives_a_new_client_id_and_restarts_seq(
    make_app: AppFactory, queue_file: Path
) -> None:
    app = make_app()
    pings = app.load_pings(PINGS_YAML)
    pings.heartbeat.submit()
    pings.heartbeat.submit()
    first_id = _client_id(app)
    app.set_upload_enabled(False)
    app.set_upload_enabled(True)
    new_id = _client_id(app)
    assert new_id not in (first_id, KNOWN_CLIENT_ID)
    pings.heartbeat.submit()
    stored = [p for path, p, _ in stored_pings(queue_file) if "/heartbeat/" in path]
    assert [p["ping_info"]["seq"] for p in stored] == [0]  # the earlier two were purged


def test_upload_off_at_start_after_a_run_with_upload_on(
    make_app: AppFactory, queue_file: Path
) -> None:
    first = make_app()
    first_id = _client_id(first)
    first.close()
    make_app(upload_enabled=False)
    ((path, payload, _),) = stored_pings(queue_file)
    assert "/deletion-request/" in path
    assert payload["ping_info"]["reason"] == "at_init"
    assert payload["client_info"]["client_id"] == first_id


def test_upload_off_from_the_first_run_sends_nothing(
    make_app: AppFactory, queue_file: Path
) -> None:
    make_app(upload_enabled=False)
    # The first run already had upload off: Glean has nothing to ask deleting.
    app = make_app(upload_enabled=False)
    assert not app.upload_enabled
    assert _client_id(app) == KNOWN_CLIENT_ID
    assert stored_pings(queue_file) == []
    app.load_metrics(METRICS_YAML).service_core.requests.add()
    assert app.load_pings(PINGS_YAML).heartbeat.submit() is None


def test_upload_back_on_in_a_later_run_gets_a_new_client_id(make_app: AppFactory) -> None:
    first = make_app()
    first_id = _client_id(first)
    first.set_upload_enabled(False)
    first.close()
    later = make_app()  # upload on again, in a new run
    later_id = _client_id(later)
    assert later_id not in (first_id, KNOWN_CLIENT_ID)
    assert later.upload_enabled
