"""The local edge knows Glean pings: generic glean.1 / glean-min.1 validation for applications
without schemas of their own, labelled as such, and a viewer filtered by application."""

from __future__ import annotations

import email.utils
import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pingsdk.edge import EdgeServer
from tests.edge.support import MPS, doc_id

GLEAN_EXAMPLES = MPS / "validation" / "glean"
PASS = sorted(GLEAN_EXAMPLES.glob("glean.1.*.pass.json"))
FAIL = sorted(GLEAN_EXAMPLES.glob("glean.1.*.fail.json"))
pytestmark = pytest.mark.skipif(not PASS, reason=f"mps-sample not found at {MPS}")

APP = "org-example-service"
AGENT = "Glean/71.0.0 (Python on Linux)"


def glean_headers(**extra: str) -> dict[str, str]:
    """What the Glean SDK's uploader sends with every ping."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Encoding": "gzip",
        "Date": email.utils.formatdate(time.time(), usegmt=True),
        "X-Telemetry-Agent": AGENT,
        **extra,
    }


def glean_ping(**metrics: Any) -> dict[str, Any]:
    """A payload shaped as the Glean SDK 71 builds it (ping_info, client_info, metrics)."""
    payload: dict[str, Any] = {
        "ping_info": {
            "seq": 3,
            "start_time": "2026-12-02T10:00+00:00",
            "end_time": "2026-12-02T10:05+00:00",
            "reason": "active",
        },
        "client_info": {
            "telemetry_sdk_build": "71.0.0",
            "first_run_date": "2026-11-30+00:00",
            "os": "Linux",
            "os_version": "6.8.0",
            "architecture": "x86_64",
            "app_build": "Unknown",
            "app_display_version": "1.4.2",
            "app_channel": "production",
            "locale": "en-US",
            "client_id": "0b5c3f5e-8a32-4a0e-9c4e-3d5bd0c5f3a1",
        },
    }
    if metrics:
        payload["metrics"] = metrics
    return payload


@pytest.fixture(scope="module")
def lenient() -> Iterator[EdgeServer]:
    with EdgeServer(schemas=MPS) as edge:
        yield edge


@pytest.fixture(scope="module")
def strict() -> Iterator[EdgeServer]:
    with EdgeServer(schemas=MPS, strict=True) as edge:
        yield edge


def post(
    http: httpx.Client,
    edge: EdgeServer,
    payload: bytes | dict[str, Any],
    ping: str = "metrics",
    app: str = APP,
    **headers: str,
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return http.post(
        f"{edge.url}/submit/{app}/{ping}/1/{doc_id()}",
        content=gzip.compress(body),
        headers=glean_headers(**headers),
    )


def last(edge: EdgeServer) -> Any:
    return edge.store.pings(limit=1, newest_first=True)[0]


def test_the_tree_has_the_generic_schemas(lenient: EdgeServer) -> None:
    assert lenient.schemas is not None
    assert lenient.schemas.generic == ("glean-min.1", "glean.1")


def test_glean_sdk_pings_are_accepted_as_valid_generic_glean(
    lenient: EdgeServer, strict: EdgeServer, http: httpx.Client
) -> None:
    pings = {
        "baseline": glean_ping(
            timespan={"glean.baseline.duration": {"value": 3, "time_unit": "second"}}
        ),
        "metrics": glean_ping(counter={"app.opened": 2}, string={"app.theme": "dark"}),
        "deletion-request": glean_ping(),
        "events": {
            **glean_ping(),
            "events": [{"timestamp": 0, "category": "app", "name": "start", "extra": {"a": "1"}}],
        },
    }
    for edge in (lenient, strict):
        for name, payload in pings.items():
            r = post(http, edge, payload, ping=name)
            assert r.status_code == 200, (name, r.text)
            ping = last(edge)
            assert ping.verdict == "valid (generic glean.1)", name
            assert ping.valid is True and ping.errors == ()
            assert (ping.namespace, ping.doctype) == (APP, name)


@pytest.mark.parametrize("case", PASS, ids=[p.name for p in PASS])
def test_schema_repository_glean_examples_pass(
    case: Path, strict: EdgeServer, http: httpx.Client
) -> None:
    r = post(http, strict, case.read_bytes(), ping=case.name.split(".")[2])
    assert r.status_code == 200, r.text[:1000]
    assert last(strict).verdict == "valid (generic glean.1)"


@pytest.mark.parametrize("case", FAIL, ids=[p.name for p in FAIL])
def test_schema_repository_glean_failures_are_caught(
    case: Path, lenient: EdgeServer, strict: EdgeServer, http: httpx.Client
) -> None:
    assert post(http, lenient, case.read_bytes()).status_code == 200
    ping = last(lenient)
    assert ping.verdict == "invalid (generic glean.1)"
    assert ping.valid is False and ping.errors
    r = post(http, strict, case.read_bytes())
    assert r.status_code == 400
    assert "against generic glean.1: $." in r.json()["message"]


def test_pings_without_info_sections_use_glean_min(
    lenient: EdgeServer, strict: EdgeServer, http: httpx.Client
) -> None:
    # A ping declared with `metadata: include_info_sections: false` has neither section;
    # the pipeline's schema generator gives such pings glean-min.1.
    bare = {"metrics": {"counter": {"ohttp.requests": 4}}}
    for edge in (lenient, strict):
        assert post(http, edge, bare, ping="ohttp-ping").status_code == 200
        assert last(edge).verdict == "valid (generic glean-min.1)"
    # glean-min still checks what is there.
    wrong = {"metrics": {"counter": {"ohttp.requests": "four"}}}
    assert post(http, strict, wrong, ping="ohttp-ping").status_code == 400
    assert post(http, lenient, wrong, ping="ohttp-ping").status_code == 200
    assert last(lenient).verdict == "invalid (generic glean-min.1)"
    # Told only by the agent header: an empty Glean ping.
    assert post(http, strict, {}, ping="empty").status_code == 200
    assert last(strict).verdict == "valid (generic glean-min.1)"


def test_only_one_info_section_is_checked_against_glean_1(
    strict: EdgeServer, http: httpx.Client
) -> None:
    half = glean_ping()
    del half["client_info"]
    r = post(http, strict, half)
    assert r.status_code == 400
    assert "'client_info' is a required property" in r.json()["message"]


def test_non_glean_pings_of_unknown_applications_stay_unknown(
    lenient: EdgeServer, strict: EdgeServer, http: httpx.Client
) -> None:
    for edge in (lenient, strict):
        plain = http.post(f"{edge.url}/submit/{APP}/custom/1/{doc_id()}", json={"n": 1})
        assert plain.status_code == (200 if edge is lenient else 404)
        assert last(edge).verdict == "unknown doctype"
    # Glean only ever sends version 1: another version is not taken for a Glean ping.
    r = http.post(f"{lenient.url}/submit/{APP}/metrics/2/{doc_id()}", json=glean_ping())
    assert r.status_code == 200 and last(lenient).verdict == "unknown doctype"


def test_a_namespace_with_its_own_schema_is_validated_against_it(
    strict: EdgeServer, http: httpx.Client
) -> None:
    # glean/glean has a schema of its own: no generic label.
    assert post(http, strict, glean_ping(), ping="glean", app="glean").status_code == 200
    assert last(strict).verdict == "valid"


def test_viewer_filters_by_application_and_shows_glean_headers(http: httpx.Client) -> None:
    with EdgeServer(schemas=MPS) as edge:
        post(http, edge, glean_ping(), ping="baseline", **{"X-Source-Tags": "automation,ci"})
        post(http, edge, glean_ping(), ping="baseline", app="org-other-app")
        page = http.get(edge.url + "/", params={"app": APP}).text
        assert "showing 1 of 2" in page
        assert f"/submit/{APP}/baseline/1/" in page and "org-other-app/baseline" not in page
        assert AGENT in page and "automation,ci" in page
        assert "valid (generic glean.1)" in page
        assert f'<option value="{APP}" selected>' in page
        assert '<option value="org-other-app">' in page
        everything = http.get(edge.url + "/").text
        assert "showing 2 of 2" in everything
        # Names compare with - and _ alike, as in the pipeline.
        underscored = http.get(edge.url + "/", params={"app": APP.replace("-", "_")}).text
        assert "showing 1 of 2" in underscored
        verdicts = {d["doctype"]: d["verdicts"] for d in edge.monitor()["doctypes"]}
        assert verdicts == {"baseline": {"valid (generic glean.1)": 1}}


def test_a_tree_without_glean_schemas_uses_the_copies_pingsdk_ships(
    schema_tree: Path, http: httpx.Client
) -> None:
    assert not (schema_tree / "schemas" / "glean").exists()
    with EdgeServer(schemas=schema_tree, strict=True) as edge:
        assert post(http, edge, glean_ping(counter={"a.b": 1})).status_code == 200
        assert last(edge).verdict == "valid (generic glean.1)"
        assert post(http, edge, {"metrics": {"counter": {"a.b": "x"}}}).status_code == 400
        assert last(edge).verdict == "invalid (generic glean-min.1)"


def test_the_trees_own_generic_schema_wins(tmp_path: Path, http: httpx.Client) -> None:
    folder = tmp_path / "schemas" / "glean" / "glean"
    folder.mkdir(parents=True)
    own = {"type": "object", "required": ["marker"]}
    (folder / "glean.1.schema.json").write_text(json.dumps(own), encoding="utf-8")
    with EdgeServer(schemas=tmp_path, strict=True) as edge:
        r = post(http, edge, glean_ping())
        assert r.status_code == 400
        assert "'marker' is a required property" in r.json()["message"]
