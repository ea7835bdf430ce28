"""Every status of the edge contract, over real sockets."""

from __future__ import annotations

import gzip
import json
import socket

import httpx

from pingsdk.edge import EdgeServer
from tests.edge.support import doc_id, exchange

GOOD = {"name": "start", "count": 1}


def submit(edge: EdgeServer, ns: str = "my-app", dt: str = "app-event", v: str = "1") -> str:
    return f"{edge.url}/submit/{ns}/{dt}/{v}/{doc_id()}"


def raw(edge: EdgeServer, data: bytes) -> bytes:
    return exchange(edge.port, data, until_headers=True)


def test_valid_ping_plain_and_gzip(edge: EdgeServer, client: httpx.Client) -> None:
    assert client.post(submit(edge), json=GOOD).status_code == 200
    body = gzip.compress(json.dumps(GOOD).encode())
    r = client.put(submit(edge), content=body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200
    got = edge.received()
    assert [p.status for p in got] == [200, 200]
    assert [p.method for p in got] == ["POST", "PUT"]
    assert got[1].payload == GOOD
    assert got[1].wire_size == len(body)
    assert got[1].decoded_size == len(json.dumps(GOOD))
    assert all(p.valid is True and p.errors == () for p in got)


def test_405_with_allow(edge: EdgeServer, client: httpx.Client) -> None:
    for method in ("GET", "DELETE", "PATCH", "OPTIONS"):
        r = client.request(method, submit(edge))
        assert r.status_code == 405, method
        assert r.headers["Allow"] == "POST, PUT"
    r = raw(edge, b"FOO /submit/a/b/1/c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 405")


def test_411_without_content_length(edge: EdgeServer) -> None:
    request = f"POST /submit/my-app/app-event/1/{doc_id()} HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw(edge, request.encode()).startswith(b"HTTP/1.1 411")


def test_413_over_one_megabyte(edge: EdgeServer, client: httpx.Client) -> None:
    r = client.post(submit(edge), content=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    exactly = json.dumps({"name": "x" * (1024 * 1024 - 30), "count": 1}).encode()
    assert len(exactly) <= 1024 * 1024
    assert client.post(submit(edge), content=exactly).status_code == 200


def test_431_long_path_query_or_kept_header(edge: EdgeServer, client: httpx.Client) -> None:
    long_doctype = "d" * 1100
    assert client.post(submit(edge, dt=long_doctype), json=GOOD).status_code == 431
    assert client.post(submit(edge) + "?q=" + "x" * 1030, json=GOOD).status_code == 431
    r = client.post(submit(edge), json=GOOD, headers={"User-Agent": "u" * 1025})
    assert r.status_code == 431
    # A header the edge does not keep may be long.
    r = client.post(submit(edge), json=GOOD, headers={"X-Other": "u" * 2000})
    assert r.status_code == 200
    assert client.post(submit(edge), json=GOOD, headers={"X-Debug-ID": "d" * 1024}).is_success


def test_404_prefix_counts_and_versions(edge: EdgeServer, client: httpx.Client) -> None:
    d = doc_id()
    for path in (
        f"/other/my-app/app-event/1/{d}",
        f"/submit/my-app/app-event/{d}",
        f"/submit/my-app/app-event/1/{d}/extra",
        f"/submit/my-app/app-event/0/{d}",
        f"/submit/my-app/app-event/x/{d}",
        f"/submit/my-app/app-event/{2**63}/{d}",
        f"/submit/telemetry/{d}/thing/Firefox/1/release",
        f"/submit/telemetry/thing/4/{d}",
    ):
        assert client.post(edge.url + path, json=GOOD).status_code == 404, path


UNKNOWN_NAMES = (
    "/submit/unknown/app-event/1/{d}",
    "/submit/my-app/nope/1/{d}",
    "/submit/my-app/app-event/2/{d}",
    "/submit/telemetry/{d}/nope/Firefox/1/release/2?v=4",
)


def test_lenient_takes_unknown_names_like_the_real_edge(
    edge: EdgeServer, client: httpx.Client
) -> None:
    for path in UNKNOWN_NAMES:
        target = edge.url + path.format(d=doc_id())
        assert client.post(target, json=GOOD).status_code == 200, path
    pings = edge.received()
    assert [p.verdict for p in pings] == ["unknown doctype"] * 4
    assert [p.reason for p in pings] == [
        "no schema for namespace 'unknown'",
        "no schema my-app/nope",
        "no schema my-app/app-event version 2",
        "no schema telemetry/nope",
    ]
    assert all(p.payload == GOOD and p.valid is None for p in pings)


def test_strict_refuses_unknown_names(strict_edge: EdgeServer, client: httpx.Client) -> None:
    for path in UNKNOWN_NAMES:
        r = client.post(strict_edge.url + path.format(d=doc_id()), json=GOOD)
        assert r.status_code == 404, path
        assert "no schema" in r.text
    assert [p.verdict for p in strict_edge.received()] == ["unknown doctype"] * 4


def test_lookup_treats_dash_and_underscore_alike(edge: EdgeServer, client: httpx.Client) -> None:
    assert client.post(submit(edge, ns="my_app", dt="app_event"), json=GOOD).status_code == 200


def test_without_schemas_every_name_is_known(client: httpx.Client) -> None:
    with EdgeServer() as edge:
        assert client.post(submit(edge, ns="any", dt="thing", v="7"), json={}).status_code == 200
        assert edge.received()[0].valid is None


def test_heartbeats_and_version(edge: EdgeServer, client: httpx.Client) -> None:
    assert client.get(edge.url + "/__lbheartbeat__").status_code == 200
    heartbeat = client.get(edge.url + "/__heartbeat__")
    assert heartbeat.status_code == 200
    assert heartbeat.json()["status"] == "ok"
    version = client.get(edge.url + "/__version__").json()
    assert set(version) >= {"source", "version", "commit"}
    assert edge.received() == []  # internal endpoints are not stored


def test_keep_alive_reuses_one_connection(edge: EdgeServer) -> None:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=3) as sock:
        stream = sock.makefile("rb")
        for _ in range(3):
            body = json.dumps(GOOD).encode()
            head = (
                f"POST /submit/my-app/app-event/1/{doc_id()} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body)
            status = stream.readline()
            assert status.startswith(b"HTTP/1.1 200")
            length = 0
            while (line := stream.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            stream.read(length)
        stream.close()
    assert len(edge.received()) == 3
