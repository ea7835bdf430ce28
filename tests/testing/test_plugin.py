"""The pytest plugin, exercised the way users meet it: generated test files run by pytester."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import pingsdk.testing.plugin as plugin

pytest_plugins = ["pytester"]

PINGS = '''
import pingsdk
from pydantic import Field


class SearchCounts(pingsdk.Ping, namespace="kit-app", doctype="search-counts", version=1):
    """Searches per engine, to learn which engines people use."""

    engine: str = Field(description="Search engine id.")
    count: int = Field(ge=0, description="Searches.")
'''


@pytest.fixture
def pings_module(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(kitpings=PINGS)
    pytester.syspathinsert()


def test_capture_client_roundtrip_and_failures(
    pytester: pytest.Pytester, pings_module: None
) -> None:
    pytester.makepyfile(
        test_kit_capture="""
        import pytest
        from kitpings import SearchCounts
        from pingsdk.testing import assert_valid


        def test_delivered(pingsdk_client, pingsdk_capture):
            doc_id = pingsdk_client.submit(SearchCounts(engine="ddg", count=3))
            assert pingsdk_client.flush(timeout=5)
            [ping] = pingsdk_capture.pings
            assert ping.doc_id == doc_id
            assert (ping.namespace, ping.doctype, ping.version) == ("kit-app", "search-counts", 1)
            assert ping.headers["content-encoding"] == "gzip"
            assert ping.payload == {"engine": "ddg", "count": 3}
            assert ping.ping == SearchCounts(engine="ddg", count=3)
            assert_valid(ping)


        @pytest.mark.pingsdk(replies=[503, 500])
        def test_retried_without_waiting(pingsdk_client, pingsdk_capture):
            pingsdk_client.submit(SearchCounts(engine="ddg", count=1))
            assert pingsdk_client.flush(timeout=5)
            assert [r.status for r in pingsdk_capture.requests] == [503, 500, 200]
            assert len({r.body for r in pingsdk_capture.requests}) == 1


        @pytest.mark.pingsdk(replies=[400])
        def test_rejected_is_dropped(pingsdk_client, pingsdk_capture):
            pingsdk_client.submit(SearchCounts(engine="ddg", count=1))
            assert pingsdk_client.flush(timeout=5)
            assert pingsdk_capture.pings == []
            assert pingsdk_client.stats().dropped == {"http_400": 1}


        @pytest.mark.pingsdk(client={"debug_id": "kit-test", "source_tags": ["automation"]})
        def test_client_options(pingsdk_client, pingsdk_capture):
            pingsdk_client.submit(SearchCounts(engine="ddg", count=1))
            pingsdk_client.flush(timeout=5)
            headers = pingsdk_capture.pings[0].headers
            assert headers["x-debug-id"] == "kit-test"
            assert headers["x-source-tags"] == "automation"


        def test_wrong_expectation_fails(pingsdk_client, pingsdk_capture):
            pingsdk_client.submit(SearchCounts(engine="ddg", count=3))
            pingsdk_client.flush(timeout=5)
            assert pingsdk_capture.pings[0].payload["count"] == 4


        def test_invalid_payload_fails_readably():
            assert_valid({"engine": 7, "count": -1}, SearchCounts)


        @pytest.mark.pingsdk(replies=[503, 503])
        def test_unused_replies_fail_at_teardown(pingsdk_capture):
            pass


        @pytest.mark.pingsdk(replies=[503], unused_replies=True)
        def test_unused_replies_allowed(pingsdk_capture):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: payload does not match the draft-04 schema of SearchCounts "
            "(kit-app/search-counts/1): 2 error(s)",
            "*$.count: -1 is less than the minimum of 0",
            "*$.engine: 7 is not of type 'string'",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*pingsdk_capture: 2 queued reply(ies) never used: *503, 503*unused_replies=True*"]
    )


def test_edge_fixture_with_marker(pytester: pytest.Pytester, pings_module: None) -> None:
    pytester.makepyfile(
        test_kit_edge="""
        import gzip, json, uuid
        import httpx
        import pytest
        from kitpings import SearchCounts

        pytestmark = pytest.mark.pingsdk(pings=[SearchCounts])


        def test_valid_ping_accepted(pingsdk_edge, pingsdk_edge_client):
            assert pingsdk_edge.url.startswith("http://127.0.0.1:")
            doc_id = pingsdk_edge_client.submit(SearchCounts(engine="ddg", count=3))
            assert pingsdk_edge_client.flush(timeout=5)
            [got] = pingsdk_edge.received()
            assert (got.doc_id, got.status, got.valid) == (doc_id, 200, True)


        def test_strict_edge_rejects_invalid(pingsdk_edge):
            url = f"{pingsdk_edge.url}/submit/kit-app/search-counts/1/{uuid.uuid4()}"
            body = gzip.compress(json.dumps({"engine": "ddg", "count": -1}).encode())
            r = httpx.post(url, content=body, headers={"Content-Encoding": "gzip"})
            assert r.status_code == 400
            r = httpx.post(url.replace("search-counts", "unknown"), content=body)
            assert r.status_code == 404


        @pytest.mark.pingsdk(pings=[SearchCounts], strict=False)
        def test_lenient_edge(pingsdk_edge):
            url = f"{pingsdk_edge.url}/submit/kit-app/search-counts/1/{uuid.uuid4()}"
            r = httpx.post(url, json={"engine": "ddg", "count": -1})
            assert r.status_code == 200
            assert pingsdk_edge.received()[0].valid is False
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_edge_pings_from_option_and_ini(pytester: pytest.Pytester, pings_module: None) -> None:
    pytester.makepyfile(
        test_kit_opt="""
        import httpx, uuid


        def test_served(pingsdk_edge):
            ok = f"{pingsdk_edge.url}/submit/kit-app/search-counts/1/{uuid.uuid4()}"
            assert httpx.post(ok, json={"engine": "a", "count": 1}).status_code == 200
            other = f"{pingsdk_edge.url}/submit/kit-app/other/1/{uuid.uuid4()}"
            assert httpx.post(other, json={}).status_code == 404
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--pingsdk-pings", "kitpings")
    result.assert_outcomes(passed=1)
    pytester.makeini("[pytest]\npingsdk_pings =\n    kitpings\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_edge_defaults_to_registry_in_a_fresh_process(
    pytester: pytest.Pytester, pings_module: None
) -> None:
    pytester.makepyfile(
        test_kit_default="""
        import httpx, uuid
        import pingsdk
        from kitpings import SearchCounts


        def test_registry_served(pingsdk_edge):
            assert SearchCounts in pingsdk.default_registry
            ok = f"{pingsdk_edge.url}/submit/kit-app/search-counts/1/{uuid.uuid4()}"
            assert httpx.post(ok, json={"engine": "a", "count": 1}).status_code == 200
            bad = f"{pingsdk_edge.url}/submit/kit-app/search-counts/1/{uuid.uuid4()}"
            assert httpx.post(bad, json={"engine": "a"}).status_code == 400
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_marker_misuse_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_kit_bad="""
        import pytest

        @pytest.mark.pingsdk(replys=[500])
        def test_x(pingsdk_capture):
            pass

        @pytest.mark.pingsdk(client={"transport": None})
        def test_y(pingsdk_client):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*unknown keyword(s)*replys*", "*the pingsdk fixtures set transport themselves*"]
    )


def test_marker_registered_and_option_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.pingsdk(pings=None, replies=None, *"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--pingsdk-pings=TARGET*", "*pingsdk_pings (linelist)*"])


def test_plugin_module_is_cheap() -> None:
    # Fixtures only: no test functions for pytest to collect, nothing autouse, and the
    # heavy parts (edge server, exporter) are imported only when a fixture runs.
    assert not [name for name in vars(plugin) if name.startswith("test")]
    for name in ("pingsdk_capture", "pingsdk_client", "pingsdk_edge", "pingsdk_edge_client"):
        marker = getattr(plugin, name)._fixture_function_marker
        assert not marker.autouse, name
    code = textwrap.dedent(
        """
        import sys
        import pingsdk.testing.plugin
        heavy = [m for m in ("pingsdk.edge", "pingsdk.testing._fixtures")
                 if m in sys.modules]
        print(heavy)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
