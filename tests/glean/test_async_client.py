"""pingsdk.glean on an AsyncPingClient: pings delivered by its task, the switch as a coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pingsdk import AsyncPingClient, ConfigurationError, RetryPolicy
from pingsdk.edge import EdgeServer
from pingsdk.glean import GleanApp
from tests.glean.support import METRICS_YAML, PINGS_YAML

Validate = Callable[[dict[str, Any]], None]


def test_async_client_delivers_and_handles_upload_off(
    glean_edge: EdgeServer, queue_file: Path, assert_glean_valid: Validate
) -> None:
    async def service() -> None:
        client = AsyncPingClient(glean_edge.url, queue_path=queue_file, retry=RetryPolicy.no_wait())
        try:
            app = GleanApp("async-service", client=client)
            metrics = app.load_metrics(METRICS_YAML)
            pings = app.load_pings(PINGS_YAML)
            metrics.service_core.requests.add(5)
            assert pings.service.submit("periodic") is not None
            assert await client.flush(timeout=10)
            with pytest.raises(ConfigurationError, match="set_upload_enabled_async"):
                app.set_upload_enabled(False)
            await app.set_upload_enabled_async(False)
            assert await client.flush(timeout=10)
            await app.set_upload_enabled_async(True)
            assert app.upload_enabled and client.upload_enabled
        finally:
            await client.close()

    asyncio.run(service())
    received = glean_edge.received()
    assert [r.doctype for r in received] == ["service", "deletion-request"]
    for ping in received:
        assert ping.payload is not None
        assert_glean_valid(ping.payload)
    first, deletion = (r.payload for r in received)
    assert first is not None and deletion is not None
    assert first["metrics"]["counter"] == {"service.core.requests": 5}
    assert deletion["client_info"]["client_id"] == first["client_info"]["client_id"]


def test_async_client_must_agree_on_upload_off(queue_file: Path) -> None:
    async def start() -> None:
        client = AsyncPingClient("http://127.0.0.1:9", queue_path=queue_file, uploader=False)
        try:
            with pytest.raises(ConfigurationError, match="upload_enabled=False too"):
                GleanApp("async-service", client=client, upload_enabled=False)
        finally:
            await client.close(0.5)

    asyncio.run(start())
