"""The client settings are written once (``ClientSettings``) and both clients take exactly them."""

from __future__ import annotations

import asyncio
import inspect
import typing
from pathlib import Path

import pytest

import pingsdk
from pingsdk._delivery._config import DEFAULTS, ClientSettings, build_config


def test_every_setting_has_one_default_and_is_documented() -> None:
    keywords = set(ClientSettings.__annotations__)
    assert len(keywords) == 23
    assert set(DEFAULTS) == keywords
    doc = inspect.getdoc(pingsdk.PingClient) or ""
    args = doc.split("Args:", 1)[1].split("Raises:", 1)[0]
    undocumented = [k for k in sorted(keywords) if f"{k}:" not in args and f"{k}," not in args]
    assert undocumented == []


@pytest.mark.parametrize("client", [pingsdk.PingClient, pingsdk.AsyncPingClient])
def test_both_clients_take_the_settings_typed_once(client: type[object]) -> None:
    params = inspect.signature(client).parameters
    assert list(params) == ["endpoint", "settings"]
    assert params["settings"].kind is inspect.Parameter.VAR_KEYWORD
    hints = typing.get_type_hints(client.__init__, include_extras=True)
    assert typing.get_args(hints["settings"]) == (ClientSettings,)


def test_a_misspelt_setting_is_a_type_error_not_ignored(queue_path: Path) -> None:
    with pytest.raises(TypeError, match="'max_inflight'"):
        pingsdk.PingClient("http://127.0.0.1:1", queue_path=queue_path, max_inflight=4)  # type: ignore[call-arg]

    async def main() -> None:
        with pytest.raises(TypeError, match="'retries'"):
            pingsdk.AsyncPingClient("http://127.0.0.1:1", queue_path=queue_path, retries=3)  # type: ignore[call-arg]

    asyncio.run(main())
    with pytest.raises(TypeError, match="'verfy'"):
        build_config("http://127.0.0.1:1", verfy=False)  # type: ignore[call-arg]
    assert not queue_path.exists()  # refused before the queue file was opened


def test_left_out_settings_take_the_documented_defaults() -> None:
    config = build_config("http://127.0.0.1:1")
    assert config.max_in_flight == DEFAULTS["max_in_flight"] == 16
    assert config.timeout == DEFAULTS["timeout"] == 10.0
    assert config.durability == "process" and config.uploader and config.compress
    assert config.retry == pingsdk.RetryPolicy()
    assert config.max_queue_count == 10_000 and config.max_queue_bytes == 50 * 1024 * 1024
