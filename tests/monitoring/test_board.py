"""AlertBoard: several pings' monitors fed with edge records, as the local edge uses them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import Field

import pingsdk
from pingsdk.monitoring._alerts import parse_window
from pingsdk.monitoring._board import AlertBoard, format_alert


@dataclasses.dataclass
class Record:
    """The fields of pingsdk.edge.ReceivedPing the monitor reads."""

    received_at: float
    status: int = 200
    payload: dict[str, Any] | None = None
    valid: bool | None = True
    duplicate: bool = False
    decode_error: str | None = None
    errors: tuple[Any, ...] = ()
    decoded_size: int | None = 10
    wire_size: int = 10
    legacy: tuple[str, ...] | None = None


class Watched(
    pingsdk.Ping,
    namespace="board-test",
    doctype="watched",
    version=1,
    registry=pingsdk.PingRegistry(),
    review=pingsdk.DataReview(owners=("ops@example.com",)),
    monitor=pingsdk.monitoring.DocTypeMonitor(
        other=pingsdk.monitoring.ChannelThresholds(
            volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)
        ),
        disabled=True,
    ),
):
    """A monitored ping."""

    n: int = Field(description="A number.")


class Unwatched(
    pingsdk.Ping,
    namespace="board-test",
    doctype="unwatched",
    version=1,
    registry=pingsdk.PingRegistry(),
):
    """A ping without thresholds."""

    n: int = Field(description="A number.")


def test_board_raises_the_monitors_alert_even_when_the_deployed_one_is_disabled() -> None:
    minute = parse_window("60s")  # a monitor day in 60 s: a minute lasts 1/24 s
    board = AlertBoard(
        [Watched, Unwatched],
        minute=minute,
        start=0.0,
        dashboard=lambda ns, dt, buf: f"http://edge/__monitor__#{ns}/{dt}/{buf}",
    )
    assert board
    for m in range(10):
        board.observe("board_test", "watched", Record(received_at=m * minute))
        board.observe("board-test", "unwatched", Record(received_at=m * minute))
        assert board.advance(m * minute) == []
    raised = board.advance(20 * minute)
    assert [(ns, dt, a.summary) for ns, dt, a in raised] == [
        ("board-test", "watched", "inactivitiy timeout")
    ]
    (_, _, alert) = raised[0]
    assert alert.at == pytest.approx(15 * minute)
    assert alert.detail == (
        "No new valid data has been seen in 5 minutes\n\n"
        "graph: http://edge/__monitor__#board-test/watched/volume\n"
    )
    [doc] = board.report()
    assert doc["doctype"] == "watched" and list(doc["alerts"]) == ["Other"]
    text = format_alert("board-test", "watched", alert)
    assert text.splitlines()[0].endswith("board-test/watched [Other] inactivitiy timeout")
    assert text.endswith(alert.detail)


@pytest.mark.parametrize(
    ("text", "minute"), [("24h", 60.0), ("60s", 60 / 1440), ("1440", 1.0), ("2d", 120.0)]
)
def test_window_parsing(text: str, minute: float) -> None:
    assert parse_window(text) == pytest.approx(minute)


@pytest.mark.parametrize("text", ["", "0s", "-1h", "1y", "h"])
def test_bad_windows_refused(text: str) -> None:
    with pytest.raises(ValueError, match="positive duration"):
        parse_window(text)
