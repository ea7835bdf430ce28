"""Issue 8, item 18: PINGSDK_DEBUG_ID, PINGSDK_SOURCE_TAGS and PINGSDK_LOG_PINGS win over code,
the client says so once at INFO, and a bad value names its variable."""

from __future__ import annotations

import logging

import pytest

import pingsdk
from pingsdk._delivery import _config
from tests.delivery.pings import SearchCounts
from tests.delivery.servers import scripted_server


@pytest.fixture(autouse=True)
def _fresh_override_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_config, "_logged_overrides", set(), raising=False)
    for name in ("PINGSDK_DEBUG_ID", "PINGSDK_SOURCE_TAGS", "PINGSDK_LOG_PINGS"):
        monkeypatch.delenv(name, raising=False)


def test_the_environment_wins_over_code_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PINGSDK_DEBUG_ID", "env-debug")
    monkeypatch.setenv("PINGSDK_SOURCE_TAGS", "automation, perf")
    monkeypatch.setenv("PINGSDK_LOG_PINGS", "1")
    caplog.set_level(logging.DEBUG, logger="pingsdk")
    with scripted_server(lambda path: (200, {}, b"")) as (url, seen):
        for _ in range(2):
            with pingsdk.PingClient(
                url, queue_path=":memory:", debug_id="from-code", source_tags=("code",)
            ) as client:
                client.submit(SearchCounts(engine="secret-engine", count=7))
                assert client.flush(5.0)
        headers = [h for _, _, h in seen.requests]
    assert [h["X-Debug-ID"] for h in headers] == ["env-debug", "env-debug"]
    assert [h["X-Source-Tags"] for h in headers] == ["automation,perf", "automation,perf"]
    said = [r for r in caplog.records if "overridden by the environment" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO
    message = said[0].getMessage()
    for name in ("PINGSDK_DEBUG_ID", "PINGSDK_SOURCE_TAGS", "PINGSDK_LOG_PINGS"):
        assert name in message
    payloads = [r for r in caplog.records if "secret-engine" in r.getMessage()]
    assert payloads and all(r.levelno == logging.DEBUG for r in payloads)


def test_log_pings_0_turns_payload_logging_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PINGSDK_LOG_PINGS", "0")
    caplog.set_level(logging.DEBUG, logger="pingsdk")
    with pingsdk.PingClient(
        "https://e.example.com", queue_path=":memory:", uploader=False, log_pings=True
    ) as client:
        client.submit(SearchCounts(engine="secret-engine", count=7))
    assert not [r for r in caplog.records if "secret-engine" in r.getMessage()]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PINGSDK_DEBUG_ID", "has space"),
        ("PINGSDK_DEBUG_ID", "x" * 21),
        ("PINGSDK_SOURCE_TAGS", "a,,b"),
        ("PINGSDK_SOURCE_TAGS", "a,b,c,d,e,f"),
        ("PINGSDK_SOURCE_TAGS", "bad tag!"),
        ("PINGSDK_LOG_PINGS", "yes"),
    ],
)
def test_a_bad_environment_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(pingsdk.ConfigurationError, match=f"environment variable {name}"):
        pingsdk.PingClient("https://e.example.com", queue_path=":memory:")
