"""The strict edge against mozilla-pipeline-schemas' own validation examples.

Every ``*.pass.json`` gets 200 and every ``*.fail.json`` 400, posted with the URL form the
pipeline uses for its namespace: the legacy form for ``telemetry`` (whose schema version the
pipeline takes from the payload's ``version``, else ``v``), the generic form otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pingsdk.edge import EdgeServer
from tests.edge.support import MPS, doc_id

VALIDATION = MPS / "validation"
_NAME = re.compile(
    r"^(?P<doctype>[-a-z0-9]+)\.(?P<version>\d+)\.(?P<test>[^.]+)\.(?P<kind>pass|fail)\.json$"
)

# The pipeline takes a legacy ping's version from its payload; these examples name no schema
# that way ("version": 4 for block-autoplay.1, nothing for frecency-update.4). Each doctype has
# one schema, so the local edge validates against it, and they pass as the repository says.
PAYLOAD_VERSION_DIFFERS = {
    "telemetry/block-autoplay.1.counters.pass.json",
    "telemetry/block-autoplay.1.prompt.pass.json",
    "telemetry/block-autoplay.1.settings.pass.json",
    "telemetry/frecency-update.4.sample.pass.json",
}


def _cases() -> list[Path]:
    if not VALIDATION.is_dir():
        return []
    return sorted(VALIDATION.glob("*/*.json"))


CASES = _cases()
pytestmark = pytest.mark.skipif(not CASES, reason=f"mps-sample not found at {MPS}")


@pytest.fixture(scope="module")
def mps_edge() -> Iterator[EdgeServer]:
    with EdgeServer(schemas=MPS, strict=True) as edge:
        yield edge


def _url(edge: EdgeServer, namespace: str, doctype: str, version: str) -> str:
    if namespace == "telemetry":
        return (
            f"{edge.url}/submit/telemetry/{doc_id()}/{doctype}/Firefox/120.0/release/20240101?v=4"
        )
    return f"{edge.url}/submit/{namespace}/{doctype}/{version}/{doc_id()}"


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_validation_example(case: Path, mps_edge: EdgeServer, http: httpx.Client) -> None:
    match = _NAME.match(case.name)
    assert match, case.name
    target = _url(mps_edge, case.parent.name, match["doctype"], match["version"])
    response = http.post(target, content=case.read_bytes())
    if match["kind"] == "pass":
        assert response.status_code == 200, response.text[:2000]
    else:
        assert response.status_code == 400
        document = response.json()
        assert document["errors"] or document["decode_error"]


def test_payload_version_exceptions_are_still_exceptions() -> None:
    differs = set()
    for case in CASES:
        match = _NAME.match(case.name)
        if not match or case.parent.name != "telemetry" or match["kind"] != "pass":
            continue
        payload = json.loads(case.read_text(encoding="utf-8"))
        found = payload.get("version", payload.get("v"))
        if str(found) != match["version"]:
            differs.add(f"telemetry/{case.name}")
    assert differs == PAYLOAD_VERSION_DIFFERS


def test_unknown_payload_version_of_multi_version_doctype_is_refused(
    mps_edge: EdgeServer, http: httpx.Client
) -> None:
    # core has schema versions 9 and 10: a payload naming another is not guessed at.
    target = _url(mps_edge, "telemetry", "core", "0")
    response = http.post(target, json={"v": 99, "clientId": "x"})
    assert response.status_code == 400
    assert "no schema telemetry/core version 99" in response.json()["decode_error"]
