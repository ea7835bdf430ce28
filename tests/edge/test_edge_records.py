"""What the edge stores and reports: payloads, strict mode, decode errors, monitor, viewer."""

from __future__ import annotations

import email.utils
import gzip
import json
import time

import httpx
import pytest

from pingsdk.edge import EdgeServer
from tests.edge.support import doc_id

GOOD = {"name": "start", "count": 1}
BAD = {"name": "start", "count": -1}


def url(edge: EdgeServer, d: str | None = None, dt: str = "app-event") -> str:
    return f"{edge.url}/submit/my-app/{dt}/1/{d or doc_id()}"


def legacy(edge: EdgeServer, d: str | None = None, doctype: str = "thing") -> str:
    return f"{edge.url}/submit/telemetry/{d or doc_id()}/{doctype}/Firefox/120.0/release/2024?v=4"


def test_stored_request_has_every_part(edge: EdgeServer, client: httpx.Client) -> None:
    d = doc_id()
    date = email.utils.formatdate(time.time() - 60, usegmt=True)
    headers = {
        "Date": date,
        "X-Debug-ID": "my-debug",
        "X-Source-Tags": "automation",
        "X-Telemetry-Agent": "pingsdk/0 (Python 3 on Linux)",
        "DNT": "1",
        "X-PingSender-Version": "1.0",
        "Content-Type": "application/json; charset=utf-8",
        "X-Forwarded-For": "10.0.0.1",
    }
    body = gzip.compress(json.dumps(GOOD).encode())
    r = client.post(url(edge, d) + "?x=1", content=body, headers=headers)
    assert r.status_code == 200
    [ping] = edge.received()
    assert (ping.namespace, ping.doctype, ping.version, ping.doc_id) == (
        "my-app",
        "app-event",
        1,
        d,
    )
    assert ping.query == "x=1"
    assert ping.payload == GOOD
    assert ping.wire_size == len(body)
    assert ping.decoded_size == len(json.dumps(GOOD).encode())
    assert ping.headers["Date"] == date
    assert ping.headers["X-Debug-ID"] == ping.debug_id == "my-debug"
    assert ping.headers["Content-Length"] == str(len(body))
    assert "X-Forwarded-For" not in ping.headers
    assert ping.client_date == date
    assert ping.clock_skew is not None and 58 <= ping.clock_skew <= 65
    assert ping.valid is True and ping.decode_error is None and not ping.duplicate
    assert ping.accepted


def test_lenient_records_schema_errors_and_answers_200(
    edge: EdgeServer, client: httpx.Client
) -> None:
    r = client.post(url(edge), json={"name": 3, "count": -1, "extra": True})
    assert r.status_code == 200
    [ping] = edge.received()
    assert ping.valid is False
    assert [(i.path, i.keyword) for i in ping.errors] == [
        ("$", "additionalProperties"),
        ("$.count", "minimum"),
        ("$.name", "type"),
    ]
    assert all(i.message for i in ping.errors)


def test_strict_answers_400_with_errors_in_body(
    strict_edge: EdgeServer, client: httpx.Client
) -> None:
    assert client.post(url(strict_edge), json=GOOD).status_code == 200
    r = client.post(url(strict_edge), json=BAD)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/json")
    document = r.json()
    assert document["errors"] == [
        {"path": "$.count", "message": "-1 is less than the minimum of 0", "keyword": "minimum"}
    ]
    assert strict_edge.received()[1].status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\x1f\x8b\x08\x00garbage", "bad gzip"),
        (gzip.compress(b'{"a": "' + b" " * (8 * 1024 * 1024) + b'"}'), "8388608"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
    ids=["not-json", "array", "bad-gzip", "over-8MiB", "not-utf8"],
)
def test_decode_errors(
    body: bytes, fragment: str, edge: EdgeServer, strict_edge: EdgeServer, client: httpx.Client
) -> None:
    assert client.post(url(edge), content=body).status_code == 200
    r = client.post(url(strict_edge), content=body)
    assert r.status_code == 400
    assert fragment in r.json()["decode_error"]
    for server in (edge, strict_edge):
        [ping] = server.received()
        assert ping.payload is None and ping.valid is None
        assert ping.decode_error is not None and fragment in ping.decode_error


def test_non_uuid_doc_id_is_a_decode_error(strict_edge: EdgeServer, client: httpx.Client) -> None:
    r = client.post(url(strict_edge, "not-a-uuid"), json=GOOD)
    assert r.status_code == 400
    assert "docId" in r.json()["decode_error"]


def test_legacy_version_comes_from_payload(strict_edge: EdgeServer, client: httpx.Client) -> None:
    ok = client.post(legacy(strict_edge), json={"version": 4, "payload": {}})
    assert ok.status_code == 200
    assert client.post(legacy(strict_edge), json={"v": 4, "payload": {}}).status_code == 400
    missing = client.post(legacy(strict_edge), json={"payload": {}})
    assert missing.status_code == 400
    assert "'version' or 'v'" in missing.json()["decode_error"]
    other = client.post(legacy(strict_edge), json={"version": 6, "payload": {}})
    assert other.status_code == 400
    assert "version 6" in other.json()["decode_error"]
    pings = strict_edge.received()
    assert [p.version for p in pings] == [4, 4, None, 6]
    assert pings[0].legacy == ("Firefox", "120.0", "release", "2024")
    assert pings[1].errors  # `v` was used as the version, then `version` is required


def test_legacy_doctype_with_one_schema_version_is_validated_against_it(
    strict_edge: EdgeServer, client: httpx.Client
) -> None:
    solo = legacy(strict_edge).replace("/thing/", "/solo/")
    assert "/solo/" in solo
    # The payload names version 4, or none: solo has only version 1, so that one applies.
    assert client.post(solo, json={"version": 4, "payload": {}}).status_code == 200
    refused = client.post(solo, json={"payload": {}})
    assert refused.status_code == 400
    assert [e["path"] for e in refused.json()["errors"]] == ["$"]  # `version` is required
    assert [p.version for p in strict_edge.received()] == [1, 1]


def test_duplicates_are_flagged(edge: EdgeServer, client: httpx.Client) -> None:
    d = doc_id()
    for _ in range(3):
        assert client.post(url(edge, d), json=GOOD).status_code == 200
    assert [p.duplicate for p in edge.received()] == [False, True, True]


def test_monitor_exact_numbers(edge: EdgeServer, client: httpx.Client) -> None:
    bodies = [json.dumps({"name": "n" * i, "count": i}).encode() for i in range(1, 4)]
    repeated = doc_id()
    skewed = email.utils.formatdate(time.time() - 30, usegmt=True)
    posts: list[tuple[str, bytes, dict[str, str]]] = [
        (url(edge, repeated), bodies[0], {"Date": skewed}),
        (url(edge), bodies[1], {}),
        (url(edge), bodies[2], {}),
        (url(edge, repeated), bodies[0], {}),  # duplicate, still valid
        (url(edge), json.dumps(BAD).encode(), {}),
        (url(edge), json.dumps(BAD).encode(), {}),
        (url(edge), b"{nope", {}),  # decode error
        (url(edge, dt="nope"), bodies[0], {}),  # unknown doctype: 200 (lenient)
    ]
    for target, body, headers in posts:
        client.post(target, content=body, headers=headers)
    client.get(url(edge))  # 405, a submit path with the wrong method
    assert client.get(edge.url + "/favicon.ico").status_code == 404  # not a ping at all
    report = edge.monitor()
    assert report["received"] == 9
    assert report["accepted"] == 8
    assert report["rejected"] == 1
    assert report["statuses"] == {"200": 8, "405": 1}
    assert report["unrouted"] == {"405": 1}
    assert report["faults"] == {"total": 0, "by_kind": {}}
    assert report["reasons"] == [  # the most frequent first, then in order of arrival
        {"status": 200, "reason": "no schema my-app/nope", "count": 1},
        {"status": 405, "reason": "method GET not allowed (use POST or PUT)", "count": 1},
    ]
    event, unknown = report["doctypes"]
    assert (unknown["doctype"], unknown["received"], unknown["statuses"]) == ("nope", 1, {"200": 1})
    assert unknown["verdicts"] == {"unknown doctype": 1}
    assert event["verdicts"] == {"decode error": 1, "invalid": 2, "valid": 4}
    assert event["namespace"] == "my-app" and event["version"] == 1
    assert event["received"] == 7
    assert event["valid"] == 4
    assert event["invalid"] == 2
    assert event["decode_errors"] == 1
    assert event["duplicates"] == 1
    assert event["top_errors"] == [
        {"path": "$.count", "message": "-1 is less than the minimum of 0", "count": 2}
    ]
    bad = len(json.dumps(BAD).encode())
    sizes = sorted([len(bodies[0])] * 2 + [len(bodies[1]), len(bodies[2]), bad, bad, 5])
    assert event["wire_size"]["count"] == 7
    assert event["wire_size"]["max"] == max(sizes)
    assert event["wire_size"]["p50"] == sizes[3]
    assert event["wire_size"]["mean"] == round(sum(sizes) / 7, 3)
    assert event["decoded_size"]["max"] == max(sizes)
    skew = event["clock_skew"]
    assert skew["count"] == 1 and 29 <= skew["max"] <= 35
    # The same document over HTTP.
    assert client.get(edge.url + "/__monitor__").json() == edge.monitor()


def test_viewer_lists_filters_and_escapes(edge: EdgeServer, client: httpx.Client) -> None:
    evil = {"name": "<script>alert('x')</script>", "count": 1}
    client.post(url(edge), json=evil, headers={"X-Debug-ID": "evil-1"})
    client.post(url(edge), json={"name": "<b>bold</b>", "count": -5})
    client.post(legacy(edge), json={"version": 4, "payload": {}})
    page = client.get(edge.url + "/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "<script>alert" not in text and "<b>bold</b>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "-5 is less than the minimum of 0" in text
    assert "showing 3 of 3" in text
    only = client.get(edge.url + "/", params={"debug_id": "evil-1"}).text
    assert "showing 1 of 3" in only and "evil-1" in only and "bold" not in only
    things = client.get(edge.url + "/", params={"doctype": "thing"}).text
    assert "showing 1 of 3" in things and "/submit/telemetry/" in things
    assert "&lt;script" not in things
    hostile = client.get(edge.url + "/", params={"doctype": '"><script>x</script>'}).text
    assert "<script>x" not in hostile


def test_clear_and_wait_for(edge: EdgeServer, client: httpx.Client) -> None:
    assert not edge.wait_for(1, timeout=0.05)
    client.post(url(edge), json=GOOD)
    assert edge.wait_for(1, timeout=1.0)
    edge.clear()
    assert edge.received() == [] and edge.monitor()["received"] == 0


def test_sqlite_file_survives_restart(schema_tree: object, tmp_path: object) -> None:
    from pathlib import Path

    db = Path(str(tmp_path)) / "edge.db"
    d = doc_id()
    with EdgeServer(db=db) as edge:
        httpx.post(url(edge, d), json=GOOD)
    with EdgeServer(db=db) as edge:
        httpx.post(url(edge, d), json=GOOD)
        first, second = edge.received()
    assert first.payload == second.payload == GOOD
    assert second.duplicate


OLD_SCHEMA = """
CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, query TEXT NOT NULL, namespace TEXT, doctype TEXT, version INTEGER,
    doc_id TEXT, legacy TEXT, headers TEXT NOT NULL, wire_size INTEGER NOT NULL,
    decoded_size INTEGER, payload TEXT, status INTEGER NOT NULL, valid INTEGER,
    errors TEXT NOT NULL, decode_error TEXT, duplicate INTEGER NOT NULL, client_date TEXT,
    clock_skew REAL
);
CREATE TABLE faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, kind TEXT NOT NULL,
    path TEXT NOT NULL
);
INSERT INTO requests VALUES (1, 1.0, 'POST', '/submit/my-app/app-event/1/x', '', 'my-app',
    'app-event', 1, 'x', NULL, '{}', 2, 2, '{}', 200, 1, '[]', NULL, 0, NULL, NULL);
"""


def test_a_database_from_before_verdicts_still_opens(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    from pingsdk._cli import main
    from pingsdk.edge._store import open_readonly

    db = Path(str(tmp_path)) / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(OLD_SCHEMA)
    store = open_readonly(db)  # reporting never writes: the new columns read as NULL
    [old] = store.pings()
    assert (old.verdict, old.reason, old.excerpt) == (None, None, None)
    assert store.report()["doctypes"][0]["valid"] == 1
    store.close()
    assert main(["monitor", "--db", str(db)]) == 0
    with EdgeServer(db=db) as edge:  # serving adds the columns
        httpx.post(url(edge), json=GOOD)
        first, second = edge.received()
    assert first.verdict is None and second.verdict == "not validated"
    assert edge.monitor()["doctypes"][0]["received"] == 2
