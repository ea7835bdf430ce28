"""CapturingTransport and CapturedPing, driven by plain httpx clients (no pingsdk client)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import uuid

import httpx
import pytest
from pydantic import ValidationError

import pingsdk
from pingsdk.testing import CapturedPing, CapturingTransport
from pingsdk.wire._urls import AppInfo

REG = pingsdk.PingRegistry()


class Clicks(pingsdk.Ping, namespace="kit-app", doctype="button-clicks", version=2, registry=REG):
    """Clicks per button, to find unused buttons."""

    button: str
    count: int


class Legacy(
    pingsdk.Ping,
    namespace="telemetry",
    doctype="kit-legacy",
    version=4,
    registry=REG,
    legacy_telemetry=True,
):
    """A legacy telemetry ping."""

    n: int


DOC_ID = str(uuid.uuid4())  # canonical lowercase, as the client sends


def _post(transport: httpx.BaseTransport, path: str, payload: object, *, gz: bool = True) -> int:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Debug-ID": "kit-1"}
    if gz:
        body = gzip.compress(body, mtime=0)
        headers["Content-Encoding"] = "gzip"
    with httpx.Client(transport=transport, base_url="https://edge.test") as client:
        return client.post(path, content=body, headers=headers).status_code


def test_generic_ping_decoded_and_parsed() -> None:
    transport = CapturingTransport(registry=REG)
    status = _post(
        transport, f"/submit/kit-app/button-clicks/2/{DOC_ID}", {"button": "ok", "count": 3}
    )
    assert status == 200
    [ping] = transport.pings
    assert isinstance(ping, CapturedPing)
    assert (ping.method, ping.namespace, ping.doctype, ping.version, ping.doc_id) == (
        "POST",
        "kit-app",
        "button-clicks",
        2,
        DOC_ID,
    )
    assert ping.url == f"https://edge.test/submit/kit-app/button-clicks/2/{DOC_ID}"
    assert ping.app is None and ping.query == ""
    assert ping.compressed and ping.body[:2] == b"\x1f\x8b"
    assert ping.headers["x-debug-id"] == "kit-1"
    assert ping.payload == {"button": "ok", "count": 3}
    assert ping.parse(Clicks) == Clicks(button="ok", count=3)
    assert ping.ping == Clicks(button="ok", count=3)
    assert ping.ping_class is Clicks
    assert ping.identity == "kit-app/button-clicks/2"


def test_plain_body_and_underscore_lookup() -> None:
    transport = CapturingTransport(registry=REG)
    _post(
        transport,
        f"/submit/kit_app/button_clicks/2/{DOC_ID}",
        {"button": "x", "count": 1},
        gz=False,
    )
    ping = transport.pings[0]
    assert not ping.compressed
    assert ping.ping == Clicks(button="x", count=1)


def test_legacy_url_parts() -> None:
    transport = CapturingTransport(registry=REG)
    _post(
        transport,
        f"/submit/telemetry/{DOC_ID}/kit-legacy/Firefox/130.0/release/20240101?v=4",
        {"n": 1},
    )
    ping = transport.pings[0]
    assert ping.namespace == "telemetry" and ping.doctype == "kit-legacy" and ping.version is None
    assert ping.query == "v=4"
    assert ping.app == AppInfo(
        name="Firefox", version="130.0", channel="release", build_id="20240101"
    )
    assert ping.ping == Legacy(n=1)
    assert ping.identity == "telemetry/kit-legacy"


def test_parse_with_wrong_class_or_bad_payload() -> None:
    transport = CapturingTransport(registry=REG)
    _post(transport, f"/submit/kit-app/button-clicks/2/{DOC_ID}", {"button": "ok", "count": "many"})
    ping = transport.pings[0]
    with pytest.raises(AssertionError, match="declares telemetry/kit-legacy/4"):
        ping.parse(Legacy)
    with pytest.raises(ValidationError):
        ping.parse(Clicks)


def test_unknown_identity_and_non_submit_path() -> None:
    transport = CapturingTransport(registry=REG)
    _post(transport, f"/submit/kit-app/nope/1/{DOC_ID}", {})
    _post(transport, "/__heartbeat__", {})
    unknown, other = transport.pings
    with pytest.raises(LookupError, match="no Ping class is registered for kit-app/nope/1"):
        _ = unknown.ping
    assert other.namespace is None and other.doc_id is None
    with pytest.raises(LookupError, match="not a submission URL"):
        _ = other.ping


def test_programmed_replies_then_default() -> None:
    transport = CapturingTransport([503], default_status=202)
    transport.respond(httpx.Response(429, headers={"Retry-After": "0"}), httpx.ConnectError("down"))
    path = f"/submit/kit-app/button-clicks/2/{DOC_ID}"
    assert _post(transport, path, {}) == 503
    assert _post(transport, path, {}) == 429
    with pytest.raises(httpx.ConnectError):
        _post(transport, path, {})
    assert _post(transport, path, {}) == 202
    assert [r.status for r in transport.requests] == [503, 429, None, 202]
    assert len(transport.pings) == 1 and len(transport) == 1
    transport.clear()
    assert transport.requests == []


def test_async_client_and_wait_for_across_threads() -> None:
    transport = CapturingTransport(registry=REG)

    async def send() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="https://edge.test") as client:
            for i in range(3):
                await client.post(
                    f"/submit/kit-app/button-clicks/2/{DOC_ID}",
                    content=json.dumps({"button": "b", "count": i}).encode(),
                )

    thread = threading.Thread(target=lambda: asyncio.run(send()))
    thread.start()
    got = transport.wait_for(3, timeout=5)
    thread.join()
    assert [p.payload["count"] for p in got] == [0, 1, 2]
    assert [p.payload["count"] for p in transport] == [0, 1, 2]


def test_wait_for_times_out_with_a_readable_message() -> None:
    transport = CapturingTransport([500])
    _post(transport, f"/submit/kit-app/button-clicks/2/{DOC_ID}", {})
    with pytest.raises(
        AssertionError, match=r"expected 1 delivered ping\(s\) within 0.05s, got 0 \(1 request"
    ):
        transport.wait_for(1, timeout=0.05)
