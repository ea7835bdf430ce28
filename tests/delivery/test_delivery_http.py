"""The Sender's failures are classified by the outcome table, the one place that says what an
exception means (#9): no exception is turned into an Outcome anywhere else."""

from __future__ import annotations

import asyncio

import pytest

from pingsdk._delivery import _outcome
from pingsdk._delivery._config import build_config
from pingsdk._delivery._http import Sender
from pingsdk._delivery._prepare import prepare_ping
from tests.delivery.pings import SearchCounts


def test_a_request_past_its_deadline_is_classified_by_the_outcome_table(
    black_hole: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The table decides the reason and whether the answer pauses all sending; change its timeout
    # rows and a whole-request deadline must follow them (a hard-coded Outcome would not).
    table = tuple(
        (kind, "table_timeout", False) if issubclass(kind, TimeoutError) else (kind, reason, p)
        for kind, reason, p in _outcome._EXCEPTIONS
    )
    if asyncio.TimeoutError is not TimeoutError:  # Python 3.10
        table = ((asyncio.TimeoutError, "table_timeout", False), *table)
    monkeypatch.setattr(_outcome, "_EXCEPTIONS", table)
    config = build_config(black_hole, queue_path=":memory:")
    row = prepare_ping(SearchCounts(engine="ddg", count=1), config, upload_enabled=True)

    async def post() -> _outcome.Outcome:
        sender = Sender(config)
        await sender.open()
        try:
            outcome, detail = await sender.post_within(row, 0.3)
        finally:
            await sender.close()
        assert detail is None
        return outcome

    outcome = asyncio.run(post())
    assert (outcome.kind, outcome.reason, outcome.pauses_sending) == (
        _outcome.OutcomeKind.RETRY,
        "table_timeout",
        False,
    )
