"""Fixtures for the queue tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from queue_helpers import make_ping

from pingsdk._queue import QueuedPing


@pytest.fixture
def ping() -> Callable[..., QueuedPing]:
    return make_ping
