"""The edge's answer order, row by row, on the pure decision (``pingsdk.edge._answer.answer``).

One row per rule, then rows where two rules apply and the earlier one wins. The servers in the
other edge tests check that the server carries these verdicts out.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from pingsdk.edge._answer import Answer, Request, answer
from pingsdk.edge._faults import Fault
from pingsdk.edge._schemas import SchemaStore

DOC = "0b5c3f5e-8a32-4a0e-9c4e-3d5bd0c5f3a1"
EVENT = f"/submit/my-app/app-event/1/{DOC}"
GOOD = json.dumps({"name": "start", "count": 1}).encode()
BAD = json.dumps({"name": "start", "count": -1}).encode()
LONG = "x" * 1100


def _post(path: str = EVENT, body: bytes | None = GOOD, **facts: Any) -> Request:
    return Request("POST", path, body=body, **facts)


# (id, request, strict, rule, status, reason contains, verdict)
ROWS: list[tuple[str, Request, bool, str, int | None, str, str | None]] = [
    # -- one rule each -----------------------------------------------------------------------
    ("reset", _post(fault=Fault("reset", 1)), False, "fault", None, "injected fault", None),
    ("timeout", _post(fault=Fault("timeout", 1)), False, "fault", None, "injected fault", None),
    ("405", Request("GET", EVENT), False, "method", 405, "method GET not allowed", None),
    ("gone", _post(body=None, client_gone=True), False, "gone", None, "closed", None),
    ("fault 500", _post(fault=Fault("500", 1)), False, "fault", 500, "injected fault 500", None),
    ("431 path", _post(path=EVENT + LONG), False, "431", 431, "path over 1024 bytes", None),
    ("431 query", _post(query=LONG), False, "431", 431, "query over 1024 bytes", None),
    (
        "431 header",
        _post(headers={"User-Agent": LONG}),
        False,
        "431",
        431,
        "header User-Agent over 1024 bytes",
        None,
    ),
    (
        "404 count",
        _post(path="/submit/a/b/c"),
        False,
        "route",
        404,
        "needs 4 elements, got 3",
        None,
    ),
    ("404 prefix", _post(path="/other/a/b/1/x"), False, "route", 404, "unknown path prefix", None),
    ("404 version", _post(path=f"/submit/a/b/0/{DOC}"), False, "route", 404, "positive", None),
    (
        "413",
        _post(body=None, refused=413, refused_reason="body over 1048576 bytes"),
        False,
        "size",
        413,
        "body over",
        None,
    ),
    (
        "411",
        _post(body=None, refused=411, refused_reason="no Content-Length"),
        False,
        "size",
        411,
        "no Content-Length",
        None,
    ),
    (
        "unknown",
        _post(path=f"/submit/nope/x/1/{DOC}"),
        False,
        "schema",
        200,
        "namespace 'nope'",
        "unknown doctype",
    ),
    (
        "unknown strict",
        _post(path=f"/submit/nope/x/1/{DOC}"),
        True,
        "schema",
        404,
        "'nope'",
        "unknown doctype",
    ),
    (
        "docId",
        _post(path="/submit/my-app/app-event/1/not-a-uuid"),
        False,
        "decode",
        200,
        "docId is not a UUID",
        "decode error",
    ),
    (
        "decode strict",
        _post(body=b"{not json"),
        True,
        "decode",
        400,
        "body is not JSON",
        "decode error",
    ),
    (
        "invalid",
        _post(body=BAD),
        False,
        "validation",
        200,
        "1 schema error: $.count (minimum)",
        "invalid",
    ),
    ("invalid strict", _post(body=BAD), True, "validation", 400, "$.count (minimum)", "invalid"),
    ("valid", _post(), True, "validation", 200, "", "valid"),
    ("valid gzip", _post(body=gzip.compress(GOOD)), True, "validation", 200, "", "valid"),
    # -- two rules apply: the earlier one wins -----------------------------------------------
    (
        "reset over 405",
        Request("GET", EVENT, fault=Fault("reset", 1)),
        False,
        "fault",
        None,
        "injected fault",
        None,
    ),
    ("405 over gone", Request("GET", EVENT, client_gone=True), False, "method", 405, "GET", None),
    (
        "gone over fault 503",
        _post(body=None, client_gone=True, fault=Fault("503", 2)),
        False,
        "gone",
        None,
        "closed",
        None,
    ),
    (
        "fault over 431",
        _post(path=EVENT + LONG, fault=Fault("429", 2)),
        False,
        "fault",
        429,
        "injected fault 429",
        None,
    ),
    ("431 over 404", _post(path="/submit/a/" + LONG), False, "431", 431, "path over", None),
    (
        "404 over 413",
        _post(path="/submit/a", body=None, refused=413, refused_reason="big"),
        False,
        "route",
        404,
        "needs 4 elements, got 1",
        None,
    ),
    (
        "413 over unknown",
        _post(path=f"/submit/nope/x/1/{DOC}", body=None, refused=413, refused_reason="big"),
        True,
        "size",
        413,
        "big",
        None,
    ),
    (
        "unknown over docId",
        _post(path="/submit/nope/x/1/not-a-uuid"),
        True,
        "schema",
        404,
        "'nope'",
        "unknown doctype",
    ),
    (
        "docId over invalid",
        _post(path="/submit/my-app/app-event/1/not-a-uuid", body=BAD),
        True,
        "decode",
        400,
        "docId is not a UUID",
        "decode error",
    ),
]


@pytest.fixture
def store(schema_tree: Path) -> SchemaStore:
    return SchemaStore(schema_tree)


@pytest.mark.parametrize(
    ("request_", "strict", "rule", "status", "reason", "verdict"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_answer_order(
    store: SchemaStore,
    request_: Request,
    strict: bool,
    rule: str,
    status: int | None,
    reason: str,
    verdict: str | None,
) -> None:
    result = answer(request_, store, strict=strict)
    assert (result.rule, result.status) == (rule, status)
    assert reason in (result.reason or "")
    assert result.fields.get("verdict") == verdict


def test_faults_are_counted_and_never_stored(store: SchemaStore) -> None:
    result = answer(_post(fault=Fault("503", 7)), store, strict=False)
    assert result == Answer(
        "fault", 503, "injected fault 503", (("Retry-After", "7"),), stored=False, fault="503"
    )
    gone = answer(_post(body=None, client_gone=True, fault=Fault("503", 7)), store, strict=False)
    assert (gone.stored, gone.fault) == (False, None)


def test_405_says_what_is_allowed(store: SchemaStore) -> None:
    result = answer(Request("DELETE", EVENT), store, strict=False)
    assert result.headers == (("Allow", "POST, PUT"),)
    assert result.stored and result.fields == {}


def test_refused_request_keeps_its_payload_and_size(store: SchemaStore) -> None:
    result = answer(_post(path="/submit/a/b/c"), store, strict=False)
    assert result.fields == {
        "wire_size": len(GOOD),
        "payload": GOOD.decode(),
        "decoded_size": len(GOOD),
    }


def test_unknown_keeps_the_decode_problem(store: SchemaStore) -> None:
    result = answer(_post(path="/submit/nope/x/1/not-a-uuid"), store, strict=False)
    assert result.fields["decode_error"] == "docId is not a UUID (8-4-4-4-12 hex)"
    assert result.fields["namespace"] == "nope"


def test_upper_case_doc_id_is_accepted(store: SchemaStore) -> None:
    # The pipeline takes any case; pingsdk itself only sends lowercase.
    result = answer(_post(path=f"/submit/my-app/app-event/1/{DOC.upper()}"), store, strict=True)
    assert (result.rule, result.status, result.fields["verdict"]) == ("validation", 200, "valid")


def test_legacy_version_from_the_payload(store: SchemaStore) -> None:
    path = f"/submit/telemetry/{DOC}/thing/Firefox/128.0/release/2024"
    body = json.dumps({"version": 5, "payload": {}}).encode()
    result = answer(_post(path=path, body=body), store, strict=True)
    assert (result.status, result.fields["version"], result.fields["verdict"]) == (200, 5, "valid")
    assert json.loads(result.fields["legacy"]) == ["Firefox", "128.0", "release", "2024"]
    missing = answer(_post(path=path, body=b'{"payload": {}}'), store, strict=True)
    assert (missing.rule, missing.status) == ("decode", 400)
    assert "no top-level 'version'" in (missing.reason or "")


def test_without_schemas_nothing_is_validated() -> None:
    result = answer(_post(path=f"/submit/any/thing/3/{DOC}"), None, strict=True)
    assert (result.rule, result.status, result.fields["verdict"]) == (
        "validation",
        200,
        "not validated",
    )
