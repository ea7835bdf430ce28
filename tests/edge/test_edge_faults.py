"""Fault injection: scripted answers, a seeded plan, reset, timeout, latency, and counting."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from pingsdk import ConfigurationError
from pingsdk.edge import EdgeServer, FaultPlan
from tests.edge.support import doc_id

GOOD = {"name": "start", "count": 1}


def url(edge: EdgeServer) -> str:
    return f"{edge.url}/submit/my-app/app-event/1/{doc_id()}"


def outcome(client: httpx.Client, edge: EdgeServer, timeout: float = 2.0) -> str:
    try:
        r = client.post(url(edge), json=GOOD, timeout=timeout)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return "reset"
    except httpx.ReadTimeout:
        return "timeout"
    return str(r.status_code) + (f"/{r.headers['Retry-After']}" if r.status_code == 429 else "")


def test_script_forces_answers_in_order(edge: EdgeServer, client: httpx.Client) -> None:
    edge.script(["503", "reset", ("429", 2), "timeout", "200", "507"])
    got = [outcome(client, edge, timeout=0.5) for _ in range(7)]
    assert got == ["503", "reset", "429/2", "timeout", "200", "507", "200"]
    # Faulted requests are counted, never stored as received pings.
    assert [p.status for p in edge.received()] == [200, 200]
    faults = edge.monitor()["faults"]
    assert faults["by_kind"] == {"429": 1, "503": 1, "507": 1, "reset": 1, "timeout": 1}
    assert faults["total"] == 5


def test_seeded_plan_is_repeatable(client: httpx.Client) -> None:
    plan = FaultPlan(rate=0.5, kinds=("500", "503"), seed=7)
    runs = []
    for _ in range(2):
        with EdgeServer(faults=plan) as edge:
            runs.append([outcome(client, edge) for _ in range(20)])
            stored = edge.received()
            assert len(stored) == runs[-1].count("200")
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"200", "500", "503"}


def test_rate_one_and_retry_after(edge: EdgeServer) -> None:
    edge.set_faults(FaultPlan(rate=1.0, kinds=("429",), retry_after=3))
    r = httpx.post(url(edge), json=GOOD)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    edge.set_faults(FaultPlan(rate=1.0, kinds=("503",), retry_after=4))
    assert httpx.post(url(edge), json=GOOD).headers["Retry-After"] == "4"
    edge.set_faults(None)
    assert httpx.post(url(edge), json=GOOD).status_code == 200
    # Health endpoints are never faulted.
    edge.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
    assert httpx.get(edge.url + "/__lbheartbeat__").status_code == 200


def test_latency_is_added(edge: EdgeServer) -> None:
    edge.set_faults(FaultPlan(latency=0.3))
    started = time.monotonic()
    assert httpx.post(url(edge), json=GOOD).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_reset_is_a_connection_reset(edge: EdgeServer) -> None:
    edge.script(["reset"])
    with pytest.raises(httpx.ReadError):
        httpx.post(url(edge), json=GOOD)


def test_timeout_ends_when_client_gives_up_and_never_blocks_stop() -> None:
    edge = EdgeServer(faults=FaultPlan(rate=1.0, kinds=("timeout",), hold=30.0)).start()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            httpx.post(url(edge), json=GOOD, timeout=20.0)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    edge.stop()
    assert time.monotonic() - started < 2.0
    thread.join(5)
    assert not thread.is_alive()
    assert errors  # the held client saw the connection drop, never an answer


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        FaultPlan(rate=1.5)
    with pytest.raises(ConfigurationError):
        FaultPlan(rate=0.5, kinds=("explode",))
    with pytest.raises(ConfigurationError):
        FaultPlan(latency=-1)
    with EdgeServer() as edge, pytest.raises(ConfigurationError):
        edge.script(["teapot"])


@pytest.mark.parametrize("kind", ["\u00b2", "5\u00b23", "\u0665\u0660\u0663"])
def test_a_status_of_non_ascii_digits_is_refused_with_the_plans_error(kind: str) -> None:
    # str.isdigit() accepts "²" and Arabic-Indic digits, int() fails on some of them.
    with pytest.raises(ConfigurationError, match="unknown fault kind"):
        FaultPlan(rate=0.5, kinds=(kind,))
